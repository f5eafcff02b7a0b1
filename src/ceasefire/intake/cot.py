"""Cursor on Target (CoT) XML events to observations and drone track points, and back.

An observation travels as one CoT event whose ``<detail>`` carries the whole record, so that
nothing is lost on the way; the rest of the event is derived from the record so that any TAK
client can draw it. The monitors are neither friend nor hostile to the parties: every type
uses the affiliation ``n`` (neutral) or ``u`` (unknown), never ``f`` or ``h``.

Observation -> event
====================

========================  =====================================================================
CoT                       from the observation
========================  =====================================================================
``event@version``         ``2.0``
``event@uid``             ``<contingent>:<id>``, e.g. ``RU:RU-0001`` (unique, since ``id`` is
                          unique per contingent; the contingent has no colon)
``event@type``            by category, see the next table
``event@how``             ``h-c`` (calculated) when the place is given by observer, bearing
                          and distance; otherwise by ``sensed_by``: ``m-i`` (mensurated, from
                          imagery) for drone-eo, drone-ir and fixed-camera; ``h-e`` (human
                          estimated) for post, patrol-seen, patrol-heard and other; ``h-t``
                          (transcribed) for party-complaint
``event@time``,           ``observed_at`` (the record's own time, so that the same record
``event@start``           always gives the same event)
``event@stale``           (``observed_until`` or ``observed_at``) + 24 hours
``point@lat``, ``@lon``   the location, or the point computed from observer, bearing and
                          distance (:func:`ceasefire.observations.locate`)
``point@ce``              ``location.ce_m`` (or the computed CE)
``point@hae``, ``@le``    ``9999999`` (unknown)
``detail/contact``        ``callsign`` = ``<id> <category>`` (a label for maps)
``detail/remarks``        ``remarks``, for display in TAK clients
``detail/ceasefire``      the full record as compact JSON (:meth:`Observation.to_json`) in
                          the element's text, with ``v="1"`` (the encoding's version)
========================  =====================================================================

=========================  ==========================  ========================================
category                   CoT type                    MIL-STD-2525 meaning (CoTtypes.xml)
=========================  ==========================  ========================================
explosion                  ``a-u-G-E-W``               ground equipment, weapon
projectile                 ``a-u-A-W``                 air track, weapon (in flight)
muzzle_flash               ``a-u-G-E-W-D``             direct fire gun
illumination_flare         ``a-u-A-W-D``               air weapon, decoy (a flare)
small_arms_fire            ``a-u-G-E-W-R``             rifle / automatic weapon
movement_personnel         ``a-u-G-U-C-I``             infantry
movement_vehicle           ``a-u-G-E-V``               ground vehicle
movement_heavy_weapon      ``a-u-G-E-W-H`` (artillery  howitzer; by ``qualifiers.weapon``:
                           and unknown)                mlrs ``a-u-G-E-W-X``, mortar
                                                       ``a-u-G-E-W-O``, tank ``a-u-G-E-V-A-T``,
                                                       air_defence ``a-u-G-E-W-M-A``,
                                                       anti_tank_weapon ``a-u-G-E-W-M-T``
fortification              ``a-u-G-I``                 ground installation
line_crossing              ``a-u-G-U``                 ground unit
uav_flight                 ``a-u-A-M-F-Q``             military fixed-wing drone
mine_uxo                   ``a-u-G-E-X-M``             land mines
movement_restriction       ``a-u-G-I-i-o-bcc``         checkpoint
monitoring_interference    ``a-u-G-E-X``               special equipment (jammer)
civilian_damage            ``a-n-G-I-c``               civilian structure (neutral)
civilian_casualty          ``a-n-G``                   ground track (neutral)
other                      ``a-u-G``                   ground track
=========================  ==========================  ========================================

Event -> observation or track point
===================================

* An event with a ``<detail><ceasefire>`` element is an observation. The JSON in it is
  authoritative; the event must agree with it: ``uid`` = ``<contingent>:<id>``, the type's
  affiliation ``n`` or ``u``, and ``point`` within 1e-5 degrees of the record's location. The
  type, ``how`` and times are otherwise only for display.
* An event without it whose type is an air track of affiliation ``n`` or ``u`` (``a-n-A-...``,
  ``a-u-A-...``, e.g. ``a-n-A-M-F-Q``; not ``a-.-A-W...``, weapons in flight) is a drone
  position: a
  :class:`~ceasefire.observations.TrackPoint` with the platform id from
  ``detail/ceasefire_track@platform_id``, else ``detail/contact@callsign``, else ``uid``; the
  time from ``start`` (else ``time``); the altitude from ``hae`` unless unknown; and
  ``sortie``, ``contingent`` and ``platform_type`` from ``detail/ceasefire_track`` if present.
  :func:`track_to_cot` writes such events (type ``a-n-A-M-F-Q``, how ``m-g``).
* Anything else is refused with a reason (other CoT traffic such as pings and protocol
  negotiation is for the listener to handle before calling this module).

Hostile input
=============

XML is parsed by expat refusing, as ``defusedxml`` does, any document type declaration, entity
declaration or external reference where it starts, so entity expansion ("billion laughs") and
external entities are refused before anything is expanded; an event over
:data:`MAX_EVENT_BYTES` is refused unparsed, and elements nested deeper than
:data:`MAX_DEPTH` stop the parser at that depth. Each becomes a :class:`Rejection`, never an
exception. :class:`CotStreamSplitter` cuts a TCP byte stream at ``</event>`` and never holds
more than :data:`MAX_EVENT_BYTES` (plus one read) of a stream that has no ``</event>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, TreeBuilder, tostring
from xml.parsers.expat import ExpatError, ParserCreate

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from pydantic_core import PydanticCustomError

from ceasefire.i18n import _
from ceasefire.intake._common import (
    Discarded,
    JsonProblem,
    Stream,
    split_stream,
    strict_json,
    validate,
)
from ceasefire.intake.errors import RAW_LIMIT, Rejection, raw_text
from ceasefire.observations.record import Observation, format_time, parse_time
from ceasefire.observations.track import TrackPoint

MAX_EVENT_BYTES = 256 * 1024
MAX_DEPTH = 16
UNKNOWN = 9999999.0
STALE_AFTER = timedelta(hours=24)
TRACK_STALE_AFTER = timedelta(minutes=5)
POINT_TOLERANCE_DEG = 1e-5
DETAIL_TAG = "ceasefire"
TRACK_TAG = "ceasefire_track"
DETAIL_VERSION = "1"
AFFILIATIONS = frozenset({"n", "u"})
END_TAG = b"</event>"

CATEGORY_TYPES: Mapping[str, str] = {
    "explosion": "a-u-G-E-W",
    "projectile": "a-u-A-W",
    "muzzle_flash": "a-u-G-E-W-D",
    "illumination_flare": "a-u-A-W-D",
    "small_arms_fire": "a-u-G-E-W-R",
    "movement_personnel": "a-u-G-U-C-I",
    "movement_vehicle": "a-u-G-E-V",
    "movement_heavy_weapon": "a-u-G-E-W-H",
    "fortification": "a-u-G-I",
    "line_crossing": "a-u-G-U",
    "uav_flight": "a-u-A-M-F-Q",
    "mine_uxo": "a-u-G-E-X-M",
    "movement_restriction": "a-u-G-I-i-o-bcc",
    "monitoring_interference": "a-u-G-E-X",
    "civilian_damage": "a-n-G-I-c",
    "civilian_casualty": "a-n-G",
    "other": "a-u-G",
}
HEAVY_WEAPON_TYPES: Mapping[str, str] = {
    "artillery": "a-u-G-E-W-H",
    "mlrs": "a-u-G-E-W-X",
    "mortar": "a-u-G-E-W-O",
    "tank": "a-u-G-E-V-A-T",
    "air_defence": "a-u-G-E-W-M-A",
    "anti_tank_weapon": "a-u-G-E-W-M-T",
}
HOW_BY_SENSOR: Mapping[str, str] = {
    "drone-eo": "m-i",
    "drone-ir": "m-i",
    "fixed-camera": "m-i",
    "post": "h-e",
    "patrol-seen": "h-e",
    "patrol-heard": "h-e",
    "party-complaint": "h-t",
    "other": "h-e",
}
HOW_CALCULATED = "h-c"
HOW_GPS = "m-g"
DRONE_TYPE = "a-n-A-M-F-Q"

_TYPE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_AFFILIATION = re.compile(r"^a-([A-Za-z.])-")
_AIR_TRACK = re.compile(r"^a-([A-Za-z.])-A(?!-W(-|$))(-|$)")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _six_digits(match: re.Match[str]) -> str:
    return match.group(1)


@dataclass(frozen=True)
class CotEvent:
    """The parts of a CoT event this module reads and writes (XML and TAK alike)."""

    uid: str
    type: str
    how: str
    time: datetime
    start: datetime
    stale: datetime
    lat: float
    lon: float
    hae: float = UNKNOWN
    ce: float = UNKNOWN
    le: float = UNKNOWN
    callsign: str | None = None
    remarks: str | None = None
    ceasefire: str | None = None
    """The JSON text of ``<detail><ceasefire>``: the whole observation record."""
    ceasefire_version: str | None = None
    track: Mapping[str, str] = field(default_factory=dict)
    """The attributes of ``<detail><ceasefire_track>`` (platform_id, sortie, ...)."""


class EventProblem(ValueError):
    """An event cannot be read; carries the field (an XML path) and a plain sentence."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# -- observation and track point to event -----------------------------------------------------


