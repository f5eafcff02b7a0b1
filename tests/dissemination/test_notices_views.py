"""Dead letters shown to both contingents alike (CLI and API), retried by either side's duty
officer (logged), the parties' skew shown; `ceasefire notices dispatch` for operators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import mission_with_lines, notify_batches
from fastapi.testclient import TestClient
from receivers import Receiver

from api.api_support import API, add_staff, bearer
from ceasefire.api.app import create_app
from ceasefire.dissemination.tables import deliveries
from ceasefire.ledger.keys import init_keys, origin_of
from ceasefire.ledger.tables import ledger
from ceasefire.mission import load_mission


def test_dead_letters_retry_and_skew_cli_and_api(
    cli, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from ceasefire.store import open_database

    with Receiver() as r:
        folder = mission_with_lines(
            tmp_path, {"AM": r.url("am"), "AZ": r.url("az"), "PK": r.url("500")}
        )
        mission = load_mission(folder)
        keydir = tmp_path / "keys"
        init_keys(keydir, origin_of(mission.id), mission.contingent_ids())
        monkeypatch.setenv("CEASEFIRE_KEYS", str(tmp_path))  # <keys>/<mission id>
        (tmp_path / mission.id).symlink_to(keydir)
        engine = open_database(database_url)
        try:
            tokens = add_staff(engine, mission)
            common = ["--db", database_url, "--mission", str(folder)]
            ids = notify_batches(engine, mission, 2)
            # the policy's default would retry for minutes: fail fast for the test
            with engine.begin() as db:
                db.execute(
                    sa.update(deliveries)
                    .where(deliveries.c.queue == "PK/http")
                    .values(attempts=mission.config.policy.delivery_attempts - 1)
                )
            done = cli("notices", "dispatch", "--format", "json", *common)
            assert done.code == 0, done.err
            result = json.loads(done.out)
            assert result["delivered"] == 4 and result["dead"] == 2 and result["pending"] == 0
            assert sorted(r.seen.ids) == sorted(i for i in ids if i in r.seen.ids)
            assert len(r.seen.ids) == 4

            # both contingents' duty officers see the same dead letters
            seen = {}
            for officer in ("ru-duty-officer", "tr-duty-officer"):
                shown = cli(
                    "notices",
                    "--status",
                    "dead",
                    "--as-user",
                    officer,
                    "--format",
                    "json",
                    *common,
                )
                assert shown.code == 0, shown.err
                seen[officer] = json.loads(shown.out)
            assert seen["ru-duty-officer"] == seen["tr-duty-officer"]
            dead = seen["ru-duty-officer"]["notices"]
            assert {n["recipient"] for n in dead} == {"PK"} and len(dead) == 2
            assert dead[0]["deliveries"][0]["status"] == "dead"
            assert "500" in dead[0]["deliveries"][0]["last_error"]
            text = cli("notices", "--status", "dead", "--as-user", "tr-head", *common)
            assert text.code == 0 and dead[0]["id"] in text.out and "2 notices" in text.out
            every = json.loads(
                cli("notices", "--as-user", "ru-analyst", "--format", "json", *common).out
            )
            parties = [n for n in every["notices"] if n["recipient_kind"] == "party"]
            assert len(parties) == 4 and all(n["party_skew_ms"] is not None for n in parties)
            refused = cli("notices", "--as-user", "am-liaison", *common)
            assert refused.code == 1 and "may not" in refused.err

            # the API: the same list; a retry by TR's duty officer, then RU's of the other
            client = TestClient(create_app(engine, mission))
            with client:
                answer = client.get(
                    f"{API}/notices",
                    params={"status": "dead"},
                    headers=bearer(tokens["tr-duty-officer"]),
                )
                assert answer.status_code == 200
                assert [n["id"] for n in answer.json()["notices"]] == [n["id"] for n in dead]
                assert (
                    client.get(
                        f"{API}/notices",
                        params={"status": "bogus"},
                        headers=bearer(tokens["tr-duty-officer"]),
                    ).status_code
                    == 422
                )
                one = client.get(
                    f"{API}/notices/{dead[0]['id']}", headers=bearer(tokens["ru-head"])
                )
                assert one.status_code == 200 and one.json()["status"] == "dead"
                assert (
                    client.post(
                        f"{API}/notices/{dead[0]['id']}/retry", headers=bearer(tokens["ru-analyst"])
                    ).status_code
                    == 403
                )
                retried = client.post(
                    f"{API}/notices/{dead[0]['id']}/retry",
                    headers=bearer(tokens["tr-duty-officer"]),
                )
                assert retried.status_code == 200 and retried.json()["deliveries"] == 1
                again = client.post(
                    f"{API}/notices/{dead[0]['id']}/retry",
                    headers=bearer(tokens["tr-duty-officer"]),
                )
                assert again.status_code == 409
            back = cli("notices", "retry", dead[1]["id"], "--as-user", "ru-duty-officer", *common)
            assert back.code == 0, back.err
            pending = json.loads(
                cli(
                    "notices",
                    "--status",
                    "pending",
                    "--as-user",
                    "auditor",
                    "--format",
                    "json",
                    *common,
                ).out
            )
            assert {n["id"] for n in pending["notices"]} == {dead[0]["id"], dead[1]["id"]}
            with engine.connect() as db:
                who = [
                    json.loads(e)["record"]["by"]
                    for e in db.execute(
                        sa.select(ledger.c.entry)
                        .where(ledger.c.kind == "retry")
                        .order_by(ledger.c["index"])
                    ).scalars()
                ]
            assert who == ["tr-duty-officer", "ru-duty-officer"]
        finally:
            engine.dispose()
