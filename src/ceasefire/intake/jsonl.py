"""JSON Lines: one canonical observation record per line (the canonical form).

Blank lines are skipped; a line longer than 1 MiB is refused without being held in memory; the
first line may start with a UTF-8 byte order mark. Each line must be one JSON object with the
record's fields (DESIGN.md section 5); JSON is parsed strictly (no NaN or Infinity, no duplicate
keys). Rejections count lines from 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from ceasefire.i18n import _
from ceasefire.intake._common import (
    MAX_LINE_BYTES,
    IntakeItem,
    JsonProblem,
    Stream,
    bounded_lines,
    decode_utf8,
    strict_json,
    validate,
)
from ceasefire.intake.errors import Rejection, raw_text
from ceasefire.observations.record import Observation


def parse(
    stream: Stream, source: str, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Observation | Rejection]:
    """Yield an :class:`Observation` or a :class:`Rejection` for each non-blank line."""
    for number, content, too_long in bounded_lines(stream, max_line_bytes):
        item = parse_line(content, source, number, too_long, max_line_bytes)
        if item is not None:
            yield item


def parse_line(
    content: bytes,
    source: str,
    number: int,
    too_long: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Observation | Rejection | None:
    """One line (without its ending) to an observation, a rejection, or None if blank."""
    raw = raw_text(content)
    if too_long:
        return Rejection(
            source,
            number,
            "",
            _("The line is longer than {limit} bytes.").format(limit=max_line_bytes),
            raw,
            "line",
        )
    text = decode_utf8(content, number == 1)
    if text is None:
        return Rejection(source, number, "", _("The line is not valid UTF-8."), raw, "line")
    if not text.strip():
        return None
    try:
        data = strict_json(text)
    except JsonProblem as problem:
        return Rejection(source, number, "", str(problem), raw, "line")
    if not isinstance(data, dict):
        return Rejection(source, number, "", _("The line must hold one JSON object."), raw, "line")
    return validate(data, source, number, raw, "line")


def write(observations: Iterable[Observation], stream: IO[str]) -> int:
    """Write observations as JSON Lines; return how many were written."""
    count = 0
    for observation in observations:
        stream.write(observation.to_json())
        stream.write("\n")
        count += 1
    return count


__all__ = ["IntakeItem", "parse", "parse_line", "write"]
