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
    warning: str | None = Field(
        default=None,
        description="accepted, but doubtful: a place outside the area of operations (when "
        "the mission accepts those with a warning)",
    )


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[RecordOutcome]


class Quarantined(BaseModel):
    contingent: str
    id: str = Field(description="the source's id")
    observed_at: str
    category: str
    stage: str = Field(description="the stage that failed on it: correlation")
    reason: str
    quarantined_at: str


class QuarantineList(BaseModel):
    quarantined: list[Quarantined] = Field(description="newest first")


class Counts(BaseModel):
    observations: int
    track_points: int
    by_contingent: dict[str, int]
    not_yet_correlated: int = Field(
        description="observations stored but not yet in incidents (the follower's backlog)"
    )
    quarantined: int = Field(
        description="observations a later stage failed on and set aside (GET /quarantine)"
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded while observations are quarantined"
    )
    version: str
    mission: str
    mission_version: int
    database: str = Field(description="sqlite or postgresql")
    schema_revision: str | None
    counts: Counts


class Location(BaseModel):
    lat: float
    lon: float
    ce_m: float = Field(description="circular error, metres")


class IncidentSettlement(BaseModel):
    id: str | None
    distance_m: float | None
    bearing_deg: float | None = Field(description="from the settlement to the incident")


class Incident(BaseModel):
    """The incident record (DESIGN.md section 5), as `ceasefire incidents --format json`."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="derived from the incident's earliest observation")
    kind: str = Field(description="event or line_crossing")
    status: str = Field(description="open, assessing, finding, disputed, ...")
    category: str = Field(description="the most reported category")
    categories: list[str]
    started_at: str = Field(description="ISO 8601 UTC")
    ended_at: str = Field(description="ISO 8601 UTC")
    location: Location = Field(description="the fused position")
    count: int
    observation_ids: list[str] = Field(description="CONTINGENT/ID of each observation")
    contingents: list[str]
    platforms: list[str]
    corroboration: str = Field(
        description="single_source, several_platforms, several_contingents, both_contingents "
        "or party_complaint_only"
    )
    rules: list[str] = Field(description="ids of the mission's rules its observations trigger")
    severity: str | None
    zones: list[str]
    controlled_by: str | None
    distance_to_line_m: float | None
    line_side: str | None
    nearest_settlement: IncidentSettlement
    phrase: str | None = Field(description='"4.0 km south-west of Aghdam", in the language')


class IncidentPage(BaseModel):
    incidents: list[Incident]
    next: str | None = Field(description="the URL of the next page; null on the last page")


class IncidentObservation(BaseModel):
    """An observation of an incident: the canonical record's fields, then these."""

    model_config = ConfigDict(extra="allow")

    id: str
    contingent: str
    rules: list[str] = Field(description="ids of the rules it triggers")
    zones: list[str]
    distance_to_line_m: float | None
    why: list[str] = Field(description="one sentence per rule, in the request's language")


class PossibleLaunch(BaseModel):
    """A launch incident an impact is consistent with in range, time and direction: a
    hypothesis to verify, never merged (docs/incidents.md)."""

    incident: str = Field(description="the launch incident's id")
    category: str = Field(description="muzzle_flash or explosion (said to be outgoing)")
    weapon: str | None = Field(description="the weapon the launch's observers said, if one")
    distance_m: float = Field(description="from the impact")
    bearing_deg: float = Field(description="of the launch from the impact, clockwise from north")
    seconds_before: float = Field(
        description="how long before the impact; negative: after it, within the reports' "
        "time errors"
    )
    seconds_off: float = Field(
        description="how far the two incidents' spans of reports are from allowing any "
        "plausible flight (0: they allow one), within the reports' time errors"
    )
    launch_said: bool = Field(
        description="a muzzle flash or an explosion said to be outgoing; false: an explosion "
        "not said to be either (listed after those said)"
    )
    reach_m: float = Field(description="the reach it was tested against (the weapon said)")
    sentence: str = Field(description="the relation in a sentence, in the request's language")
    why: list[str] = Field(description="why it is consistent, one sentence per test")


