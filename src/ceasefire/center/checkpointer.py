"""The checkpointer: a checkpoint cosigned by every contingent every ``checkpoint_every`` s.

Why a job under a lease: a checkpoint is signed by the center and cosigned by each witness over
HTTP; two centers making one at once would only waste the witnesses' work (each stores the same
size once), but one of them must make it even when the other died. It runs in the center that
holds the lease ``checkpointer`` (:mod:`ceasefire.center.leased`), and only when the log grew.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ceasefire.i18n import _

if TYPE_CHECKING:
    from ceasefire.center.core import Center

log = logging.getLogger(__name__)

LEASE = "checkpointer"


class Checkpointer:
    """A thread making a checkpoint every ``every`` seconds (when the log grew)."""

    def __init__(self, center: Center, every: float) -> None:
        self.center = center
        self.every = every
        self.made = 0
        """Checkpoints made (or found current) by this job."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> None:
        # the center's verb: it hands the ledger the client for witnesses on their own nodes
        stored, _verified = self.center.checkpoint()
        self.made += 1
        log.info(_("checkpoint of {n} entries").format(n=stored.size))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.once()
            except Exception:  # a witness away, the store away: try again next time
                log.exception(_("Making a checkpoint failed; trying again later."))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def checkpointer_job(center: Center) -> Checkpointer | None:
    every = center.settings.checkpoint_every
    return Checkpointer(center, every) if every else None


def plug(center: Center) -> None:
    if center.settings.checkpoint_every:
        center.add_job(checkpointer_job, lease=LEASE)
