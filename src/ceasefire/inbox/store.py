"""The inbox's notices in a SQLite file of its own; receiving and acknowledging them.

Why SQLite from the standard library: the inbox runs on a party's own machine, alone; one
file holds what it received (the notice's JSON exactly as signed, so the party can check it
against the center's log later) and what became of each acknowledgement.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ceasefire.dissemination.acks import payload_digest, sign_ack
from ceasefire.dissemination.webhooks import TOLERANCE, SignatureRefused, verify_webhook
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.inbox.reports import FAILED, NOT_YET, VERIFIED, check
from ceasefire.ledger.keys import init_key, load_cosigner, read_vkeys
from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier, KeyFormatError

DB_FILE = "inbox.db"
CENTER_KEY = "center.vkey"
WITNESS_DIR = "witness"  # the party's witness key, apart from its acknowledgement key
WITNESS_STATE = "witness.db"  # what the party's witness cosigned
MAX_BODY = 4 * 1024 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
  id TEXT PRIMARY KEY,
  received_at TEXT NOT NULL,
  kind TEXT NOT NULL,
  lang TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at TEXT NOT NULL,
  ack_due_at TEXT NOT NULL,
  ack_endpoint TEXT NOT NULL,
  payload TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  acked_at TEXT,
  acked_by TEXT,
  ack_index INTEGER,
  ack_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS report_checks (
  notice_id TEXT PRIMARY KEY REFERENCES notices (id),
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  checked_at TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '{}'
);
"""
TRUSTED_KEYS = "trusted.vkeys"
"""The contingents' verifier keys (``ceasefire keys show``), got apart from the center's lines:
what a daily report's signatures and its proof's checkpoint are checked against."""


def key_file(folder: Path, party: str) -> Path:
    return folder / f"{party}.skey"


def init_inbox(folder: Path, party: str) -> str:
    """Make the inbox's folder and the party's signer key unless it has one; its verifier key
    (to register in the mission's ``keys`` of the party)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = key_file(folder, party)
    if path.exists():
        return Ed25519Signer.from_skey(path.read_text(encoding="utf-8").strip()).vkey
    signer = Ed25519Signer.generate(f"{party.lower()}-inbox")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (signer.skey + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    (folder / f"{party}.vkey").write_text(signer.vkey + "\n", encoding="utf-8")
    return signer.vkey


def witness_key_file(folder: Path, party: str) -> Path:
    """The party's witness key (a cosigner key: the inbox cosigns the center's checkpoints)."""
    return folder / WITNESS_DIR / f"{party}.skey"


def init_witness(folder: Path, origin: str, party: str) -> str:
    """Make the party's witness key unless it has one; its verifier key (to register in the
    mission's ``parties[].witness.key``)."""
    init_key(folder / WITNESS_DIR, origin, party)
    return load_cosigner(witness_key_file(folder, party)).vkey


def read_vkey(value: str | Path, where: str = "--key") -> str:
    """A verifier key given as its text or as a file holding it (``center.vkey``)."""
    text = str(value)
    path = Path(text)
    with contextlib.suppress(OSError):
        if path.is_file():
            text = next(
                (
                    line.strip()
                    for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")
                ),
                "",
            )
    try:
        Ed25519Verifier.from_vkey(text)
    except (KeyFormatError, ValueError) as error:
        raise InputError(
            Problem(
                file=str(value),
                field=where,
                reason=_("not an Ed25519 verifier key (C2SP vkey): {error}").format(error=error),
            )
        ) from None
    return text


