"""Every enumerated value has a label in every working language (issue: raw values shown)."""

from __future__ import annotations

import typing

import pytest

from ceasefire.dissemination import notices, recipients
from ceasefire.i18n import LANGUAGES, language, translations
from ceasefire.incidents.incident import CORROBORATIONS
from ceasefire.incidents.service import SUPERSEDED
from ceasefire.labels import KINDS, label
from ceasefire.mission.model import REACTIONS, SEVERITIES, ZONE_KINDS
from ceasefire.observations.taxonomy import CATEGORIES, SENSED_BY
from ceasefire.workflow import _common as workflow_common
from ceasefire.workflow import decisions
from ceasefire.workflow.assessments import Violation
from ceasefire.workflow.roles import ACTIONS, ROLES

# The owners of each enumeration: a value added there without a label fails below.
VALUES: dict[str, tuple[str, ...]] = {
    "category": tuple(CATEGORIES),
    "corroboration": CORROBORATIONS,
    "incident_status": (
        workflow_common.OPEN,
        workflow_common.ASSESSING,
        workflow_common.FINDING,
        workflow_common.DISPUTED,
        SUPERSEDED,
    ),
    "zone_kind": ZONE_KINDS,
    "reaction": REACTIONS,
    "tier": decisions.TIERS,
    "decision_state": decisions.STATES,
    "step": decisions.VERDICTS,
    "violation": typing.get_args(Violation),
    "severity": SEVERITIES,
    "role": ROLES,
    "action": ACTIONS,
    "sensed_by": SENSED_BY,
    "notice_status": notices.STATUSES,
    "notice_kind": recipients.KINDS,
}


def test_every_enumeration_has_its_labels() -> None:
    assert set(KINDS) == set(VALUES)
    for kind, values in VALUES.items():
        with language("en"):
            assert set(KINDS[kind]()) == set(values), kind


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_value_is_translated(lang: str) -> None:
    # A label may be spelled the same in two languages (az "auditor"); then the catalog must
    # still hold it, translated on purpose.
    catalog = translations(lang)._catalog  # type: ignore[attr-defined]
    missing = []
    for kind, values in VALUES.items():
        for value in values:
            with language("en"):
                english = label(kind, value)
            with language(lang):
                translated = label(kind, value)
            if translated == english and not any(
                key.endswith("\x04" + english) for key in catalog if isinstance(key, str)
            ):
                missing.append(f"{kind} {value!r}: {english!r}")
    assert not missing, f"untranslated in {lang}: " + "; ".join(missing)


def test_english_labels_are_words_not_identifiers() -> None:
    with language("en"):
        for kind, values in VALUES.items():
            for value in values:
                assert "_" not in label(kind, value), (kind, value)


def test_an_unknown_value_is_shown_as_it_is() -> None:
    assert label("category", "no_such_category") == "no_such_category"
