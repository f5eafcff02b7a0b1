"""Write N observations of the demo mission as JSON Lines, for measuring `ceasefire ingest`.

Four years from 11 Nov 2020, spread evenly (5 million: about 3,400 a day), both contingents,
random places over the area of the line. Movement reports are 1 in 100: at this density the
movement group's 90-minute, 30 km/h gates would otherwise chain every report into one incident.

    .venv/bin/python tools/many_observations.py 5000000 var/5m.jsonl
    /usr/bin/time -v .venv/bin/ceasefire ingest var/5m.jsonl --db var/5m.db --json

The records come from :func:`ceasefire.bench.reports.many_observations`, which ``ceasefire
bench ogc`` and ``bench export`` store directly.
"""

from __future__ import annotations

import sys

import orjson

from ceasefire.bench.reports import many_observations


def main(n: int, path: str) -> None:
    with open(path, "wb") as out:
        for record in many_observations(n):
            out.write(orjson.dumps(record) + b"\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
