"""`ceasefire demo` runs the whole chain and says where to look."""

from __future__ import annotations

from pathlib import Path


def test_demo_runs_the_whole_center(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workdir = tmp_path / "demo"
    result = cli("demo", "--dir", str(workdir), "--hours", "6")
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    assert "controlled by AM" in out and "controlled by AZ" in out
    assert "observations accepted, 0 rejected" in out
    assert "F1" in out
    assert "cosigned by RU, TR" in out and "nothing edited, deleted, inserted or reordered" in out
    assert "both parties received the same records: True" in out
    assert "joint result: finding" in out and "approved (two keys" in out
    assert "result: disputed, both views kept" in out
    assert (workdir / "ceasefire.db").exists() and list(workdir.glob("release-*-AM.json"))
    # What the demo points at works.
    audit = cli("verify", "--db", str(workdir / "ceasefire.db"), "--keys", str(workdir / "keys"))
    assert audit.code == 0, audit.out + audit.err
    bundle = next(workdir.glob("release-*-AZ.json"))
    assert cli("verify", "--bundle", str(bundle)).code == 0


def test_releasing_an_incident_carries_its_observations_and_finding(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    workdir = tmp_path / "demo"
    assert cli("demo", "--dir", str(workdir), "--hours", "6").code == 0
    db, keys = str(workdir / "ceasefire.db"), str(workdir / "keys")
    listed = cli("incidents", "--db", db, "--status", "finding", "--format", "json").json()
    [incident] = listed
    out = tmp_path / "release.json"
    done = cli(
        "release", incident["id"], "--to", "AZ", "--db", db, "--keys", keys, "--out", str(out)
    )
    assert done.code == 0, done.err
    bundle = json.loads(out.read_text())
    kinds = sorted(json.loads(e["record"])["kind"] for e in bundle["entries"])
    assert kinds == ["finding"] + ["observation"] * len(incident["observation_ids"])
    assert cli("verify", "--bundle", str(out)).code == 0
    unknown = cli("release", "INC-000000000000", "--to", "AZ", "--db", db, "--keys", keys)
    assert unknown.code == 1 and "no such incident" in unknown.err
    neither = cli("release", "banana", "--to", "AZ", "--db", db, "--keys", keys)
    assert neither.code == 1 and "REF" in neither.err
