"""Rejections: what an adapter yields for an input it cannot accept, and why.

Adapters never raise on bad input and never stop at a bad record: they yield a
:class:`Rejection` naming the source, the record (the line for line formats), the field where
one applies, a plain sentence, and the start of the raw text, then go on with the next record.
"""

from __future__ import annotations

from dataclasses import dataclass

from ceasefire.errors import Problem
from ceasefire.i18n import _

RAW_LIMIT = 200
"""How many characters of the offending input a rejection keeps."""

UNITS = ("line", "record", "feature", "event", "frame", "packet", "file")


def raw_text(data: bytes | bytearray | str, limit: int = RAW_LIMIT) -> str:
    """The start of some input as text, for a rejection: at most ``limit`` characters.

    Bytes are decoded as UTF-8 with undecodable bytes shown as ``\\xNN`` escapes; text that was
    cut ends with an ellipsis.
    """
    if isinstance(data, bytes | bytearray):
        text = bytes(data[: limit * 4]).decode("utf-8", "backslashreplace")
        cut = len(data) > limit * 4
    else:
        text = data[: limit + 1]
        cut = len(data) > limit
    if len(text) > limit:
        text, cut = text[:limit], True
    return text + "…" if cut else text


def raw_hex(data: bytes | bytearray, limit: int = RAW_LIMIT) -> str:
    """The start of binary input as spaced hex (``bf 01 bf ...``), at most ``limit`` characters."""
    count = (limit + 1) // 3
    text = bytes(data[:count]).hex(" ")
    return text + "…" if len(data) > count else text


def encodes(text: str) -> bool:
    """Whether text encodes as UTF-8 (a lone surrogate, which JSON's escapes can carry, does
    not, and would fail whatever writes the text out)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """Text that encodes: lone surrogates shown as ``\\udNNN`` escapes."""
    return text if encodes(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Rejection:
    """One input that was refused.

    ``record`` counts from 1 in the unit given by ``unit`` (``line`` for JSON Lines and CSV,
    ``feature`` for GeoJSON, ``event`` for CoT, ``frame`` for TAK, ``packet`` for MISB 0601);
    0 means the source as a whole (a bad CSV header, a file that is not a FeatureCollection).
    ``field`` is the path of the bad field (``location.lat``, ``evidence[0].sha256``) or empty
    when no single field is at fault. ``raw`` is the start of the offending input.
    """

    source: str
    record: int
    field: str
    reason: str
    raw: str = ""
    unit: str = "record"

    def __post_init__(self) -> None:
        # the field and reason may quote the input (a bad key's name): every writer of a
        # rejection (answers, reject files, logs) must be able to encode it
        for name in ("source", "field", "reason", "raw"):
            object.__setattr__(self, name, printable(getattr(self, name)))

    def where(self) -> str:
        """``file.csv, line 12, lat`` as a user reads it."""
        if self.record == 0:
            text = self.source
        elif self.unit == "line":
            text = _("{source}, line {number}").format(source=self.source, number=self.record)
        elif self.unit == "feature":
            text = _("{source}, feature {number}").format(source=self.source, number=self.record)
        elif self.unit == "event":
            text = _("{source}, event {number}").format(source=self.source, number=self.record)
        elif self.unit == "frame":
            text = _("{source}, frame {number}").format(source=self.source, number=self.record)
        elif self.unit == "packet":
            text = _("{source}, packet {number}").format(source=self.source, number=self.record)
        else:
            text = _("{source}, record {number}").format(source=self.source, number=self.record)
        if self.field:
            text += f", {self.field}"
        return text

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"

    def to_problem(self) -> Problem:
        """The same rejection as a :class:`ceasefire.errors.Problem` (for ``InputError``)."""
        return Problem(
            file=self.source,
            field=self.field,
            reason=self.reason,
            record=None if self.record == 0 else str(self.record),
        )
