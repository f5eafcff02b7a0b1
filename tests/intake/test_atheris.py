"""atheris (coverage-guided, libFuzzer) over the parsers, at a bounded budget: each target of
tools/fuzz.py runs from its seeds in tests/fuzz/corpus for a fixed number of inputs with a
fixed seed, in a process of its own (libFuzzer owns the process it runs in). A crash (an
exception out of a parser, or a broken promise) fails the test with the traceback and the
input. tools/fuzz.py says how to run longer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = {"cot": 3000, "tak": 3000, "klv": 3000, "jsonl": 3000, "csv": 3000, "geojson": 3000}
RUNS["mission"] = 150  # each input loads a mission folder (about 20 ms)


@pytest.mark.parametrize("target", sorted(RUNS))
def test_the_parser_survives_the_fuzzer(target: str, tmp_path: Path) -> None:
    found = tmp_path / "found"  # new inputs go here; the seeds in the repository stay
    found.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "fuzz.py"),
            target,
            f"-runs={RUNS[target]}",
            "-seed=19",
            f"-artifact_prefix={tmp_path}/",
            str(found),
            str(ROOT / "tests" / "fuzz" / "corpus" / target),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert f"Done {RUNS[target]} runs" in done.stderr, report
    assert not list(tmp_path.glob("crash-*")), report
