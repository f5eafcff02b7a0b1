"""JSON Lines intake: good lines accepted, every malformed line refused with line and field."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from intake_mutations import mutated, mutations
from observation_strategies import FAST, GOOD, observations

from ceasefire.intake import Rejection, jsonl
from ceasefire.observations import Observation, parse_observation

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"
GOOD_LINE = json.dumps(GOOD, ensure_ascii=False)

# (line text or bytes, expected field or None when no single field applies)
bad_lines = st.one_of(
    mutations.map(lambda fv: (json.dumps(mutated(*fv)), fv[0])),
    st.integers(1, len(GOOD_LINE) - 1).map(lambda k: (GOOD_LINE[:k], "")),
    st.text(min_size=1, max_size=40)
    .filter(
        lambda t: "\n" not in t and "\r" not in t and t.strip() and not t.strip().startswith("{")
    )
    .map(lambda t: (t, "")),
    st.sampled_from(
        [
            ('{"id": NaN}', ""),
            ('{"id": Infinity}', ""),
            ('{"count": 1e999}', ""),
            ('{"id": "a", "id": "b"}', ""),
            ("[1, 2]", ""),
            ('"just a string"', ""),
            ("null", ""),
            ("{}", "id"),
            ('{"a": ' * 5000 + "1" + "}" * 5000, ""),
            ("9" * 5000, ""),
        ]
    ),
    st.just((b"\xff\xfe" + GOOD_LINE.encode(), "")),
)


def _encode(line: str | bytes) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


@FAST
@given(st.lists(bad_lines, min_size=30, max_size=40))
def test_malformed_lines_are_refused_and_good_ones_kept(bad: list[tuple[Any, str]]) -> None:
    lines: list[bytes] = []
    expected: list[tuple[str, str]] = []
    for index, (line, field) in enumerate(bad):
        if index % 3 == 0:
            lines.append(GOOD_LINE.encode())
            expected.append(("good", ""))
            lines.append(b"   ")  # blank lines are skipped
        lines.append(_encode(line))
        expected.append(("bad", field))
    lines.append(GOOD_LINE.encode())
    expected.append(("good", ""))
    items = list(jsonl.parse(io.BytesIO(b"\n".join(lines) + b"\n"), "t.jsonl"))
    assert len(items) == len(expected)
    good = parse_observation(GOOD)
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]
    for item, (kind, field), number in zip(items, expected, numbers, strict=True):
        if kind == "good":
            assert item == good
        else:
            assert isinstance(item, Rejection), item
            assert item.record == number and item.unit == "line"
            assert item.source == "t.jsonl"
            assert item.reason and item.reason.endswith((".", ")"))
            assert item.field == field, (item, field)
            assert len(item.raw) <= 201


def test_sample_file_is_accepted() -> None:
    with SAMPLE.open("rb") as stream:
        items = list(jsonl.parse(stream, SAMPLE.name))
    assert len(items) >= 25
    assert all(isinstance(item, Observation) for item in items)


def test_text_streams_and_byte_order_mark() -> None:
    text = "\ufeff" + GOOD_LINE + "\r\n\n" + GOOD_LINE
    items = list(jsonl.parse(io.StringIO(text), "t.jsonl"))
    assert items == [parse_observation(GOOD)] * 2


def test_oversized_line_is_refused_without_stopping() -> None:
    huge = b'{"remarks": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    data = GOOD_LINE.encode() + b"\n" + huge + b"\n" + GOOD_LINE.encode()
    items = list(jsonl.parse(io.BytesIO(data), "big.jsonl"))
    assert isinstance(items[0], Observation) and isinstance(items[2], Observation)
    assert isinstance(items[1], Rejection)
    assert items[1].record == 2 and "longer than 1048576 bytes" in items[1].reason
    assert len(items[1].raw) <= 201


def test_memory_stays_bounded_on_a_huge_line() -> None:
    class Endless(io.RawIOBase):
        """A stream of 64 MiB without a newline, then one good line; tracks the largest read."""

        def __init__(self) -> None:
            self.left = 64 * 1024 * 1024
            self.tail = b"\n" + GOOD_LINE.encode() + b"\n"
            self.largest = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            self.largest = max(self.largest, len(buffer))
            if self.left:
                n = min(len(buffer), self.left)
                buffer[:n] = b"x" * n
                self.left -= n
                return n
            n = min(len(buffer), len(self.tail))
            buffer[:n] = self.tail[:n]
            self.tail = self.tail[n:]
            return n

    raw = Endless()
    items = list(jsonl.parse(io.BufferedReader(raw, 65536), "endless"))
    assert isinstance(items[0], Rejection) and isinstance(items[1], Observation)
    assert raw.largest <= 2 * 1024 * 1024


@FAST
@given(st.lists(observations, max_size=5))
def test_write_then_parse(found: list[Observation]) -> None:
    out = io.StringIO()
    assert jsonl.write(found, out) == len(found)
    assert list(jsonl.parse(io.StringIO(out.getvalue()), "w.jsonl")) == found
