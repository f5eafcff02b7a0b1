"""The mission model: who monitors, who the parties are, the agreement, zones and places.

The mission file (TOML) is described by Pydantic models, so its JSON Schema is published from
the same source that validates it. Zones and settlements come from GeoJSON and CSV files next to
it and are plain dataclasses holding Shapely geometries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    model_validator,
)
from shapely.geometry.base import BaseGeometry

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _

Id = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Localized = dict[str, Annotated[str, StringConstraints(min_length=1)]]
"""A text in each working language: {"en": ..., "ru": ..., ...}."""

ZoneKind = Literal[
    "line_of_contact",
    "controlled_area",
    "peacekeeping_zone",
    "corridor",
    "buffer_zone",
    "withdrawal_zone",
    "handover_area",
    "road",
    "site",
]
ZONE_KINDS: tuple[str, ...] = get_args(ZoneKind)
LINE_KINDS = frozenset({"line_of_contact", "road"})
POINT_KINDS = frozenset({"site"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CHANNELS = ("email", "http", "tak", "file")
"""How a notice travels (docs/direct-lines.md): ``email`` an SMTP address, ``http`` a signed
webhook URL, ``tak`` a TAK server ``tcp://host:port`` or ``tls://host:port``, ``file`` a
directory to drop files in."""


class Contact(_Strict):
    name: Localized
    channel: Literal["email", "http", "tak", "file"]
    address: str = Field(min_length=1)


class _Recipient(_Strict):
    """Who receives notices: its channels, and within how long it acknowledges."""

    contacts: list[Contact] = []
    ack_hours: float = Field(
        default=2.0, gt=0, description="a notice unacknowledged this long goes to the heads"
    )
    keys: list[str] = Field(
        default=[],
        description="Ed25519 verifier keys (C2SP vkey) its liaison signs acknowledgements with",
    )


class Contingent(_Recipient):
    id: Id
    language: str
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
    names: Localized
    head: Localized


class PartyWitness(_Strict):
    """A party's witness of the center's log: its inbox (``ceasefire inbox serve``), which
    cosigns checkpoints it sees extend what it cosigned before (C2SP tlog-witness)."""

    url: str = Field(
        min_length=1,
        description="the witness's address (http://HOST:PORT/witness on the party's inbox): "
        "the center posts <url>/add-checkpoint",
    )
    key: str = Field(
        min_length=1,
        description="its cosigner verifier key (C2SP vkey, printed by `ceasefire inbox init`)",
    )


class Party(_Recipient):
    id: Id
    language: str
    names: Localized
    witness: PartyWitness | None = None


class Force(_Recipient):
    id: Id
    language: str
    names: Localized


class Clause(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")]
    text: Localized


class Period(_Strict):
    start: AwareDatetime
    end: AwareDatetime | None = None


Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES = ("low", "medium", "high", "critical")


class Rule(_Strict):
    """Ties a clause of the agreement to a test on observations.

    Every condition given must hold; a list holds when any of its items does. Distances are
    to the line of contact valid at the observation's time, in metres.
    """

    id: Slug
    clause: str
    severity: Severity
    categories: list[str] = Field(min_length=1)
    qualifiers: dict[str, list[str | float | bool]] = {}
    zones: list[str] = []
    zone_kinds: list[ZoneKind] = []
    outside_zones: list[str] = []
    max_distance_to_line_m: float | None = Field(default=None, ge=0)
    min_distance_to_line_m: float | None = Field(default=None, ge=0)
    sides: list[Id] = []
    controlled_by: list[Id] = []
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    explanation: Localized


class Correlation(_Strict):
    """When two observations describe the same event (see docs/incidents.md)."""

    sigma: float = Field(default=2.0, gt=0, description="gate: sigma * combined CE + slack")
    slack_m: float = Field(default=300.0, ge=0)
    max_gate_m: float = Field(default=10_000.0, gt=0)
    # Minutes within which two sightings can be one event, by group; in complete linkage also
    # the longest an incident of the group can last. Fire is brief (small-arms fire goes on
    # longer); work on a position, hazards and other activity last hours, and a later pass
    # sees the same thing.
    windows_min: dict[str, float] = {
        "explosion": 10.0,
        "projectile": 10.0,
        "muzzle_flash": 10.0,
        "small_arms_fire": 20.0,
        "illumination_flare": 10.0,
        "movement": 90.0,
        "fortification": 720.0,
        "mine_uxo": 1440.0,
        "other": 360.0,
        "default": 30.0,
    }
    # Categories that can be one event; any other category is a group of its own (an
    # explosion and small-arms fire nearby are two events, never one).
    groups: dict[str, list[str]] = {
        "movement": [
            "movement_personnel",
            "movement_vehicle",
            "movement_heavy_weapon",
            "line_crossing",
        ],
    }
    linkage: Literal["complete", "single"] = Field(
        default="complete",
        description="complete: every two members of an incident within the gate (no chains); "
        "single: the old connected components, kept to measure against",
    )
    once_per_event: list[str] = Field(
        default=["observation-post", "patrol"],
        description="platform types that report an event once: two of their reports are "
        "two events (unless the same report sent twice)",
    )
    distinct_qualifiers: list[str] = Field(
        default=["weapon", "calibre_mm", "explosion"],
        description="qualifiers whose different values are different events (a 120 mm mortar "
        "and a 152 mm gun); 'unknown', 'undetermined' or not said agree with every value",
    )


Reaction = Literal[
    "record_only",
    "notify_peacekeepers",
    "notify_both_parties",
    "request_explanation",
    "request_reobservation",
    "escalate_to_heads",
]
REACTIONS: tuple[Reaction, ...] = get_args(Reaction)
"""The catalogue of reactions. Every one is a communication: none recommends force."""


class Policy(_Strict):
    """How the center decides (docs/workflow.md); every field has a default.

    Reactions in ``two_key`` need the heads of every contingent; those in ``urgent`` either
    contingent's duty officer may take alone, and the other side confirms or contests within
    ``confirm_hours``; any other reaction needs a duty officer or head of every contingent.
    """

    two_key: list[Reaction] = ["notify_both_parties", "request_explanation"]
    urgent: list[Reaction] = ["notify_peacekeepers", "request_reobservation", "escalate_to_heads"]
    confirm_hours: float = Field(default=2.0, gt=0)
    escalate_hours: float = Field(default=12.0, gt=0)
    delivery_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="failed tries of a notice's delivery, in a row, before it is a dead letter",
    )

    @model_validator(mode="after")
    def _neutral(self) -> Policy:
        # Neutrality: a request to one party is only ever a decision both heads approve.
        if "request_explanation" not in self.two_key:
            raise ValueError("request_explanation must be a two_key reaction (neutrality)")
        both = set(self.two_key) & set(self.urgent)
        if both:
            raise ValueError(f"reactions both two_key and urgent: {sorted(both)}")
        return self


class IntakePolicy(_Strict):
    """How the center takes in observations, and treats doubtful times and places."""

    signed: bool = Field(
        default=False,
        description="Accept only observations signed by their contingent's node "
        "(its intake key registered at the center); unsigned records are refused.",
    )
    clock_tolerance_s: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="how far in the future (by the center's clock) a report may be dated: "
        "clocks in the field drift; a later time is refused",
    )
    outside_area: Literal["refuse", "warn"] = Field(
        default="refuse",
        description="a place outside the area of operations is refused, or accepted with a "
        "warning in the answer",
    )


class Reports(_Strict):
    """The daily report and the open-data exports (docs/reports.md); every field has a default."""

    daily_cutoff: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = (
        Field(
            default="18:00",
            description="the daily report covers the 24 hours up to this time of day, in the "
            "mission's time zone (the OSCE SMM's reports had a fixed cut-off)",
        )
    )
    acled_country: str = Field(
        default="", description="ACLED's country name for the area of operations"
    )
    acled_iso: int | None = Field(
        default=None, ge=0, le=999, description="ISO 3166-1 numeric code of that country"
    )
    acled_region: str = Field(default="", description="ACLED's region of that country")


class Lines(_Strict):
    """The direct lines (docs/direct-lines.md); every field has a default."""

    public_url: str = Field(
        default="",
        description="the center's public base URL as its recipients reach it "
        "(https://center.example.org, or with a path prefix): the acknowledgement link in a "
        "notice is absolute under it; empty, the link is a path on the center's API",
    )

    def base(self) -> str:
        """The public URL without a trailing slash ('' when none is set)."""
        return self.public_url.rstrip("/")


class Checkpoints(_Strict):
    """Who cosigns the log's checkpoints besides the contingents (docs/ledger.md)."""

    parties_required: bool = Field(
        default=False,
        description="a checkpoint counts only with the cosignature of every party's witness "
        "(its inbox, parties[].witness); false: the parties' witnesses are asked and their "
        "cosignatures added when given, a refusal is logged, the checkpoint stands",
    )