def cot_type(observation: Observation) -> str:
    """The CoT type of an observation (see the table in the module's documentation)."""
    if observation.category == "movement_heavy_weapon":
        weapon = observation.qualifiers.get("weapon")
        if isinstance(weapon, str) and weapon in HEAVY_WEAPON_TYPES:
            return HEAVY_WEAPON_TYPES[weapon]
    return CATEGORY_TYPES[observation.category]


def observation_to_event(observation: Observation) -> CotEvent:
    """The CoT event of an observation."""
    point = observation.point()
    how = (
        HOW_CALCULATED
        if observation.location is None
        else HOW_BY_SENSOR.get(observation.sensed_by, "h-e")
    )
    end = observation.observed_until or observation.observed_at
    return CotEvent(
        uid=f"{observation.contingent}:{observation.id}",
        type=cot_type(observation),
        how=how,
        time=observation.observed_at,
        start=observation.observed_at,
        stale=_later(end, STALE_AFTER),
        lat=point.lat,
        lon=point.lon,
        ce=point.ce_m,
        callsign=f"{observation.id} {observation.category}",
        remarks=observation.remarks,
        ceasefire=observation.to_json(),
        ceasefire_version=DETAIL_VERSION,
    )


def track_to_event(track: TrackPoint) -> CotEvent:
    """The CoT position event of a drone (type ``a-n-A-M-F-Q``)."""
    attributes = {"platform_id": track.platform_id}
    for name in ("sortie", "contingent", "platform_type"):
        value = getattr(track, name)
        if value is not None:
            attributes[name] = value
    return CotEvent(
        uid=f"{track.contingent}:{track.platform_id}" if track.contingent else track.platform_id,
        type=DRONE_TYPE,
        how=HOW_GPS,
        time=track.time,
        start=track.time,
        stale=_later(track.time, TRACK_STALE_AFTER),
        lat=track.lat,
        lon=track.lon,
        hae=UNKNOWN if track.alt_m is None else track.alt_m,
        callsign=track.platform_id,
        track=attributes,
    )


