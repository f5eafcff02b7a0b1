"""Intake into the store, on SQLite and PostgreSQL: idempotent, enriched, nothing lost."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import records
from ceasefire.geo.locate import describe
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake import jsonl
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.schema import observations
from centers import intake_of

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


def record(i: int, contingent: str = "RU", **changes: object) -> dict[str, object]:
    return records.explosion(i, contingent, "T", 1e-5, **changes)


def lines(records: list[dict[str, object]]) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


def intake(engine: Engine, mission: Mission, **kwargs: object) -> Intake:
    return intake_of(engine, mission, keep_outcomes=True, **kwargs)


def stored_count(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(observations)).scalar_one())


def test_sample_file_twice_is_idempotent(engine: Engine, demo_mission: Mission) -> None:
    with SAMPLE.open("rb") as f:
        first = intake(engine, demo_mission).feed(jsonl.parse(f, SAMPLE.name), SAMPLE.name)
    total = sum(1 for line in SAMPLE.read_text().splitlines() if line.strip())
    assert (first.accepted, first.duplicates, first.rejected) == (total, 0, 0)
    with SAMPLE.open("rb") as f:
        again = intake(engine, demo_mission).feed(jsonl.parse(f, SAMPLE.name), SAMPLE.name)
    assert (again.accepted, again.duplicates, again.rejected) == (0, total, 0)
    assert stored_count(engine) == total


def test_every_refusal_has_a_field_and_a_reason(engine: Engine, demo_mission: Mission) -> None:
    good = record(1)
    taken = record(2)
    result = intake(engine, demo_mission, contingent="RU").feed(
        jsonl.parse(lines([good, taken]), "a.jsonl"), "a.jsonl"
    )
    assert result.accepted == 2
    changed = record(2, remarks="edited afterwards")
    other_side = record(3, contingent="TR")
    too_early = record(4, observed_at="2019-06-01T00:00:00Z")
    unknown = record(5, contingent="XX")
    broken = {**record(6), "location": {"lat": 95, "lon": 46.8, "ce_m": 10}}
    batch = [good, changed, other_side, too_early, unknown, broken, record(7)]
    result = intake(engine, demo_mission, contingent="RU").feed(
        jsonl.parse(lines(batch), "b.jsonl"), "b.jsonl"
    )
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, 5)
    refused = {
        o.id or str(o.record): (o.field, o.reason)
        for o in result.outcomes
        if o.status == "rejected"
    }
    assert (
        refused["RU-T00002"][0] == "id" and "correction needs a new id" in refused["RU-T00002"][1]
    )
    assert refused["TR-T00003"][0] == "contingent"
    assert refused["RU-T00004"][0] == "observed_at"
    assert refused["XX-T00005"][0] == "contingent"
    assert refused["6"][0] == "location.lat"
    assert stored_count(engine) == 3


def test_enrichment_is_stored_at_the_observed_time(
    engine: Engine, demo_mission: Mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    # Aghdam town before and after its handover on 20 Nov 2020.
    before = record(
        1, observed_at="2020-11-15T08:00:00Z", location={"lat": 39.991, "lon": 46.927, "ce_m": 30}
    )
    after = record(
        2, observed_at="2020-11-25T08:00:00Z", location={"lat": 39.991, "lon": 46.927, "ce_m": 30}
    )
    intake(engine, demo_mission).feed(jsonl.parse(lines([before, after]), "h.jsonl"), "h.jsonl")
    with engine.connect() as db:
        rows = {r.source_id: r for r in db.execute(select(observations))}
    assert rows["RU-T00001"].controlled_by == "AM" and rows["RU-T00002"].controlled_by == "AZ"
    expected = describe(
        demo_enricher, 39.991, 46.927, Observation.model_validate(after).observed_at, "en"
    )
    assert json.loads(rows["RU-T00002"].zones) == expected["zones"]
    assert rows["RU-T00002"].settlement_id == expected["nearest_settlement"]["id"]


def test_a_crash_loses_no_accepted_record(engine: Engine, demo_mission: Mission) -> None:
    def crashing() -> Iterator[Observation]:
        for i in range(250):
            yield Observation.model_validate(record(i))
        raise RuntimeError("power cut")

    work = intake(engine, demo_mission, batch_size=100)
    with pytest.raises(RuntimeError):
        work.feed(crashing(), "crash.jsonl")
    # Two full batches were committed and reported; the third was never acknowledged.
    assert work.result.accepted == 200 == stored_count(engine)
    again = intake(engine, demo_mission, batch_size=100).feed(
        (Observation.model_validate(record(i)) for i in range(250)), "crash.jsonl"
    )
    assert (again.accepted, again.duplicates) == (50, 200)
    assert stored_count(engine) == 250


def test_cli_ingest_json_and_reject_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        json.dumps(record(1))
        + "\n"
        + "{not json\n"
        + json.dumps(record(2, category="dragons"))
        + "\n"
    )
    db = str(tmp_path / "c.db")
    result = cli("ingest", str(source), "--db", db, "--json")
    assert result.code == 0, result.err
    assert {k: result.json()[k] for k in ("accepted", "duplicates", "rejected")} == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 2,
    }
    rejects = [
        json.loads(line)
        for line in (tmp_path / "mixed.jsonl.rejected.jsonl").read_text().splitlines()
    ]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, ""), (3, "category")]
    assert all(r["reason"] for r in rejects)
    again = cli("ingest", str(source), "--db", db, "--json")
    assert again.json()["duplicates"] == 1 and again.json()["accepted"] == 0


def test_rows_are_stored_as_sqlalchemy_binds_them(engine: Engine, demo_mission: Mission) -> None:
    """The intake hands the driver its rows as tuples already in the driver's form (times,
    flags): what is stored is what SQLAlchemy's own insert stores for the same values."""
    by_bearing = {k: v for k, v in record(3).items() if k != "location"} | {
        "observer": {"lat": 39.95, "lon": 46.8},
        "bearing_deg": 90.0,
        "distance_m": [400, 900],
    }
    batch = [
        record(1),
        record(
            2,
            observed_at="2021-02-01T12:32:00.250+02:00",
            observed_until="2021-02-01T10:40:00Z",
            count=3,
            count_approx=True,
            sortie="S-1",
            track="T-9",
            remarks="Ünal's note",
        ),
        by_bearing,
    ]
    result = intake(engine, demo_mission, correlate="off").feed(
        jsonl.parse(lines(batch), "r.jsonl"), "r.jsonl"
    )
    assert result.accepted == 3
    columns = ", ".join(f'"{c.name}"' for c in observations.c)
    raw = f"SELECT {columns} FROM observations"
    with engine.begin() as db:
        stored = db.exec_driver_sql(raw + " ORDER BY id").all()
        values = [dict(r) for r in db.execute(select(observations)).mappings()]
        db.execute(observations.delete())
        db.execute(observations.insert(), values)
        again = db.exec_driver_sql(raw + " ORDER BY id").all()
    assert [tuple(r) for r in stored] == [tuple(r) for r in again]
    assert [(v["observed_at"], v["observed_until"]) for v in values] == [
        (datetime(2021, 2, 1, 10, 32, tzinfo=UTC), None),
        (
            datetime(2021, 2, 1, 10, 32, 0, 250000, tzinfo=UTC),
            datetime(2021, 2, 1, 10, 40, tzinfo=UTC),
        ),
        (datetime(2021, 2, 1, 10, 32, tzinfo=UTC), None),
    ]
    assert [v["count_approx"] for v in values] == [False, True, False]
    assert values[0]["received_at"] == values[2]["received_at"] > values[0]["observed_at"]


