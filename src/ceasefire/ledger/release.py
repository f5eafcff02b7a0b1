"""Making release bundles from the database (the format and its checking: :mod:`.bundle`).

Why: what the center hands a party must prove itself. A release takes a fresh checkpoint
cosigned by every contingent, the selected entries with their inclusion proofs at that
checkpoint's size, and consistency proofs from every size released before to the same
recipient (so a party that kept an earlier bundle can rule out a rollback or a split view,
and learns nothing of the sizes, hence the existence, of releases to others). The release
itself is then logged as an entry of kind ``release`` naming the party, the entries and the
bundle's SHA-256.

What is released is chosen as (kind, refs) selections, e.g. (``observation``, ``RU/RU-0001``).
The ledger knows entries and proofs, not incidents: the releasing side resolves an incident to
its selections (:func:`ceasefire.workflow.releases.incident_selections`) and hands them over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.bundle import FORMAT, encode_hashes
from ceasefire.ledger.cosign import RemoteWitnesses, make_checkpoint
from ceasefire.ledger.entry import (
    KIND_RELEASE,
    LogEntry,
    parse_envelope,
    timestamp,
)
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import KeyRing
from ceasefire.ledger.tables import intake_keys, releases


@dataclass(frozen=True)
class Selection:
    """Entries to release: every entry of ``kind`` with one of ``refs`` (None: all of kind)."""

    kind: str
    refs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Release:
    """A written release: where, at which log size, how many entries, its own log index."""

    path: Path
    log_size: int
    entries: int
    index: int
    sha256: str


def released_sizes(engine: Engine, to: str) -> list[int]:
    """Log sizes of every checkpoint released so far to ``to`` (from its ``release`` entries,
    whose ref is the recipient)."""
    sizes: set[int] = set()
    with engine.connect() as db:
        for stored in log.entries_of(db, KIND_RELEASE, (to,)):
            record = parse_envelope(stored.entry).record
            if isinstance(record, dict) and isinstance(record.get("log_size"), int):
                sizes.add(record["log_size"])
    return sorted(sizes)


def build_bundle(
    engine: Engine,
    ring: KeyRing,
    to: str,
    selections: Sequence[Selection],
    since: Sequence[int] = (),
    at: datetime | None = None,
    remote: RemoteWitnesses | None = None,
) -> dict[str, Any]:
    """The bundle object for ``selections`` at a fresh cosigned checkpoint (nothing logged;
    ``remote``: see :func:`~ceasefire.ledger.cosign.make_checkpoint`)."""
    tree = log.LogTree()
    checkpoint = make_checkpoint(engine, ring, tree, remote=remote)
    size = checkpoint.size
    chosen: dict[int, log.StoredEntry] = {}
    problems: list[Problem] = []
    with engine.connect() as db:
        for selection in selections:
            found = log.entries_of(db, selection.kind, selection.refs)
            found = [e for e in found if e.index < size]
            for e in found:
                chosen[e.index] = e
            if selection.refs is not None:
                have = {e.ref for e in found}
                problems.extend(
                    Problem(
                        file="release",
                        field=selection.kind,
                        record=ref,
                        reason=_("no such {kind} in the ledger").format(kind=selection.kind),
                    )
                    for ref in selection.refs
                    if ref not in have
                )
    if problems:
        raise InputError(problems)
    if not chosen:
        raise InputError(Problem(file="release", field="", reason=_("nothing to release")))
    old_sizes = sorted({s for s in [*released_sizes(engine, to), *since] if 0 < s < size})
    for s in since:
        if not 0 < s <= size:
            raise InputError(
                Problem(
                    file="release",
                    field="--since",
                    reason=_("size {s} is not between 1 and the log size {n}").format(s=s, n=size),
                )
            )
    return {
        "format": FORMAT,
        "origin": ring.origin,
        "log_size": size,
        "released_to": to,
        "released_at": timestamp(at or datetime.now(UTC)),
        "checkpoint": checkpoint.note,
        "verifier_keys": [vkey for _holder, vkey in ring.vkeys()],
        "intake_keys": _intake_keys(engine),
        "entries": [
            {
                "index": index,
                "record": e.entry,
                "inclusion_proof": encode_hashes(tree.tree.inclusion_proof(index, size)),
            }
            for index, e in sorted(chosen.items())
        ],
        "consistency_proofs": [
            {"old_size": s, "proof": encode_hashes(tree.tree.consistency_proof(s, size))}
            for s in old_sizes
        ],
    }


def write_release(
    engine: Engine,
    ring: KeyRing,
    path: Path,
    to: str,
    selections: Sequence[Selection],
    since: Sequence[int] = (),
    remote: RemoteWitnesses | None = None,
    incidents: Sequence[str] = (),
) -> Release:
    """Build a bundle, log the release, and write the file (all of it or none of it).

    ``incidents``: the incidents released (by the releasing side's selections), named in the
    bundle and the logged record, so a listing can say later what followed them."""
    bundle = build_bundle(engine, ring, to, selections, since, remote=remote)
    if incidents:
        bundle["incidents"] = list(incidents)
    data = (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    record = {
        "released_to": to,
        "released_at": bundle["released_at"],
        "log_size": bundle["log_size"],
        "root_hash": _root_of(bundle["checkpoint"]),
        "entries": [e["index"] for e in bundle["entries"]],
        "bundle_sha256": digest,
        **({"incidents": list(incidents)} if incidents else {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    try:
        with engine.begin() as db:
            index = log.append(db, [LogEntry.of(KIND_RELEASE, to, record)])[0]
            # Kept too, so the party's liaison can fetch it from the center.
            db.execute(
                insert(releases).values(
                    ledger_index=index,
                    released_to=to,
                    released_at=datetime.fromisoformat(
                        bundle["released_at"].replace("Z", "+00:00")
                    ),
                    log_size=bundle["log_size"],
                    entries=len(bundle["entries"]),
                    bundle_sha256=digest,
                    bundle=data.decode("utf-8"),
                )
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return Release(path, bundle["log_size"], len(bundle["entries"]), index, digest)


def _root_of(note: str) -> str:
    lines = note.split("\n")
    if len(lines) < 3:
        raise LedgerError("malformed checkpoint note")
    return lines[2]


def _intake_keys(engine: Engine) -> list[str]:
    """Every contingent node's intake verifier key ever registered (a rotated key still
    proves the records it signed), so that a party checks who each record came from."""
    with engine.connect() as db:
        return list(db.execute(select(intake_keys.c.vkey).order_by(intake_keys.c.id)).scalars())
