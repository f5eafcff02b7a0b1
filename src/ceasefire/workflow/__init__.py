"""The joint workflow: roles, assessments, findings, decisions, shifts (docs/workflow.md).

One module per concept; every step runs in the caller's transaction and appends its record to
the ledger there, so a record and its log entry commit together or not at all.
"""

from ceasefire.workflow.errors import Conflict, Forbidden, Invalid, NotFound, WorkflowError
from ceasefire.workflow.roles import User, authorize, require

__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "User",
    "WorkflowError",
    "authorize",
    "require",
]
