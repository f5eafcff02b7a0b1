"""Log-in: the same work for known and unknown names, and a rate limit that locks no one out
from another address (issue 19, finding 7). Times are not asserted (the machine is noisy):
the test counts the password checks made instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_support import cheap_hashes  # noqa: F401  (light argon2: these tests count checks)
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.mission import Mission
from ceasefire.workflow import roles

SESSION = "/api/v1/session"


@pytest.fixture
def app(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> Any:
    with engine.begin() as db:
        for name, role, contingent in (
            ("ru-duty", "duty_officer", "RU"),
            ("tr-duty", "duty_officer", "TR"),
            ("tr-head", "head", "TR"),
        ):
            roles.add_user(db, demo_mission, name, role, contingent, f"{name} secret")
        roles.add_user(db, demo_mission, "tr-gone", "analyst", "TR", "gone secret")
        roles.disable_user(db, demo_mission, "tr-gone")
    return create_app(engine, demo_mission, enricher=demo_enricher)


def client_at(app: Any, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The hashes each log-in checked a password against."""
    seen: list[str] = []
    real = roles._hasher

    class Counting:
        def verify(self, hash: str, password: str) -> bool:
            seen.append(hash)
            return real.verify(hash, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(roles, "_hasher", Counting())
    yield seen


def test_unknown_and_known_names_cost_the_same_check(app: Any, checks: list[str]) -> None:
    client = client_at(app, "10.0.0.1")
    for name in ("ru-duty", "nobody", "tr-gone", "ru-duty"):
        answer = client.post(SESSION, json={"name": name, "password": "wrong"})
        assert answer.status_code == 401
        assert answer.json()["detail"] == "wrong user name or password"
    # one argon2 check each, with the same parameters: the known user's hash or the dummy
    assert len(checks) == 4
    assert len({h.rsplit("$", 2)[0] for h in checks}) == 1


def test_guessing_is_stopped_without_locking_out_the_officers(app: Any) -> None:
    from ceasefire.api.login_limits import PER_ADDRESS, PER_USER

    attacker = client_at(app, "10.6.6.6")
    # the other side guesses a TR officer's password from its own address
    for _ in range(PER_USER):
        assert attacker.post(SESSION, json={"name": "tr-duty", "password": "x"}).status_code == 401
    refused = attacker.post(SESSION, json={"name": "tr-duty", "password": "tr-duty secret"})
    assert refused.status_code == 429  # even the right password: this address is done with it
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["type"] == "urn:ceasefire:problem:too-many-attempts"
    # the officer, from the duty room, logs in at once
    officer = client_at(app, "10.0.0.7")
    assert (
        officer.post(SESSION, json={"name": "tr-duty", "password": "tr-duty secret"}).status_code
        == 201
    )
    # the attacker, spraying other names, runs into its address's budget
    names = [f"n{i}" for i in range(PER_ADDRESS)]
    codes = [attacker.post(SESSION, json={"name": n, "password": "x"}).status_code for n in names]
    assert codes[: PER_ADDRESS - PER_USER] == [401] * (PER_ADDRESS - PER_USER)
    assert set(codes[PER_ADDRESS - PER_USER :]) == {429}
    # ... and still locks no one out: both contingents' officers log in from their rooms
    for name in ("ru-duty", "tr-head"):
        answer = officer.post(SESSION, json={"name": name, "password": f"{name} secret"})
        assert answer.status_code == 201, answer.text


def test_a_success_clears_the_count_for_that_name(app: Any) -> None:
    from ceasefire.api.login_limits import PER_USER

    client = client_at(app, "10.0.0.9")
    for _round in range(3):
        for _ in range(PER_USER - 1):
            assert (
                client.post(SESSION, json={"name": "ru-duty", "password": "x"}).status_code == 401
            )
        ok = client.post(SESSION, json={"name": "ru-duty", "password": "ru-duty secret"})
        assert ok.status_code == 201
