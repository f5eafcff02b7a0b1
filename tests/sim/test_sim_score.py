"""The whole chain on the default scenario: simulate, ingest both contingents and the
complaints, correlate, score against the truth. The issue's bar: incident F1 >= 0.9."""

from __future__ import annotations

from sim_support import Run

from ceasefire.sim.score import read_truth


def test_default_scenario_scores_f1_of_at_least_0_9(default_run: Run, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "score.db")
    folder = default_run.folder
    for contingent in ("RU", "TR"):
        result = cli(
            "ingest",
            str(folder / contingent / "observations.jsonl"),
            str(folder / contingent / "tracks.cot"),
            "--as",
            contingent,
            "--db",
            db,
            "--json",
        )
        assert result.code == 0 and result.json()["rejected"] == 0, result.err
        assert result.json()["track_points"] > 1000
    assert cli("ingest", str(folder / "complaints.jsonl"), "--db", db, "--json").code == 0
    scored = cli("score", "--truth", str(folder / "truth.jsonl"), "--db", db, "--json")
    assert scored.code == 0, scored.err
    figures = scored.json()
    assert figures["f1"] >= 0.9, figures
    assert figures["events_observed"] == sum(
        1 for e in read_truth(folder / "truth.jsonl") if e.refs
    )
    assert figures["median_location_error_m"] < 1000
    for key in ("precision", "recall", "median_delay_s", "side_of_line_accuracy", "per_category"):
        assert key in figures
