"""Load a mission folder and report every problem in it with file, field and reason.

`check_mission` never raises for a bad mission: it returns all the problems it found, so
`ceasefire mission validate` can list them at once. `load_mission` raises `InputError` with
that list when there is any.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import shapely
from email_validator import EmailNotValidError, validate_email
from pyproj import Transformer
from shapely.geometry import shape
from shapely.validation import explain_validity

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import LANGUAGES, _
from ceasefire.mission.model import (
    LINE_KINDS,
    POINT_KINDS,
    Contingent,
    Force,
    Mission,
    MissionFile,
    Party,
    Settlement,
    Zone,
    ZoneProperties,
    is_slug,
)
from ceasefire.observations.taxonomy import CATEGORIES

BUILTIN_DIR = Path(__file__).parent / "builtin"
DEFAULT_MISSION = "karabakh-2020"
MISSION_FILE = "mission.toml"
OVERLAP_TOLERANCE_M2 = 1000.0  # 0.1 ha: digitising noise along shared edges
MAX_LAYER_BYTES = 64 * 1024 * 1024


def builtin_missions() -> list[str]:
    return sorted(p.parent.name for p in BUILTIN_DIR.glob(f"*/{MISSION_FILE}"))


def resolve(source: str | Path | None) -> Path:
    """A mission folder from a built-in name, a folder or the path of its mission.toml."""
    if source is None:
        source = DEFAULT_MISSION
    path = Path(source)
    if path.is_file():
        return path.parent
    if path.is_dir():
        return path
    if isinstance(source, str) and (BUILTIN_DIR / source / MISSION_FILE).is_file():
        return BUILTIN_DIR / source
    known = ", ".join(builtin_missions())
    raise InputError(
        Problem(
            file=str(source),
            field="",
            reason=_("no such mission folder or built-in mission (built-in: {known})").format(
                known=known
            ),
        )
    )


def load_mission(source: str | Path | None = None) -> Mission:
    mission, problems = check_mission(source)
    if problems or mission is None:
        raise InputError(problems)
    return mission


def check_mission(source: str | Path | None = None) -> tuple[Mission | None, list[Problem]]:
    folder = resolve(source)
    checker = _Checker(folder)
    return checker.run(), checker.problems


def address_problem(channel: str, address: str) -> str | None:
    """Why ``address`` cannot carry notices over ``channel``; None when it can."""
    if channel == "email":
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as e:
            return _("not an e-mail address: {error}").format(error=e)
        return None
    if channel in ("http", "tak"):
        schemes = ("http", "https") if channel == "http" else ("tcp", "tls")
        try:
            parts = urlsplit(address)
            ok = parts.scheme in schemes and bool(parts.hostname)
            if channel == "tak":
                ok = ok and parts.port is not None and parts.path in ("", "/")
        except ValueError:  # a port out of range, an unbalanced [ in the host
            ok = False
        if not ok:
            example = (
                "https://host/path" if channel == "http" else "tcp://host:8087, tls://host:8089"
            )
            return _("not a {channel} address such as {example}").format(
                channel=channel, example=example
            )
        return None
    if not address.strip() or "\0" in address:
        return _("not a directory path")
    return None


def public_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the center's public base URL; None when it can (or is empty)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        ok = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and parts.port != 0
            and not parts.query
            and not parts.fragment
            and parts.username is None
            and not any(c.isspace() for c in url)
        )
    except ValueError:  # a port out of range, an unbalanced [ in the host
        ok = False
    if not ok:
        return _(
            "not a base URL such as https://center.example.org or https://host/prefix "
            "(http or https, a host, no query, fragment or user name)"
        )
    return None


def vkey_problem(key: str) -> str | None:
    """Why ``key`` is not an Ed25519 verifier key (C2SP vkey); None when it is."""
    from ceasefire.note import Ed25519Verifier, KeyFormatError

    try:
        Ed25519Verifier.from_vkey(key)
    except KeyFormatError as e:
        return _("not an Ed25519 verifier key (C2SP vkey): {error}").format(error=e)
    return None


def cosigner_vkey_problem(key: str) -> str | None:
    """Why ``key`` is not a witness's cosigner verifier key (C2SP vkey); None when it is."""
    from ceasefire.note import KeyFormatError, VerifierKey

    cosignature_v1 = 0x04  # C2SP tlog-cosignature's signature type
    try:
        parsed = VerifierKey.parse(key)
        if parsed.signature_type != cosignature_v1 or len(parsed.public_key) != 32:
            raise KeyFormatError("not a cosignature/v1 Ed25519 key")
    except (KeyFormatError, ValueError) as e:
        return _("not a cosigner verifier key (C2SP vkey): {error}").format(error=e)
    return None


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def check_files(files: dict[str, bytes], source: str) -> tuple[Mission | None, list[Problem]]:
    """Check a mission given as its files' contents (as kept in the database)."""
    checker = _Checker(Path(source), stored=files)
    return checker.run(), checker.problems


