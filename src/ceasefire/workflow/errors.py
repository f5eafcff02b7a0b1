"""The workflow's refusals: each says why, in the user's language."""

from __future__ import annotations

from ceasefire.errors import CeasefireError


class WorkflowError(CeasefireError):
    """A workflow step was refused (exit code 1; the API maps the subclasses to 403/404/409)."""

    exit_code = 1


class Forbidden(WorkflowError):
    """The user's role or affiliation does not allow the action."""


class NotFound(WorkflowError):
    """No such user, incident, decision or shift."""


class Conflict(WorkflowError):
    """The action does not fit the record's state (already approved, not your turn...)."""


class Invalid(WorkflowError):
    """A value is not one the mission allows (unknown clause, party, reaction...)."""
