"""Blindness as a mirror: whichever side gives its view first (RU, then the same with TR), what
every GET endpoint answers the other side, the auditor and every liaison is the same before and
after, byte for byte (statuses, bodies, ETags, counts, filters by status), apart from the
decisions' documented withheld form (docs/workflow.md) and the log, which grows. In the log the
new entries are withheld whole: not their text, not even their kind (assessment, decision,
approval, or the notice an urgent reaction sent)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from api_support import add_staff, bearer, one_loop, post_both_saw
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_blindness_api import leaks

from ceasefire.api import create_app
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import notices
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.store.schema import observations
from ceasefire.workflow import assessments, blindness, decisions
from ceasefire.workflow.roles import get_user

API = "/api/v1"
T0 = datetime(2021, 2, 1, 10, 30, tzinfo=UTC)
SIDES = [("RU", "TR"), ("TR", "RU")]
OUTSIDE = ["auditor", "pk-liaison", "az-liaison", "am-liaison"]
# Answers that may change while the side gives its view: the withheld decisions (their id,
# proposer and state are shown, by design) and the log's structure.
GROWS = re.compile(r"^/(decisions|shifts/handover|ledger/)")
# Fields that are the clock of the request itself, not of the record.
CLOCK = {"timeStamp", "at"}


def _without_clock(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_clock(v) for k, v in data.items() if k not in CLOCK}
    if isinstance(data, list):
        return [_without_clock(v) for v in data]
    return data


def _answer(client: TestClient, url: str, token: str) -> tuple[int, Any, str | None]:
    got = client.get(url, headers=bearer(token))
    assert got.status_code < 500, (url, got.text)
    try:
        body: Any = _without_clock(got.json())
    except ValueError:
        body = got.text
    return got.status_code, body, got.headers.get("etag")


def snapshot(
    client: TestClient, engine: Engine, token: str, incident: str
) -> dict[str, tuple[int, Any, str | None]]:
    """Every GET endpoint (from the app's route table) with the ids there are, as ``token``."""
    with engine.connect() as db:
        observed = db.execute(select(observations.c.contingent, observations.c.source_id)).all()
        sent = list(db.execute(select(notices.c.id)).scalars())
    values: dict[tuple[str, ...], list[tuple[str, ...]]] = {
        # a notice's link page, without the link's token: the same for one that was never sent
        ("notice_id",): [("NTC-0000000000000000",)] + [(n,) for n in sent],
        (): [()],
        ("incident_id",): [(incident,)],
        ("release_id",): [("1",), ("AZ-1",)],
        ("contingent", "observation_id"): [(c, s) for c, s in observed],
        ("collection_id",): [("incidents",), ("observations",), ("zones",)],
        ("collection_id", "fid"): [("incidents", incident)],
        ("report_id",): [("1",)],
    }
    queries: dict[str, list[str]] = {
        "/incidents": ["", "?status=open", "?status=assessing", "?limit=1"],
        "/ogc/collections/{collection_id}/items": ["", "?limit=1"],
        "/notices/{notice_id}/ack": ["?token=not-the-link"],
    }
    app = client.app
    paths = {p for p, ops in app.openapi()["paths"].items() if "get" in ops}  # type: ignore[attr-defined]
    paths = {p[len(API) :] for p in paths if p.startswith(API)}
    seen: dict[str, tuple[int, Any, str | None]] = {}
    alike: dict[str, set[tuple[int, str]]] = {}
    for path in sorted(paths):
        params = tuple(re.findall(r"\{([^}:]+)", path))
        if params in (("index",), ("decision_id",)):
            continue  # the log's entries and the decisions: checked apart below
        assert params in values, f"{path}: add its parameters {params} to the walk"
        for given in values[params]:
            concrete = path
            for value in given:
                concrete = re.sub(r"\{[^}]+\}", value, concrete, count=1)
            for query in queries.get(path, [""]):
                got = _answer(client, f"{API}{concrete}{query}", token)
                if params == ("notice_id",):
                    # Every id answered alike: one answer under the path's template.
                    alike.setdefault(f"{path}{query}", set()).add(
                        (got[0], str(got[1]).replace(given[0], "{notice_id}"))
                    )
                    continue
                seen[f"{concrete}{query}"] = got
    for key, answers in alike.items():
        # One answer for every id to a reader outside the side (a sent notice withheld is
        # "not found" as one never sent); the comparison before and after tells.
        seen[key] = (0, sorted(answers), None)
    return seen


def log_seen(client: TestClient, engine: Engine, token: str, start: int) -> list[Any]:
    """What the reader gets of the log's entries from ``start`` on, in a range and one by one."""
    with engine.connect() as db:
        size = len(db.execute(select(ledger.c["index"])).all())
    got = client.get(f"{API}/ledger/entries?start={start}&end={size}", headers=bearer(token))
    shown: list[Any] = [got.status_code, got.json().get("entries")]
    for index in range(start, size):
        one = client.get(f"{API}/ledger/entries/{index}", headers=bearer(token))
        shown.append((one.status_code, one.json()))
    return shown


@pytest.fixture
def both_saw(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """One incident both contingents saw; nobody has assessed it yet."""
    tokens = add_staff(engine, demo_mission)
    with one_loop(TestClient(create_app(engine, demo_mission, enricher=demo_enricher))) as client:
        incident = post_both_saw(client, tokens)
        yield client, tokens, incident["id"]


def give_view(engine: Engine, mission: Mission, side: str, incident: str) -> None:
    """``side`` assesses, proposes a two-key request for an explanation, and takes an urgent
    reaction at once (which sends its notices)."""
    s = side.lower()
    with engine.begin() as db:
        officer, head = get_user(db, f"{s}-duty-officer"), get_user(db, f"{s}-head")
        assessments.submit(
            db, mission, officer, incident, violation="yes", clauses=["1"], attribution="AZ",
            severity="high", remarks="SECRET-RU", at=T0,
        )  # fmt: skip
        decisions.propose(
            db, mission, head, incident, "request_explanation", party="AZ",
            remarks="SECRET-RU", at=T0,
        )  # fmt: skip
        decisions.propose(
            db, mission, officer, incident, "notify_peacekeepers", urgent=True,
            remarks="SECRET-RU", at=T0,
        )  # fmt: skip
        notice_effects(db, mission)  # its notices, as the dispatcher writes them


@pytest.mark.parametrize(("side", "other"), SIDES)
def test_the_other_side_and_outsiders_see_nothing_move(
    engine: Engine,
    demo_mission: Mission,
    both_saw: tuple[TestClient, dict[str, str], str],
    side: str,
    other: str,
) -> None:
    client, tokens, incident = both_saw
    o = other.lower()
    readers = [f"{o}-analyst", f"{o}-duty-officer", f"{o}-head", *OUTSIDE]
    with engine.connect() as db:
        start = len(db.execute(select(ledger.c["index"])).all())
    before = {r: snapshot(client, engine, tokens[r], incident) for r in readers}
    own_before = snapshot(client, engine, tokens[f"{side.lower()}-analyst"], incident)
    give_view(engine, demo_mission, side, incident)
    with engine.connect() as db:
        kinds = [k for (k,) in db.execute(select(ledger.c.kind).where(ledger.c["index"] >= start))]
    assert "notice" in kinds and "assessment" in kinds, kinds  # the urgent reaction sent notices
    for reader in readers:
        after = snapshot(client, engine, tokens[reader], incident)
        moved = {
            path
            for path in before[reader].keys() | after.keys()
            if before[reader].get(path) != after.get(path) and not GROWS.match(path)
        }
        assert moved == set(), (reader, {p: after.get(p) for p in sorted(moved)})
        leaked = {p: leaks(json.dumps(a[1])) for p, a in after.items()}
        assert {p: found for p, found in leaked.items() if found} == {}, reader
        # The log: each new entry withheld whole, its kind included, in a range and one by one.
        shown = log_seen(client, engine, tokens[reader], start)
        if shown[0] == 403:
            continue  # liaisons do not read the log
        assert {e["kind"] for e in shown[1]} == {blindness.WITHHELD_KIND}, (reader, shown[1])
        assert all("entry" not in e for e in shown[1])
        assert {status for status, _body in shown[2:]} == {403}, (reader, shown[2:])
    # Not a walk that sees nothing anyway: the side itself sees its view on the same paths ...
    s = side.lower()
    own = snapshot(client, engine, tokens[f"{s}-analyst"], incident)
    assert leaks(json.dumps(own[f"/incidents/{incident}/assessments"][1]))
    own_log = log_seen(client, engine, tokens[f"{s}-analyst"], start)
    assert {"assessment", "decision", "approval", "notice"} <= {e["kind"] for e in own_log[1]}
    # ... and the incident's status moves for nobody, the side included, until both assessed.
    assert own[f"/incidents/{incident}"] == own_before[f"/incidents/{incident}"]
    made = client.post(
        f"{API}/incidents/{incident}/assessments",
        json={"violation": "yes", "clauses": ["1"], "attribution": "AZ", "severity": "low"},
        headers=bearer(tokens[f"{o}-duty-officer"]),
    )
    assert made.status_code == 201, made.text
    for reader in readers:
        now = client.get(f"{API}/incidents/{incident}", headers=bearer(tokens[reader]))
        assert now.status_code == 403 or now.json()["status"] == "finding", (reader, now.text)
        shown = log_seen(client, engine, tokens[reader], start)
        if shown[0] != 403:
            assert "notice" in {e["kind"] for e in shown[1]}, reader
            assert blindness.WITHHELD_KIND not in {e["kind"] for e in shown[1]}, reader


@pytest.mark.parametrize(("side", "other"), SIDES)
def test_when_both_heads_end_the_blind_period_the_status_says_so(
    engine: Engine,
    demo_mission: Mission,
    both_saw: tuple[TestClient, dict[str, str], str],
    side: str,
    other: str,
) -> None:
    client, tokens, incident = both_saw
    give_view(engine, demo_mission, side, incident)

    def status() -> str:
        got = client.get(f"{API}/incidents/{incident}", headers=bearer(tokens["auditor"]))
        return str(got.json()["status"])

    assert status() == "open"
    for head in (f"{other.lower()}-head", f"{side.lower()}-head"):
        lifted = client.post(f"{API}/incidents/{incident}/unblind", headers=bearer(tokens[head]))
        assert lifted.status_code == 200, lifted.text
    assert status() == "assessing"  # one side's view, now everyone's; no finding without both


@pytest.mark.parametrize(("side", "other"), SIDES)
def test_the_command_line_reads_the_same_mirror(
    cli: Any,
    engine: Engine,
    database_url: str,
    demo_mission: Mission,
    both_saw: tuple[TestClient, dict[str, str], str],
    side: str,
    other: str,
) -> None:
    """The command line's listings, read as the other side and the auditor, show nothing of
    the view one side gave (whichever side), and the same incidents as before."""
    _client, _tokens, incident = both_saw
    o = other.lower()
    readers = [f"{o}-analyst", f"{o}-duty-officer", f"{o}-head", "auditor"]
    db = ["--db", database_url]

    def listing() -> str:
        shown = cli("incidents", "--format", "json", *db)
        assert shown.code == 0, shown.err
        return str(shown.out)

    before = listing()
    give_view(engine, demo_mission, side, incident)
    assert listing() == before
    for reader in readers:
        for args in (
            ("decisions", "--as-user", reader),
            ("decisions", "--as-user", reader, "--incident", incident, "--pending"),
            ("finding", incident, "--as-user", reader),
            ("shift", "handover", "--as-user", reader),
            ("notices", "--as-user", reader),
        ):
            shown = cli(*args, "--format", "json", *db)
            assert shown.code == 0, (args, shown.err)
            assert leaks(shown.out) == [], (reader, args, shown.out)
            assert "request_explanation" not in shown.out and "incident_notice" not in shown.out
        notices = cli("notices", "--as-user", reader, "--format", "json", *db)
        assert json.loads(notices.out)["notices"] == [] and '"pending": 0' in notices.out
    own = cli("notices", "--as-user", f"{side.lower()}-analyst", "--format", "json", *db)
    assert json.loads(own.out)["notices"], own.out  # the side itself reads them
