"""The ledger commands end to end: keys, checkpoint, verify (database, bundle), release, bench."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


@pytest.fixture
def center(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """A center with the sample observations ingested and keys in tmp/keys."""
    monkeypatch.setenv("CEASEFIRE_DB", str(tmp_path / "center.db"))
    monkeypatch.setenv("CEASEFIRE_KEYS", str(tmp_path / "keyroot"))
    result = cli("keys", "init", "--dir", str(tmp_path / "keys"))
    assert result.code == 0, result.err
    assert "center, RU, TR" in result.out
    result = cli("ingest", str(SAMPLE), "--json")
    assert result.code == 0, result.err
    return tmp_path


def test_keys_checkpoint_verify_release(center: Path, cli) -> None:  # type: ignore[no-untyped-def]
    keys = str(center / "keys")
    shown = cli("keys", "show", "--dir", keys)
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert [line.split()[0] for line in lines] == ["center", "RU", "TR"]
    assert lines[0].split()[1].startswith("ceasefire/karabakh-2020+")
    (center / "trusted.txt").write_text(shown.out)

    made = cli("checkpoint", "--keys", keys)
    assert made.code == 0, made.err
    assert made.out.startswith("ceasefire/karabakh-2020\n")
    assert made.out.count("\n— ") == 3  # the center and both contingents

    ok = cli("verify", "--keys", keys)
    assert ok.code == 0, ok.out
    assert "agrees with its log" in ok.out

    first = center / "first.json"
    released = cli(
        "release", "RU/RU-0001", "TR/TR-0001", "--to", "AM", "--out", str(first), "--keys", keys
    )
    assert released.code == 0, released.err
    bundle = json.loads(first.read_text())
    assert set(bundle) >= {
        "checkpoint",
        "entries",
        "verifier_keys",
        "log_size",
        "origin",
        "released_to",
        "released_at",
        "consistency_proofs",
    }
    assert len(bundle["entries"]) == 2 and bundle["released_to"] == "AM"
    checked = cli("verify", "--bundle", str(first), "--trusted-keys", str(center / "trusted.txt"))
    assert checked.code == 0, checked.out
    assert "2 record(s) proven" in checked.out

    rotated = cli("keys", "rotate", "RU", "--dir", keys)
    assert rotated.code == 0, rotated.err
    assert "new key of RU" in rotated.out
    second = center / "second.json"
    # AM again: its bundle proves consistency from the size of AM's first one.
    assert cli("release", "--all", "--to", "AM", "--out", str(second), "--keys", keys).code == 0
    again = cli(
        "verify", "--bundle", str(second), "--previous-checkpoint", str(first), "--format", "json"
    )
    assert again.code == 0, again.out
    report = again.json()
    assert report["ok"] and report["consistent_with"] == bundle["log_size"]
    # The old trusted keys no longer cover RU's rotated key.
    stale = cli("verify", "--bundle", str(second), "--trusted-keys", str(center / "trusted.txt"))
    assert stale.code == 1 and "not one of the trusted keys" in stale.out
    # After the rotation, the audit still verifies old checkpoints with the retired key.
    assert cli("verify", "--keys", keys).code == 0

    tampered = json.loads(first.read_text())
    tampered["entries"][0]["record"] = tampered["entries"][0]["record"].replace(
        "RU-0001", "RU-0002"
    )
    (center / "tampered.json").write_text(json.dumps(tampered))
    bad = cli("verify", "--bundle", str(center / "tampered.json"))
    assert bad.code == 1 and "is not proven" in bad.out


def test_verify_names_a_row_changed_behind_the_centers_back(center: Path, cli) -> None:  # type: ignore[no-untyped-def]
    keys = str(center / "keys")
    assert cli("checkpoint", "--keys", keys).code == 0
    with sqlite3.connect(center / "center.db") as db:
        db.execute("UPDATE observations SET category = 'projectile' WHERE source_id = 'RU-0002'")
        db.execute('DELETE FROM ledger WHERE "index" = 4')
    found = cli("verify", "--keys", keys, "--format", "json")
    assert found.code == 1
    findings = found.json()["findings"]
    assert {"table": "ledger", "row": "index 4", "problem": "missing (deleted?)"} in findings
    assert any(
        f["table"] == "observations" and "RU/RU-0002" in f["row"] and "category" in f["problem"]
        for f in findings
    )
    text = cli("verify", "--keys", keys)
    assert text.code == 1 and "ledger, index 4: missing" in text.out


def test_refusals(center: Path, cli) -> None:  # type: ignore[no-untyped-def]
    keys = str(center / "keys")
    assert cli("release", "--all", "--to", "XX", "--keys", keys).code == 1
    assert cli("release", "RU/RU-0001", "--all", "--to", "AM", "--keys", keys).code == 2
    missing = cli("release", "RU/RU-9999", "--to", "AM", "--keys", keys, "--out", "x.json")
    assert missing.code == 1 and "RU/RU-9999" in missing.err
    assert cli("keys", "rotate", "XX", "--dir", keys).code == 1
    assert cli("checkpoint", "--keys", str(center / "nowhere")).code == 1
    assert cli("verify", "--previous-checkpoint", str(SAMPLE)).code == 2


def test_default_key_directory(center: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("keys", "init").code == 0
    assert (center / "keyroot" / "karabakh-2020" / "center.skey").exists()
    assert cli("checkpoint").code == 0


def test_bench_ledger_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "bench",
        "ledger",
        "--records",
        "300",
        "--batch",
        "100",
        "--load-seconds",
        "0.1",
        "--dir",
        str(tmp_path),
        "--json",
    )
    assert result.code == 0, result.err
    data = result.json()
    for key in ("name", "rate", "baseline", "baseline_rate", "ratio", "peak_rss_mb"):
        assert key in data
    assert data["name"] == "ledger" and data["baseline"].startswith("pymerkle")
    assert data["ratio"] == data["rate"] / data["baseline_rate"]
    assert data["roots_agree"] is True
    for key in ("proof_p50_us", "proof_p99_us", "checkpoint_p50_ms", "checkpoints"):
        assert key in data
    assert list(tmp_path.iterdir()) == []  # its files are removed
