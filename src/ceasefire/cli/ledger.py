"""`ceasefire keys init|show|rotate`, `checkpoint`, `verify` and `release`: the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from ceasefire.center.core import load_ring
from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, Format, console, console_err, print_json
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger.bundle import BundleError, verify_bundle
from ceasefire.ledger.keys import (
    KeyRing,
    default_dir,
    init_keys,
    origin_of,
    read_vkeys,
)
from ceasefire.ledger.leaves import LeafCopy, LeafCopyError
from ceasefire.mission import Mission, load_mission
from ceasefire.workflow.releases import check_recipient, sort_refs

keys_app = typer.Typer(help="The center's and the contingents' signing keys.", no_args_is_help=True)

KEYS_DIR_OPTION = typer.Option(
    None,
    "--keys",
    help="Key directory (default: keys of the settings, else $CEASEFIRE_KEYS/MISSION, else "
    "$XDG_DATA_HOME/ceasefire/keys/MISSION).",
)
DIR_OPTION = typer.Option(
    None,
    "--dir",
    help="Key directory (default: keys of the settings, else $CEASEFIRE_KEYS/MISSION, else "
    "$XDG_DATA_HOME/ceasefire/keys/MISSION).",
)


WITNESS_OPTION = typer.Option(
    [],
    "--witness",
    help="CONTINGENT=URL: ask that contingent's witness on its own node over HTTP "
    "(repeatable; overrides witnesses.toml in the key directory).",
)


def _ring(
    mission: Mission,
    directory: Path | None,
    secret: bool = True,
    witnesses: list[str] | None = None,
) -> KeyRing:
    urls = witness_urls(mission, witnesses)
    return load_ring(mission, common.settings(keys=directory), secret, urls)


def witness_urls(mission: Mission, witnesses: list[str] | None) -> dict[str, str]:
    """The ``--witness CONTINGENT=URL`` options by contingent."""
    urls: dict[str, str] = {}
    for option in witnesses or []:
        contingent, sep, url = option.partition("=")
        if not sep:
            raise InputError(
                Problem(
                    file="--witness",
                    field=option,
                    reason=_(
                        "expected CONTINGENT=URL with a contingent of the mission ({known})"
                    ).format(known=", ".join(mission.contingent_ids())),
                )
            )
        urls[contingent] = url
    return urls


@keys_app.command("init")
def keys_init(directory: Path = DIR_OPTION, mission: str = MISSION_OPTION) -> None:
    """Create the center's log key and each contingent's cosigner key (existing keys kept)."""
    m = load_mission(mission)
    folder = directory or common.settings().keys or default_dir(m.id)
    created = init_keys(folder, origin_of(m.id), m.contingent_ids())
    if created:
        console.print(
            _("created keys of {holders} in {dir}").format(holders=", ".join(created), dir=folder)
        )
    else:
        console.print(_("all keys exist already in {dir}").format(dir=folder))


@keys_app.command("show")
def keys_show(directory: Path = DIR_OPTION, mission: str = MISSION_OPTION) -> None:
    """Print the verifier keys (public): the center's, then each contingent's."""
    ring = _ring(load_mission(mission), directory, secret=False)
    for holder, vkey in ring.vkeys():
        console.print(f"{holder:<8} {vkey}", soft_wrap=True)


@keys_app.command("rotate")
def keys_rotate(
    holder: str = typer.Argument(..., help="A contingent id (or 'center')."),
    directory: Path = DIR_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Replace a key; the change is logged as a ledger entry of kind "key"."""
    with common.center(db=db, mission=mission, keys=directory) as center:
        index, rotation = center.rotate_key(holder)
    console.print(
        _("new key of {h} (logged at index {i}): {vkey}").format(
            h=holder, i=index, vkey=rotation.vkey
        ),
        soft_wrap=True,
    )


def checkpoint(
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    keys: Path = KEYS_DIR_OPTION,
    witness: list[str] = WITNESS_OPTION,
) -> None:
    """Make (if the log grew) and print the latest checkpoint cosigned by every contingent."""
    with common.center(db=db, mission=mission, keys=keys) as center:
        stored, verified = center.checkpoint(witness_urls(center.mission, witness))
    console_err.print(
        _("checkpoint of {n} entries, cosigned by {who}").format(
            n=stored.size, who=", ".join(verified.cosigned_at)
        )
    )
    typer.echo(stored.note, nl=False)


