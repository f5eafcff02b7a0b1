"""`ceasefire witness init|serve`: a contingent's witness on its own node.

Why: a contingent cosigns the center's checkpoints with a key the center never holds. Its node
keeps the key files `ceasefire keys` writes (only its own ``.skey``, and the center's ``.vkey``)
and runs the C2SP tlog-witness service; the center asks it over HTTP (``witnesses.toml``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ceasefire.cli.common import MISSION_OPTION, console, console_err
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger.keys import (
    default_dir,
    init_key,
    load_cosigner,
    origin_of,
)
from ceasefire.ledger.note import Ed25519Verifier, KeyFormatError
from ceasefire.ledger.origin import INTAKE
from ceasefire.ledger.witness import OriginCheck
from ceasefire.mission import load_mission
from ceasefire.served import log_to_stderr

PORT = 8180
"""The witness's default port (the center's API is on 8000, CoT on 8087)."""

app = typer.Typer(
    help="A contingent's witness on its own node: cosigns the center's checkpoints.",
    no_args_is_help=True,
)


@app.command("init")
def init(
    contingent: str = typer.Argument(..., help="This node's contingent id (RU, TR, ...)."),
    directory: Path = typer.Option(
        None,
        "--dir",
        help="Key directory (default $CEASEFIRE_KEYS/MISSION, else "
        "$XDG_DATA_HOME/ceasefire/keys/MISSION).",
    ),
    mission: str = MISSION_OPTION,
) -> None:
    """Create this contingent's cosigner key only (kept if it exists); print its verifier key."""
    m = load_mission(mission)
    m.check_contingent(contingent, "witness init", "CONTINGENT")
    folder = directory or default_dir(m.id)
    if init_key(folder, origin_of(m.id), contingent):
        console_err.print(_("created the key of {c} in {dir}").format(c=contingent, dir=folder))
    else:
        console_err.print(
            _("the key of {c} exists already in {dir}").format(c=contingent, dir=folder)
        )
    # Checked by loading: a .vkey left without its .skey is not a key this node can sign with.
    signer = load_cosigner(folder / f"{contingent}.skey")
    console_err.print(
        _("give this verifier key to the center ({file} in its key directory):").format(
            file=f"{contingent}.vkey"
        )
    )
    typer.echo(signer.vkey)


@app.command("serve")
def serve(
    key: Path = typer.Option(
        ...,
        "--key",
        help="This contingent's .skey file, or a directory holding it as its only contingent "
        "signer key.",
    ),
    log_key: list[str] = typer.Option(
        [],
        "--log-key",
        help="The center's verifier key: a vkey string or a file (center.vkey, `keys show` "
        "output); repeatable. Default: center.vkey beside the --key file.",
    ),
    state: Path = typer.Option(
        ..., "--state", help="SQLite file of what this witness cosigned (made if missing)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(PORT, "--port", help="HTTP port."),
    center: str = typer.Option(
        None,
        "--center",
        help="The center's API URL: before cosigning, read the new entries there, keep their "
        "leaf hashes (served on GET /leaves, for `ceasefire verify`) and, with --intake-key, "
        "refuse if one in this contingent's name lacks its signature.",
    ),
    center_token: str = typer.Option(
        None,
        "--center-token",
        envvar="CEASEFIRE_TOKEN",
        help="API token of a user who may read the ledger (default $CEASEFIRE_TOKEN).",
    ),
    intake_key: list[str] = typer.Option(
        [],
        "--intake-key",
        help="This contingent's node intake verifier key (string or .vkey file); repeatable.",
    ),
) -> None:
    """Run the witness's HTTP service (POST /add-checkpoint) until interrupted."""
    # imported here: the web stack is only needed by this command
    import uvicorn

    from ceasefire.ledger.cosign import DatabaseLeafStore
    from ceasefire.ledger.leaves import LeafKeeper
    from ceasefire.ledger.witness import Witness
    from ceasefire.witness.server import CenterEntries, create_app, followed_logs, open_state

    if not 1 <= port <= 65535:
        raise InputError(
            Problem(file="witness serve", field="--port", reason=_("a port is 1 to 65535"))
        )
    signer = load_cosigner(key)
    logs = followed_logs(key, log_key)
    check = None
    if intake_key:
        check = _origin_check(signer.name, center, center_token, intake_key)
    stored = open_state(state, signer.name)
    keeper = None
    if center is not None:
        # what it cosigns, it keeps the leaf hashes of (for `ceasefire verify`)
        keeper = LeafKeeper(
            DatabaseLeafStore(stored.engine, signer.name), CenterEntries(center, center_token)
        )
    witness = Witness(signer, logs, stored, check, keeper)
    log_to_stderr()
    console_err.print(
        _("witness {vkey}\nfollowing {logs}; state in {state}").format(
            vkey=signer.vkey, logs=", ".join(sorted(logs)), state=state
        ),
        soft_wrap=True,
    )
    console.print(
        _("add-checkpoint on http://{host}:{port}/add-checkpoint").format(host=host, port=port)
    )
    uvicorn.run(create_app(witness), host=host, port=port, log_level="info")


def _origin_check(
    cosigner: str, center: str | None, token: str | None, values: list[str]
) -> OriginCheck:
    """The entry check of a contingent's witness: its intake keys and the center to read."""
    from ceasefire.witness.server import CenterEntries

    if center is None:
        raise InputError(
            Problem(file="witness serve", field="--center", reason=_("--intake-key needs --center"))
        )
    keys = []
    for value in values:
        path = Path(value)
        text = path.read_text(encoding="utf-8").strip() if path.is_file() else value.strip()
        try:
            verifier = Ed25519Verifier.from_vkey(text)
        except KeyFormatError as e:
            raise InputError(Problem(file=value, field="--intake-key", reason=str(e))) from None
        if verifier.name != f"{cosigner}/{INTAKE}":
            raise InputError(
                Problem(
                    file=value,
                    field="--intake-key",
                    reason=_("the key is named {name}, not {expected}").format(
                        name=verifier.name, expected=f"{cosigner}/{INTAKE}"
                    ),
                )
            )
        keys.append(verifier)
    contingent = cosigner.rsplit("/", 1)[-1]
    return OriginCheck(contingent, tuple(keys), CenterEntries(center, token))


@app.command("leaves")
def leaves(
    key: Path = typer.Option(
        ..., "--key", help="This contingent's .skey file, or its key directory (as for serve)."
    ),
    state: Path = typer.Option(
        ..., "--state", exists=True, dir_okay=False, help="The witness's SQLite state file."
    ),
    log_key: list[str] = typer.Option(
        [], "--log-key", help="The center's verifier key, as for serve (names the log)."
    ),
    out: Path = typer.Option(
        None, "--out", help="Write the copy to this file (default: standard output)."
    ),
) -> None:
    """Export the leaf hashes this witness kept, for `ceasefire verify --witness-leaves`."""
    from ceasefire.ledger.cosign import DatabaseLeafStore
    from ceasefire.ledger.leaves import LeafCopy
    from ceasefire.witness.server import followed_logs, open_state

    signer = load_cosigner(key)
    origins = sorted(followed_logs(key, log_key))
    stored = open_state(state, signer.name)
    try:
        kept = DatabaseLeafStore(stored.engine, signer.name)
        copy = LeafCopy(signer.name, origins[0], kept.packed(origins[0]))
    finally:
        stored.engine.dispose()
    text = json.dumps(copy.as_json(), indent=0) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
    console_err.print(
        _("{n} leaf hashes of {origin} kept by {witness}").format(
            n=copy.size, origin=copy.origin, witness=copy.witness
        )
    )