def _later(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, held at the calendar's end (a time near it must still encode)."""
    try:
        return moment + by
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)


def _number(value: float) -> str:
    if value == UNKNOWN:
        return "9999999"
    return repr(float(value))


def detail_elements(event: CotEvent) -> list[Element]:
    """The children of ``<detail>`` for an event (shared with the TAK encoding)."""
    children: list[Element] = []
    if event.callsign is not None:
        children.append(Element("contact", {"callsign": event.callsign}))
    if event.remarks is not None:
        remarks = Element("remarks")
        remarks.text = event.remarks
        children.append(remarks)
    if event.track:
        children.append(Element(TRACK_TAG, dict(event.track)))
    if event.ceasefire is not None:
        element = Element(DETAIL_TAG, {"v": event.ceasefire_version or DETAIL_VERSION})
        element.text = event.ceasefire
        children.append(element)
    return children


def event_to_xml(event: CotEvent) -> bytes:
    """The XML of a CoT event (UTF-8, with an XML declaration)."""
    root = Element(
        "event",
        {
            "version": "2.0",
            "uid": event.uid,
            "type": event.type,
            "how": event.how,
            "time": format_time(event.time),
            "start": format_time(event.start),
            "stale": format_time(event.stale),
        },
    )
    SubElement(
        root,
        "point",
        {
            "lat": _number(event.lat),
            "lon": _number(event.lon),
            "hae": _number(event.hae),
            "ce": _number(event.ce),
            "le": _number(event.le),
        },
    )
    detail = SubElement(root, "detail")
    detail.extend(detail_elements(event))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode(
        "utf-8"
    )


