"""What an enumerated value is called in the reader's language.

Stored records, JSON and the log keep the values themselves (``movement_heavy_weapon``,
``both_contingents``); people read these labels. Every value of every enumeration has one in
each working language: ``tests/test_labels.py`` walks them all against the modules that own the
values, so a value added later cannot stay untranslated.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from ceasefire.i18n import current_language, language, pgettext


def _category() -> dict[str, str]:
    return {
        "explosion": pgettext("category", "explosion"),
        "projectile": pgettext("category", "projectile in flight"),
        "muzzle_flash": pgettext("category", "muzzle flash"),
        "illumination_flare": pgettext("category", "illumination flare"),
        "small_arms_fire": pgettext("category", "small arms fire"),
        "movement_personnel": pgettext("category", "movement of personnel"),
        "movement_vehicle": pgettext("category", "movement of vehicles"),
        "movement_heavy_weapon": pgettext("category", "heavy weapons"),
        "fortification": pgettext("category", "fortification work"),
        "line_crossing": pgettext("category", "crossing of the line of contact"),
        "uav_flight": pgettext("category", "UAV flight"),
        "mine_uxo": pgettext("category", "mines or unexploded ordnance"),
        "movement_restriction": pgettext("category", "restriction of movement"),
        "monitoring_interference": pgettext("category", "interference with monitoring"),
        "civilian_damage": pgettext("category", "damage to civilian objects"),
        "civilian_casualty": pgettext("category", "civilian casualties"),
        "other": pgettext("category", "other"),
    }


def _corroboration() -> dict[str, str]:
    return {
        "single_source": pgettext("corroboration", "one source"),
        "several_platforms": pgettext("corroboration", "several platforms"),
        "several_contingents": pgettext("corroboration", "several contingents"),
        "both_contingents": pgettext("corroboration", "both contingents"),
        "party_complaint_only": pgettext("corroboration", "a party's complaint only"),
    }


def _incident_status() -> dict[str, str]:
    return {
        "open": pgettext("incident status", "open"),
        "assessing": pgettext("incident status", "being assessed"),
        "finding": pgettext("incident status", "joint finding"),
        "disputed": pgettext("incident status", "disputed"),
        "superseded": pgettext("incident status", "superseded"),
    }


def _zone_kind() -> dict[str, str]:
    return {
        "line_of_contact": pgettext("zone kind", "line of contact"),
        "controlled_area": pgettext("zone kind", "controlled area"),
        "peacekeeping_zone": pgettext("zone kind", "peacekeeping zone"),
        "corridor": pgettext("zone kind", "corridor"),
        "buffer_zone": pgettext("zone kind", "buffer zone"),
        "withdrawal_zone": pgettext("zone kind", "withdrawal zone"),
        "handover_area": pgettext("zone kind", "handover area"),
        "road": pgettext("zone kind", "road"),
        "site": pgettext("zone kind", "site"),
    }


def _reaction() -> dict[str, str]:
    return {
        "record_only": pgettext("reaction", "record only"),
        "notify_peacekeepers": pgettext("reaction", "notify the peacekeepers"),
        "notify_both_parties": pgettext("reaction", "notify both parties"),
        "request_explanation": pgettext("reaction", "request an explanation"),
        "request_reobservation": pgettext("reaction", "request re-observation"),
        "escalate_to_heads": pgettext("reaction", "refer to the heads"),
    }


def _tier() -> dict[str, str]:
    return {
        "two_key": pgettext("tier", "two keys (both heads)"),
        "joint": pgettext("tier", "joint (both contingents)"),
        "urgent": pgettext("tier", "urgent (one side, answered later)"),
    }


def _decision_state() -> dict[str, str]:
    return {
        "proposed": pgettext("decision state", "proposed"),
        "approved": pgettext("decision state", "approved"),
        "rejected": pgettext("decision state", "rejected"),
        "taken": pgettext("decision state", "taken"),
        "confirmed": pgettext("decision state", "confirmed"),
        "contested": pgettext("decision state", "contested"),
        "escalated": pgettext("decision state", "escalated to the heads"),
    }


def _step() -> dict[str, str]:
    return {
        "propose": pgettext("decision step", "proposed"),
        "take": pgettext("decision step", "took it (urgent)"),
        "approve": pgettext("decision step", "approved"),
        "reject": pgettext("decision step", "rejected"),
        "confirm": pgettext("decision step", "confirmed"),
        "contest": pgettext("decision step", "contested"),
        "escalate": pgettext("decision step", "escalated to the heads"),
    }


def _violation() -> dict[str, str]:
    return {
        "yes": pgettext("violation", "a violation"),
        "no": pgettext("violation", "no violation"),
        "undetermined": pgettext("violation", "undetermined"),
    }


def _severity() -> dict[str, str]:
    return {
        "low": pgettext("severity", "low"),
        "medium": pgettext("severity", "medium"),
        "high": pgettext("severity", "high"),
        "critical": pgettext("severity", "critical"),
    }


def _role() -> dict[str, str]:
    return {
        "analyst": pgettext("role", "analyst"),
        "duty_officer": pgettext("role", "duty officer"),
        "head": pgettext("role", "head of contingent"),
        "liaison": pgettext("role", "liaison officer of the peacekeepers"),
        "party_liaison": pgettext("role", "liaison officer of a party"),
        "auditor": pgettext("role", "auditor"),
    }


def _action() -> dict[str, str]:
    return {
        "read_observations": pgettext("action", "read observations"),
        "read_incident": pgettext("action", "read incidents"),
        "read_assessments": pgettext("action", "read assessments"),
        "read_finding": pgettext("action", "read findings"),
        "read_decisions": pgettext("action", "read decisions"),
        "ingest_observations": pgettext("action", "submit observations"),
        "submit_assessment": pgettext("action", "submit an assessment"),
        "propose_decision": pgettext("action", "propose a decision"),
        "lift_blindness": pgettext("action", "end an incident's blind period"),
        "take_urgent": pgettext("action", "take an urgent decision"),
        "approve_decision": pgettext("action", "approve or reject a decision"),
        "respond_urgent": pgettext("action", "confirm or contest an urgent decision"),
        "manage_users": pgettext("action", "manage users"),
        "manage_roster": pgettext("action", "manage the duty roster"),
        "read_handover": pgettext("action", "read the handover report"),
        "read_users": pgettext("action", "read users"),
        "read_roster": pgettext("action", "read the duty roster"),
        "verify_ledger": pgettext("action", "verify the log"),
        "read_ledger": pgettext("action", "read the log"),
        "read_releases": pgettext("action", "read releases"),
        "answer_request": pgettext("action", "answer a request for an explanation"),
        "file_complaint": pgettext("action", "file a complaint"),
        "read_notices": pgettext("action", "read notices"),
        "retry_notice": pgettext("action", "send a dead letter again"),
    }


def _sensed_by() -> dict[str, str]:
    return {
        "drone-eo": pgettext("sensed by", "drone, daylight camera"),
        "drone-ir": pgettext("sensed by", "drone, thermal camera"),
        "fixed-camera": pgettext("sensed by", "fixed camera"),
        "post": pgettext("sensed by", "observation post"),
        "patrol-seen": pgettext("sensed by", "patrol, seen"),
        "patrol-heard": pgettext("sensed by", "patrol, heard"),
        "party-complaint": pgettext("sensed by", "a party's complaint"),
        "other": pgettext("sensed by", "other"),
    }


def _notice_status() -> dict[str, str]:
    return {
        "pending": pgettext("notice status", "pending"),
        "delivered": pgettext("notice status", "delivered"),
        "dead": pgettext("notice status", "dead letter"),
        "acknowledged": pgettext("notice status", "acknowledged"),
        "unacknowledged": pgettext("notice status", "not acknowledged"),
    }


def _notice_kind() -> dict[str, str]:
    return {
        "incident_notice": pgettext("notice kind", "incident notice"),
        "explanation_request": pgettext("notice kind", "request for an explanation"),
        "reobservation_request": pgettext("notice kind", "request for re-observation"),
        "complaint_received": pgettext("notice kind", "complaint received"),
        "answer_received": pgettext("notice kind", "answer received"),
        "daily_report": pgettext("notice kind", "daily report"),
    }


KINDS: dict[str, Callable[[], dict[str, str]]] = {
    "category": _category,
    "corroboration": _corroboration,
    "incident_status": _incident_status,
    "zone_kind": _zone_kind,
    "reaction": _reaction,
    "tier": _tier,
    "decision_state": _decision_state,
    "step": _step,
    "violation": _violation,
    "severity": _severity,
    "role": _role,
    "action": _action,
    "sensed_by": _sensed_by,
    "notice_status": _notice_status,
    "notice_kind": _notice_kind,
}
"""Each enumeration with its labels in the language in force."""


@cache
def _table(kind: str, lang: str) -> dict[str, str]:
    """One kind's labels in one language, made once: pages and exports label every row."""
    with language(lang):
        return KINDS[kind]()


def label(kind: str, value: str) -> str:
    """``value``'s label in the language in force; an unknown value is shown as it is."""
    return _table(kind, current_language()).get(value, value)


def labels(kind: str, values: list[str] | tuple[str, ...]) -> str:
    """Several values of one kind, joined for a line of text."""
    table = _table(kind, current_language())
    return ", ".join(table.get(v, v) for v in values)