class MissionFile(_Strict):
    """The mission file, ``mission.toml``."""

    schema_version: Literal[1]
    id: Slug
    timezone: str
    languages: list[str] = Field(min_length=1)
    period: Period
    area: tuple[FiniteFloat, FiniteFloat, FiniteFloat, FiniteFloat] = Field(
        description="Area of operations: min lon, min lat, max lon, max lat."
    )
    layers: list[str] = Field(min_length=1)
    gazetteer: str
    neutral_order: list[Id]
    name: Localized
    name_order: dict[str, list[Id]]
    disclaimer: Localized = {}
    attribution: Localized = {}
    contingents: list[Contingent] = Field(min_length=2)
    parties: list[Party] = Field(min_length=2)
    peacekeeping_force: Force | None = None
    clauses: list[Clause] = []
    rules: list[Rule] = []
    correlation: Correlation = Correlation()
    policy: Policy = Policy()
    intake: IntakePolicy = IntakePolicy()
    reports: Reports = Reports()
    lines: Lines = Lines()
    checkpoints: Checkpoints = Checkpoints()

    def monitor_languages(self) -> list[str]:
        """The working languages that are no party's own (the monitors', and English): each
        names a disputed place in every form; a party's language may use its own name."""
        own = {p.language for p in self.parties}
        return [lang for lang in self.languages if lang not in own]


