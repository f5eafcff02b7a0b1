"""The workflow through the command line: two assessments, a finding, a two-key decision."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from workflow_support import T0, insert_incident

from ceasefire.store import open_database
from ceasefire.store.schema import missions


def test_assess_finding_decide_approve_handover(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.db")
    engine = open_database(db)
    with engine.begin() as conn:
        key = conn.execute(
            sa.insert(missions).values(
                mission_id="karabakh-2020",
                version=1,
                digest="x",
                loaded_at=T0,
                source="t",
                note="",
            )
        ).inserted_primary_key[0]
        insert_incident(conn, "INC-1", key)
    engine.dispose()
    for name, role, aff in (
        ("ru-head", "head", "RU"),
        ("tr-head", "head", "TR"),
        ("ru-do", "duty_officer", "RU"),
        ("tr-do", "duty_officer", "TR"),
    ):
        r = cli("users", "add", name, "--role", role, "--affiliation", aff, "--db", db)
        assert r.code == 0, r.err
    assert [u["name"] for u in cli("users", "list", "--format", "json", "--db", db).json()] == [
        "ru-do",
        "ru-head",
        "tr-do",
        "tr-head",
    ]
    args = ["--violation", "yes", "--clause", "1", "--attribution", "AZ", "--db", db]
    r = cli("assess", "INC-1", "--as-user", "ru-do", *args, "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["outcome"] is None
    r = cli("finding", "INC-1", "--as-user", "tr-do", "--format", "json", "--db", db)
    assert r.json()["blind"] is True and r.json()["assessments"] == {}
    r = cli("assess", "INC-1", "--as-user", "tr-do", *args, "--format", "json")
    assert r.json()["outcome"] == "finding"
    r = cli("finding", "INC-1", "--as-user", "tr-do", "--db", db)
    assert "joint finding" in r.out
    r = cli(
        "decide",
        "INC-1",
        "--reaction",
        "notify_both_parties",
        "--as-user",
        "ru-head",
        "--format",
        "json",
        "--db",
        db,
    )
    decision = r.json()["id"]
    assert r.json()["state"] == "proposed"
    r = cli("approve", decision, "--as-user", "ru-head", "--db", db)
    assert r.code == 1 and "already answered" in r.err
    r = cli("approve", decision, "--as-user", "tr-head", "--format", "json", "--db", db)
    assert r.json()["state"] == "approved"
    # People read labels in their language and times in the mission's zone beside UTC; the
    # JSON above keeps the values.
    r = cli("--lang", "ru", "decisions", "--as-user", "tr-do", "--db", db)
    assert r.code == 0, r.err
    assert "уведомить обе стороны" in r.out and "notify_both_parties" not in r.out
    assert "утверждено" in r.out and "Asia/Baku" in r.out and "UTC" in r.out
    assert "1 решение" in r.out
    r = cli("--lang", "en", "decisions", "--as-user", "tr-do", "--db", db)
    assert "two keys (both heads)" in r.out and "1 decision\n" in r.out
    r = cli("--lang", "tr", "finding", "INC-1", "--as-user", "tr-do", "--db", db)
    assert "ihlal" in r.out and "violation" not in r.out
    r = cli(
        "--lang",
        "en",
        "users",
        "add",
        "aud",
        "--role",
        "auditor",
        "--affiliation",
        "RU",
        "--db",
        db,
    )
    assert r.code == 1
    assert "auditor: belongs to no contingent or party; leave the affiliation empty" in r.err
    r = cli("shift", "handover", "--as-user", "tr-do", "--format", "json", "--db", db)
    assert r.code == 0 and r.json()["pending_decisions"] == []
    r = cli("users", "disable", "tr-do", "--db", db)
    assert r.code == 0
    r = cli("shift", "handover", "--as-user", "tr-do", "--db", db)
    assert r.code == 1 and "disabled" in r.err
