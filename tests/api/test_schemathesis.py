"""schemathesis over the API's own OpenAPI document, in process against the ASGI app, on SQLite
and PostgreSQL: every operation, with requests generated from the document, both those that
keep to it (positive) and those that break it (negative), each sent as one caller drawn at
random (a user of every role of every affiliation, or nobody), the direct lines included. No
answer may be a 5xx, and every answer must be what the document declares: its status code,
content type, body schema and headers, a request that keeps to the document not refused as
invalid, one that breaks it not accepted.

schemathesis' own pytest plugin (``from_fixture`` / ``parametrize``) does not run under pytest 9
(it sets the removed ``Item._nodeid``), so the operations are walked here with its Python API:
the same strategies (``APIOperation.as_strategy``) and checks (``Case.call_and_validate``).
The budget is bounded (:data:`EXAMPLES` a mode and operation, no shrinking); docs/api.md
("Fuzzing the API") says how to run longer."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest
import schemathesis
from api_support import add_staff, bearer, post_both_saw, staff_of
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection
from sqlalchemy import Engine, func, select

from ceasefire.api import create_app
from ceasefire.api.incidents import MAX_COVERAGE_DAYS
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.workflow import decisions, roles
from ceasefire.workflow.errors import Invalid

API = "/api/v1"
# examples a mode and operation: about 30 s on each database here; more with the variable
EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_EXAMPLES", "4"))
# The batch intake answers each record of a batch (200 with a rejection and its reason for a
# bad one, docs/api.md), so a batch that breaks the record's schema is answered, not refused.
# the operations of one tag only (e.g. "direct lines"), to fuzz them longer
ONLY_TAG = os.environ.get("CEASEFIRE_FUZZ_TAG", "")
COMPLAINED_AT, COMPLAINED_UNTIL = "2021-02-01T09:00:00Z", "2021-02-01T09:10:00Z"
ANSWERED_RECORD_BY_RECORD = {"POST /api/v1/observations", "POST /api/v1/nodes/{contingent}/batches"}


@pytest.fixture
def tokens(engine: Engine, demo_mission: Mission) -> dict[str, str]:
    return add_staff(engine, demo_mission)


@pytest.fixture
def api_schema(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tokens: dict[str, str]
) -> Any:
    """The document of an app whose store holds an incident both contingents saw."""
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(app) as client:
        post_both_saw(client, tokens)
    # Unknown query parameters are ignored, as HTTP APIs commonly do (and the document says
    # nothing of them): schemathesis is told not to send them as "invalid".
    config = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False}})
    return schemathesis.openapi.from_asgi(f"{API}/openapi.json", app, config=config)


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).upper())
    except (TypeError, ValueError):
        return None


def keeps_the_rules_across_members(case: schemathesis.Case, mission: Mission) -> bool:
    """Whether a case keeps the rules between members that a JSON Schema of one member
    cannot state: a later until than since, a bbox's minimum latitude not above its maximum,
    a shift that ends after it starts, a role's affiliation, a violation's clause, a
    decision's party, contingent and tier; and a cursor is valid only as the server gave it
    out.
    A positive case that breaks one of them is not a valid request; the server answers it
    422 with the reason, which the other tests check. (Ledger indexes are brought within the
    log by :func:`fit_to_the_log` instead.)"""
    query = dict(case.query or {})
    body = case.body if isinstance(case.body, dict) else {}
    path = case.operation.path
    since, until = _time(query.get("since")), _time(query.get("until"))
    if since and until and since >= until:
        return False
    if path.endswith("/coverage") and since and until and (until - since).days >= MAX_COVERAGE_DAYS:
        return False
    if isinstance(query.get("bbox"), str):
        numbers = [float(n) for n in query["bbox"].split(",")]
        if numbers[1] > numbers[3]:
            return False
    if "cursor" in query:  # only a cursor the server gave out is valid
        return False
    if path.endswith("/shifts") and case.method == "POST":
        starts, ends = _time(body.get("starts_at")), _time(body.get("ends_at"))
        return bool(starts and ends and starts < ends)
    if path.endswith("/assessments") and body.get("violation") == "yes":
        return bool(body.get("clauses"))  # a violation names at least one clause
    if path.endswith("/decisions") and case.method == "POST":
        try:  # only request_explanation names a party, only request_reobservation a contingent
            decisions._check_target(
                mission, str(body.get("reaction")), body.get("party"), body.get("contingent")
            )
            # and a reaction that needs both heads is never taken in the urgent tier
            decisions._tier(mission, str(body.get("reaction")), bool(body.get("urgent")))
        except Invalid:
            return False
    if path.endswith("/users") and case.method == "POST":
        try:
            roles._check_affiliation(mission, str(body.get("role")), str(body.get("affiliation")))
        except Invalid:
            return False
    return True


def fit_to_the_log(case: schemathesis.Case, log_size: int) -> None:
    """Bring a positive case's ledger indexes and sizes within the log (the document can
    state no maximum: the log grows), keeping what was drawn as far as it fits; the sizes
    are given (without them the newest cosigned checkpoint is used, and the test's store has
    none yet)."""
    query = case.query
    path = case.operation.path
    if query is None or "/ledger/" not in path:
        return
    if path.endswith("/ledger/entries"):
        query["start"] = int(query["start"]) % (log_size + 1)
        query["end"] = query["start"] + int(query["end"]) % (log_size - query["start"] + 1)
    elif path.endswith("/proof/inclusion"):
        query["size"] = 1 + int(query.get("size") or 0) % log_size
        query["index"] = int(query["index"]) % query["size"]
    elif path.endswith("/proof/consistency"):
        query["new"] = int(query.get("new") or log_size) % (log_size + 1)
        query["old"] = int(query["old"]) % (query["new"] + 1)


def fit_the_complaint(case: schemathesis.Case, party: str | None, mission: Mission) -> None:
    """Bring a positive complaint within what its schema cannot state: a past time within the
    mission, a place in its area, a party other than the caller's own (the caller is drawn
    apart), a description that is valid Unicode; the rest is kept as drawn."""
    body = case.body
    if not case.operation.path.endswith("/complaints") or not isinstance(body, dict):
        return
    body["observed_at"] = COMPLAINED_AT
    if "observed_until" in body:
        body["observed_until"] = COMPLAINED_UNTIL
    body["location"] = {**body.get("location", {}), "lat": 39.82, "lon": 46.70}
    others = [p for p in mission.party_ids() if p != party]
    if party is not None and body.get("against") not in others:
        body["against"] = others[0]
    description = str(body.get("description", ""))
    body["description"] = description.encode("utf-8", "replace").decode("utf-8")


def run_operation(
    operation: Any,
    mode: GenerationMode,
    callers: list[tuple[str | None, dict[str, str]]],
    log_size: int,
    mission: Mission,
) -> None:
    """:data:`EXAMPLES` cases of one operation in one mode, each sent as a drawn caller and
    its answer checked with every check of schemathesis (raises what they find). A caller is
    (the party it speaks for, if a party's liaison; its headers)."""
    excluded: list[CheckFunction] = []
    if operation.label in ANSWERED_RECORD_BY_RECORD:
        excluded.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(callers))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case, caller: tuple[str | None, dict[str, str]]) -> None:
        party, headers = caller
        if mode is GenerationMode.POSITIVE:
            fit_to_the_log(case, log_size)
            fit_the_complaint(case, party, mission)
            assume(keeps_the_rules_across_members(case, mission))
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    fuzz()


def test_every_answer_keeps_to_the_document_for_every_caller(
    api_schema: Any, tokens: dict[str, str], engine: Engine, demo_mission: Mission
) -> None:
    parties = {name: a for name, role, a in staff_of(demo_mission) if role == "party_liaison"}
    callers = [(parties.get(name), bearer(token)) for name, token in tokens.items()]
    callers.append((None, {}))
    with engine.connect() as db:
        log_size = int(db.scalar(select(func.count()).select_from(ledger)) or 0)
    assert log_size >= 2
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 55
    if ONLY_TAG:
        operations = [o for o in operations if ONLY_TAG in (o.tags or ())]
    for operation in operations:
        for mode in GenerationMode:
            try:
                run_operation(operation, mode, callers, log_size, demo_mission)
            except Unsatisfiable:  # an operation with nothing to break has no negative case
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as error:  # every operation is tried, then reported
                failures[f"{operation.label} ({mode})"] = f"{type(error).__name__}: {error}"[:1500]
    assert failures == {}, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
