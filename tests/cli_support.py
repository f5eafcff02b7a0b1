"""Commands run in the test's process: the ``cli`` fixture's and :func:`run_cli`."""

from __future__ import annotations

import pytest


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):  # type: ignore[no-untyped-def]
        import json

        return json.loads(self.out)


def run_cli(*args: str) -> CliResult:
    """`ceasefire ARGS...` in this process, outside any test's own fixtures (for a fixture of
    a wider scope than a test's): as :func:`cli` does, its output caught here."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = run_main(patch, args)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_main(patch: pytest.MonkeyPatch, args: tuple[str, ...]) -> int:
    import contextvars
    import sys

    from ceasefire.cli import main

    patch.setattr(sys, "argv", ["ceasefire", *args])
    patch.setenv("COLUMNS", "200")
    try:
        # In a context of its own, as a process of its own would be: `--lang` sets the
        # language for this command only, not for the tests that follow.
        contextvars.copy_context().run(main)
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