@dataclass(frozen=True)
class Received:
    id: str
    received_at: str
    kind: str
    lang: str
    subject: str
    text: str
    created_at: str
    ack_due_at: str
    payload_hash: str
    acked_at: str | None
    acked_by: str | None
    ack_index: int | None
    ack_error: str
    report_state: str | None = None
    """A daily report's notice: verified, not_yet_provable or failed (None: not checked yet,
    or another kind of notice)."""
    report_reason: str = ""
    report_checked_at: str | None = None

    def record(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ReportCheck:
    """The check of the daily report a notice points to: ``state`` with the ``reason``, and
    what was checked (``result``: the report's verifier's answer once verified)."""

    notice_id: str
    state: str
    reason: str
    checked_at: str
    result: dict[str, Any]


class Refused(Exception):
    """A webhook the inbox does not take: ``status`` to answer, ``reason`` why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Inbox:
    """One party's inbox in ``folder``: its SQLite file, the party's signer key (for signed
    acknowledgements), the center's verifier key and address."""

    def __init__(
        self,
        folder: Path,
        party: str,
        center_key: str,
        center_url: str = "",
        *,
        tolerance: float = TOLERANCE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        client: httpx.Client | None = None,
        trusted_keys: Sequence[str] = (),
    ) -> None:
        self.folder, self.party = folder, party
        self.center_key = center_key
        self.trusted_keys = list(trusted_keys)
        """The contingents' verifier keys, for the daily reports (the center's is added)."""
        self.center_url = center_url.rstrip("/")
        self.tolerance = tolerance
        self.clock = clock
        self.client = client
        """How acknowledgements reach the center (default: a new HTTP client for each)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = key_file(folder, party)
        self.signer: Ed25519Signer | None = (
            Ed25519Signer.from_skey(path.read_text(encoding="utf-8").strip())
            if path.exists()
            else None
        )
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / DB_FILE, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- receiving --------------------------------------------------------------------------
    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[bool, str]:
        """Take a webhook: (whether it is new, the notice id); :class:`Refused` otherwise.

        The center's signature and the timestamp's tolerance first (401), then the body: JSON
        of a notice to this party whose id is the webhook's (422). A repeat is no error."""
        now = self.clock()
        try:
            notice_id = verify_webhook(
                headers, body, self.center_key, tolerance=self.tolerance, now=now.timestamp()
            )
        except SignatureRefused as refused:
            raise Refused(401, refused.reason) from None
        try:
            notice = json.loads(body)
        except ValueError:
            raise Refused(422, _("the body is not JSON")) from None
        if not isinstance(notice, dict) or notice.get("id") != notice_id:
            raise Refused(422, _("the body is not the notice {id}").format(id=notice_id[:60]))
        if notice.get("recipient") != self.party:
            raise Refused(
                422,
                _("notice {id} is for {recipient}; this is the inbox of {party}").format(
                    id=notice_id, recipient=str(notice.get("recipient"))[:8], party=self.party
                ),
            )
        given = notice.get("ack")
        ack: dict[str, Any] = given if isinstance(given, dict) else {}
        row = (
            notice_id,
            now.isoformat(timespec="seconds"),
            str(notice.get("kind", "")),
            str(notice.get("lang", "")),
            str(notice.get("subject", "")),
            str(notice.get("text", "")),
            str(notice.get("created_at", "")),
            str(notice.get("ack_due_at", "")),
            str(ack.get("endpoint", "")),
            body.decode("utf-8"),
            payload_digest(body),
        )
        with self._lock, self._db:
            added = self._db.execute(
                "INSERT OR IGNORE INTO notices (id, received_at, kind, lang, subject, text, "
                "created_at, ack_due_at, ack_endpoint, payload, payload_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            ).rowcount
        return bool(added), notice_id

    # -- reading ----------------------------------------------------------------------------
    def notices(self) -> list[Received]:
        """Every notice received, newest first."""
        with self._lock:
            rows = self._db.execute(f"{SELECT} ORDER BY n.received_at DESC, n.id DESC").fetchall()
        return [_received(r) for r in rows]

    def get(self, notice_id: str) -> Received | None:
        with self._lock:
            row = self._db.execute(f"{SELECT} WHERE n.id = ?", (notice_id,)).fetchone()
        return _received(row) if row is not None else None

    def payload(self, notice_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM notices WHERE id = ?", (notice_id,)
            ).fetchone()
        return str(row[0]) if row is not None else None

    # -- acknowledging ----------------------------------------------------------------------
    def acknowledge(self, notice_id: str, by: str = "") -> Received:
        """Sign an acknowledgement of a received notice with the party's key and send it to the
        center; what became of it (``acked_at``, or ``ack_error`` saying why not)."""
        found = self.get(notice_id)
        if found is None:
            raise InputError(
                Problem(
                    file=str(self.folder / DB_FILE),
                    field="notice",
                    reason=_("no notice {id} was received").format(id=notice_id[:60]),
                )
            )
        if found.acked_at is not None:
            return found
        if self.signer is None:
            raise InputError(
                Problem(
                    file=str(key_file(self.folder, self.party)),
                    field="key",
                    reason=_("the party's signer key is missing: run `ceasefire inbox init`"),
                )
            )
        with self._lock:
            endpoint = self._db.execute(
                "SELECT ack_endpoint FROM notices WHERE id = ?", (notice_id,)
            ).fetchone()[0]
        note = sign_ack(self.signer, found.id, found.payload_hash, self.clock(), by or self.party)
        error, acked_at, index = "", None, None
        try:
            with contextlib.ExitStack() as stack:
                client = self.client or stack.enter_context(httpx.Client(timeout=10.0))
                answer = client.post(self.center_url + endpoint, json={"signature": note})
            if answer.status_code == 201:
                acked_at = str(answer.json()["acked_at"])
                index = int(answer.json()["ledger_index"])
            elif answer.status_code == 409:
                acked_at = self.clock().isoformat(timespec="seconds")
                error = _problem_text(answer)
            else:
                error = f"{answer.status_code}: {_problem_text(answer)}"
        except httpx.HTTPError as e:
            error = _("the center cannot be reached: {error}").format(error=type(e).__name__)
        with self._lock, self._db:
            self._db.execute(
                "UPDATE notices SET acked_at = ?, acked_by = ?, ack_index = ?, ack_error = ? "
                "WHERE id = ?",
                (acked_at, (by or self.party) if acked_at else None, index, error, notice_id),
            )
        result = self.get(notice_id)
        assert result is not None
        return result

    # -- the daily report -------------------------------------------------------------------
    def report_notices(self, states: Sequence[str | None] = (None, NOT_YET)) -> list[str]:
        """The ids of the daily reports' notices whose check is in ``states`` (None: never
        checked), oldest first: what a recheck goes through."""
        from ceasefire.dissemination.recipients import DAILY

        with self._lock:
            rows = self._db.execute(
                "SELECT n.id, c.state FROM notices n LEFT JOIN report_checks c "
                "ON c.notice_id = n.id WHERE n.kind = ? ORDER BY n.received_at, n.id",
                (DAILY,),
            ).fetchall()
        return [str(r[0]) for r in rows if r[1] in states]

    def check_report(self, notice_id: str) -> ReportCheck:
        """Fetch the daily report a notice points to (the document, its signed note, its
        inclusion proof) from the center and check it: the SHA-256 the notice states, the
        signatures of every contingent, and the proof against a checkpoint cosigned by every
        contingent (:func:`ceasefire.reports.proof.verify`, the verifier of
        ``ceasefire report verify``). Kept, and shown with the notice."""
        payload = self.payload(notice_id)
        if payload is None:
            raise InputError(
                Problem(
                    file=str(self.folder / DB_FILE),
                    field="notice",
                    reason=_("no notice {id} was received").format(id=notice_id[:60]),
                )
            )
        state, reason, result = check(payload, self._fetch, [self.center_key, *self.trusted_keys])
        done = ReportCheck(
            notice_id, state, reason, self.clock().isoformat(timespec="seconds"), result
        )
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO report_checks (notice_id, state, reason, checked_at, result) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (notice_id) DO UPDATE SET "
                "state = excluded.state, reason = excluded.reason, "
                "checked_at = excluded.checked_at, result = excluded.result",
                (notice_id, state, reason, done.checked_at, json.dumps(result)),
            )
        return done

    def recheck(self, failed: bool = False) -> list[ReportCheck]:
        """Check every daily report not yet checked or not yet provable (``failed``: and those
        that failed, as a person asks after giving the keys, say)."""
        states: tuple[str | None, ...] = (None, NOT_YET, FAILED) if failed else (None, NOT_YET)
        return [self.check_report(notice_id) for notice_id in self.report_notices(states)]

    def _fetch(self, where: str) -> httpx.Response:
        """GET a path of the center's (or an absolute URL a notice gave)."""
        url = where if "://" in where else self.center_url + where
        with contextlib.ExitStack() as stack:
            client = self.client or stack.enter_context(httpx.Client(timeout=30.0))
            return client.get(url)


def read_trusted_keys(value: str | Path | None, folder: Path) -> list[str]:
    """The contingents' verifier keys from ``value`` (a file of ``ceasefire keys show``), or
    from the inbox's ``trusted.vkeys`` if there is one; none else."""
    path = Path(value) if value is not None else folder / TRUSTED_KEYS
    if value is None and not path.is_file():
        return []
    try:
        return read_vkeys(path)
    except OSError as error:
        raise InputError(
            Problem(file=str(path), field="--trusted-keys", reason=error.strerror or str(error))
        ) from None


def _problem_text(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    errors = body.get("errors") or []
    field = f"{errors[0].get('field')}: " if errors else ""
    return f"{field}{body.get('detail', '')}"[:500]


SELECT = (
    "SELECT n.*, c.state AS report_state, c.reason AS report_reason, "
    "c.checked_at AS report_checked_at FROM notices n "
    "LEFT JOIN report_checks c ON c.notice_id = n.id"
)


def _received(row: sqlite3.Row) -> Received:
    return Received(
        row["id"],
        row["received_at"],
        row["kind"],
        row["lang"],
        row["subject"],
        row["text"],
        row["created_at"],
        row["ack_due_at"],
        row["payload_hash"],
        row["acked_at"],
        row["acked_by"],
        row["ack_index"],
        row["ack_error"],
        row["report_state"],
        row["report_reason"] or "",
        row["report_checked_at"],
    )


def rows(folder: Path) -> Iterator[Received]:
    """The notices of an inbox's file, for reading without serving."""
    with contextlib.closing(sqlite3.connect(folder / DB_FILE)) as db:
        db.row_factory = sqlite3.Row
        db.executescript(SCHEMA)  # an inbox made before the reports' checks
        for row in db.execute(f"{SELECT} ORDER BY n.received_at DESC, n.id DESC"):
            yield _received(row)


__all__ = [
    "CENTER_KEY",
    "DB_FILE",
    "FAILED",
    "NOT_YET",
    "TRUSTED_KEYS",
    "VERIFIED",
    "Inbox",
    "Received",
    "Refused",
    "ReportCheck",
    "init_inbox",
    "read_trusted_keys",
    "read_vkey",
]