def observation_to_cot(observation: Observation) -> bytes:
    """The CoT XML event of an observation."""
    return event_to_xml(observation_to_event(observation))


def track_to_cot(track: TrackPoint) -> bytes:
    """The CoT XML position event of a drone."""
    return event_to_xml(track_to_event(track))


# -- event to observation or track point ------------------------------------------------------


def event_to_item(
    event: CotEvent, source: str, record: int, raw: str, unit: str = "event"
) -> Observation | TrackPoint | Rejection:
    """The observation or track point an event carries, or why it carries neither."""

    def reject(where: str, reason: str) -> Rejection:
        return Rejection(source, record, where, reason, raw, unit)

    if event.ceasefire is not None:
        return _observation(event, reject, source, record, raw, unit)
    match = _AIR_TRACK.match(event.type)
    if match is not None:
        if match.group(1) not in AFFILIATIONS:
            return reject("type", _affiliation_reason(match.group(1)))
        return _track(event, reject)
    return reject(
        "type",
        _(
            "The event is neither an observation (it has no <detail><ceasefire> element) nor "
            "a drone position (type a-n-A-... or a-u-A-...); its type is {type}."
        ).format(type=event.type),
    )


def _affiliation_reason(affiliation: str) -> str:
    return _(
        "The field type uses the affiliation {affiliation}; the monitors use only n "
        "(neutral) or u (unknown)."
    ).format(affiliation=repr(affiliation))


def _observation(
    event: CotEvent,
    reject: Callable[[str, str], Rejection],
    source: str,
    record: int,
    raw: str,
    unit: str,
) -> Observation | Rejection:
    if event.ceasefire_version not in (None, DETAIL_VERSION):
        return reject(
            "detail.ceasefire",
            _("The <ceasefire> detail has version {version}; this program reads version 1.").format(
                version=repr(event.ceasefire_version)
            ),
        )
    match = _AFFILIATION.match(event.type)
    if match is None:
        return reject(
            "type",
            _("The field type must be an atom type (a-n-... or a-u-...); it is {type}.").format(
                type=event.type
            ),
        )
    if match.group(1) not in AFFILIATIONS:
        return reject("type", _affiliation_reason(match.group(1)))
    try:
        data = strict_json(event.ceasefire or "")
    except JsonProblem as problem:
        return reject("detail.ceasefire", str(problem))
    if not isinstance(data, dict):
        return reject("detail.ceasefire", _("The <ceasefire> detail must hold one JSON object."))
    item = validate(data, source, record, raw, unit, lambda f: f"detail.ceasefire.{f}")
    if isinstance(item, Rejection):
        return item
    expected_uid = f"{item.contingent}:{item.id}"
    if event.uid != expected_uid:
        return reject(
            "uid",
            _("The field uid must be {expected} (contingent:id); it is {uid}.").format(
                expected=expected_uid, uid=repr(event.uid)
            ),
        )
    point = item.point()
    if (
        abs(point.lat - event.lat) > POINT_TOLERANCE_DEG
        or abs(point.lon - event.lon) > POINT_TOLERANCE_DEG
    ):
        return reject(
            "point",
            _(
                "The field point ({lat}, {lon}) disagrees with the location in the "
                "<ceasefire> detail ({rlat}, {rlon})."
            ).format(lat=event.lat, lon=event.lon, rlat=point.lat, rlon=point.lon),
        )
    return item


