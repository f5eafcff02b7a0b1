"""Who receives what: the recipients of the mission file and the routing of each reaction.

Parity of the parties (DESIGN.md principle 2) is made here: a notice that goes to one party
goes to every party, in the same batch; :func:`route` has no way to name one party alone, and
the outbox refuses a batch that would (:func:`check_parity`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ceasefire.i18n import _
from ceasefire.mission.model import Contact, Contingent, Force, Mission, Party

PARTY, FORCE, CONTINGENT = "party", "force", "contingent"
ADDRESSEE, COPY = "addressee", "copy"

# notice kinds
INCIDENT = "incident_notice"
EXPLANATION = "explanation_request"
REOBSERVATION = "reobservation_request"
COMPLAINT = "complaint_received"
ANSWER = "answer_received"
DAILY = "daily_report"
"""The signed daily report, made and logged (:mod:`ceasefire.dissemination.daily`)."""
KINDS = (INCIDENT, EXPLANATION, REOBSERVATION, COMPLAINT, ANSWER, DAILY)

NOTICE_OF_REACTION = {
    "notify_peacekeepers": INCIDENT,
    "notify_both_parties": INCIDENT,
    "request_explanation": EXPLANATION,
    "request_reobservation": REOBSERVATION,
}
"""Reactions that speak to someone outside the center; ``record_only`` and
``escalate_to_heads`` stay inside."""


class ParityError(RuntimeError):
    """A batch of notices would reach some parties and not others: refused, never sent."""


@dataclass(frozen=True)
class Recipient:
    id: str
    kind: str  # party | force | contingent
    language: str
    contacts: tuple[Contact, ...]
    ack_hours: float
    keys: tuple[str, ...]
    names: dict[str, str]

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


def _recipient(body: Party | Force | Contingent, kind: str) -> Recipient:
    return Recipient(
        body.id,
        kind,
        body.language,
        tuple(body.contacts),
        body.ack_hours,
        tuple(body.keys),
        dict(body.names),
    )


def recipients(mission: Mission) -> dict[str, Recipient]:
    """Every recipient of the mission by id: parties, the force, the contingents' HQs."""
    config = mission.config
    found = [_recipient(p, PARTY) for p in config.parties]
    if config.peacekeeping_force is not None:
        found.append(_recipient(config.peacekeeping_force, FORCE))
    found += [_recipient(c, CONTINGENT) for c in config.contingents]
    return {r.id: r for r in found}


def route(
    mission: Mission, kind: str, *, addressee: str | None = None, to_parties: bool = True
) -> list[tuple[Recipient, str]]:
    """(recipient, addressee|copy) for a notice of ``kind``, in a stable order.

    - incident notices, requests for an explanation, complaints, answers and the daily report:
      every party (the one addressed, if any, marked so; the others as copies: same content,
      same moment), the peacekeeping force, the contingents' HQs that have a line;
    - a request for re-observation: the HQ of the contingent asked (the other HQs as copies);
      no party.
    ``to_parties`` False (the reaction ``notify_peacekeepers``) leaves every party out alike:
    the center decided to tell the force only.
    """
    everyone = recipients(mission)
    parties = [r for r in everyone.values() if r.kind == PARTY]
    force = [r for r in everyone.values() if r.kind == FORCE]
    hqs = [r for r in everyone.values() if r.kind == CONTINGENT and r.contacts]
    if kind == REOBSERVATION:
        return [(r, ADDRESSEE if r.id == addressee else COPY) for r in hqs]
    if not to_parties:
        return [(r, ADDRESSEE) for r in force] + [(r, COPY) for r in hqs]
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if addressee is not None and addressee not in {p.id for p in parties}:
        raise ValueError(f"{addressee!r} is not a party")
    routed = [(p, ADDRESSEE if addressee in (None, p.id) else COPY) for p in parties]
    routed += [(r, COPY) for r in force]
    routed += [(r, COPY) for r in hqs]
    return routed


def check_parity(mission: Mission, recipient_ids: list[str]) -> None:
    """Refuse a batch that reaches some parties and not others."""
    parties = set(mission.party_ids())
    reached = parties & set(recipient_ids)
    if reached and reached != parties:
        raise ParityError(
            _("a notice to {reached} must go to every party ({parties}) at the same moment").format(
                reached=", ".join(sorted(reached)), parties=", ".join(sorted(parties))
            )
        )
