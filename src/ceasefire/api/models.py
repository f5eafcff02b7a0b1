"""The shapes of the API's answers, for the OpenAPI document (answers are built as plain JSON)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NearestSettlement(BaseModel):
    id: str
    name: str = Field(description="in the request's language")
    distance_m: float
    bearing_deg: float = Field(description="from the settlement to the observation")


class Enrichment(BaseModel):
    """Where the observation lies, computed at its own observed time when it was received."""

    zones: list[str] = Field(description="ids of the mission's zones that hold the point")
    controlled_by: str | None = Field(description="the party controlling the area, if any")
    distance_to_line_m: float | None = Field(
        description="signed distance to the line of contact; null when no line was valid"
    )
    line_side: str | None = Field(description="the party on the point's side of the line")
    nearest_settlement: NearestSettlement | None
    phrase: str | None = Field(description='"4.0 km south-west of Aghdam", in the language')


class StoredObservation(BaseModel):
    """The canonical record's fields (see /api/v1/schemas/observation), then its enrichment."""

    model_config = ConfigDict(extra="allow")

    id: str
    contingent: str
    enrichment: Enrichment
    received_at: str = Field(description="when the center accepted it, ISO 8601 UTC")


class ObservationPage(BaseModel):
    observations: list[StoredObservation]
    next: str | None = Field(description="the URL of the next page; null on the last page")


class RecordOutcome(BaseModel):
    """What became of one submitted record (in the order submitted)."""

    index: int = Field(description="the record's position in the batch, from 0")
    status: Literal["accepted", "duplicate", "rejected"]
    id: str | None = None
    contingent: str | None = None
    field: str | None = Field(default=None, description="the bad field, for a rejection")
    reason: str | None = Field(default=None, description="why it was rejected")


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[RecordOutcome]


class Counts(BaseModel):
    observations: int
    track_points: int
    by_contingent: dict[str, int]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    mission: str
    mission_version: int
    database: str = Field(description="sqlite or postgresql")
    schema_revision: str | None
    counts: Counts


__all__ = [
    "BatchResult",
    "Counts",
    "Enrichment",
    "Health",
    "NearestSettlement",
    "ObservationPage",
    "RecordOutcome",
    "StoredObservation",
]
