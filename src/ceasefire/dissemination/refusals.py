"""Refusals of what the parties send back, each naming the field at fault.

Why: an acknowledgement, an answer or a complaint comes from outside the center, often from a
program (a party's inbox); a refusal must say which member of the request was wrong, so the API
answers problem details with ``errors: [{"field", "in", "reason"}]`` and the command line names
the option. The classes are the workflow's (403, 404, 409, 422) with a ``field``.
"""

from __future__ import annotations

from ceasefire.workflow.errors import Conflict, Forbidden, Invalid, NotFound


class FieldRefusal:
    """Mixed into a workflow error: the request's member it refuses (``token``, ``signature``,
    ``text``, ``location.lat``...)."""

    field: str = ""


class ForbiddenField(FieldRefusal, Forbidden):
    """A credential that does not prove the sender may do this (forged, another's, wrong key)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class ConflictField(FieldRefusal, Conflict):
    """Done already (a replayed acknowledgement), or not in a state that allows it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class InvalidField(FieldRefusal, Invalid):
    """A value missing or not of the form it must have."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class NotFoundField(FieldRefusal, NotFound):
    """The notice (or what the request points at) does not exist."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


__all__ = ["ConflictField", "FieldRefusal", "ForbiddenField", "InvalidField", "NotFoundField"]
