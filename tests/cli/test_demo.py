"""`ceasefire demo` runs the whole chain and says where to look."""

from __future__ import annotations

import json
import re
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ceasefire.inbox import Inbox
from ceasefire.inbox.server import page
from ceasefire.ledger.keys import WITNESSES_FILE
from ceasefire.witness.server import WitnessNode
from cli_support import run_cli


@pytest.fixture(scope="module")
def english_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of `ceasefire demo --hours 6` in English: its folder and what it printed. The
    tests only read the folder; one that changes what is in it works on a copy."""
    workdir = tmp_path_factory.mktemp("english") / "demo"
    result = run_cli("demo", "--dir", str(workdir), "--hours", "6")
    assert result.code == 0, result.err
    return workdir, result.out


def test_demo_runs_the_whole_center(cli, english_demo: tuple[Path, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workdir, printed = english_demo
    out = " ".join(printed.split())
    assert "controlled by AM" in out and "controlled by AZ" in out
    assert "observations accepted, 0 rejected" in out
    assert "F1" in out
    # Cosigned over HTTP by each contingent's witness on its own node.
    node = r"witness on its own node at (http://127\.0\.0\.1:\d+)"
    cosigned = re.search(rf"cosigned by RU \({node}\), TR \({node}\);", out)
    assert cosigned, out
    assert "nothing edited, deleted, inserted or reordered" in out
    # and by each party's inbox, as a witness of the log (the mission does not require it)
    assert "the parties' inboxes cosigned it too, as witnesses (not required): AM, AZ" in out
    for party in ("AM", "AZ"):
        assert (workdir / "inboxes" / party / "witness" / f"{party}.skey").exists()
        assert (workdir / "inboxes" / party / "witness.db").exists()
    assert "both parties received the same records: True" in out
    # a live feed through each contingent's own node, TR's cut off a while, then caught up
    assert re.search(r"TR's link down for 3 tries: \d+ records kept", out), out
    for c in ("RU", "TR"):
        assert re.search(
            rf"{c} node: \d+ observations and \d+ track points signed; at the "
            r"center \d+ of them accepted, 0 twice, 0 waiting; in order: True",
            out,
        )
        assert (workdir / "nodes" / c / "intake" / "outbox.db").exists()
    assert "joint result: joint finding" in out and "approved (two keys" in out
    assert "result: disputed, both views kept" in out
    # An urgent reaction taken alone, unanswered, escalated to the heads by the scheduler.
    assert re.search(r"duty_officer takes request re-observation by (RU|TR)'s drones", out), out
    assert "did not answer within 2 h" in out and "escalated it to the heads: escalated" in out
    assert (workdir / "ceasefire.db").exists() and list(workdir.glob("release-*-AM.json"))

    # Each node holds its own signer key and state; the center only its own signer key.
    keys, nodes = workdir / "keys", workdir / "nodes"
    for c in ("RU", "TR"):
        assert sorted(p.name for p in (nodes / c).glob("*.skey")) == [f"{c}.skey"]
        assert (nodes / c / "witness.db").exists() and (nodes / c / "center.vkey").exists()
    assert sorted(p.name for p in keys.glob("*.skey")) == ["center.skey"]
    assert sorted(p.name for p in keys.glob("*.vkey")) == ["RU.vkey", "TR.vkey", "center.vkey"]
    toml = (keys / WITNESSES_FILE).read_text()
    assert f'RU = "{cosigned[1]}"' in toml and f'TR = "{cosigned[2]}"' in toml
    assert "no contingent's signer key" in out

    db = str(workdir / "ceasefire.db")
    # The urgent reaction's incident is blind to the other side: each head sees its own side's.
    decisions = [
        d
        for head in ("ru-head", "tr-head")
        for d in cli("decisions", "--as-user", head, "--db", db, "--format", "json").json()
        if not d["withheld"]
    ]
    [urgent] = [d for d in decisions if d["tier"] == "urgent"]
    assert urgent["state"] == "escalated"
    assert [s["verdict"] for s in urgent["steps"]] == ["take", "escalate"]
    assert urgent["proposed_at"].startswith("2021-02-01")  # the simulated day's clock

    # The decision's notices over the direct lines: both parties' inboxes (hy, az) and the
    # peacekeepers' e-mail (ru); AZ's inbox and the force acknowledged, AM's escalated.
    assert "AM's inbox took 1 signed notice, in hy" in out
    assert "AZ's inbox took 1 signed notice, in az" in out
    assert "the peacekeepers' e-mail: 1 message through the local SMTP server" in out
    assert "AM did not acknowledge in time" in out and "heads of both contingents" in out
    import email as email_

    from ceasefire.dissemination.tables import notices as notices_table
    from ceasefire.store import open_database as open_db

    # then the day's report's: the force's e-mail carries the report and its signature
    mail, report_mail = sorted((workdir / "mail").glob("*.eml"))
    message = email_.message_from_bytes(mail.read_bytes())
    [attached] = [p for p in message.walk() if p.get_content_type() == "application/json"]
    assert json.loads(attached.get_payload(decode=True))["lang"] == "ru"
    reports = workdir / "reports"
    report = reports / "daily-2021-02-01-en.pdf"
    carried: dict[str | None, Any] = {
        p.get_filename(): p.get_payload(decode=True)
        for p in email_.message_from_bytes(report_mail.read_bytes()).walk()
        if p.get_filename()
    }
    assert carried[report.name] == report.read_bytes()
    assert carried[f"{report.name}.sig"].decode() == (reports / f"{report.name}.sig").read_text()
    for party, lang in (("AM", "hy"), ("AZ", "az")):
        listed = cli(
            "inbox",
            "list",
            "--party",
            party,
            "--dir",
            str(workdir / "inboxes" / party),
            "--format",
            "json",
        )
        assert listed.code == 0, listed.err
        by_kind = {n["kind"]: n for n in listed.json()}
        assert sorted(by_kind) == ["daily_report", "incident_notice"]
        received = by_kind["incident_notice"]
        assert received["lang"] == lang
        assert (received["acked_at"] is None) == (party == "AM")
        # the day's report, announced in the party's language, checked by its inbox
        announced = by_kind["daily_report"]
        assert announced["lang"] == lang
        assert announced["report_state"] == "verified", announced["report_reason"]
        # and the inbox's page (what `inbox serve` shows) says so, in the party's language
        folder = workdir / "inboxes" / party
        with Inbox(folder, party, (folder / "center.vkey").read_text().strip()) as inbox:
            shown = page(inbox, lang, "Asia/Baku")
        assert f"<article id='{announced['id']}'>" in shown and f"<html lang='{lang}'>" in shown
        assert "<p class='report-verified'>" in shown
        assert (
            f"{party}'s inbox took the report's notice by signed webhook, in {lang}: "
            "Report verified: signed by every contingent" in out
        )
    engine = open_db(str(workdir / "ceasefire.db"))
    with engine.connect() as connection:
        sent = {
            r.recipient: r
            for r in connection.execute(
                notices_table.select().where(notices_table.c.kind == "incident_notice")
            )
        }
        acks = {
            json.loads(e)["record"]["recipient"]: json.loads(e)["record"]["how"]
            for e in connection.exec_driver_sql(
                "SELECT entry FROM ledger WHERE kind = 'acknowledgement'"
            ).scalars()
        }
    engine.dispose()
    assert sent["AM"].acked_at is None and sent["AM"].escalated_at is not None
    assert sent["AZ"].escalated_at is None and sent["PK"].escalated_at is None
    assert acks == {"AZ": "signature", "PK": "token"}

    # What the demo points at works: the audit needs only the center's verifier keys.
    audit = cli("verify", "--db", db, "--keys", str(keys))
    assert audit.code == 0, audit.out + audit.err
    # Each node's witness kept the leaf hashes of what it cosigned (read from the center's
    # API): with their copies, verify compares every covered entry and finds none rewritten.
    copies: list[str] = []
    for c in ("RU", "TR"):
        copy = tmp_path / f"{c}-leaves.json"
        state = nodes / c / "witness.db"
        kept = cli(
            "witness", "leaves", "--key", str(nodes / c), "--state", str(state), "--out", str(copy)
        )
        assert kept.code == 0, kept.err
        assert json.loads(copy.read_text())["size"] > 0
        copies += ["--witness-leaves", str(copy)]
    compared = cli("verify", "--db", db, "--keys", str(keys), *copies)
    assert compared.code == 0, compared.out + compared.err
    assert " ".join(compared.out.split()).count("leaf hashes compared with the copy") == 2
    bundle = next(workdir.glob("release-*-AZ.json"))
    assert cli("verify", "--bundle", str(bundle)).code == 0
    # The day's report: signed by both heads with the keys on their nodes, logged, and
    # proven in a checkpoint both contingents' witnesses (and the parties' inboxes) cosigned.
    assert "the daily report of 2021-02-01 (en, PDF)" in out
    assert "signed by the heads of RU, TR, each with the key on its own node" in out
    assert re.search(r"checkpoint: \d+ entries, cosigned by RU, TR, AM, AZ; the proof", out), out
    assert report.read_bytes().startswith(b"%PDF")
    assert (reports / f"{report.name}.proof.json").is_file()
    checked = cli("report", "verify", str(report), "--trusted-keys", str(reports / "trusted.vkeys"))
    assert checked.code == 0, checked.out + checked.err
    assert "in the log: entry" in " ".join(checked.out.split())
    assert out.count("(the report: verified)") == 2
    # "Where to look" works from any folder: its paths are absolute.
    # (compared without white space: a long temporary path may be wrapped)
    assert f"--db{workdir.resolve() / 'ceasefire.db'}" in "".join(out.split())
    assert "ceasefire witness serve --key" in out and "--witness RU=http://127.0.0.1:8180" in out

    # The pages: the address, and a user of every role whose printed password logs in.
    from ceasefire.center.demo import demo_password
    from ceasefire.store import open_database
    from ceasefire.workflow.roles import authenticate

    assert "-> http://127.0.0.1:8000/" in out
    # roles by label (the label may wrap in its cell on an 80-column terminal)
    assert "liaison officer" in out and "party_liaison" not in out
    engine = open_database(db)
    roles = set()
    with engine.connect() as connection:
        for name in (
            "ru-analyst",
            "tr-duty_officer",
            "ru-head",
            "pk-liaison",
            "am-liaison",
            "auditor",
        ):
            assert f"{name} " in out and demo_password(name) in out
            roles.add(authenticate(connection, name, demo_password(name)).role)
    engine.dispose()
    assert roles == {"analyst", "duty_officer", "head", "liaison", "party_liaison", "auditor"}


def test_releasing_an_incident_carries_its_observations_and_finding(  # type: ignore[no-untyped-def]
    cli, english_demo: tuple[Path, str], tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"  # a copy: the release adds to its log and its witnesses' state
    shutil.copytree(english_demo[0], workdir)
    db, keys = str(workdir / "ceasefire.db"), str(workdir / "keys")
    listed = cli("incidents", "--db", db, "--status", "finding", "--format", "json").json()
    [incident] = listed
    out = tmp_path / "release.json"
    release = ["release", incident["id"], "--to", "AZ", "--db", db, "--keys", keys]
    # The demo's witnesses are gone: a release, which checkpoints, cannot be cosigned...
    down = cli(*release, "--out", str(out))
    assert down.code == 1 and not out.exists()
    assert "no cosignature from the witness of contingent" in " ".join(down.err.split())
    # ... until each contingent's node serves its witness again, from its own key and state.
    with ExitStack() as running:
        witnesses = []
        for c in ("RU", "TR"):
            home = workdir / "nodes" / c
            node = running.enter_context(WitnessNode(home, home / "witness.db"))
            witnesses += ["--witness", f"{c}={node.url}"]
        done = cli(*release, "--out", str(out), *witnesses)
    assert done.code == 0, done.err
    bundle = json.loads(out.read_text())
    kinds = sorted(json.loads(e["record"])["kind"] for e in bundle["entries"])
    assert kinds == ["finding"] + ["observation"] * len(incident["observation_ids"])
    assert cli("verify", "--bundle", str(out)).code == 0
    unknown = cli("release", "INC-000000000000", "--to", "AZ", "--db", db, "--keys", keys)
    assert unknown.code == 1 and "no such incident" in unknown.err
    neither = cli("release", "banana", "--to", "AZ", "--db", db, "--keys", keys)
    assert neither.code == 1 and "REF" in neither.err


def test_the_demo_reads_in_the_users_language(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """In Russian (a monitors' language) nothing is left in English or as a raw code: the
    disclaimer, the place phrases (disputed places in both forms), categories, corroboration."""
    result = cli("--lang", "ru", "demo", "--dir", str(tmp_path / "demo"), "--hours", "6")
    assert result.code == 0, result.err
    out = " ".join(result.out.split())
    assert "ИЛЛЮСТРАТИВНО" in out and "ILLUSTRATIVE" not in out
    assert "в н. п. Шуша / Шуши" in out and "in Shusha" not in out
    for code in ("small_arms_fire", "explosion", "single_source", "party_complaint_only"):
        assert code not in out, code
    assert " km " not in out and " км " in out
    # the day's report in the language of the run, verified by both inboxes
    assert (tmp_path / "demo" / "reports" / "daily-2021-02-01-ru.pdf").is_file()
    assert out.count("(отчёт: проверен)") == 2, out

    # Times read as the mission's people live them: local (Asia/Baku) with UTC beside it.
    db = str(tmp_path / "demo" / "ceasefire.db")
    zoned = re.compile(r"2021-02-01 \d\d:\d\d Asia/Baku \(\d\d:\d\d UTC\)")
    covered = cli("coverage", "--db", db, "--since", "2021-02-01T04:00")
    assert covered.code == 0, covered.err
    assert zoned.search(" ".join(covered.out.split())), covered.out
    # (a table's cells may wrap a time on an 80-column terminal: its parts, then)
    flights = cli(
        "sorties", "--db", db, "--since", "2021-02-01T04:00", "--until", "2021-02-01T05:00"
    )
    assert flights.code == 0, flights.err
    assert "Asia/Baku" in flights.out and "UTC)" in flights.out, flights.out
    # --since without an offset is the mission's time: 04:00 in Baku is 00:00 UTC
    covered = cli("coverage", "--db", db, "--since", "2021-02-01T04:00", "--format", "json")
    assert covered.json()["since"] == "2021-02-01T00:00:00Z"
    period = " ".join(cli("mission", "show").out.split())
    assert "2020-11-10 01:00 Asia/Baku (2020-11-09 21:00 UTC)" in period
