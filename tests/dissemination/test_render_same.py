"""Rendering's fast path writes the same bytes as Jinja's own i18n: every kind of notice, every
branch of the templates, in each of the five languages, against a reference renderer that is
the implementation before it (the i18n extension's newstyle gettext looking each message up
in the catalog of the language in force, ``Template.render``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

import jinja2
import pytest

from ceasefire.dissemination import render as render_
from ceasefire.i18n import LANGUAGES, _, language, ngettext, pgettext
from ceasefire.mission import Mission, load_mission

T1 = "2021-02-01T10:32:07Z"
T2 = "2021-02-01T11:05:00Z"

INCIDENT: dict[str, Any] = {
    "id": "INC-1",
    "category": "explosion",
    "categories": ["explosion", "small_arms_fire"],
    "started_at": T1,
    "ended_at": T2,
    "location": {"lat": 39.76012, "lon": 46.74931, "ce_m": 150},
    "settlement": "shusha-shushi",
    "settlement_distance_m": 2500,
    "settlement_bearing_deg": 225.0,
    "controlled_by": "AZ",
    "sensed_by": ["drone-ir", "post"],
    "contingents": ["RU", "TR"],
    "corroboration": "both_contingents",
    "severity": "high",
    "rules": [],
}
AGREED = {
    "outcome": "finding",
    "violation": "yes",
    "clauses": ["1", "3"],
    "attribution": "AZ",
    "severity": "high",
    "differs_on": [],
}
DISAGREED = {
    "outcome": "disagreement",
    "violation": None,
    "clauses": None,
    "attribution": None,
    "severity": None,
    "differs_on": ["violation", "clauses", "attribution"],
}
REPORT = {
    "id": 7,
    "day": "2021-02-01",
    "lang": "ru",
    "format": "pdf",
    "version": 2,
    "sha256": "ab" * 32,
    "note": "center/daily 2021-02-01\n\n— RU head <b>&</b>\n— TR head",
    "ledger_index": 412,
    "href": "/api/v1/reports/7",
    "signature": "/api/v1/reports/7/signature",
    "proof": "/api/v1/reports/7/proof",
}
ESCAPED = "Text with <b>tags</b> & \"quotes\" 'and' 100% {braces}"


def _facts(kind: str, **over: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "kind": kind,
        "cause": "DEC-1",
        "addressees": [],
        "reaction": None,
        "decision": None,
        "incident": None,
        "finding": None,
        "text": "",
    }
    facts.update(over)
    return facts


def _cases() -> Iterator[tuple[str, dict[str, Any]]]:
    """Notices of every kind, through every branch of the templates (language-free)."""
    elsewhere = {**INCIDENT, "settlement": None, "settlement_distance_m": None}
    one_moment = {**elsewhere, "ended_at": T1, "sensed_by": [], "contingents": ["TR"]}
    yield (
        "incident_notice",
        _facts(
            "incident_notice",
            reaction="notify_both_parties",
            decision={"id": "DEC-1", "ledger_index": 99},
            incident=INCIDENT,
            finding=AGREED,
        ),
    )
    yield (
        "explanation_request",
        _facts(
            "explanation_request",
            addressees=["AZ"],
            reaction="request_explanation",
            decision={"id": "DEC-2", "ledger_index": 100},
            incident=one_moment,
            finding=DISAGREED,
        ),
    )
    yield (
        "reobservation_request",
        _facts(
            "reobservation_request",
            addressees=["AM", "elsewhere"],
            reaction="request_reobservation",
            decision={"id": "DEC-3", "ledger_index": 101},
            incident=elsewhere,
            finding={**AGREED, "violation": "undetermined", "clauses": [], "attribution": None},
        ),
    )
    yield (
        "notify_peacekeepers",
        _facts(
            "incident_notice",
            reaction="notify_peacekeepers",
            decision={"id": "DEC-4", "ledger_index": 102},
            incident=INCIDENT,
            finding={**AGREED, "violation": "no", "attribution": "not_attributed"},
        ),
    )
    yield (
        "complaint_received",
        _facts("complaint_received", party="AZ", incident=INCIDENT, text=ESCAPED),
    )
    yield "answer_received", _facts("answer_received", party="AM", text=ESCAPED)
    reports = [REPORT, {**REPORT, "id": 8, "lang": "en"}, {**REPORT, "id": 9, "lang": "az"}]
    yield (
        "daily_report",
        _facts(
            "daily_report",
            report=REPORT,
            reports=reports,
            period={"start": "2021-01-31T20:00:00Z", "end": "2021-02-01T20:00:00Z"},
        ),
    )
    yield (
        "daily_report_elsewhere",
        _facts("daily_report", report={**REPORT, "lang": "hy"}, reports=[], period=None),
    )
    yield "other_kind", _facts("some_new_kind", text="plain")


def _notices(mission: Mission) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, facts in _cases():
        for lang in LANGUAGES:
            for acked, role in ((True, "addressee"), (False, "copy")):
                notice: dict[str, Any] = {
                    "id": "NTC-0123456789abcdef",
                    "batch": "BAT-1",
                    "kind": facts["kind"],
                    "mission": mission.id,
                    "center": mission.name(lang),
                    "recipient": "AZ",
                    "recipient_name": "<Recipient> & co",
                    "role": role,
                    "lang": lang,
                    "created_at": T1,
                    "ack_due_at": T2,
                    "facts": copy.deepcopy(facts),
                    "content_hash": "cd" * 32,
                }
                if acked:
                    notice["ack"] = {
                        "endpoint": "/api/v1/notices/NTC-0123456789abcdef/ack",
                        "token": "tok<&>",
                        "url": "/api/v1/notices/NTC-0123456789abcdef/ack?token=tok<&>",
                    }
                yield f"{name}/{lang}/{role}", notice


@cache
def _reference_env() -> jinja2.Environment:
    """The notices' environment as it was: the i18n extension's own newstyle gettext."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ceasefire.dissemination", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, pgettext=pgettext, newstyle=True
    )
    return env


