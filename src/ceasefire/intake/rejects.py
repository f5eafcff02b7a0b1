"""The reject file: each refused record as one JSON object a line, with where and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from ceasefire.intake.errors import Rejection


class RejectFile:
    """Rejected records, one JSON object a line, written only if there is any."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def written(self) -> bool:
        """Whether any rejection was written (else no file exists)."""
        return self._file is not None

    def write(self, rejection: Rejection) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        record = {
            "source": rejection.source,
            rejection.unit: rejection.record,
            "field": rejection.field,
            "reason": rejection.reason,
            "raw": rejection.raw,
        }
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> RejectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["RejectFile"]
