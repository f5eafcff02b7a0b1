"""The demo scenario as a library: each step answers with data, no console needed."""

from __future__ import annotations

from pathlib import Path

from ceasefire.center.demo import Demo


def test_the_demo_steps_answer_with_data(tmp_path: Path) -> None:
    with Demo(tmp_path / "demo", hours=6) as run:
        places = run.places()
        assert {p.controlled_by for p in places} >= {"AM", "AZ"}  # before and after handover
        simulated = run.simulate()
        assert simulated.events > 0 and (simulated.folder / "truth.jsonl").exists()
        run.ingest()
        totals = run.correlate()
        assert totals.accepted > 0 and totals.rejected == 0
        incidents = run.incidents()
        assert incidents.found and len(incidents.ranked) == len(incidents.found)
        assert 0 <= incidents.scored["f1"] <= 1
        steps = run.workflow(incidents.ranked)
        assert [s.kind for s in steps] == [
            "agreed",
            "proposed",
            "approved",
            "disputed",
            "taken",
            "escalated",
        ]
        assert steps[0].data["outcome"] == "finding" and steps[3].data["outcome"] == "disputed"
        assert steps[-1].data["state"] == "escalated"