def _track(event: CotEvent, reject: Callable[[str, str], Rejection]) -> TrackPoint | Rejection:
    attributes = event.track
    platform_id = attributes.get("platform_id") or event.callsign or event.uid
    if not platform_id.strip() or len(platform_id) > 128:
        return reject(
            "detail.contact.callsign",
            _("The drone's platform id must be non-empty text of at most 128 characters."),
        )
    altitude = None if event.hae == UNKNOWN else event.hae
    try:
        return TrackPoint(
            platform_id=platform_id,
            time=event.start,
            lat=event.lat,
            lon=event.lon,
            alt_m=altitude,
            sortie=attributes.get("sortie") or None,
            contingent=attributes.get("contingent") or None,
            platform_type=attributes.get("platform_type") or None,
        )
    except ValueError as error:  # checked in reading already; kept as a guard
        return reject("point", str(error))


# -- XML to event -----------------------------------------------------------------------------


def _too_deep(root: Element, max_depth: int) -> bool:
    """Whether elements nest deeper than ``max_depth`` (without recursion: the tree is not
    trusted)."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False


# The refusing handlers of defusedxml's parser, for expat itself.
def _refuse_dtd(name: str, sysid: str | None, pubid: str | None, _internal: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _refuse_entity(
    name: str,
    _is_parameter: bool,
    value: str | None,
    base: str | None,
    sysid: str | None,
    pubid: str | None,
    notation_name: str | None,
) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _refuse_unparsed_entity(
    name: str, base: str | None, sysid: str | None, pubid: str | None, notation_name: str | None
) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _refuse_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def parse_xml(data: bytes, max_bytes: int = MAX_EVENT_BYTES, max_depth: int = MAX_DEPTH) -> Element:
    """Parse untrusted XML safely; raise :class:`EventProblem` with a plain reason.

    No DTD (so no entity expansion and no external entity), at most ``max_bytes`` bytes and
    ``max_depth`` levels of elements.
    """
    if len(data) > max_bytes:
        raise EventProblem("", _("The event is larger than {limit} bytes.").format(limit=max_bytes))
    # expat with the C tree builder's own methods as its handlers: expat calls C from C for
    # every element and text, with no Python frame between (defusedxml's parser is
    # ElementTree's pure-Python one, whose callbacks were about 40 % of an event's intake).
    # The refusals are defusedxml's, in the same expat handlers: a document type declaration
    # (and so any entity declaration, which only a DTD can hold) or an external reference
    # stops the parser where it starts, before anything is expanded or fetched.
    # expat and the C tree builder build iteratively, so depth is checked on the tree.
    builder = TreeBuilder()
    parser = ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
        root: Element = builder.close()
    except DefusedXmlException as error:
        raise EventProblem(
            "",
            _(
                "The event holds a document type declaration, entity or external reference "
                "({kind}), which is refused."
            ).format(kind=type(error).__name__),
        ) from None
    except (ExpatError, ParseError) as error:
        raise EventProblem(
            "", _("The event is not well-formed XML: {reason}.").format(reason=error)
        ) from None
    except (ValueError, LookupError, RecursionError, MemoryError, AssertionError) as error:
        # LookupError: an XML declaration naming an encoding Python does not know (atheris);
        # AssertionError: the tree builder closed with no element (an empty document)
        raise EventProblem(
            "", _("The event could not be read as XML: {reason}.").format(reason=error)
        ) from None
    # Each element needs a "<": with no more of them than the limit, the walk is not needed.
    if data.count(b"<") > max_depth and _too_deep(root, max_depth):
        raise EventProblem(
            "", _("The event nests elements deeper than {limit} levels.").format(limit=max_depth)
        )
    return root


def _time(text: str | None, name: str) -> datetime:
    if text is None:
        raise EventProblem(name, _("The field {field} is required.").format(field=name))
    text = text.strip()
    if "." in text:  # more than 6 digits of a second: cut to 6 (a CoT time may carry 7 or 9)
        text = _FRACTION.sub(_six_digits, text)
    try:
        return parse_time(text, name)
    except PydanticCustomError as error:
        raise EventProblem(name, error.message()) from None


def _float(
    attributes: Mapping[str, str], name: str, low: float, high: float, default: float | None
) -> float:
    text = attributes.get(name)
    if text is None:
        if default is None:
            where = f"point.{name}"
            raise EventProblem(where, _("The field {field} is required.").format(field=where))
        return default
    try:
        value = float(text)
    except ValueError:
        where = f"point.{name}"
        raise EventProblem(
            where, _("The field {field} must be a number.").format(field=where)
        ) from None
    if not low <= value <= high:  # NaN fails it too; an infinity is out of every range
        where = f"point.{name}"
        raise EventProblem(
            where,
            _("The field {field} must be a finite number from {low} to {high}.").format(
                field=where, low=low, high=high
            ),
        )
    return value


def detail_fields(detail: Element | None) -> dict[str, Any]:
    """What this module reads from ``<detail>``: callsign, remarks, ceasefire, track."""
    fields: dict[str, Any] = {}
    if detail is None:
        return fields
    contact = detail.find("contact")
    if contact is not None and contact.get("callsign"):
        fields["callsign"] = contact.get("callsign")
    remarks = detail.find("remarks")
    if remarks is not None and remarks.text:
        fields["remarks"] = remarks.text
    ceasefire = detail.findall(DETAIL_TAG)
    if len(ceasefire) > 1:
        raise EventProblem(
            "detail.ceasefire", _("The event holds more than one <ceasefire> detail.")
        )
    if ceasefire:
        fields["ceasefire"] = ceasefire[0].text or ""
        fields["ceasefire_version"] = ceasefire[0].get("v")
    track = detail.find(TRACK_TAG)
    if track is not None:
        fields["track"] = dict(track.attrib)
    return fields


def check_uid_and_type(uid: str | None, kind: str | None) -> tuple[str, str]:
    """The event's uid and type if they are well-formed; raises :class:`EventProblem`."""
    if not uid or len(uid) > 256:
        raise EventProblem("uid", _("The field uid must be text of 1 to 256 characters."))
    if not kind or not _TYPE.match(kind):
        raise EventProblem("type", _("The field type must be a CoT type such as a-u-G-E-W."))
    return uid, kind