class PossibleImpact(BaseModel):
    """An impact incident that lists this launch incident among its possible launches."""

    incident: str = Field(description="the impact incident's id")
    category: str
    distance_m: float = Field(description="from the launch")
    seconds_after: float = Field(description="how long after the launch")
    rank: int = Field(description="the launch's place in the impact's list (1: its best fit)")
    sentence: str = Field(description="the relation in a sentence, in the request's language")


class IncidentDetail(Incident):
    observations: list[IncidentObservation]
    possible_launches: list[PossibleLaunch] = Field(
        description="for an impact, the launch incidents it is consistent with, the best fit "
        "first; empty for any other incident"
    )
    possible_impacts: list[PossibleImpact] = Field(
        description="for a launch, the impact incidents that list it among their possible "
        "launches; empty for any other incident"
    )


class CoverageGap(BaseModel):
    """A stretch of the line left unwatched longer than the threshold."""

    from_km: float = Field(description="along the line")
    to_km: float
    length_km: float
    longest_gap_h: float = Field(description="the longest time any of it went unwatched")


class ContingentCoverage(BaseModel):
    covered_share: float = Field(description="share of the line's pieces watched at all, 0 to 1")
    gaps: list[CoverageGap]


class Coverage(BaseModel):
    """As `ceasefire coverage --format json`."""

    since: str
    until: str
    line_km: float = Field(description="length of the line of contact valid at since")
    piece_km: float = Field(description="the line is judged in pieces of this length")
    gap_threshold_h: float
    contingents: dict[str, ContingentCoverage]
    covered_share_any: float = Field(description="watched by any contingent")
    covered_share_all: float = Field(description="watched by every contingent")
    gaps: list[CoverageGap] = Field(description="stretches no contingent watched")


class LedgerCheckpoint(BaseModel):
    """The latest checkpoint cosigned by every contingent."""

    origin: str = Field(description="the log's name, the note's first line")
    size: int = Field(description="entries in the log at the checkpoint")
    root: str = Field(description="RFC 9162 root hash, standard base64")
    note: str = Field(description="the C2SP signed note: center signature and cosignatures")
    created_at: str = Field(description="when the center stored it, ISO 8601 UTC")


class LedgerEntry(BaseModel):
    index: int
    kind: str = Field(description="observation, key, release, ...")
    ref: str = Field(description="the record's name within its kind, e.g. RU/RU-0001")
    appended_at: str = Field(description="when the center logged it, ISO 8601 UTC")
    entry: str = Field(description="the exact canonical JSON text whose UTF-8 bytes are hashed")
    leaf_hash: str = Field(description="SHA-256(0x00 || entry), standard base64")


class RangeEntry(BaseModel):
    index: int
    kind: str = Field(description="the entry's kind; `withheld` when the entry is withheld")
    entry: str | None = Field(None, description="the exact text hashed (absent when withheld)")
    leaf_hash: str | None = Field(
        None,
        description="only for an entry withheld from the caller (one contingent's view of a "
        "blind incident: an assessment, a decision, its steps, the notices it sent)",
    )


class LedgerRange(BaseModel):
    start: int
    end: int
    frontier: list[str] = Field(
        description="the roots of the complete subtrees of the tree of size start, largest "
        "first, standard base64"
    )
    entries: list[RangeEntry]


class InclusionProof(BaseModel):
    index: int
    size: int = Field(description="the tree size the proof is for")
    leaf_hash: str = Field(description="standard base64")
    proof: list[str] = Field(description="RFC 9162 2.1.3 audit path, standard base64")


class ConsistencyProof(BaseModel):
    old_size: int
    new_size: int
    proof: list[str] = Field(description="RFC 9162 2.1.4 consistency proof, standard base64")


__all__ = [
    "BatchResult",
    "ConsistencyProof",
    "ContingentCoverage",
    "Counts",
    "Coverage",
    "CoverageGap",
    "Enrichment",
    "Health",
    "Incident",
    "IncidentDetail",
    "IncidentObservation",
    "IncidentPage",
    "IncidentSettlement",
    "InclusionProof",
    "LedgerCheckpoint",
    "LedgerEntry",
    "Location",
    "NearestSettlement",
    "ObservationPage",
    "PossibleImpact",
    "PossibleLaunch",
    "RecordOutcome",
    "StoredObservation",
]
