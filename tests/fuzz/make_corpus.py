"""Write the seed inputs of tools/fuzz.py into tests/fuzz/corpus/TARGET/ (one valid input of
each kind, and a few near misses): .venv/bin/python tests/fuzz/make_corpus.py"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ceasefire.intake import cot, klv, tak
from ceasefire.observations import Observation

HERE = Path(__file__).parent
MINI = HERE.parent / "fixtures" / "mini-mission"
RECORD = {
    "id": "RU-0001",
    "contingent": "RU",
    "platform": {"id": "orlan-10-07", "type": "orlan-10"},
    "observed_at": "2021-02-01T10:32:00Z",
    "location": {"lat": 39.93, "lon": 46.83, "ce_m": 50},
    "category": "explosion",
    "qualifiers": {"explosion": "impact", "weapon": "mortar", "calibre_mm": 120},
    "count": 3,
    "sensed_by": "drone-eo",
    "remarks": "три разрыва",
}


def seeds() -> dict[str, dict[str, bytes]]:
    observation = Observation.model_validate(RECORD)
    line = json.dumps(RECORD, ensure_ascii=False).encode()
    packet = klv.encode_packet(
        klv.KlvPacket(
            time=datetime(2021, 2, 1, 10, 32, tzinfo=UTC),
            sensor_lat=39.9,
            sensor_lon=46.8,
            frame_lat=39.93,
            frame_lon=46.83,
        )
    )
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [46.83, 39.93]},
        "properties": {k: v for k, v in RECORD.items() if k != "location"},
    }
    return {
        "cot": {
            "event": cot.observation_to_cot(observation),
            "two": cot.observation_to_cot(observation) * 2,
        },
        "tak": {
            "mesh": tak.observation_to_mesh(observation),
            "stream": tak.encode_stream(tak.observation_to_message(observation)),
        },
        "klv": {"packet": packet, "two": packet + packet},
        "jsonl": {"record": line + b"\n", "batch": b"[" + line + b"]\n"},
        "csv": {
            "row": b"id,contingent,platform_id,platform_type,observed_at,lat,lon,ce_m,category,"
            b"sensed_by\nRU-0001,RU,orlan-10-07,orlan-10,2021-02-01T10:32:00Z,39.93,46.83,50,"
            b"explosion,drone-eo\n"
        },
        "geojson": {
            "collection": json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
        },
        "mission": {
            f"{i}-{name}": bytes([i]) + (MINI / name).read_bytes()
            for i, name in enumerate(("mission.toml", "zones.geojson", "places.csv"))
        },
    }


def main() -> None:
    for target, files in seeds().items():
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