def element_to_event(root: Element) -> CotEvent:
    """The :class:`CotEvent` of a parsed ``<event>`` element; raises :class:`EventProblem`."""
    if root.tag != "event":
        raise EventProblem(
            "", _("The document must be a CoT <event>; its root is <{tag}>.").format(tag=root.tag)
        )
    uid, kind = check_uid_and_type(root.get("uid"), root.get("type"))
    time_text, start_text, stale_text = root.get("time"), root.get("start"), root.get("stale")
    time = _time(time_text, "time")
    # A sensor's report usually has start = time: the same text is read once.
    start = time if start_text is None or start_text == time_text else _time(start_text, "start")
    stale = start if stale_text is None or stale_text == start_text else _time(stale_text, "stale")
    point = root.find("point")
    if point is None:
        raise EventProblem("point", _("The field point is required."))
    attributes = point.attrib
    return CotEvent(
        uid=uid,
        type=kind,
        how=root.get("how", ""),
        time=time,
        start=start,
        stale=stale,
        lat=_float(attributes, "lat", -90.0, 90.0, None),
        lon=_float(attributes, "lon", -180.0, 180.0, None),
        hae=_float(attributes, "hae", -1e7, UNKNOWN, UNKNOWN),
        ce=_float(attributes, "ce", 0.0, UNKNOWN, UNKNOWN),
        le=_float(attributes, "le", 0.0, UNKNOWN, UNKNOWN),
        **detail_fields(root.find("detail")),
    )


def parse_event(data: bytes, source: str, record: int = 1) -> Observation | TrackPoint | Rejection:
    """One CoT XML event (a UDP datagram, a file, a piece of a TCP stream) to an item."""
    raw = raw_text(data)
    try:
        event = element_to_event(parse_xml(data))
    except EventProblem as problem:
        return Rejection(source, record, problem.field, problem.reason, raw, "event")
    return event_to_item(event, source, record, raw)


# -- streams ----------------------------------------------------------------------------------


