"""The correlation follower's lag and CPU under a steady intake (docs/incidents.md).

Records of `bench ingest` are committed 20 at a time every 0.1 s by one thread (deferred
correlation: stored and logged only) while the follower's ``run`` follows in another; the lag
is the time from the last commit until nothing is left to correlate, and the follower's CPU
is its thread's. Usage:

    .venv/bin/python tools/follower_lag.py N GATHER_SECONDS   # e.g. 20000 0, then 20000 1
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time

from ceasefire.bench.ingest import records
from ceasefire.geo import Enricher
from ceasefire.incidents.follow import Follower, behind
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import load_mission
from ceasefire.observations import parse_observation
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission


def main(n: int, gather: float) -> None:
    mission = load_mission("karabakh-2020")
    enricher = Enricher(mission)
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(os.path.join(folder, "lag.db"))
        stored, _new = save_mission(engine, mission)
        row = mission_row(engine, stored)
        intake = Intake(engine, mission, row, enricher, correlate="deferred")
        data = [parse_observation(r) for r in records(n, 3, "L")]
        follower = Follower(engine, mission, row, enricher)
        stop = threading.Event()
        cpu: list[float] = []

        def follow() -> None:
            began = time.thread_time()
            follower.run(stop, idle=0.2, gather=gather)
            cpu.append(time.thread_time() - began)

        thread = threading.Thread(target=follow)
        thread.start()
        start = time.perf_counter()
        for i in range(0, n, 20):
            intake.feed(data[i : i + 20], "lag")
            time.sleep(0.1)
        last = time.perf_counter()
        while True:
            with engine.connect() as db:
                if behind(db) == 0:
                    break
            time.sleep(0.05)
        lag = time.perf_counter() - last
        stop.set()
        thread.join()
        engine.dispose()
    print(
        f"gather {gather}: {n} records in {last - start:.1f} s, lag after the last "
        f"{lag:.1f} s, follower CPU {cpu[0]:.1f} s ({cpu[0] / n * 1e3:.2f} ms/record), "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