class ZoneProperties(_Strict):
    """The properties of a zone feature in a GeoJSON layer."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: ZoneKind
    names: Localized
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    party: Id | None = None
    force: Id | None = None
    clauses: list[str] = []
    left_party: Id | None = None
    right_party: Id | None = None
    illustrative: bool = False


@dataclass(frozen=True)
class Zone:
    id: str
    kind: str
    names: dict[str, str]
    geometry: BaseGeometry
    valid_from: datetime
    valid_until: datetime | None = None
    party: str | None = None
    force: str | None = None
    clauses: tuple[str, ...] = ()
    left_party: str | None = None
    right_party: str | None = None
    illustrative: bool = False
    layer: str = ""

    def valid_at(self, when: datetime) -> bool:
        return self.valid_from <= when and (self.valid_until is None or when < self.valid_until)


@dataclass(frozen=True)
class Settlement:
    id: str
    lat: float
    lon: float
    names: dict[str, str]
    population: int | None = None
    geonameid: int | None = None
    alt_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mission:
    """A loaded, validated mission: the file, its zones and its gazetteer."""

    config: MissionFile
    zones: tuple[Zone, ...]
    settlements: tuple[Settlement, ...]
    source: str
    digest: str = ""
    files: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def languages(self) -> list[str]:
        return self.config.languages

    def zone(self, zone_id: str) -> Zone:
        for zone in self.zones:
            if zone.id == zone_id:
                return zone
        raise KeyError(zone_id)

    def party_ids(self) -> list[str]:
        return [p.id for p in self.config.parties]

    def contingent_ids(self) -> list[str]:
        return [c.id for c in self.config.contingents]

    def check_contingent(self, contingent: str, file: str, field: str) -> None:
        """Raise an :class:`~ceasefire.errors.InputError` naming ``file`` and ``field`` unless
        ``contingent`` is one of the mission's (a command's argument, a setting)."""
        if contingent not in self.contingent_ids():
            raise InputError(
                Problem(
                    file=file,
                    field=field,
                    record=contingent,
                    reason=_("not a contingent of the mission: one of {choices}").format(
                        choices=", ".join(self.contingent_ids())
                    ),
                )
            )

    def contingents_for(self, lang: str) -> list[Contingent]:
        """The contingents in the order a locale names them (its own side first)."""
        order = self.config.name_order.get(lang, self.config.neutral_order)
        return sorted(self.config.contingents, key=lambda c: order.index(c.id))

    def name(self, lang: str) -> str:
        return self.config.name.get(lang) or self.config.name["en"]

    def disclaimer(self, lang: str) -> str:
        d = self.config.disclaimer
        return d.get(lang) or d.get("en", "")

    def settlement_name(self, settlement: Settlement, lang: str) -> str:
        return settlement.names.get(lang) or settlement.names.get("en") or settlement.id


def is_slug(text: str) -> bool:
    return re.fullmatch(r"[a-z0-9][a-z0-9-]*", text) is not None
