"""`ceasefire node`: a contingent's HQ node; `node init|ingest|sync|status` beside it, and
`node register` at the center.

Why: each contingent's data reaches its own headquarters first. The node checks and signs it
with the contingent's own intake key, keeps it in a durable outbox and forwards it to the
center, which can then prove which contingent each record came from (docs/nodes.md).
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, console, console_err, print_json
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.served import log_to_stderr
from ceasefire.timeutil import shown

app = typer.Typer(
    help="A contingent's HQ node: takes in its sensors, signs, keeps and forwards to the center.",
    invoke_without_command=True,
)

DIR_OPTION = typer.Option(
    Path("."), "--dir", help="The node's directory: node.toml, its key, its outbox."
)


def _config(directory: Path, **overrides: Any) -> Any:
    from ceasefire.node.config import load_config

    return load_config(directory, **overrides)


@app.callback()
def node(
    ctx: typer.Context,
    directory: Path = DIR_OPTION,
    contingent: str = typer.Option(None, "--contingent", help="This node's contingent (RU, ...)."),
    center: str = typer.Option(None, "--center", help="The center's URL (http://host:8000)."),
    mission: str = typer.Option(None, "--mission", help="Mission name or directory."),
    transport: str = typer.Option(None, "--transport", help="http (default) or nats."),
    nats: str = typer.Option(None, "--nats", help="NATS server URL for --transport nats."),
    host: str = typer.Option(None, "--host", help="Address the node's listeners bind."),
    http_port: int = typer.Option(None, "--http-port", help="Node HTTP intake port; -1: none."),
    cot_tcp_port: int = typer.Option(None, "--cot-tcp-port", help="CoT TCP port; -1: none."),
    cot_udp_port: int = typer.Option(None, "--cot-udp-port", help="CoT UDP port; -1: none."),
) -> None:
    """Run the node (without a subcommand) until interrupted; settings from DIR/node.toml."""
    ctx.obj = {
        "directory": directory,
        "contingent": contingent,
        "center": center,
        "mission": mission,
        "transport": transport,
        "nats": nats,
        "host": host,
        "http_port": http_port,
        "cot_tcp_port": cot_tcp_port,
        "cot_udp_port": cot_udp_port,
    }
    if ctx.invoked_subcommand is not None:
        return
    from ceasefire.node.run import Node, run

    config = _config(**ctx.obj)
    the_node = Node.open(config)
    log_to_stderr()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(ports: dict[str, int | None]) -> None:
            console.print(
                _(
                    "node {c}: HTTP intake port {http}, CoT TCP {tcp}, UDP {udp}; forwarding "
                    "to {center} over {transport}; outbox {outbox}"
                ).format(
                    c=config.contingent,
                    http=ports["http"],
                    tcp=ports["cot_tcp"],
                    udp=ports["cot_udp"],
                    center=config.center if config.transport == "http" else config.nats,
                    transport=config.transport,
                    outbox=config.outbox,
                ),
                soft_wrap=True,
            )

        await run(the_node, stop, ready)

    asyncio.run(main())


@app.command("init")
def init(
    ctx: typer.Context,
    contingent: str = typer.Argument(..., help="This node's contingent id (RU, TR, ...)."),
    mission: str = MISSION_OPTION,
    center: str = typer.Option("http://127.0.0.1:8000", "--center", help="The center's URL."),
) -> None:
    """Create the node's intake key and node.toml in --dir (both kept if they exist); print
    the verifier key to register at the center."""
    from ceasefire.ledger.keys import _write, origin_of
    from ceasefire.ledger.note import Ed25519Signer
    from ceasefire.ledger.origin import intake_key_name
    from ceasefire.mission import load_mission
    from ceasefire.node.config import CONFIG_FILE, load_signer

    directory: Path = ctx.obj["directory"]
    m = load_mission(mission)
    m.check_contingent(contingent, "node init", "CONTINGENT")
    directory.mkdir(parents=True, exist_ok=True)
    skey = directory / f"{contingent}.intake.skey"
    if not skey.exists():
        signer = Ed25519Signer.generate(intake_key_name(origin_of(m.id), contingent))
        _write(skey, signer.skey + "\n", 0o600)
        _write(skey.with_suffix(".vkey"), signer.vkey + "\n", 0o644)
        console_err.print(_("created the intake key {path}").format(path=skey))
    signer = load_signer(skey, m.id, contingent)
    config = directory / CONFIG_FILE
    if not config.exists():
        config.write_text(
            f'contingent = "{contingent}"\nmission = "{mission}"\ncenter = "{center}"\n'
            f'key = "{skey.name}"\noutbox = "outbox.db"\n',
            encoding="utf-8",
        )
        console_err.print(_("wrote {path}").format(path=config))
    console_err.print(_("register this verifier key at the center (`ceasefire node register`):"))
    typer.echo(signer.vkey)


@app.command("register")
def register(
    vkey: str = typer.Argument(..., help="The node's verifier key: the string or a .vkey file."),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """At the center: register (or replace) a contingent node's intake key; it is logged."""
    from ceasefire.ledger.intake_keys import IntakeKeyError

    path = Path(vkey)
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else vkey.strip()
    try:
        done = common.center(db=db, mission=mission).register_intake_key(text)
    except IntakeKeyError as e:
        raise InputError(Problem(file=vkey, field="", reason=str(e))) from None
    console.print(
        _("{action}: intake key of contingent {c}: {vkey}").format(
            action=done.action, c=done.contingent, vkey=done.vkey
        ),
        soft_wrap=True,
    )


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Files to take in.", exists=True, dir_okay=False),
    fmt: str = typer.Option(None, "--format", help="jsonl, geojson, csv, cot or klv."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object of counts."),
) -> None:
    """Take this contingent's files into the node's outbox (checked and signed)."""
    from ceasefire.intake import formats
    from ceasefire.node.run import Node

    the_node = Node.open(_config(**ctx.obj))
    intake = the_node.intake()
    refused: list[str] = []
    intake.on_reject = lambda r: refused.append(
        f"{r.source}, {r.unit} {r.record}, {r.field}: {r.reason}"
    )
    for path in files:
        kind = formats.of_file(path, fmt)
        with path.open("rb") as stream:
            intake.feed(kind.parse(stream, path.name, the_node.config.contingent), path.name)
    for line in refused[:50]:
        console_err.print(line, soft_wrap=True, highlight=False)
    summary = intake.result.summary()
    if as_json:
        print_json(summary)
    else:
        console.print(
            _("{accepted} accepted, {duplicates} duplicates, {rejected} rejected").format(**summary)
        )
    if intake.result.rejected:
        raise typer.Exit(1)