def verify(
    bundle: Path = typer.Option(
        None, "--bundle", exists=True, dir_okay=False, help="Check a release bundle offline."
    ),
    previous: Path = typer.Option(
        None,
        "--previous-checkpoint",
        exists=True,
        dir_okay=False,
        help="A checkpoint (or bundle) kept from before: detects rollback and split views.",
    ),
    trusted: Path = typer.Option(
        None,
        "--trusted-keys",
        exists=True,
        dir_okay=False,
        help="File of verifier keys you trust (as printed by `keys show`).",
    ),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    keys: Path = KEYS_DIR_OPTION,
    witness: list[str] = WITNESS_OPTION,
    witness_leaves: list[Path] = typer.Option(
        [],
        "--witness-leaves",
        exists=True,
        dir_okay=False,
        help="A witness's copy of the leaf hashes it cosigned (`ceasefire witness leaves`): "
        "names each rewritten entry (repeatable; witnesses with a URL are asked anyway).",
    ),
    fmt: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """Audit the database against its log, or check a release bundle offline (--bundle)."""
    if bundle is not None:
        _verify_bundle(bundle, previous, trusted, fmt)
        return
    if previous is not None or trusted is not None:
        raise typer.BadParameter(
            _("--previous-checkpoint and --trusted-keys go with --bundle"), param_hint="--bundle"
        )
    copies = [_leaf_copy(path) for path in witness_leaves]
    with common.center(db=db, mission=mission, keys=keys) as center:
        report = center.verify(witness_urls(center.mission, witness), copies)
    if fmt is Format.json:
        print_json(report.as_json())
    else:
        console.print(
            _("ledger: {n} entries (head {head}); observations: {o} rows; checkpoints: {c}").format(
                n=report.entries, head=report.head, o=report.observations, c=report.checkpoints
            )
        )
        for note in report.notes:
            console.print(note)
        for finding in report.findings:
            console.print(f"[red]✗[/red] {finding}", soft_wrap=True)
        if report.ok:
            console.print(
                "[green]✓[/green] "
                + _("the database agrees with its log and the cosigned checkpoint")
            )
        else:
            console.print(_("{n} problem(s) found").format(n=len(report.findings)))
    if not report.ok:
        raise typer.Exit(1)


def _leaf_copy(path: Path) -> LeafCopy:
    try:
        return LeafCopy.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, LeafCopyError) as e:
        raise InputError(Problem(file=str(path), field="--witness-leaves", reason=str(e))) from None


def _verify_bundle(bundle: Path, previous: Path | None, trusted: Path | None, fmt: Format) -> None:
    try:
        report = verify_bundle(
            bundle.read_bytes(),
            previous_checkpoint=previous.read_text(encoding="utf-8") if previous else None,
            trusted_keys=read_vkeys(trusted) if trusted else None,
        )
    except BundleError as e:
        if fmt is Format.json:
            print_json({"ok": False, "problems": e.problems})
        else:
            for problem in e.problems:
                console.print(f"[red]✗[/red] {problem}", soft_wrap=True)
            console.print(_("{file}: does not verify").format(file=bundle))
        raise typer.Exit(1) from None
    if fmt is Format.json:
        print_json(
            {
                "ok": True,
                "origin": report.origin,
                "log_size": report.log_size,
                "released_to": report.released_to,
                "entries": report.entries,
                "cosigners": report.cosigners,
                "consistent_with": report.consistent_with,
                "signed_by": report.signed_by,
                "unsigned": report.unsigned,
                "superseded": report.superseded,
                "warnings": report.warnings,
            }
        )
        return
    for warning in report.warnings:
        console_err.print(f"[yellow]![/yellow] {warning}")
    console.print(
        "[green]✓[/green] "
        + _(
            "{file}: {n} record(s) proven in {origin} at size {size}, signed by the center and "
            "cosigned by {who}"
        ).format(
            file=bundle.name,
            n=report.entries,
            origin=report.origin,
            size=report.log_size,
            who=", ".join(report.cosigners),
        )
    )
    if report.signed_by:
        console.print(
            "[green]✓[/green] "
            + _("origin: {counts} observation(s) signed by their contingent's own node").format(
                counts=", ".join(f"{c} {n}" for c, n in sorted(report.signed_by.items()))
            )
        )
    if report.unsigned:
        console.print(
            _(
                "{n} observations are the center's word alone: not signed by their "
                "contingent's node"
            ).format(n=report.unsigned)
        )
    for incident, after in sorted(report.superseded.items()):
        console.print(
            "[yellow]![/yellow] "
            + (
                _("incident {id} was superseded by {successor} before this release: read it there")
                if after
                else _("incident {id} was superseded before this release")
            ).format(id=incident, successor=after),
            soft_wrap=True,
        )
    if report.consistent_with is not None:
        console.print(
            "[green]✓[/green] "
            + _(
                "consistent with the kept checkpoint of size {n}: no rollback, no split view"
            ).format(n=report.consistent_with)
        )


def release(
    refs: list[str] = typer.Argument(
        None, help="Incidents (INC-..., LX-...) or observations (RU/RU-0001) to release."
    ),
    to: str = typer.Option(..., "--to", help="The party (or force) it is released to."),
    release_all: bool = typer.Option(False, "--all", help="Release every observation."),
    out: Path = typer.Option(
        None, "--out", help="The bundle file (default release-PARTY-TIME.json here)."
    ),
    since: list[int] = typer.Option(
        [], "--since", help="Also prove consistency from this earlier log size (repeatable)."
    ),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    keys: Path = KEYS_DIR_OPTION,
    witness: list[str] = WITNESS_OPTION,
) -> None:
    """Write a release bundle: records, inclusion proofs, a cosigned checkpoint, the keys."""
    with common.center(db=db, mission=mission, keys=keys) as center:
        check_recipient(center.mission, to)
        if bool(refs) == release_all:
            raise typer.BadParameter(_("give incidents or observation refs, or --all; not both"))
        wanted, incidents = sort_refs(refs or [])
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        done = center.release(
            to,
            out or Path(f"release-{to}-{stamp}.json"),
            incidents=incidents,
            observations=None if release_all else wanted,
            since=since,
            witnesses=witness_urls(center.mission, witness),
        )
    console.print(
        _(
            "{path}: {n} record(s) for {to} at log size {size}; the release is logged at index "
            "{index}"
        ).format(path=done.path, n=done.entries, to=to, size=done.log_size, index=done.index)
    )
