"""A party's inbox checks the signed daily report its notice announces: a real report, made and
signed with the test keys, fetched from the center's API with the notice's token; not yet
provable before a checkpoint cosigned by every contingent covers it, verified after; a tampered
report, or keys that are not the contingents', refused with the reason. SQLite and PostgreSQL
(the center's store)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ceasefire.api import create_app
from ceasefire.dissemination.tables import notices
from ceasefire.dissemination.webhooks import webhook_headers
from ceasefire.inbox import Inbox, init_inbox
from ceasefire.inbox.reports import FAILED, NOT_YET, VERIFIED, check
from ceasefire.inbox.server import InboxNode, page
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.mission import Mission
from ceasefire.reports import daily, signing
from ceasefire.reports.tables import daily_reports

DAY = date(2021, 2, 1)


@dataclass
class Line:
    engine: sa.Engine
    mission: Mission
    ring: KeyRing
    client: TestClient
    report: signing.SignedReport
    rows: dict[str, Any]
    folder: Path

    def inbox(self, party: str, trusted: list[str] | None = None) -> Inbox:
        keys = [vkey for _holder, vkey in self.ring.vkeys()] if trusted is None else trusted
        init_inbox(self.folder / party, party)
        return Inbox(
            self.folder / party,
            party,
            self.ring.signer().vkey,
            "http://testserver",
            client=self.client,
            trusted_keys=keys,
        )


@pytest.fixture
def line(
    engine: sa.Engine, demo_mission: Mission, demo_enricher: Any, tmp_path: Path
) -> Iterator[Line]:
    """The center's API, and the Azerbaijani daily report of 2021-02-01 made, signed by both
    contingents with the test keys and stored: its notices written."""
    origin = origin_of(demo_mission.id)
    init_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    client = TestClient(create_app(engine, demo_mission, enricher=demo_enricher))
    data = daily.render(engine, demo_mission, DAY, "az", "html")
    day = DAY.isoformat()
    note = signing.sign(demo_mission, day, "az", "html", data, list(ring.cosigners.values()))
    report = signing.store(engine, demo_mission, day, "az", "html", data, note)
    with engine.connect() as db:
        rows = {r.recipient: r for r in db.execute(sa.select(notices))}
    yield Line(engine, demo_mission, ring, client, report, rows, tmp_path)
    client.close()


def _state(inbox: Inbox, notice_id: str) -> str | None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = inbox.get(notice_id)
        if found is not None and found.report_state is not None:
            return found.report_state
        time.sleep(0.05)
    return None


def test_the_inbox_verifies_the_report_once_a_cosigned_checkpoint_covers_it(line: Line) -> None:
    row = line.rows["AZ"]
    body = row.payload.encode()
    with line.inbox("AZ") as inbox:
        # the webhook is answered, then the report fetched and checked: signed, not yet logged
        # under a cosigned checkpoint (none was made since it was stored)
        with InboxNode(inbox, lang="az") as node:
            sent = httpx.post(
                node.webhook_url,
                content=body,
                headers=webhook_headers(line.ring.signer(), row.id, body),
            )
            assert sent.status_code == 201
            assert _state(inbox, row.id) == NOT_YET
        first = inbox.get(row.id)
        assert first is not None and "checkpoint" in first.report_reason

        make_checkpoint(line.engine, line.ring)
        [done] = inbox.recheck()
        assert (done.notice_id, done.state, done.reason) == (row.id, VERIFIED, "")
        assert done.result["sha256"] == line.report.sha256
        assert done.result["ledger_index"] == line.report.ledger_index
        assert len(done.result["signed_by"]) == 2  # both contingents' heads
        assert inbox.recheck() == []  # verified stays verified: nothing asked again
        shown = page(inbox, "az", "Asia/Baku")
        assert "report-verified" in shown and "SHA-256" in shown


def test_a_tampered_report_or_keys_not_the_contingents_are_refused_with_the_reason(
    line: Line,
) -> None:
    row = line.rows["AM"]
    make_checkpoint(line.engine, line.ring)
    with line.inbox("AM") as inbox:
        new, _id = inbox.receive(
            webhook_headers(line.ring.signer(), row.id, row.payload.encode()),
            row.payload.encode(),
        )
        assert new
        assert inbox.check_report(row.id).state == VERIFIED

        # the center now serves other bytes for the same report
        with line.engine.begin() as db:
            true_bytes = db.execute(
                sa.select(daily_reports.c.content).where(daily_reports.c.id == line.report.id)
            ).scalar_one()
            db.execute(
                sa.update(daily_reports)
                .where(daily_reports.c.id == line.report.id)
                .values(content=b"<html><body>another report</body></html>")
            )
        refused = inbox.check_report(row.id)
        assert refused.state == FAILED
        assert "SHA-256" in refused.reason and line.report.sha256 in refused.reason
        found = inbox.get(row.id)
        assert found is not None and found.report_state == FAILED

    # keys that are not the contingents' (someone else's, given as trusted): refused
    other = line.folder / "other-keys"
    init_keys(other, origin_of(line.mission.id), line.mission.contingent_ids())
    strangers = [v for _h, v in load_keys(other, origin_of(line.mission.id), ["RU", "TR"]).vkeys()]
    with line.engine.begin() as db:  # the true bytes back
        db.execute(
            sa.update(daily_reports)
            .where(daily_reports.c.id == line.report.id)
            .values(content=true_bytes)  # not rendered again: it says the minute it was made
        )

    def fetch(where: str) -> httpx.Response:
        return line.client.get(where)

    state, reason, _result = check(row.payload, fetch, [line.ring.signer().vkey, *strangers[1:]])
    assert state == FAILED and "signature" in reason, reason

    # a notice whose stated SHA-256 is not the document's: refused, naming both
    notice = json.loads(row.payload)
    notice["facts"]["report"]["sha256"] = "0" * 64
    notice["facts"]["reports"] = [notice["facts"]["report"]]
    state, reason, _result = check(json.dumps(notice), fetch, [v for _h, v in line.ring.vkeys()])
    assert state == FAILED and "0" * 64 in reason, reason


def test_the_report_by_the_notice_needs_the_notice_token(line: Line) -> None:
    row = line.rows["AZ"]
    base = f"/api/v1/notices/{row.id}/report"
    assert line.client.get(f"{base}?token={row.ack_token}").content.startswith(b"<!")
    assert line.client.get(f"{base}/signature?token={row.ack_token}").text == line.report.note
    assert line.client.get(f"{base}/proof?token={row.ack_token}").status_code == 409  # not yet
    for wrong in (
        f"{base}?token=not-the-token",
        f"/api/v1/notices/NTC-0/report?token={row.ack_token}",
    ):
        refused = line.client.get(wrong)
        assert refused.status_code == 403, wrong


def test_no_other_token_opens_a_notices_report_and_every_refusal_reads_the_same(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the other party, the force, a contingent's officer, an auditor or anyone: the token
    of one notice opens that notice's report only; another recipient's token, an incident
    notice's token (a notice of another kind), a staff member's API token, a guessed token or
    a notice that does not exist all get the same 403, byte for byte but the path (no oracle),
    and the token is compared with hmac.compare_digest. A token does not expire with the
    acknowledgement: the party may fetch its report again (docs/direct-lines.md)."""
    from ceasefire.dissemination import acks
    from ceasefire.workflow.roles import add_user, issue_token
    from dissemination.dissemination_support import notify_batches

    rows = line.rows
    assert {"AM", "AZ", "PK"} <= set(rows)
    [incident_notice, *_rest] = notify_batches(line.engine, line.mission, 1)
    with line.engine.connect() as db:
        other_kind = db.execute(sa.select(notices).where(notices.c.id == incident_notice)).one()
    with line.engine.begin() as db:
        add_user(db, line.mission, "tr-head", "head", "TR")
        add_user(db, line.mission, "az-liaison", "party_liaison", "AZ")
        staff = [issue_token(db, name, "test") for name in ("tr-head", "az-liaison")]
    compared: list[tuple[bytes, bytes]] = []
    real = acks.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(acks.hmac, "compare_digest", spy)
    parts = ("", "/signature", "/proof")

    def refusal(notice_id: str, token: str, part: str) -> tuple[int, str, str]:
        answer = line.client.get(
            f"/api/v1/notices/{notice_id}/report{part}", params={"token": token}
        )
        body = answer.json()
        assert body.pop("instance") == f"/api/v1/notices/{notice_id}/report{part}"
        return answer.status_code, answer.headers["content-type"], json.dumps(body, sort_keys=True)

    wrong: list[tuple[str, str]] = [
        (row.id, other.ack_token)  # another recipient's token on this notice
        for holder, row in rows.items()
        for reader, other in rows.items()
        if reader != holder
    ]
    wrong += [(row.id, other_kind.ack_token) for row in rows.values()]  # an incident notice's
    wrong += [(other_kind.id, other_kind.ack_token)]  # its own token: no report behind it
    wrong += [(other_kind.id, row.ack_token) for row in rows.values()]
    wrong += [(row.id, token) for row in rows.values() for token in staff]  # staff API tokens
    row = rows["AZ"]  # guessed: one character short, one too many, anything
    wrong += [(row.id, row.ack_token[:-1]), (row.id, row.ack_token + "A"), (row.id, "x")]
    wrong += [("NTC-0000000000000000", rows["AZ"].ack_token), ("NTC-0", "guess")]
    answers = {refusal(n, t, part) for n, t in wrong for part in parts}
    [(status, media, body)] = answers
    assert status == 403 and media == "application/problem+json", answers
    assert json.loads(body)["type"].endswith(":forbidden"), body
    # the tokens were compared in constant time, the whole of each
    assert (row.ack_token[:-1].encode(), row.ack_token.encode()) in compared

    # each recipient's own token opens its own notice's report, also once acknowledged
    for recipient, row in rows.items():
        own = line.client.get(f"/api/v1/notices/{row.id}/report", params={"token": row.ack_token})
        assert own.status_code == 200 and own.content.startswith(b"<!"), recipient
        # its URL holds the credential: kept by no cache, sent on as no Referer
        assert own.headers["cache-control"] == "no-store", recipient
        assert own.headers["referrer-policy"] == "no-referrer", recipient
    taken = line.client.post(
        f"/api/v1/notices/{rows['AM'].id}/ack", json={"token": rows["AM"].ack_token, "by": "AM"}
    )
    assert taken.status_code == 201, taken.text
    again = line.client.get(
        f"/api/v1/notices/{rows['AM'].id}/report/signature", params={"token": rows["AM"].ack_token}
    )
    assert again.status_code == 200 and again.text == line.report.note
    assert again.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_inbox_check_and_list_say_what_the_check_came_to(cli, line: Line) -> None:  # type: ignore[no-untyped-def]
    from ceasefire.served import ServedApp

    row = line.rows["AZ"]
    folder = line.folder / "AZ"
    with line.inbox("AZ") as inbox:
        inbox.receive(
            webhook_headers(line.ring.signer(), row.id, row.payload.encode()),
            row.payload.encode(),
        )
    (folder / "center.vkey").write_text(line.ring.signer().vkey + "\n")
    keys = line.folder / "keys.txt"
    keys.write_text(cli("keys", "show", "--dir", str(line.folder / "keys")).out)
    make_checkpoint(line.engine, line.ring)
    with ServedApp(line.client.app, name="center API") as api:
        args = ["--party", "AZ", "--dir", str(folder), "--center", api.url]
        refused = cli("inbox", "check", *args)  # no contingent key given: refused, with why
        assert refused.code == 1 and "--trusted-keys" in " ".join(refused.out.split())
        done = cli("inbox", "check", *args, "--trusted-keys", str(keys), "--format", "json")
    assert done.code == 0, done.err
    [checked] = done.json()
    assert (checked["notice_id"], checked["state"]) == (row.id, VERIFIED)
    listed = cli("inbox", "list", "--party", "AZ", "--dir", str(folder), "--format", "json")
    [received] = listed.json()
    assert received["report_state"] == VERIFIED and received["kind"] == "daily_report"
