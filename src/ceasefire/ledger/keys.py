"""Key files: the center's log key and each contingent's cosigner key, as C2SP key strings.

Why: the center signs checkpoints with its log key (Ed25519, C2SP signed-note type 0x01) and
each contingent cosigns them with its own key (tlog-cosignature, type 0x04). A key directory
holds ``<holder>.skey`` (the signer key, readable only by its owner) and ``<holder>.vkey`` (the
verifier key, public) for the holder ``center`` and for every contingent id. Retired verifier
keys stay in ``retired/`` so that checkpoints cosigned before a rotation still verify.

In the embedded center one directory holds every key. In a real deployment each contingent's
node holds only its own ``.skey``; the center and the parties need only the ``.vkey`` files, and
the center's directory says in ``witnesses.toml`` where each contingent's witness answers.

Key names follow C2SP practice: the log key is named after the log's origin
(``ceasefire/karabakh-2020``), a contingent's after the origin and its id
(``ceasefire/karabakh-2020/RU``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ceasefire.i18n import _
from ceasefire.ledger.checkpoint import CosignatureSigner, CosignatureVerifier
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.note import (
    SIGNATURE_TYPE_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    KeyFormatError,
    VerifierKey,
)

CENTER = "center"
"""The holder name of the center's log key."""

RETIRED = "retired"
KEYS_ENV = "CEASEFIRE_KEYS"
WITNESSES_FILE = "witnesses.toml"
"""In the center's key directory: the URL of each contingent's witness (``RU = "http://..."``)."""


class KeyFileError(LedgerError):
    """A key file is missing, malformed or exposed; the message names the file."""


def origin_of(mission_id: str) -> str:
    """The log's origin line for a mission: ``ceasefire/<mission id>``."""
    return f"ceasefire/{mission_id}"


def key_name(origin: str, holder: str) -> str:
    """The C2SP key name of a holder's key."""
    return origin if holder == CENTER else f"{origin}/{holder}"


def default_dir(mission_id: str) -> Path:
    """``$CEASEFIRE_KEYS/<mission>``, else ``$XDG_DATA_HOME/ceasefire/keys/<mission>``."""
    base = os.environ.get(KEYS_ENV)
    if base:
        return Path(base).expanduser() / mission_id
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "ceasefire" / "keys" / mission_id


@dataclass(frozen=True)
class PartyWitness:
    """A party's witness of the log (its inbox, ``ceasefire inbox serve``), asked over HTTP:
    ``url`` its tlog-witness prefix, ``verifier`` its cosigner key (from the mission file)."""

    url: str
    verifier: CosignatureVerifier


@dataclass
class KeyRing:
    """The keys of one log: the center's and each contingent's, signers where held.

    ``retired`` maps a holder to its earlier verifiers (kept for old checkpoints). ``witnesses``
    maps a contingent to the URL of its witness (the tlog-witness submission prefix): that
    contingent cosigns on its own node, asked over HTTP, instead of in this process.
    """

    directory: Path
    origin: str
    contingents: tuple[str, ...]
    log_verifier: Ed25519Verifier
    cosigner_verifiers: dict[str, CosignatureVerifier]
    log_signer: Ed25519Signer | None = None
    cosigners: dict[str, CosignatureSigner] = field(default_factory=dict)
    retired_log: list[Ed25519Verifier] = field(default_factory=list)
    retired: dict[str, list[CosignatureVerifier]] = field(default_factory=dict)
    witnesses: dict[str, str] = field(default_factory=dict)
    parties: dict[str, PartyWitness] = field(default_factory=dict)
    """The parties' witnesses, asked after the contingents' (the mission's parties[].witness)."""
    parties_required: bool = False
    """Whether a checkpoint needs every party's cosignature (the mission's
    checkpoints.parties_required); else a party's refusal is logged and the checkpoint stands."""

    def vkeys(self) -> list[tuple[str, str]]:
        """(holder, verifier key string) for the center and each contingent, current keys."""
        return [(CENTER, self.log_verifier.vkey)] + [
            (c, self.cosigner_verifiers[c].vkey) for c in self.contingents
        ]

    def signer(self) -> Ed25519Signer:
        if self.log_signer is None:
            raise KeyFileError(
                _("the center's signer key {path} is not here").format(
                    path=self.directory / f"{CENTER}.skey"
                )
            )
        return self.log_signer

    def cosigner(self, contingent: str) -> CosignatureSigner:
        found = self.cosigners.get(contingent)
        if found is None:
            raise KeyFileError(
                _("the signer key of contingent {c} ({path}) is not here").format(
                    c=contingent, path=self.directory / f"{contingent}.skey"
                )
            )
        return found


