"""The ledger's error base.

Why: every refusal in the ledger (a proof that does not verify, a malformed note, a witness
saying no) is an input refused, not a crash; one base class lets the command line and the web
layer map all of them to "refused, with this reason" (exit code 1, an HTTP 4xx) in one place.
"""

from __future__ import annotations

# The base is shared: signed notes (ceasefire.note), below the ledger, refuse with it too.
from ceasefire.errors import LedgerError

__all__ = ["LedgerError"]
