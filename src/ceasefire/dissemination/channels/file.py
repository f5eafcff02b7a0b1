"""The file drop (channel ``file``): ``<dir>/<notice id>.json`` and its signature beside it.

For a line carried by hand or by another system: the directory is the contact's address.
Each file is written whole under a temporary name, flushed to disk, then renamed, so a reader
never sees half a notice; writing it again (a retry) replaces it with the same bytes. The
signature (``<notice id>.json.sig``) is written first: once the notice is there, so is what
checks it. A daily report's notice brings the report and its signed note, as
``<notice id>.daily-<date>-<lang>.<format>`` and ``....sig``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import Signer, sign_payload
from ceasefire.i18n import _


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileDrop:
    name = "file"

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def drop(self, outgoing: Outgoing) -> None:
        folder = Path(outgoing.address.removeprefix("file://")).expanduser()
        if not folder.is_dir():
            raise DeliveryFailed(_("no such directory: {path}").format(path=folder))
        payload = outgoing.payload.encode("utf-8")
        name = f"{outgoing.notice_id}.json"
        try:
            # a daily report's document and its signed note first: once the notice is
            # there, so is what it points to
            for attached in outgoing.attachments:
                _write(folder / f"{outgoing.notice_id}.{attached.filename}", attached.data)
            _write(folder / f"{name}.sig", sign_payload(self.signer, payload).encode())
            _write(folder / name, payload)
            _sync_dir(folder)
        except OSError as e:
            raise DeliveryFailed(
                _("cannot write to {path}: {error}").format(path=folder, error=e.strerror or e)
            ) from e

    async def send(self, outgoing: Outgoing) -> None:
        await asyncio.to_thread(self.drop, outgoing)


def make(context: Context) -> FileDrop:
    return FileDrop(context.signer)
