"""The peer of `bench ingest`: the straightforward service, written as a skilled user would.

A plain FastAPI + Pydantic endpoint that validates a batch of observations and inserts them
into SQLite with executemany, and does nothing else: no enrichment, no rules, no correlation,
no ledger, no idempotency. The body is validated straight from its JSON bytes by one Pydantic
``TypeAdapter`` for the whole batch (pydantic-core parses and validates in one pass, the
fastest way Pydantic offers; FastAPI's own ``list[Record]`` parameter parses the JSON to
Python objects first), and the batch is committed with the durability ours has (WAL,
``synchronous=FULL``). Run as `uvicorn ceasefire.bench.ingest_baseline:app` with the database
file in $CEASEFIRE_BASELINE_DB.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime

from fastapi import FastAPI, Request
from pydantic import BaseModel, TypeAdapter


class Platform(BaseModel):
    id: str
    type: str


class Location(BaseModel):
    lat: float
    lon: float
    ce_m: float


class Record(BaseModel):
    id: str
    contingent: str
    platform: Platform
    observed_at: datetime
    location: Location
    category: str
    count: int = 1
    sensed_by: str


app = FastAPI()
_db = sqlite3.connect(os.environ.get("CEASEFIRE_BASELINE_DB", ":memory:"), check_same_thread=False)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute("PRAGMA synchronous=FULL")  # the durability of ours (ceasefire.store.db)
_db.execute(
    "CREATE TABLE IF NOT EXISTS observations (id TEXT, contingent TEXT, platform TEXT, "
    "observed_at TEXT, lat REAL, lon REAL, ce_m REAL, category TEXT, count INTEGER, "
    "sensed_by TEXT)"
)


BATCH = TypeAdapter(list[Record])


@app.post("/observations")
async def post(request: Request) -> dict[str, int]:
    batch = BATCH.validate_json(await request.body())
    _db.executemany(
        "INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.id,
                r.contingent,
                r.platform.id,
                r.observed_at.isoformat(),
                r.location.lat,
                r.location.lon,
                r.location.ce_m,
                r.category,
                r.count,
                r.sensed_by,
            )
            for r in batch
        ],
    )
    _db.commit()
    return {"accepted": len(batch)}