def test_two_records_under_one_new_id_in_a_batch(engine: Engine, demo_mission: Mission) -> None:
    """Nothing stored yet under the id: the first record given stands, the same again is a
    duplicate, a different one is refused."""
    batch = [record(1), record(1), record(1, remarks="another"), record(2)]
    result = intake(engine, demo_mission).feed(jsonl.parse(lines(batch), "d.jsonl"), "d.jsonl")
    assert (result.accepted, result.duplicates, result.rejected) == (2, 1, 1)
    by_record = {o.record: (o.status, o.field) for o in result.outcomes}
    assert by_record == {
        1: ("accepted", ""),
        2: ("duplicate", ""),
        3: ("rejected", "id"),
        4: ("accepted", ""),
    }
    assert stored_count(engine) == 2


def test_dropped_records_are_not_stored(engine: Engine, demo_mission: Mission) -> None:
    """After a failure the CoT writer drops what it added and not stored, before it gives the
    items again (one by one): nothing dropped is stored, and nothing twice."""
    taking = intake(engine, demo_mission)
    taking.add(Observation.model_validate(record(1)), "s", 1)
    taking.prepare()
    taking.drop()
    taking.add(Observation.model_validate(record(2)), "s", 2)
    taking.flush()
    assert (taking.result.accepted, stored_count(engine)) == (1, 1)
