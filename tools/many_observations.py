"""Write N observations of the demo mission as JSON Lines, for measuring `ceasefire ingest`.

Four years from 11 Nov 2020, spread evenly (5 million: about 3,400 a day), both contingents,
random places over the area of the line. Movement reports are 1 in 100: at this density the
movement group's 90-minute, 30 km/h gates would otherwise chain every report into one incident.

    .venv/bin/python tools/many_observations.py 5000000 var/5m.jsonl
    /usr/bin/time -v .venv/bin/ceasefire ingest var/5m.jsonl --db var/5m.db --json
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

import orjson

from ceasefire.bench.ingest import CATEGORIES, PLATFORMS

START = datetime(2020, 11, 11, tzinfo=UTC)
SPAN_S = 4 * 365 * 86400
MOVEMENT = 2  # the index of the movement category in CATEGORIES


def main(n: int, path: str) -> None:
    rng = random.Random(3)
    with open(path, "wb") as out:
        for i in range(n):
            contingent = "RU" if i % 2 == 0 else "TR"
            index = MOVEMENT if rng.random() < 0.01 else rng.choice((0, 1, 3))
            category, qualifiers = CATEGORIES[index]
            platform_id, platform_type = PLATFORMS[contingent]
            when = START + timedelta(seconds=int(i / n * SPAN_S) + rng.randrange(600))
            record = {
                "id": f"{contingent}-Y{i:08d}",
                "contingent": contingent,
                "platform": {"id": platform_id, "type": platform_type},
                "observed_at": when.isoformat().replace("+00:00", "Z"),
                "location": {
                    "lat": round(39.6 + rng.random() * 0.6, 6),
                    "lon": round(46.5 + rng.random() * 0.7, 6),
                    "ce_m": rng.choice([25, 50, 100, 200]),
                },
                "category": category,
                "qualifiers": qualifiers,
                "count": 1,
                "sensed_by": "drone-eo",
            }
            out.write(orjson.dumps(record) + b"\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
