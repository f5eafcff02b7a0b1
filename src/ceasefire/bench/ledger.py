"""`bench ledger`: durable batched appends, inclusion proofs and cosigned checkpoints.

What is measured, all on SQLite files in one directory, in one run:
- appends: N observation-like records appended in batches through
  :func:`ceasefire.ledger.log.append`, one committed (fsync'd: WAL, ``synchronous=FULL``)
  transaction per batch; records/s;
- the peer: the very same leaf data (our envelopes, read back) through pymerkle's
  ``SqliteTree.append_entries``, one call (one transaction) per batch of the same size; it
  hashes with the same RFC 9162 prefixes, so both roots must agree (checked);
- inclusion proofs from the tree in memory (:class:`~ceasefire.ledger.log.LogTree`):
  p50 and p99 over random leaves, against pymerkle's ``prove_inclusion`` on its own tree in
  memory (``InmemoryTree`` of the same leaves: like for like) and, beside it, on its
  ``SqliteTree``;
- checkpoints under load: while a thread keeps appending batches, checkpoints are signed by
  the center and cosigned by every contingent's witness (consistency proof, compare-and-swap
  of its state, storing the cosigned note), one after another; the time each takes.
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine

from ceasefire.canonical import canonical_json
from ceasefire.ledger import log
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.entry import KIND_OBSERVATION, LogEntry
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.store import open_database

CATEGORIES = ("explosion", "small_arms_fire", "movement_vehicle", "uav_flight", "fortification")
PROOF_SAMPLES = 20_000
BASELINE_PROOF_SAMPLES = 500
LOAD_SECONDS = 3.0


def records(n: int, seed: int = 1) -> list[LogEntry]:
    """N observation records in canonical form, like the intake's (about 400 bytes each)."""
    rng = random.Random(seed)
    out: list[LogEntry] = []
    for i in range(n):
        contingent = "RU" if i % 2 else "TR"
        source = f"{contingent}-B{i:08d}"
        record = {
            "id": source,
            "contingent": contingent,
            "platform": {"id": f"{contingent.lower()}-uav-{i % 12:02d}", "type": "orlan-10"},
            "sortie": f"{contingent}-S-{i // 500:05d}",
            "observed_at": f"2021-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "location": {
                "lat": round(39.8 + rng.random() * 0.4, 6),
                "lon": round(46.6 + rng.random() * 0.5, 6),
                "ce_m": 50,
            },
            "category": CATEGORIES[i % len(CATEGORIES)],
            "qualifiers": {"weapon": "mortar", "calibre_mm": 120},
            "count": 1 + i % 5,
            "count_approx": False,
            "sensed_by": "drone-eo",
            "remarks": "bench record",
            "lang": "en",
        }
        out.append(
            LogEntry(
                KIND_OBSERVATION, f"{contingent}/{source}", canonical_json(record).decode("utf-8")
            )
        )
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(
    n: int,
    batch: int,
    directory: Path | None = None,
    progress: Console | None = None,
    load_seconds: float = LOAD_SECONDS,
) -> dict[str, Any]:
    """Run the benchmark; the JSON-ready result (see the module docstring)."""
    try:
        import pymerkle  # type: ignore[import-untyped]
    except ImportError as e:  # pragma: no cover - the bench extra is missing
        raise RuntimeError("bench ledger needs pymerkle: pip install pymerkle") from e

    def say(text: str) -> None:
        if progress is not None:
            progress.print(text)

    work = Path(tempfile.mkdtemp(prefix="ceasefire-bench-ledger-", dir=directory))
    try:
        entries = records(n)
        engine = open_database(f"sqlite:///{work / 'ledger.db'}")

        say(f"appending {n:,} records in batches of {batch:,} ...")
        start = time.perf_counter()
        for offset in range(0, n, batch):
            with engine.begin() as db:
                log.append(db, entries[offset : offset + batch])
        seconds = time.perf_counter() - start

        with engine.connect() as db:
            started = time.perf_counter()
            tree = log.read_tree(db)
            load_s = time.perf_counter() - started
            leaves = [
                row[0].encode("utf-8")
                for row in db.exec_driver_sql('SELECT entry FROM ledger ORDER BY "index"')
            ]
        root = tree.tree.root()

        say(f"the same {n:,} leaves through pymerkle SqliteTree ...")
        peer = pymerkle.SqliteTree(str(work / "pymerkle.db"), algorithm="sha256")
        start = time.perf_counter()
        for offset in range(0, n, batch):
            peer.append_entries(leaves[offset : offset + batch], chunksize=batch)
        baseline_seconds = time.perf_counter() - start
        peer_root = peer.get_root(n)
        # Our proofs come from a tree in memory: so do the peer's, from pymerkle's own
        # in-memory tree of the same leaves (its SqliteTree's proofs read the database).
        say(f"the same {n:,} leaves into pymerkle InmemoryTree (for its proofs) ...")
        in_memory = pymerkle.InmemoryTree(algorithm="sha256")
        for leaf in leaves:
            in_memory.append_entry(leaf)
        del leaves

        say("inclusion proofs ...")
        rng = random.Random(2)
        timings: list[float] = []
        for _ in range(min(PROOF_SAMPLES, 10 * n)):
            index = rng.randrange(n)
            t0 = time.perf_counter_ns()
            tree.tree.inclusion_proof(index)
            timings.append((time.perf_counter_ns() - t0) / 1000)
        peer_timings: list[float] = []
        sqlite_timings: list[float] = []
        for _ in range(min(BASELINE_PROOF_SAMPLES, n)):
            index = rng.randrange(n)
            t0 = time.perf_counter_ns()
            in_memory.prove_inclusion(index + 1, n)
            peer_timings.append((time.perf_counter_ns() - t0) / 1000)
            t0 = time.perf_counter_ns()
            peer.prove_inclusion(index + 1, n)
            sqlite_timings.append((time.perf_counter_ns() - t0) / 1000)
        peer.close()
        memory_root = in_memory.get_root(n)
        del in_memory

        say("checkpoints cosigned by every contingent while appends go on ...")
        keys = work / "keys"
        contingents = ["RU", "TR"]
        origin = origin_of("bench")
        init_keys(keys, origin, contingents)
        ring = load_keys(keys, origin, contingents)
        load = _checkpoints_under_load(engine, ring, tree, entries, batch, load_seconds)
        engine.dispose()

        rate = n / seconds
        baseline_rate = n / baseline_seconds
        return {
            "name": "ledger",
            "rate": rate,
            "baseline": f"pymerkle {pymerkle.__version__} SqliteTree.append_entries "
            "(same leaves, same batches)",
            "baseline_rate": baseline_rate,
            "ratio": rate / baseline_rate,
            "peak_rss_mb": _peak_rss_mb(),
            "records": n,
            "batch": batch,
            "seconds": seconds,
            "baseline_seconds": baseline_seconds,
            "roots_agree": root == peer_root == memory_root,
            "tree_load_s": load_s,
            "proof_p50_us": statistics.median(timings),
            "proof_p99_us": _percentile(timings, 0.99),
            "baseline_proof_p50_us": statistics.median(peer_timings),
            "baseline_proof_p99_us": _percentile(peer_timings, 0.99),
            "baseline_sqlite_proof_p50_us": statistics.median(sqlite_timings),
            "baseline_sqlite_proof_p99_us": _percentile(sqlite_timings, 0.99),
            **load,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _checkpoints_under_load(
    engine: Engine,
    ring: KeyRing,
    tree: log.LogTree,
    entries: list[LogEntry],
    batch: int,
    seconds: float,
) -> dict[str, Any]:
    """Checkpoint after checkpoint while another thread appends; the time each took."""
    stop = threading.Event()
    appended = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            offset = 0
            while not stop.is_set():
                chunk = entries[offset % len(entries) :][:batch]
                with engine.begin() as db:
                    log.append(db, chunk)
                appended[0] += len(chunk)
                offset += len(chunk)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    thread = threading.Thread(target=writer, name="bench-writer", daemon=True)
    durations: list[float] = []
    sizes: list[int] = []
    thread.start()
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds or len(durations) < 3:
            t0 = time.perf_counter()
            stored = make_checkpoint(engine, ring, tree, reuse=False)
            durations.append(time.perf_counter() - t0)
            sizes.append(stored.size)
            if len(durations) >= 1000:
                break
    finally:
        stop.set()
        thread.join()
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - start
    return {
        "checkpoints": len(durations),
        "checkpoint_p50_ms": statistics.median(durations) * 1000,
        "checkpoint_max_ms": max(durations) * 1000,
        "appended_under_load": appended[0],
        "append_rate_under_load": appended[0] / elapsed,
        "checkpoint_sizes": [sizes[0], sizes[-1]],
    }