class _Checker:
    def __init__(self, folder: Path, stored: dict[str, bytes] | None = None) -> None:
        self.folder = folder
        self.stored = stored
        self.problems: list[Problem] = []
        self.files: dict[str, bytes] = {}
        # Every zone id a layer declares, valid or not: a rule naming a zone with a bad
        # geometry gets one message (about the geometry), not two.
        self.declared: set[str] = set()

    def problem(self, file: str, field: str, reason: str, record: str | None = None) -> None:
        self.problems.append(Problem(file=file, field=field, reason=reason, record=record))

    def read(self, name: str) -> bytes | None:
        if self.stored is not None:
            if name not in self.stored:
                self.problem(name, "", _("file not found in the stored mission"))
                return None
            self.files[name] = self.stored[name]
            return self.stored[name]
        path = self.folder / name
        if not path.is_file():
            self.problem(name, "", _("file not found in {folder}").format(folder=self.folder))
            return None
        if path.stat().st_size > MAX_LAYER_BYTES:
            self.problem(name, "", _("file is larger than 64 MiB"))
            return None
        data = path.read_bytes()
        self.files[name] = data
        return data

    def run(self) -> Mission | None:
        config = self.config()
        if config is None:
            return None
        self.check_config(config)
        zones = [z for layer in config.layers for z in self.layer(layer, config)]
        self.check_zone_ids(zones)
        self.check_overlaps(zones, config)
        self.check_rules(config, zones)
        settlements = self.gazetteer(config)
        if self.problems:
            return None
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + self.files[name] + b"\0")
        return Mission(
            config=config,
            zones=tuple(zones),
            settlements=tuple(settlements),
            source=str(self.folder),
            digest=digest.hexdigest(),
            files=dict(self.files),
        )

    # -- the mission file -------------------------------------------------------------------
    def config(self) -> MissionFile | None:
        data = self.read(MISSION_FILE)
        if data is None:
            return None
        try:
            raw = tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            self.problem(MISSION_FILE, "", _("not valid TOML: {error}").format(error=exc))
            return None
        try:
            return MissionFile.model_validate(raw)
        except pydantic.ValidationError as exc:
            for err in exc.errors():
                self.problem(MISSION_FILE, _field(err["loc"]), err["msg"])
            return None

    def localized(self, file: str, field: str, texts: dict[str, str], languages: list[str]) -> None:
        for lang in languages:
            if not texts.get(lang, "").strip():
                self.problem(file, f"{field}.{lang}", _("missing translation"))
        for lang in texts:
            if lang not in languages:
                self.problem(file, f"{field}.{lang}", _("not a working language of the mission"))

    def check_config(self, config: MissionFile) -> None:
        f = MISSION_FILE
        langs = config.languages
        for i, lang in enumerate(langs):
            if lang not in LANGUAGES:
                self.problem(
                    f,
                    f"languages[{i}]",
                    _("unknown language {lang!r}; supported: {known}").format(
                        lang=lang, known=", ".join(LANGUAGES)
                    ),
                )
        try:
            ZoneInfo(config.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(f, "timezone", _("unknown time zone {tz!r}").format(tz=config.timezone))
        if config.period.end is not None and config.period.end <= config.period.start:
            self.problem(f, "period.end", _("the period ends before it starts"))
        lon0, lat0, lon1, lat1 = config.area
        if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
            self.problem(f, "area", _("not a box of min lon, min lat, max lon, max lat"))
        self.localized(f, "name", config.name, langs)
        if config.disclaimer:
            self.localized(f, "disclaimer", config.disclaimer, langs)
        if config.attribution:
            self.localized(f, "attribution", config.attribution, langs)

        contingents = [c.id for c in config.contingents]
        parties = [p.id for p in config.parties]
        force = [config.peacekeeping_force.id] if config.peacekeeping_force else []
        everyone = contingents + parties + force
        for dup in {i for i in everyone if everyone.count(i) > 1}:
            self.problem(f, "id", _("the id {id!r} is used twice").format(id=dup))
        bodies: list[tuple[str, Contingent | Party | Force]] = [
            *((f"contingents[{i}]", c) for i, c in enumerate(config.contingents)),
            *((f"parties[{i}]", p) for i, p in enumerate(config.parties)),
        ]
        if config.peacekeeping_force is not None:
            bodies.append(("peacekeeping_force", config.peacekeeping_force))
        for where, body in bodies:
            if body.language not in langs:
                self.problem(f, f"{where}.language", _("not a working language"))
            self.localized(f, f"{where}.names", body.names, langs)
            if isinstance(body, Contingent):
                self.localized(f, f"{where}.head", body.head, langs)
            self.check_recipient(where, body, langs)

        reason = public_url_problem(config.lines.public_url)
        if reason is not None:
            self.problem(f, "lines.public_url", reason)
        for i, party in enumerate(config.parties):
            self.check_party_witness(f"parties[{i}]", party, config.checkpoints.parties_required)
        # Parity: the same notice gives every party the same time to acknowledge it before
        # the heads are told (its ack_due_at); a mission may not give one party less.
        first = config.parties[0]
        for i, party in enumerate(config.parties):
            if party.ack_hours != first.ack_hours:
                self.problem(
                    f,
                    f"parties[{i}].ack_hours",
                    _(
                        "every party has the same time to acknowledge a notice (parity): "
                        "{hours} h here, {other} h for {party}"
                    ).format(
                        hours=f"{party.ack_hours:g}", other=f"{first.ack_hours:g}", party=first.id
                    ),
                )

        clause_ids = [c.id for c in config.clauses]
        for dup in {c for c in clause_ids if clause_ids.count(c) > 1}:
            self.problem(f, "clauses", _("clause {id!r} is defined twice").format(id=dup))
        for i, clause in enumerate(config.clauses):
            self.localized(f, f"clauses[{i}].text", clause.text, langs)

        # Parity: a contingent's own language names its own side first; others stay neutral.
        if sorted(config.neutral_order) != sorted(contingents):
            self.problem(f, "neutral_order", _("must list every contingent exactly once"))
        own = {c.language: c.id for c in config.contingents}
        for lang in langs:
            order = config.name_order.get(lang)
            if order is None:
                self.problem(f, f"name_order.{lang}", _("missing: the order of the contingents"))
                continue
            if sorted(order) != sorted(contingents):
                self.problem(f, f"name_order.{lang}", _("must list every contingent exactly once"))
            elif lang in own and order[0] != own[lang]:
                self.problem(
                    f,
                    f"name_order.{lang}",
                    _("in its own language contingent {id} is named first").format(id=own[lang]),
                )
            elif lang not in own and order != config.neutral_order:
                self.problem(f, f"name_order.{lang}", _("must follow neutral_order"))

    def check_recipient(
        self, where: str, body: Contingent | Party | Force, langs: list[str]
    ) -> None:
        """A recipient of notices: each channel's address, its keys; a party or the force
        needs a line (a contingent's HQ reads the center and may have none)."""
        f = MISSION_FILE
        record = body.id
        if not body.contacts and not isinstance(body, Contingent):
            self.problem(
                f, f"{where}.contacts", _("no channel: notices could not reach it"), record
            )
        for j, contact in enumerate(body.contacts):
            self.localized(f, f"{where}.contacts[{j}].name", contact.name, langs)
            reason = address_problem(contact.channel, contact.address)
            if reason is not None:
                self.problem(f, f"{where}.contacts[{j}].address", reason, record)
        for j, key in enumerate(body.keys):
            reason = vkey_problem(key)
            if reason is not None:
                self.problem(f, f"{where}.keys[{j}]", reason, record)

    def check_party_witness(self, where: str, party: Party, required: bool) -> None:
        """A party's witness: an http(s) address and a cosigner key; one for every party when
        the checkpoints require the parties' cosignatures."""
        f = MISSION_FILE
        witness = party.witness
        if witness is None:
            if required:
                self.problem(
                    f,
                    f"{where}.witness",
                    _("missing: checkpoints.parties_required asks every party's cosignature"),
                    party.id,
                )
            return
        try:
            parts = urlsplit(witness.url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query
        except ValueError:
            ok = False
        if not ok or "#" in witness.url:
            self.problem(
                f,
                f"{where}.witness.url",
                _("not a witness URL such as http://host:8300/witness"),
                party.id,
            )
        reason = cosigner_vkey_problem(witness.key)
        if reason is not None:
            self.problem(f, f"{where}.witness.key", reason, party.id)

    # -- zones ------------------------------------------------------------------------------
    def layer(self, name: str, config: MissionFile) -> list[Zone]:
        data = self.read(name)
        if data is None:
            return []
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.problem(name, "", _("not valid JSON: {error}").format(error=exc))
            return []
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            self.problem(name, "type", _("expected a GeoJSON FeatureCollection"))
            return []
        features = doc.get("features")
        if not isinstance(features, list):
            self.problem(name, "features", _("expected a list of features"))
            return []
        zones = []
        for number, feature in enumerate(features, start=1):
            zone = self.zone(name, number, feature, config)
            if zone is not None:
                zones.append(zone)
        return zones

    def zone(self, file: str, number: int, feature: Any, config: MissionFile) -> Zone | None:
        record = f"#{number}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            self.problem(file, "type", _("expected a GeoJSON Feature"), record)
            return None
        zone_id = feature.get("id")
        if not isinstance(zone_id, str) or not is_slug(zone_id):
            self.problem(file, "id", _("every zone needs an id of a-z, 0-9 and -"), record)
            return None
        record = f"{zone_id!r} (#{number})"
        self.declared.add(zone_id)
        ok = True
        try:
            props = ZoneProperties.model_validate(feature.get("properties") or {})
        except pydantic.ValidationError as exc:
            for err in exc.errors():
                self.problem(file, "properties." + _field(err["loc"]), err["msg"], record)
            return None
        langs = config.languages
        for lang in langs:
            if not props.names.get(lang, "").strip():
                self.problem(file, f"properties.names.{lang}", _("missing translation"), record)
                ok = False
        self.check_both_forms(file, "properties.names.", props.names, config, record)
        parties = {p.id for p in config.parties}
        forces = {config.peacekeeping_force.id} if config.peacekeeping_force else set()
        clauses = {c.id for c in config.clauses}
        for key in ("party", "left_party", "right_party"):
            value = getattr(props, key)
            if value is not None and value not in parties:
                self.problem(
                    file,
                    f"properties.{key}",
                    _("unknown party {id!r}").format(id=value),
                    record,
                )
                ok = False
        if props.force is not None and props.force not in forces:
            self.problem(
                file, "properties.force", _("unknown force {id!r}").format(id=props.force), record
            )
            ok = False
        for i, clause in enumerate(props.clauses):
            if clause not in clauses:
                self.problem(
                    file,
                    f"properties.clauses[{i}]",
                    _("clause {id!r} is referenced but not defined").format(id=clause),
                    record,
                )
                ok = False
        if props.kind == "controlled_area" and props.party is None:
            self.problem(file, "properties.party", _("a controlled area needs its party"), record)
            ok = False
        if props.kind == "line_of_contact" and (
            props.left_party is None or props.right_party is None
        ):
            self.problem(
                file,
                "properties.left_party",
                _("a line of contact needs left_party and right_party"),
                record,
            )
            ok = False
        if props.valid_until is not None and props.valid_until <= props.valid_from:
            self.problem(file, "properties.valid_until", _("ends before it starts"), record)
            ok = False
        geometry = self.geometry(file, record, feature.get("geometry"), props.kind)
        if geometry is None or not ok:
            return None
        return Zone(
            id=zone_id,
            kind=props.kind,
            names=dict(props.names),
            geometry=geometry,
            valid_from=props.valid_from,
            valid_until=props.valid_until,
            party=props.party,
            force=props.force,
            clauses=tuple(props.clauses),
            left_party=props.left_party,
            right_party=props.right_party,
            illustrative=props.illustrative,
            layer=file,
        )

    def geometry(self, file: str, record: str, raw: Any, kind: str) -> Any:
        try:
            geometry = shape(raw)
        except Exception as exc:  # Shapely raises several kinds for malformed GeoJSON
            self.problem(
                file, "geometry", _("not a GeoJSON geometry: {error}").format(error=exc), record
            )
            return None
        if geometry.is_empty:
            self.problem(file, "geometry", _("the geometry is empty"), record)
            return None
        coords = shapely.get_coordinates(geometry)
        if not (coords[:, 0].min() >= -180 and coords[:, 0].max() <= 180):
            self.problem(file, "geometry", _("longitude out of range -180..180"), record)
            return None
        if not (coords[:, 1].min() >= -90 and coords[:, 1].max() <= 90):
            self.problem(file, "geometry", _("latitude out of range -90..90"), record)
            return None
        expected = (
            ("LineString", "MultiLineString")
            if kind in LINE_KINDS
            else ("Point", "MultiPoint")
            if kind in POINT_KINDS
            else ("Polygon", "MultiPolygon")
        )
        if geometry.geom_type not in expected:
            self.problem(
                file,
                "geometry.type",
                _("a {kind} must be a {expected}, not a {actual}").format(
                    kind=kind, expected=" or ".join(expected), actual=geometry.geom_type
                ),
                record,
            )
            return None
        if not geometry.is_valid:
            self.problem(
                file,
                "geometry",
                _("invalid geometry: {reason}").format(reason=explain_validity(geometry)),
                record,
            )
            return None
        return geometry

    def check_zone_ids(self, zones: list[Zone]) -> None:
        seen: set[str] = set()
        for zone in zones:
            if zone.id in seen:
                self.problem(zone.layer, "id", _("zone id used twice"), repr(zone.id))
            seen.add(zone.id)

    def check_overlaps(self, zones: list[Zone], config: MissionFile) -> None:
        """Two controlled areas valid at the same time must not overlap."""
        areas = [z for z in zones if z.kind == "controlled_area"]
        if len(areas) < 2:
            return
        lon0, lat0, lon1, lat1 = config.area
        to_metric = metric_transformer((lon0 + lon1) / 2, (lat0 + lat1) / 2)
        metric = [shapely.transform(z.geometry, to_metric, interleaved=False) for z in areas]
        for i, a in enumerate(areas):
            for j in range(i + 1, len(areas)):
                b = areas[j]
                if not _intervals_meet(a, b):
                    continue
                if not metric[i].intersects(metric[j]):
                    continue
                overlap = metric[i].intersection(metric[j]).area
                if overlap > OVERLAP_TOLERANCE_M2:
                    self.problem(
                        a.layer,
                        "geometry",
                        _(
                            "controlled areas {a!r} and {b!r} overlap by {km2:.3f} km² while both "
                            "are valid"
                        ).format(a=a.id, b=b.id, km2=overlap / 1e6),
                        repr(a.id),
                    )

    # -- rules ------------------------------------------------------------------------------
    def check_rules(self, config: MissionFile, zones: list[Zone]) -> None:
        f = MISSION_FILE
        clauses = {c.id for c in config.clauses}
        parties = {p.id for p in config.parties}
        zone_ids = {z.id for z in zones} | self.declared
        seen: set[str] = set()
        for i, rule in enumerate(config.rules):
            at = f"rules[{i}]"
            if rule.id in seen:
                self.problem(f, f"{at}.id", _("rule {id!r} is defined twice").format(id=rule.id))
            seen.add(rule.id)
            if rule.clause not in clauses:
                self.problem(
                    f,
                    f"{at}.clause",
                    _("clause {id!r} is referenced but not defined").format(id=rule.clause),
                )
            for j, category in enumerate(rule.categories):
                if category not in CATEGORIES:
                    self.problem(
                        f,
                        f"{at}.categories[{j}]",
                        _("unknown category {name!r}").format(name=category),
                    )
            for name in rule.qualifiers:
                if not any(
                    name in CATEGORIES[c].qualifiers for c in rule.categories if c in CATEGORIES
                ):
                    self.problem(
                        f,
                        f"{at}.qualifiers.{name}",
                        _("no category of this rule has the qualifier {name!r}").format(name=name),
                    )
            for key in ("zones", "outside_zones"):
                for j, zone in enumerate(getattr(rule, key)):
                    if zone not in zone_ids:
                        self.problem(
                            f, f"{at}.{key}[{j}]", _("unknown zone {id!r}").format(id=zone)
                        )
            for key in ("sides", "controlled_by"):
                for j, party in enumerate(getattr(rule, key)):
                    if party not in parties:
                        self.problem(
                            f, f"{at}.{key}[{j}]", _("unknown party {id!r}").format(id=party)
                        )
            if (
                rule.valid_from is not None
                and rule.valid_until is not None
                and rule.valid_until <= rule.valid_from
            ):
                self.problem(f, f"{at}.valid_until", _("ends before it starts"))
            self.localized(f, f"{at}.explanation", rule.explanation, config.languages)
        for group, categories in config.correlation.groups.items():
            for j, category in enumerate(categories):
                if category not in CATEGORIES:
                    self.problem(
                        f,
                        f"correlation.groups.{group}[{j}]",
                        _("unknown category {name!r}").format(name=category),
                    )

    def check_both_forms(
        self,
        file: str,
        prefix: str,
        names: dict[str, str],
        config: MissionFile,
        record: str,
    ) -> None:
        """A language that is not a party's own names a disputed place as the others do: in
        both forms, "Khankendi / Stepanakert". A party's language may use its own name."""
        forms = {
            lang: len(names[lang].split(" / "))
            for lang in config.monitor_languages()
            if names.get(lang, "").strip()
        }
        most = max(forms.values(), default=1)
        fuller = next((lang for lang, n in forms.items() if n == most), "")
        for lang, n in forms.items():
            if n < most:
                self.problem(
                    file,
                    f"{prefix}{lang}",
                    _(
                        "a disputed place: a monitor's language names it in every form, "
                        "separated by ' / ', as {other} does ({name})"
                    ).format(other=fuller, name=names[fuller]),
                    record,
                )

    # -- gazetteer --------------------------------------------------------------------------
    def gazetteer(self, config: MissionFile) -> list[Settlement]:
        name = config.gazetteer
        data = self.read(name)
        if data is None:
            return []
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.problem(name, "", _("not UTF-8 text"))
            return []
        reader = csv.DictReader(io.StringIO(text))
        columns = ["id", "lat", "lon"] + [f"name_{lang}" for lang in config.languages]
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            self.problem(name, ", ".join(missing), _("missing column"))
            return []
        settlements = []
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            record = f"line {line}"
            sid = (row.get("id") or "").strip()
            if not is_slug(sid) or sid in seen:
                self.problem(name, "id", _("missing, malformed or repeated id"), record)
                continue
            seen.add(sid)
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (TypeError, ValueError):
                self.problem(name, "lat/lon", _("not a number"), record)
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                self.problem(name, "lat/lon", _("out of range"), record)
                continue
            names = {lang: (row.get(f"name_{lang}") or "").strip() for lang in config.languages}
            bad = [lang for lang, text in names.items() if not text]
            for lang in bad:
                self.problem(name, f"name_{lang}", _("missing translation"), record)
            if bad:
                continue
            self.check_both_forms(name, "name_", names, config, record)
            population = (row.get("population") or "").strip()
            geonameid = (row.get("geonameid") or "").strip()
            alt = (row.get("alt_names") or "").strip()
            settlements.append(
                Settlement(
                    id=sid,
                    lat=lat,
                    lon=lon,
                    names=names,
                    population=int(population) if population.isdigit() else None,
                    geonameid=int(geonameid) if geonameid.isdigit() else None,
                    alt_names=tuple(a for a in alt.split("|") if a),
                )
            )
        if not settlements and not self.problems:
            self.problem(name, "", _("the gazetteer has no settlements"))
        return settlements


def _intervals_meet(a: Zone, b: Zone) -> bool:
    far = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    return a.valid_from < (b.valid_until or far) and b.valid_from < (a.valid_until or far)


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the UTM zone of a place: the metric projection of a mission's area."""
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1


def metric_transformer(lon: float, lat: float) -> Any:
    """WGS 84 lon/lat to the UTM zone of a place, in metres (a function of x, y arrays)."""
    return Transformer.from_crs(4326, utm_epsg(lon, lat), always_xy=True).transform