@app.command("sync")
def sync(
    ctx: typer.Context,
    timeout: float = typer.Option(
        0, "--timeout", help="Give up after this many seconds (0: never)."
    ),
) -> None:
    """Forward the outbox to the center until it is empty, showing the progress."""
    from ceasefire.node.run import Node

    the_node = Node.open(_config(**ctx.obj))
    start = the_node.outbox.status()
    total = start["backlog"]
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console_err
    )

    async def main() -> bool:
        forwarder = the_node.forwarder()
        task = progress.add_task(_("forwarding"), total=total)
        forwarder.on_progress = lambda _answer: progress.update(task, completed=forwarder.sent)
        try:
            deadline = time.monotonic() + timeout if timeout > 0 else None
            return await forwarder.drain(deadline)
        finally:
            await forwarder.transport.close()

    with progress:
        done = asyncio.run(main())
    _print_status(the_node.outbox.status(), False, the_node.mission.config.timezone)
    if not done:
        raise typer.Exit(1)


@app.command("status")
def status(
    ctx: typer.Context,
    fmt: str = typer.Option("table", "--format", help="table or json."),
    rejected: bool = typer.Option(False, "--rejected", help="List the records the center refused."),
) -> None:
    """What this node received, sent, and the center answered; the backlog and the last error."""
    from ceasefire.mission import load_mission
    from ceasefire.node.outbox import Outbox

    config = _config(**ctx.obj)
    outbox = Outbox(config.outbox, config.contingent)
    data = outbox.status()
    if rejected:
        data["rejected_records"] = outbox.rejected()
    _print_status(data, fmt == "json", load_mission(config.mission).config.timezone)


def _when(seconds: float | None, timezone: str) -> str:
    """A time in the mission's zone beside UTC."""
    if seconds is None:
        return "-"
    return shown(datetime.fromtimestamp(seconds, UTC), timezone, seconds=True)


def _print_status(data: dict[str, Any], as_json: bool, timezone: str) -> None:
    if as_json:
        print_json(data)
        return
    lines = [
        (_("contingent"), data["contingent"]),
        (_("received"), data["received"]),
        (_("answered: accepted"), data["accepted"]),
        (_("answered: duplicates"), data["duplicates"]),
        (_("answered: rejected"), data["rejected"]),
        (_("backlog (not yet answered)"), data["backlog"]),
        (_("of it sent, awaiting an answer"), data["in_flight"]),
        (_("of it stored by the broker"), data.get("delivered", 0)),
        (_("oldest waiting since"), _when(data["oldest_waiting_at"], timezone)),
        (_("last answer"), _when(data["last_answer_at"], timezone)),
    ]
    for label, value in lines:
        console.print(f"{label:>32}  {value}", highlight=False)
    if data["error"]:
        e = data["error"]
        console.print(
            _("batch {batch}: {attempts} attempts; last: {reason}").format(**e),
            highlight=False,
            soft_wrap=True,
        )
    for r in data.get("rejected_records", []):
        console.print(f"  {r['kind']} {r['key']}: {r['reason']}", highlight=False, soft_wrap=True)
