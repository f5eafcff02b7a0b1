"""The canonical observation record: one sensor's report of one thing at one time and place.

Every input format (JSON Lines, CSV, GeoJSON, CoT, TAK, MISB 0601 frame centres) maps to
:class:`Observation`; the field names are those of DESIGN.md section 5 and are only ever
extended, never renamed. Validation is strict: no type coercion (a count is a JSON number, not
a string), no NaN or infinity, times in ISO 8601 with an offset (normalised to UTC), and the
qualifiers checked against the category (:mod:`ceasefire.observations.taxonomy`).

A place is given either as ``location`` (``lat``, ``lon``, ``ce_m``: the radius of the circle,
in metres, that holds the true position) or as an observer's position with a bearing and a
distance band (``observer``, ``bearing_deg``, ``distance_m`` = [min, max]), as posts and patrols
report. :func:`locate` turns the latter into a point with its CE: the point lies on the
bearing at the middle of the band (pyproj ``Geod.fwd`` on WGS84) and

    CE = (max - min) / 2 + max * sin(BEARING_UNCERTAINTY_DEG)

that is half the band along the bearing plus the lateral spread that a bearing error of
:data:`BEARING_UNCERTAINTY_DEG` (5 degrees, a hand-held compass or an estimate by eye) makes at
the far edge of the band. The sum bounds the whole band-and-bearing sector, so the CE is
conservative.

Use :func:`parse_observation` on untrusted input: it raises :class:`ObservationError` whose
``problems`` name each bad field with a plain sentence (translated with ``ceasefire.i18n``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pyproj import Geod

from ceasefire import canonical
from ceasefire.i18n import _
from ceasefire.observations.taxonomy import (
    LANGUAGES,
    Category,
    PlatformType,
    SensedBy,
    check_qualifiers,
    has_control_characters,
)

BEARING_UNCERTAINTY_DEG = 5.0
"""The bearing error assumed for observer + bearing + distance reports (see :func:`locate`)."""

MAX_DISTANCE_M = 100_000.0
"""The farthest distance band accepted: nothing is seen or heard reliably beyond 100 km."""

MAX_CE_M = 1_000_000.0
MAX_COUNT = 1_000_000
MAX_REMARKS = 4000
MAX_EVIDENCE = 100

ERROR_TYPE = "ceasefire"
"""The pydantic error type of this module's own checks; ``ctx`` holds ``message`` and ``field``."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"  # a source id (also in the OpenAPI document)
_ID_PATTERN = ID_PATTERN
_ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})$"
)
_GEOD = Geod(ellps="WGS84")

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=_ID_PATTERN)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="degrees north, WGS84")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="degrees east, WGS84")]


