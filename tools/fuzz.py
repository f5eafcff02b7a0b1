"""Coverage-guided fuzzing of the parsers with atheris (libFuzzer for Python).

Each target feeds the fuzzer's bytes to one parser and checks its promise: the intake
adapters (CoT XML, TAK protocol, MISB KLV, JSON Lines, CSV, GeoJSON) never raise and yield
only records or rejections with a reason; the mission loader (a mission folder whose
mission.toml, or one of its layers, is the input) answers problems, never an exception. A
broken promise is a crash: libFuzzer stops, prints the traceback and writes the input.

    .venv/bin/python tools/fuzz.py cot -runs=2000 tests/fuzz/corpus/cot        # bounded
    mkdir -p var/fuzz/cot && .venv/bin/python tools/fuzz.py cot -max_total_time=3600 \\
        var/fuzz/cot tests/fuzz/corpus/cot                                    # an hour

libFuzzer writes the inputs it finds new to the first corpus folder: give it a folder of
your own first and the seeds (tests/fuzz/corpus/TARGET) after it, so that the seeds in the
repository stay as they are. Any libFuzzer option works (-jobs=2, -max_len=65536, ...).
tests/intake/test_atheris.py runs every target for a bounded number of inputs in CI.
"""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports(include=["ceasefire.intake", "ceasefire.mission"]):
    from ceasefire.intake import Rejection, cot, csv_, geojson_, jsonl, klv, tak
    from ceasefire.intake.errors import RAW_LIMIT
    from ceasefire.mission.load import check_mission
    from ceasefire.observations import Observation, PointOfInterest, TrackPoint

ITEMS = (Observation, TrackPoint, PointOfInterest, Rejection)
MINI_MISSION = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mini-mission"


def _adapter(parse: Callable[[io.BytesIO, str], object]) -> Callable[[bytes], None]:
    def one_input(data: bytes) -> None:
        for item in parse(io.BytesIO(data), "fuzz"):  # type: ignore[attr-defined]
            if not isinstance(item, ITEMS):
                raise AssertionError(f"not a record or a rejection: {item!r}")
            if isinstance(item, Rejection):
                if item.source != "fuzz" or not item.reason:
                    raise AssertionError(f"a rejection without its source or reason: {item}")
                if len(item.raw) > RAW_LIMIT + 1:
                    raise AssertionError("a rejection's raw text is not truncated")

    return one_input


class _MissionFolder:
    """A copy of the small test mission whose files the input replaces, one at a time."""

    FILES = ("mission.toml", "zones.geojson", "places.csv")

    def __init__(self) -> None:
        self._temporary = tempfile.TemporaryDirectory(prefix="fuzz-mission-")
        self.folder = Path(self._temporary.name)
        self.originals = {n: (MINI_MISSION / n).read_bytes() for n in self.FILES}
        for name, content in self.originals.items():
            (self.folder / name).write_bytes(content)

    def one_input(self, data: bytes) -> None:
        # the first byte picks the file the rest replaces; the others stay valid
        name = self.FILES[data[0] % len(self.FILES)] if data else self.FILES[0]
        target = self.folder / name
        target.write_bytes(data[1:])
        try:
            check_mission(self.folder)
        finally:
            target.write_bytes(self.originals[name])


def targets() -> dict[str, Callable[[bytes], None]]:
    return {
        "cot": _adapter(cot.parse),
        "tak": _adapter(tak.parse_stream),
        "klv": _adapter(klv.parse),
        "jsonl": _adapter(jsonl.parse),
        "csv": _adapter(csv_.parse),
        "geojson": _adapter(geojson_.parse),
        "mission": _MissionFolder().one_input,
    }


def main() -> None:
    known = targets()
    if len(sys.argv) < 2 or sys.argv[1] not in known:
        print(f"usage: fuzz.py {{{','.join(known)}}} [libFuzzer options] [corpus ...]")
        raise SystemExit(2)
    one_input = known[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