def _write(path: Path, text: str, mode: int) -> None:
    """Write a new file with ``mode`` from the start (a secret is never briefly exposed)."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have narrowed a public file
    os.replace(tmp, path)


def _read(path: Path, secret: bool) -> str:
    if not path.exists():
        raise KeyFileError(_("key file {path} does not exist").format(path=path))
    if secret and os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(
                _("signer key {path} can be read by others (mode {mode:o}): chmod 600 it").format(
                    path=path, mode=mode
                )
            )
    return path.read_text(encoding="utf-8").strip()


def init_key(directory: Path, origin: str, holder: str) -> bool:
    """Create ``holder``'s key unless it has one here; whether it was created.

    A ``.vkey`` without its ``.skey`` is a key held elsewhere (a contingent's, handed to the
    center): it is kept, never replaced by a key of our own.
    """
    directory.mkdir(parents=True, exist_ok=True)
    skey = directory / f"{holder}.skey"
    if skey.exists() or (directory / f"{holder}.vkey").exists():
        return False
    name = key_name(origin, holder)
    signer: Ed25519Signer | CosignatureSigner = (
        Ed25519Signer.generate(name) if holder == CENTER else CosignatureSigner.generate(name)
    )
    _write(skey, signer.skey + "\n", 0o600)
    _write(directory / f"{holder}.vkey", signer.vkey + "\n", 0o644)
    return True


def init_keys(directory: Path, origin: str, contingents: Sequence[str]) -> list[str]:
    """Create the keys that do not exist yet; the holders created (existing keys are kept)."""
    directory.mkdir(parents=True, exist_ok=True)
    return [h for h in [CENTER, *contingents] if init_key(directory, origin, h)]


def load_keys(
    directory: Path, origin: str, contingents: Sequence[str], secret: bool = True
) -> KeyRing:
    """The key ring of ``directory``; with ``secret``, the signer keys present are loaded."""
    if not directory.is_dir():
        raise KeyFileError(
            _("no key directory {path}: run `ceasefire keys init`").format(path=directory)
        )
    try:
        log_verifier = Ed25519Verifier.from_vkey(_read(directory / f"{CENTER}.vkey", False))
        cosigner_verifiers = {
            c: CosignatureVerifier.from_vkey(_read(directory / f"{c}.vkey", False))
            for c in contingents
        }
    except KeyFormatError as e:
        raise KeyFileError(
            _("a verifier key in {path} is malformed: {e}").format(path=directory, e=e)
        ) from e
    _check_name(directory / f"{CENTER}.vkey", log_verifier.name, key_name(origin, CENTER))
    for c, v in cosigner_verifiers.items():
        _check_name(directory / f"{c}.vkey", v.name, key_name(origin, c))
    ring = KeyRing(directory, origin, tuple(contingents), log_verifier, cosigner_verifiers)
    witnesses = directory / WITNESSES_FILE
    if witnesses.exists():
        ring.witnesses = read_witnesses(witnesses, contingents)
    retired = directory / RETIRED
    if retired.is_dir():
        for path in sorted(retired.glob("*.vkey")):
            holder = path.name.split(".", 1)[0]
            text = _read(path, False)
            if holder == CENTER:
                ring.retired_log.append(Ed25519Verifier.from_vkey(text))
            elif holder in contingents:
                ring.retired.setdefault(holder, []).append(CosignatureVerifier.from_vkey(text))
    if secret:
        center = directory / f"{CENTER}.skey"
        if center.exists():
            ring.log_signer = Ed25519Signer.from_skey(_read(center, True))
            _check_pair(center, ring.log_signer.vkey, log_verifier.vkey)
        for c in contingents:
            path = directory / f"{c}.skey"
            if path.exists():
                signer = CosignatureSigner.from_skey(_read(path, True))
                _check_pair(path, signer.vkey, cosigner_verifiers[c].vkey)
                ring.cosigners[c] = signer
    return ring


def _check_name(path: Path, found: str, expected: str) -> None:
    if found != expected:
        raise KeyFileError(
            _("key {path} is named {found}, expected {expected}").format(
                path=path, found=found, expected=expected
            )
        )


def _check_pair(path: Path, derived: str, stored: str) -> None:
    if derived != stored:
        raise KeyFileError(_("signer key {path} does not match its verifier key").format(path=path))


@dataclass(frozen=True)
class Rotation:
    """A key replaced: whose, the old and the new verifier key, and the new signer key."""

    holder: str
    previous: str
    vkey: str
    skey: str


def new_key(directory: Path, origin: str, holder: str) -> Rotation:
    """A new key for ``holder`` (not yet written: see :func:`install_key`)."""
    old = _read(directory / f"{holder}.vkey", False)
    name = key_name(origin, holder)
    signer: Ed25519Signer | CosignatureSigner = (
        Ed25519Signer.generate(name) if holder == CENTER else CosignatureSigner.generate(name)
    )
    return Rotation(holder, old, signer.vkey, signer.skey)


def install_key(directory: Path, rotation: Rotation) -> None:
    """Put a rotated key in place: the old vkey to ``retired/``, the old skey destroyed."""
    retired = directory / RETIRED
    retired.mkdir(exist_ok=True)
    old_id = rotation.previous.split("+")[1]
    _write(retired / f"{rotation.holder}.{old_id}.vkey", rotation.previous + "\n", 0o644)
    # Replace (not delete then write): a crash leaves the old or the new key, never none.
    _write(directory / f"{rotation.holder}.skey", rotation.skey + "\n", 0o600)
    _write(directory / f"{rotation.holder}.vkey", rotation.vkey + "\n", 0o644)


def read_vkeys(path: Path) -> list[str]:
    """Verifier keys from a file: the last word of each line (``keys show`` output works)."""
    keys: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line.split()[-1])
    return keys


def witness_url(url: str, where: str) -> str:
    """``url`` if it can be a witness's address (http or https, with a host); else an error."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query
    except ValueError:  # an unbalanced [ in the host, say
        ok = False
    if not ok or "#" in url:
        raise KeyFileError(
            _("{where}: {url!r} is not a witness URL (http://HOST:PORT or https://...)").format(
                where=where, url=url
            )
        )
    return url.rstrip("/")