class CotStreamSplitter:
    """Cuts a byte stream (CoT over TCP) into events at each ``</event>``.

    :meth:`feed` returns the complete events found so far, and :class:`Discarded` entries for
    input thrown away: a stretch of more than ``max_event_bytes`` without ``</event>`` (kept
    out of memory until the next ``</event>``). Memory stays below ``max_event_bytes`` plus
    one piece of input.
    """

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._buffer = bytearray()
        self._scanned = 0
        self._discarding = False

    def pending(self) -> bool:
        """Whether part of an event has arrived (white space between events does not count)."""
        return self._discarding or bool(self._buffer.strip())

    def feed(self, data: bytes) -> list[bytes | Discarded]:
        out: list[bytes | Discarded] = []
        step = max(self.max_event_bytes, 1)
        for offset in range(0, len(data), step):
            self._buffer += data[offset : offset + step]
            self._drain(out)
        return out

    def _drain(self, out: list[bytes | Discarded]) -> None:
        while True:
            index = self._buffer.find(END_TAG, max(0, self._scanned - len(END_TAG) + 1))
            if index < 0:
                self._scanned = len(self._buffer)
                if len(self._buffer) > self.max_event_bytes:
                    self._overflow(out)
                return
            end = index + len(END_TAG)
            chunk = bytes(self._buffer[:end])
            del self._buffer[:end]
            self._scanned = 0
            reported = self._discarding
            if self._discarding:
                self._discarding = False
                if b"<event" not in chunk:
                    continue  # the end of the stretch already reported
            chunk = self._cut_leading_garbage(chunk.strip(), [] if reported else out)
            if len(chunk) > self.max_event_bytes:
                out.append(
                    Discarded(
                        _("The event is larger than {limit} bytes.").format(
                            limit=self.max_event_bytes
                        ),
                        chunk[: RAW_LIMIT * 4],
                    )
                )
                continue
            out.append(chunk)

    def _overflow(self, out: list[bytes | Discarded]) -> None:
        if not self._discarding:
            out.append(
                Discarded(
                    _(
                        "More than {limit} bytes arrived without </event>; they were "
                        "discarded up to the next event."
                    ).format(limit=self.max_event_bytes),
                    bytes(self._buffer[: RAW_LIMIT * 4]),
                )
            )
            self._discarding = True
        start = self._buffer.rfind(b"<event")
        if start > 0:
            del self._buffer[:start]  # a later event may start here: keep it
        else:
            del self._buffer[: -(len(END_TAG) - 1)]
        self._scanned = max(0, len(self._buffer) - len(END_TAG) + 1)

    @staticmethod
    def _cut_leading_garbage(chunk: bytes, out: list[bytes | Discarded]) -> bytes:
        """Keep the last document of a chunk (its prolog and ``<event>``); report the rest."""
        start = chunk.rfind(b"<event")
        if start <= 0:
            return chunk
        declaration = chunk.rfind(b"<?xml", 0, start)  # the prolog belongs to its event
        if declaration >= 0 and b"<event" not in chunk[declaration:start]:
            start = declaration
        garbage = chunk[:start].strip()
        if garbage:
            out.append(
                Discarded(
                    _("{count} bytes before an event are not CoT and were discarded.").format(
                        count=len(garbage)
                    ),
                    garbage[: RAW_LIMIT * 4],
                )
            )
        return chunk[start:]

    @property
    def buffered(self) -> int:
        """How many bytes are held, waiting for ``</event>``."""
        return len(self._buffer)

    def close(self) -> list[bytes | Discarded]:
        """What is left at the end of the stream: a truncated event, if anything but space."""
        rest = bytes(self._buffer).strip()
        self._buffer.clear()
        self._scanned = 0
        if self._discarding:
            self._discarding = False
            return []
        if rest:
            return [
                Discarded(
                    _("The stream ended inside an event (no </event>)."), rest[: RAW_LIMIT * 4]
                )
            ]
        return []


def parse(
    stream: Stream, source: str, max_event_bytes: int = MAX_EVENT_BYTES
) -> Iterator[Observation | TrackPoint | Rejection]:
    """Yield an item for each CoT event in a stream of concatenated events (file or TCP)."""
    splitter = CotStreamSplitter(max_event_bytes)
    return split_stream(stream, splitter, parse_event, source, raw_text, "event")


__all__ = [
    "AFFILIATIONS",
    "CATEGORY_TYPES",
    "HEAVY_WEAPON_TYPES",
    "HOW_BY_SENSOR",
    "MAX_DEPTH",
    "MAX_EVENT_BYTES",
    "UNKNOWN",
    "CotEvent",
    "CotStreamSplitter",
    "EventProblem",
    "check_uid_and_type",
    "cot_type",
    "detail_elements",
    "detail_fields",
    "element_to_event",
    "event_to_item",
    "event_to_xml",
    "observation_to_cot",
    "observation_to_event",
    "parse",
    "parse_event",
    "parse_xml",
    "track_to_cot",
    "track_to_event",
]