def _problem(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(ERROR_TYPE, "{message}", {"message": message, "field": field})


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2021-02-01T10:32:00Z`` (microseconds only if any)."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def parse_time(value: object, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text with an offset (or an aware datetime).

    Raises ``PydanticCustomError`` naming ``field``; used by the record and the adapters.
    """
    if (
        type(value) is str
        and len(value) == 20
        and value[19] == "Z"
        and value[10] == "T"
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
    ):
        # The usual form, "2021-02-01T10:32:00Z", read at once: fromisoformat takes exactly
        # the digits the pattern does here and gives the time in UTC itself (regex, upper
        # and astimezone cost four times as much); anything it refuses (a 13th month, a
        # digit not in ASCII) goes the long way, which names the problem.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if len(value) > 40 or not _ISO_TIME.match(value):
            raise _problem(
                field,
                _(
                    "The field {field} must be an ISO 8601 time with a UTC offset or Z, "
                    "such as 2021-02-01T10:32:00Z."
                ).format(field=field),
            )
        try:
            moment = datetime.fromisoformat(value.upper().replace(" ", "T"))
        except ValueError:
            raise _problem(
                field,
                _("The field {field} is not a valid date and time.").format(field=field),
            ) from None
    else:
        raise _problem(
            field,
            _("The field {field} must be text holding an ISO 8601 time.").format(field=field),
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _problem(
            field,
            _("The field {field} must carry a UTC offset or Z.").format(field=field),
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _problem(
            field, _("The field {field} is out of the range of dates.").format(field=field)
        ) from None


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Platform(_Record):
    """The platform that sensed: a drone, a camera, a post, a patrol, or a party's complaint."""

    id: Identifier
    type: PlatformType


class Location(_Record):
    """A point with its circular error: the true position lies within ``ce_m`` metres."""

    lat: Latitude
    lon: Longitude
    ce_m: float = Field(ge=0.0, le=MAX_CE_M, description="circular error, metres")


class Observer(_Record):
    """Where the observer stood, for reports by bearing and distance."""

    lat: Latitude
    lon: Longitude


class Evidence(_Record):
    """A reference to a piece of evidence by its content hash."""

    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256, 64 hex digits")
    media_type: str = Field(
        max_length=127,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$",
    )
    uri: str | None = Field(default=None, min_length=1, max_length=2048, pattern=r"^[^\s]+$")

    @field_validator("sha256", "media_type")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and has_control_characters(value):
            raise _problem(
                "uri", _("The field {field} must not hold control characters.").format(field="uri")
            )
        return value


class Observation(_Record):
    """The canonical observation record (DESIGN.md section 5)."""

    id: Identifier = Field(description="the source's id, unique per contingent")
    contingent: str = Field(pattern=r"^[A-Z]{2,3}$", description="the reporting contingent")
    platform: Platform
    sortie: Identifier | None = None
    track: Identifier | None = Field(
        default=None,
        description="the source's id of a tracked object: successive observations of one "
        "moving object share it (line crossings are found from them)",
    )
    observed_at: datetime = Field(
        description="ISO 8601 with an offset or Z; stored in UTC",
        json_schema_extra={"pattern": _ISO_TIME.pattern},
    )
    observed_until: datetime | None = Field(
        default=None,
        description="end of the observation, not before observed_at",
        json_schema_extra={"pattern": _ISO_TIME.pattern},
    )
    location: Location | None = None
    observer: Observer | None = None
    bearing_deg: float | None = Field(default=None, ge=0.0, lt=360.0)
    distance_m: tuple[float, float] | None = Field(
        default=None, description="distance band [min, max] from the observer, metres"
    )
    category: Category
    qualifiers: dict[str, Any] = Field(
        default_factory=dict, description="per category, see the taxonomy"
    )
    count: int = Field(default=1, ge=1, le=MAX_COUNT)
    count_approx: bool = False
    sensed_by: SensedBy
    evidence: list[Evidence] = Field(default_factory=list, max_length=MAX_EVIDENCE)
    remarks: str | None = Field(default=None, max_length=MAX_REMARKS)
    lang: str | None = Field(default=None, description="ISO 639-1 code of the remarks' language")

    # one validator each, naming its field: one taking the field's name from its
    # ValidationInfo cost a record a third of a microsecond more
    @field_validator("observed_at", mode="before")
    @classmethod
    def _observed_at(cls, value: object) -> object:
        if value is None:  # refused by the field's type, as missing
            return None
        return parse_time(value, "observed_at")

    @field_validator("observed_until", mode="before")
    @classmethod
    def _observed_until(cls, value: object) -> object:
        if value is None:
            return None
        return parse_time(value, "observed_until")

    @field_validator("distance_m", mode="before")
    @classmethod
    def _band_as_tuple(cls, value: object) -> object:
        if isinstance(value, list):
            return tuple(value)
        return value

    @field_validator("distance_m")
    @classmethod
    def _band(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is None:
            return None
        low, high = value
        if not 0.0 <= low <= high or not 0.0 < high <= MAX_DISTANCE_M:
            raise _problem(
                "distance_m",
                _(
                    "The field {field} must be a band [min, max] in metres with "
                    "0 <= min <= max, max > 0 and max <= {limit}."
                ).format(field="distance_m", limit=int(MAX_DISTANCE_M)),
            )
        return value

    @field_validator("qualifiers")
    @classmethod
    def _qualifiers(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        category = info.data.get("category")
        if category is None:  # the category itself was bad and is reported
            return value
        problems = check_qualifiers(category, value)
        if problems:
            field, message = problems[0]
            raise _problem(field, message)
        return value

    @field_validator("remarks")
    @classmethod
    def _remarks(cls, value: str | None) -> str | None:
        if value is not None and has_control_characters(value):
            raise _problem(
                "remarks",
                _("The field {field} must not hold control characters.").format(field="remarks"),
            )
        return value

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise _problem(
                "lang",
                _("The field {field} must be a known language code: {codes}.").format(
                    field="lang", codes=", ".join(LANGUAGES)
                ),
            )
        return value

    @model_validator(mode="after")
    def _whole(self) -> Observation:
        if self.observed_until is not None and self.observed_until < self.observed_at:
            raise _problem(
                "observed_until",
                _("The field {field} must not be earlier than observed_at.").format(
                    field="observed_until"
                ),
            )
        if (  # the usual record: a location alone
            self.location is not None
            and self.observer is None
            and self.bearing_deg is None
            and self.distance_m is None
        ):
            return self
        by_bearing = {
            "observer": self.observer,
            "bearing_deg": self.bearing_deg,
            "distance_m": self.distance_m,
        }
        given = [name for name, value in by_bearing.items() if value is not None]
        if self.location is not None and given:
            raise _problem(
                given[0],
                _(
                    "The field {field} cannot be given together with location: give either "
                    "location or observer, bearing_deg and distance_m."
                ).format(field=given[0]),
            )
        if self.location is None:
            missing = [name for name, value in by_bearing.items() if value is None]
            if len(missing) == len(by_bearing):
                raise _problem(
                    "location",
                    _(
                        "The field location is required (or observer, bearing_deg and "
                        "distance_m instead)."
                    ),
                )
            if missing:
                raise _problem(
                    missing[0],
                    _(
                        "The field {field} is required when the place is given by observer, "
                        "bearing_deg and distance_m."
                    ).format(field=missing[0]),
                )
        return self

    @field_serializer("observed_at", "observed_until", when_used="json")
    def _serialize_time(self, value: datetime | None) -> str | None:
        return None if value is None else format_time(value)

    # -- derived values -------------------------------------------------------------------

    def point(self) -> Location:
        """The observed location: ``location``, or computed from observer, bearing, distance."""
        if self.location is not None:
            return self.location
        assert self.observer is not None
        assert self.bearing_deg is not None
        assert self.distance_m is not None
        return locate(self.observer.lat, self.observer.lon, self.bearing_deg, self.distance_m)

    def to_json_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (None fields left out), as written to JSON Lines."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical(self) -> bytes:
        """RFC 8785 canonical JSON of the record: what is hashed, stored and logged.

        The same bytes as ``canonical_json(self.to_json_dict())`` (a property test compares
        them), made from the fields directly: this runs for every record received, and the
        generic path through ``model_dump`` costs more than twice as much.
        """
        try:
            return canonical.dumps_plain(self._canonical_data())
        except canonical.Unusual:
            return canonical.canonical_json(self.to_json_dict())

    def _canonical_data(self) -> dict[str, Any]:
        # The fields read from the instance's dict: a model's attribute goes through its
        # class's __getattr__ hook, twice the cost of a dict's item, and this runs for every
        # record received.
        fields = self.__dict__
        number = canonical.number
        platform = fields["platform"].__dict__
        qualifiers = fields["qualifiers"]
        evidence = fields["evidence"]
        data: dict[str, Any] = {
            "id": fields["id"],
            "contingent": fields["contingent"],
            "platform": {"id": platform["id"], "type": platform["type"]},
            "observed_at": fields["observed_at"],  # aware, in UTC: printed with a Z
            "category": fields["category"],
            "qualifiers": canonical.plain(qualifiers) if qualifiers else {},
            "count": fields["count"],
            "count_approx": fields["count_approx"],
            "sensed_by": fields["sensed_by"],
            "evidence": [
                {"sha256": e.sha256, "media_type": e.media_type}
                if e.uri is None
                else {"sha256": e.sha256, "media_type": e.media_type, "uri": canonical.text(e.uri)}
                for e in evidence
            ]
            if evidence
            else [],
        }
        if (sortie := fields["sortie"]) is not None:
            data["sortie"] = sortie
        if (track := fields["track"]) is not None:
            data["track"] = track
        if (until := fields["observed_until"]) is not None:
            data["observed_until"] = until
        where = fields["location"]
        if where is not None:
            # number() inlined for the usual values (neither integral nor tiny nor huge): this
            # runs for every record received
            place = where.__dict__
            lat, lon = place["lat"], place["lon"]
            data["location"] = {
                "lat": lat if 1e-4 <= abs(lat) < 1e16 and not lat.is_integer() else number(lat),
                "lon": lon if 1e-4 <= abs(lon) < 1e16 and not lon.is_integer() else number(lon),
                "ce_m": number(place["ce_m"]),
            }
        if (observer := fields["observer"]) is not None:
            data["observer"] = {"lat": number(observer.lat), "lon": number(observer.lon)}
        if (bearing := fields["bearing_deg"]) is not None:
            data["bearing_deg"] = number(bearing)
        if (band := fields["distance_m"]) is not None:
            data["distance_m"] = [number(d) for d in band]
        if (remarks := fields["remarks"]) is not None:
            data["remarks"] = canonical.text(remarks)
        if (lang := fields["lang"]) is not None:
            data["lang"] = lang
        return data

    def to_json(self) -> str:
        """One JSON Lines line (without the newline)."""
        return json.dumps(self.to_json_dict(), ensure_ascii=False, separators=(",", ":"))


def locate(
    observer_lat: float,
    observer_lon: float,
    bearing_deg: float,
    distance_m: tuple[float, float],
    bearing_uncertainty_deg: float = BEARING_UNCERTAINTY_DEG,
) -> Location:
    """The point at the middle of a distance band on a bearing from an observer, with its CE.

    CE = half the band + the lateral spread of the bearing uncertainty at the band's far edge
    (``max * sin(uncertainty)``), a bound of the band-and-bearing sector. Geodesic on WGS84.
    """
    low, high = distance_m
    middle = (low + high) / 2.0
    lon, lat, _back = _GEOD.fwd(observer_lon, observer_lat, bearing_deg, middle)
    lateral = high * math.sin(math.radians(bearing_uncertainty_deg))
    ce = (high - low) / 2.0 + lateral
    return Location(lat=float(lat), lon=float(lon), ce_m=round(float(ce), 1))


# -- validation with plain messages -----------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of a record: the field's path and a plain sentence."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


class ObservationError(ValueError):
    """A record is not a valid observation; ``problems`` names every bad field found."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def _pattern_hint(name: str) -> str:
    """What a field with a pattern must look like, in words."""
    if name == "contingent":
        return _("two or three capital letters, such as RU")
    if name == "sha256":
        return _("64 hexadecimal digits")
    if name == "media_type":
        return _("a media type such as video/mp4")
    if name == "uri":
        return _("a URI without spaces")
    return _("letters, digits and . _ : / @ + -, starting with a letter or digit")


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("evidence", 0, "sha256")`` -> ``evidence[0].sha256``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(error: Mapping[str, Any], field: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = _short(error.get("input"))
    if kind == ERROR_TYPE:
        return str(ctx.get("message", ""))
    if not field:
        if kind in {"model_type", "model_attributes_type", "dict_type"}:
            return _("The observation must be a JSON object.")
        return _("The observation is not valid: {reason}.").format(reason=error.get("msg", ""))
    if kind == "missing":
        return _("The field {field} is required.").format(field=field)
    if kind == "extra_forbidden":
        return _("The field {field} is not part of the observation record.").format(field=field)
    if kind in {"float_type", "float_parsing"}:
        return _("The field {field} must be a number; got {value}.").format(field=field, value=got)
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return _("The field {field} must be a whole number; got {value}.").format(
            field=field, value=got
        )
    if kind == "finite_number":
        return _("The field {field} must be a finite number, not NaN or infinity.").format(
            field=field
        )
    if kind in {"string_type", "string_unicode"}:
        return _("The field {field} must be text; got {value}.").format(field=field, value=got)
    if kind == "bool_type":
        return _("The field {field} must be true or false; got {value}.").format(
            field=field, value=got
        )
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return _("The field {field} must be an object; got {value}.").format(field=field, value=got)
    if kind in {"list_type", "tuple_type"}:
        return _("The field {field} must be a list; got {value}.").format(field=field, value=got)
    if kind == "literal_error":
        return _("The field {field} must be one of: {values}; got {value}.").format(
            field=field, values=str(ctx.get("expected", "")).replace("'", ""), value=got
        )
    if kind == "string_too_short":
        return _("The field {field} must not be empty.").format(field=field)
    if kind == "string_too_long":
        return _("The field {field} must be at most {limit} characters long.").format(
            field=field, limit=ctx.get("max_length")
        )
    if kind == "string_pattern_mismatch":
        hint = _pattern_hint(field.rsplit(".", 1)[-1])
        return _("The field {field} has the wrong form; expected {hint}; got {value}.").format(
            field=field, hint=hint, value=got
        )
    if kind == "too_long":
        return _("The field {field} must have at most {limit} items.").format(
            field=field, limit=ctx.get("max_length")
        )
    if kind == "too_short":
        return _("The field {field} must have at least {limit} items.").format(
            field=field, limit=ctx.get("min_length")
        )
    if kind == "greater_than_equal":
        return _("The field {field} must be at least {limit}; got {value}.").format(
            field=field, limit=ctx.get("ge"), value=got
        )
    if kind == "greater_than":
        return _("The field {field} must be greater than {limit}; got {value}.").format(
            field=field, limit=ctx.get("gt"), value=got
        )
    if kind == "less_than_equal":
        return _("The field {field} must be at most {limit}; got {value}.").format(
            field=field, limit=ctx.get("le"), value=got
        )
    if kind == "less_than":
        return _("The field {field} must be less than {limit}; got {value}.").format(
            field=field, limit=ctx.get("lt"), value=got
        )
    return _("The field {field} is not valid: {reason}.").format(
        field=field, reason=error.get("msg", kind)
    )


def problems_from(error: ValidationError) -> list[FieldProblem]:
    """Plain-sentence problems, one per field, from a pydantic ``ValidationError``."""
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        if item["type"] == ERROR_TYPE and ctx.get("field"):
            base = field_path(tuple(item["loc"][:-1])) if item["loc"] else ""
            own = str(ctx["field"])
            # a nested record's own check names the field inside that record
            field = f"{base}.{own}" if base else own
        else:
            field = field_path(tuple(item["loc"]))
        if field in seen:
            continue
        seen.add(field)
        problems.append(FieldProblem(field, _message(item, field)))
    return problems


def parse_observation(data: object) -> Observation:
    """Validate untrusted data (a JSON object as Python data) into an :class:`Observation`.

    Raises :class:`ObservationError` naming every bad field.
    """
    try:
        # The model's validator itself: model_validate's keywords cost a tenth as much again.
        return _validate_observation(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise ObservationError(problems_from(error)) from None
    except RecursionError:
        raise ObservationError(
            [FieldProblem("", _("The observation is nested too deeply."))]
        ) from None


_validate_observation = Observation.__pydantic_validator__.validate_python
