"""`ceasefire serve`: the HTTP API, the CoT listeners and the correlation follower."""

from __future__ import annotations

from pathlib import Path

import typer

from ceasefire.cli.common import (
    DB_OPTION,
    MISSION_OPTION,
    console_err,
    freeze_startup_heap,
    settings,
)
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.served import log_to_stderr


def serve(
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    host: str = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="HTTP port of the API (default 8000; 0: none)."),
    cot_tcp_port: int = typer.Option(
        None, "--cot-tcp-port", help="CoT / TAK stream port over TCP (default 8087; 0: none)."
    ),
    cot_udp_port: int = typer.Option(
        None, "--cot-udp-port", help="CoT / TAK mesh port over UDP (default 6969; 0: none)."
    ),
    cot_certs: Path = typer.Option(
        None,
        "--cot-certs",
        help="Directory of `ceasefire certs init`: also serve CoT over TLS, each client's "
        "certificate naming its contingent.",
    ),
    cot_tls_port: int = typer.Option(
        None, "--cot-tls-port", help="CoT / TAK port over TLS (default 8089), with --cot-certs."
    ),
    cot_tcp_contingent: str = typer.Option(
        None, "--cot-tcp-contingent", help="The contingent the plain TCP listener sends for."
    ),
    cot_udp_contingent: str = typer.Option(
        None, "--cot-udp-contingent", help="The contingent the UDP listener sends for."
    ),
    escalate_every: float = typer.Option(
        None,
        "--escalate-every",
        metavar="SECONDS",
        help="Escalate overdue decisions to the heads every SECONDS (default 60; 0: never).",
    ),
    nats: str = typer.Option(
        None, "--nats", help="NATS server URL: also take the nodes' batches from JetStream."
    ),
    workers: int = typer.Option(
        None, "--workers", help="API processes sharing the HTTP port (default 1)."
    ),
    checkpoint_every: float = typer.Option(
        None,
        "--checkpoint-every",
        metavar="SECONDS",
        help="Make a checkpoint cosigned by every witness every SECONDS (default 0: never); "
        "one center of those on a store does, under a lease.",
    ),
) -> None:
    """Run the center: the HTTP API under /api/v1 and the CoT listeners, until interrupted."""
    found = settings(
        db=db,
        mission=mission,
        host=host,
        port=port,
        cot_tcp_port=cot_tcp_port,
        cot_udp_port=cot_udp_port,
        cot_certs=cot_certs,
        cot_tls_port=cot_tls_port,
        cot_tcp_contingent=cot_tcp_contingent,
        cot_udp_contingent=cot_udp_contingent,
        escalate_every=escalate_every,
        nats=nats,
        workers=workers,
        checkpoint_every=checkpoint_every,
    )
    if not (found.port or found.cot_tcp_port or found.cot_udp_port or found.cot_certs):
        raise InputError(
            Problem(file="serve", field="--port", reason=_("every listener is disabled"))
        )
    log_to_stderr()
    # imported here: the web stack is only needed by this command
    from ceasefire.api.serve import serve as serve_center
    from ceasefire.center import Center

    serve_center(Center(found), say=console_err.print, ready=freeze_startup_heap)