def read_witnesses(path: Path, contingents: Sequence[str]) -> dict[str, str]:
    """The witness URL of each contingent listed in ``path`` (``RU = "http://10.0.1.5:8180"``)."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise KeyFileError(_("{path} is not valid TOML: {e}").format(path=path, e=e)) from e
    urls: dict[str, str] = {}
    for contingent, url in table.items():
        if contingent not in contingents:
            raise KeyFileError(
                _("{path}: {c} is not a contingent of the mission ({known})").format(
                    path=path, c=contingent, known=", ".join(contingents)
                )
            )
        if not isinstance(url, str):
            raise KeyFileError(
                _("{path}: the witness of {c} must be a URL in quotes").format(
                    path=path, c=contingent
                )
            )
        urls[contingent] = witness_url(url, f"{path}, {contingent}")
    return urls


def cosigner_key_file(path: Path) -> Path:
    """A cosigner's ``.skey``: ``path``, or the only contingent ``.skey`` in directory ``path``.

    Why: a contingent's node holds its own key and no other signer key; a directory holding
    several (the embedded demo's) is ambiguous, and the file must then be named.
    """
    if not path.is_dir():
        return path
    found = sorted(p for p in path.glob("*.skey") if p.name != f"{CENTER}.skey")
    if len(found) != 1:
        raise KeyFileError(
            _("{path} holds {n} contingent signer keys ({names}): name the .skey file").format(
                path=path, n=len(found), names=", ".join(p.name for p in found) or "-"
            )
        )
    return found[0]


def load_cosigner(path: Path) -> CosignatureSigner:
    """A contingent's cosigner key from its ``.skey`` (or a directory with only that one)."""
    file = cosigner_key_file(path)
    try:
        signer = CosignatureSigner.from_skey(_read(file, True))
    except KeyFormatError as e:
        raise KeyFileError(_("{path} is not a cosigner key: {e}").format(path=file, e=e)) from e
    vkey = file.with_suffix(".vkey")
    if vkey.exists():
        _check_pair(file, signer.vkey, _read(vkey, False))
    return signer


def log_verifiers(value: str) -> list[Ed25519Verifier]:
    """Log (center) verifier keys from a vkey string or a file of them.

    A file may be ``center.vkey`` or the output of ``keys show``: its cosigner keys (type 0x04)
    are not log keys and are skipped.
    """
    path = Path(value).expanduser()
    if path.is_file():
        keys = read_vkeys(path)
        where = str(path)
    else:
        keys, where = [value], "--log-key"
    found: list[Ed25519Verifier] = []
    for key in keys:
        try:
            if VerifierKey.parse(key).signature_type != SIGNATURE_TYPE_ED25519:
                continue
            found.append(Ed25519Verifier.from_vkey(key))
        except KeyFormatError as e:
            raise KeyFileError(
                _("{where}: {key!r} is not a verifier key: {e}").format(where=where, key=key, e=e)
            ) from e
    if not found:
        raise KeyFileError(
            _("{where}: no log verifier key (the center's .vkey, type 0x01)").format(where=where)
        )
    return found
