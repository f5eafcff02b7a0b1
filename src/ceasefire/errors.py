"""Errors that reach a user: each names where the problem is and why.

Exit codes of the command line (documented in docs/cli.md):
0 ok, 1 the input was refused, 2 usage error, 3 or more an internal error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem with an input: the file, the record (or line) and field, and the reason."""

    file: str
    field: str
    reason: str
    record: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"record {self.record}" if self.record is not None else "",
                self.field,
            )
            if part
        )
        return f"{where}: {self.reason}" if where else self.reason


class CeasefireError(Exception):
    """An error whose message is meant for the user (no traceback)."""

    exit_code = 3


class InputError(CeasefireError):
    """The input was refused; carries every problem found, not just the first."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", field="", reason=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LedgerError(CeasefireError, ValueError):
    """Something offered to the ledger or a signed note was refused (a proof that does not
    verify, a malformed note or key, a witness saying no): an input refused, not a crash; the
    message says what and why."""

    exit_code = 1