def _reference(mission: Mission, notice: dict[str, Any]) -> tuple[str, str, str]:
    lang = notice["lang"]
    env = _reference_env()
    with language(lang):
        shown = render_.view(mission, notice, lang)
        subject = f"[{mission.name(lang)}] {shown['title']}"
        if shown["incident"] is not None:
            subject += f": {shown['incident']['phrase'] or shown['incident']['id']}"
        elif shown["report"] is not None:
            subject += f": {shown['report']['day_shown']}"
        text = env.get_template("notice.txt.j2").render(shown)
        html = env.get_template("notice.html.j2").render(shown)
    return subject, text, html


@pytest.fixture(scope="module")
def mission() -> Mission:
    return load_mission(None)


def test_every_notice_renders_as_jinjas_own_i18n_did(mission: Mission) -> None:
    seen = 0
    for name, notice in _notices(mission):
        made = render_.render(mission, copy.deepcopy(notice))
        assert made == _reference(mission, notice), name
        seen += 1
    assert seen == 9 * len(LANGUAGES) * 2


def test_the_cases_reach_every_branch(mission: Mission) -> None:
    """The cases are worth comparing: each language's text differs from English, escaping
    happens in the HTML part, and each kind's title shows."""
    made = {name: render_.render(mission, notice) for name, notice in _notices(mission)}
    for lang in LANGUAGES[1:]:
        assert made[f"incident_notice/{lang}/copy"][1] != made["incident_notice/en/copy"][1]
    html = made["complaint_received/en/addressee"][2]
    assert "&lt;b&gt;tags&lt;/b&gt; &amp; &#34;quotes&#34;" in html
    assert "&lt;Recipient&gt; &amp; co" in html
    assert "<b>tags</b>" in made["complaint_received/en/addressee"][1]
    text = made["daily_report/en/addressee"][1]
    assert "It covers" in text and "version 2" in text
    assert "No report of this day" in made["daily_report_elsewhere/en/copy"][1]
    assert "they differ on" in made["explanation_request/en/copy"][1]
    assert "Until:" not in made["explanation_request/en/copy"][1]
    assert "Until:" in made["incident_notice/en/copy"][1]
