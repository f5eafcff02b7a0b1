"""`ceasefire serve` end to end: one process with the API and the CoT listeners on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ceasefire.incidents.tables import incidents
from ceasefire.intake import cot
from ceasefire.observations import Observation
from ceasefire.store import open_database

HOST = "127.0.0.1"
LINK_SECRET = "q9Xv-a-notice-links-secret"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def health(port: int) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"http://{HOST}:{port}/api/v1/health", timeout=2)
    except httpx.TransportError:
        return None
    result: dict[str, Any] = response.json()
    return result


def wait_for(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_serve_runs_the_api_and_the_listeners_and_stops_on_sigint(tmp_path: Path) -> None:
    http, tcp, udp = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    command = [
        sys.executable,
        "-c",
        "from ceasefire.cli import main; main()",
        "serve",
        "--db",
        str(tmp_path / "center.db"),
        "--host",
        HOST,
        "--port",
        str(http),
        "--cot-tcp-port",
        str(tcp),
        "--cot-udp-port",
        str(udp),
        # RU's station sends over TCP, TR's over UDP (an unbound listener takes no claim)
        "--cot-tcp-contingent",
        "RU",
        "--cot-udp-contingent",
        "TR",
    ]
    env = {**os.environ, "CEASEFIRE_LANG": "en"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        first = wait_for(lambda: health(http), 30)
        assert first["counts"]["observations"] == 0 and first["database"] == "sqlite"
        # a notice's link, as a party's inbox or a browser asks for it: the access log keeps
        # the path, not the token (whoever reads this log could act in the party's name)
        for path in ("report", "report/proof", "ack"):
            url = f"http://{HOST}:{http}/api/v1/notices/NTC-0123456789abcdef/{path}"
            assert httpx.get(f"{url}?token={LINK_SECRET}", timeout=5).status_code in (403, 404)
        event = Observation.model_validate(
            {
                "id": "RU-S1",
                "contingent": "RU",
                "platform": {"id": "post-3", "type": "observation-post"},
                "observed_at": "2021-02-01T10:32:00Z",
                "location": {"lat": 39.93, "lon": 46.83, "ce_m": 200},
                "category": "small_arms_fire",
                "sensed_by": "post",
            }
        )
        with socket.create_connection((HOST, tcp), timeout=5) as connection:
            connection.sendall(cot.observation_to_cot(event))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
            other = event.model_copy(update={"id": "TR-S1", "contingent": "TR"})
            datagram.sendto(cot.observation_to_cot(other), (HOST, udp))
        counts = wait_for(
            lambda: (h := health(http)) and h["counts"]["observations"] == 2 and h["counts"], 15
        )
        assert counts["by_contingent"] == {"RU": 1, "TR": 1}
        # The correlation follower, a process beside the server, puts them into one incident
        # (same place, same minute, one report of each contingent).
        wait_for(lambda: (h := health(http)) and h["counts"]["not_yet_correlated"] == 0, 60)
        engine = open_database(str(tmp_path / "center.db"), migrate=False)
        try:
            with engine.connect() as db:
                rows = db.execute(select(incidents.c.corroboration)).scalars().all()
        finally:
            engine.dispose()
        assert rows == ["both_contingents"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
    assert process.returncode == 0, err
    assert "CoT over TCP" in err and "/api/v1" in err
    said = out + err  # uvicorn writes its access log on standard output
    assert LINK_SECRET not in said and "/report/proof?token=[redacted] HTTP/1.1" in said
    assert "Escalating overdue decisions every 60 s" in err  # the scheduler ran beside them


def test_serve_refuses_when_every_listener_is_disabled(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("serve", "--port", "0", "--cot-tcp-port", "0", "--cot-udp-port", "0")
    assert result.code == 1 and "every listener is disabled" in result.err
    result = cli("serve", "--port", "70000")
    assert result.code == 1 and "--port" in result.err


def test_serve_refuses_a_bad_escalation_interval(cli) -> None:  # type: ignore[no-untyped-def]
    for bad in ("-1", "inf", "nan"):
        result = cli("serve", "--escalate-every", bad)
        assert result.code == 1 and "--escalate-every" in result.err, (bad, result.err)
