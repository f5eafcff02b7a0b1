"""Notices in the recipient's language: Jinja2 templates, texts from the gettext catalogs.

Everything a reader sees goes through the catalogs (``{{ _("...") }}`` in the templates,
``_`` here): the center named as that language names it, place names from the gazetteer in
that language, categories, how it was sensed, times in the mission's zone beside UTC.
:func:`check_languages` runs at start-up: a language without its catalog or a missing template
is an error then, never a notice in the wrong language later.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import date
from functools import cache, lru_cache
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from markupsafe import Markup, escape

from ceasefire.dissemination.daily import document_for, notice_links
from ceasefire.errors import CeasefireError
from ceasefire.geo.phrase import place_phrase
from ceasefire.i18n import (
    DOMAIN,
    LOCALE_DIR,
    _,
    language,
    ngettext,
    pgettext,
    translations,
)
from ceasefire.incidents.rules import category_name
from ceasefire.labels import label
from ceasefire.mission.model import Mission
from ceasefire.timeutil import parse_time, shown_in

TEMPLATES = ("notice.txt.j2", "notice.html.j2")


_DICT_NAMES = frozenset(dir(dict))
_FAST_CALLS: set[Callable[..., str]] = set()  # the templates' ``_`` (_gettext_for)


class _Context(jinja2.runtime.Context):
    """A template's context that calls the templates' ``_`` at once: Jinja's ``call`` asks
    every callable what it wants passed (context, environment) before calling it."""

    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if __obj in _FAST_CALLS:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


class _Environment(jinja2.Environment):
    """``a.b`` on a dict (the view's parts) reads its item at once where a dict has no such
    attribute, which is what Jinja's ``getattr`` gives after the AttributeError it raises and
    catches first."""

    context_class = _Context

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@cache
def environment() -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.PackageLoader("ceasefire.dissemination", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not the reader
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # the templates are the package's: read once, never looked at again (Jinja's default
        # stats each template's file on every use, a third of a notice's rendering)
        auto_reload=False,
    )
    # the language in force (ceasefire.i18n.language) picks the catalog at render time
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, pgettext=pgettext, newstyle=True
    )
    env.globals["_"] = _template_gettext
    return env


@jinja2.pass_eval_context
def _template_gettext(eval_context: Any, message: str, /, **variables: Any) -> str:
    """The templates' ``_``: what the i18n extension's newstyle ``gettext`` does (the message
    translated, marked safe where the template escapes, then ``%`` the variables, escaped
    there), without its alias's two more calls through the template's context: a notice
    translates some 25 messages in each of its two templates."""
    text: str = _(message)
    if eval_context.autoescape:
        text = Markup(text)
    return text % variables


@cache
def template(name: str) -> jinja2.Template:
    """A notice template, loaded once."""
    return environment().get_template(name)


@cache
def _messages(lang: str) -> dict[str, str]:
    """The templates' messages in ``lang``, each looked up in its catalog once (filled as
    they are first used; the catalogs are loaded once and never change while running)."""
    return {}


@cache
def _gettext_for(lang: str, html: bool) -> Callable[..., str]:
    """The templates' ``_`` in ``lang``, as :func:`_template_gettext` writes it (the message
    translated, then ``%`` the variables; in HTML marked safe and the variables escaped), with
    no look at the language in force, the catalog's fallbacks, or the template's context
    (a notice translates some 25 messages in each of its two templates)."""
    table, catalog = _messages(lang), translations(lang)

    def text_(message: str, /, **variables: Any) -> str:
        found = table.get(message)
        if found is None:
            found = table[message] = catalog.gettext(message)
        return found % variables

    def html_(message: str, /, **variables: Any) -> str:
        found = table.get(message)
        if found is None:
            found = table[message] = catalog.gettext(message)
        # Markup(found) % variables escapes each variable as it is written: the same
        return Markup(found % {k: escape(v) for k, v in variables.items()})

    made = html_ if html else text_
    _FAST_CALLS.add(made)
    return made


def _render(name: str, shown: dict[str, Any], lang: str) -> str:
    """A template rendered with ``shown`` as its only context (no copy of the environment's
    globals, which the notices' templates do not use: a name they lack fails the render,
    StrictUndefined) and ``_`` in ``lang``: what ``Template.render`` does."""
    made = template(name)
    context = made.new_context(
        {**shown, "_": _gettext_for(lang, name.endswith(".html.j2"))}, shared=True
    )
    try:
        return made.environment.concat(made.root_render_func(context))
    except Exception:
        return made.environment.handle_exception()


def check_languages(mission: Mission) -> None:
    """Refuse to start when a recipient's language has no catalog or a template is missing."""
    from ceasefire.dissemination.recipients import recipients

    env = environment()
    for name in TEMPLATES:
        try:
            env.get_template(name)
        except jinja2.TemplateNotFound:
            raise CeasefireError(
                _("the notice template {name} is missing from {where}").format(
                    name=name, where="ceasefire/dissemination/templates"
                )
            ) from None
    for recipient in recipients(mission).values():
        lang = recipient.language
        if lang != "en" and gettext.find(DOMAIN, str(LOCALE_DIR), [lang]) is None:
            raise CeasefireError(
                _(
                    "no compiled catalog for {lang}, the language of {recipient}: "
                    "notices to it cannot be written (run `make catalogs`)"
                ).format(lang=lang, recipient=recipient.id)
            )


def sensed_name(code: str) -> str:
    """What sensed, in the language in force: the label the pages and the CLI show."""
    return label("sensed_by", code)


# Each name translated when asked for, only the one asked for: translating every name to pick
# one took 9 µs of a notice's view, which has some ten names to show.
_TITLES: dict[str, Callable[[], str]] = {
    "incident_notice": lambda: _("Notice of an incident"),
    "explanation_request": lambda: _("Request for an explanation"),
    "reobservation_request": lambda: _("Request for re-observation"),
    "complaint_received": lambda: _("Complaint received"),
    "answer_received": lambda: _("Answer received"),
    "daily_report": lambda: _("Daily report"),
}
_REACTIONS: dict[str, Callable[[], str]] = {
    "notify_peacekeepers": lambda: _("the peacekeeping force is informed"),
    "notify_both_parties": lambda: _("both parties are informed"),
    "request_explanation": lambda: _("an explanation is requested"),
    "request_reobservation": lambda: _("a re-observation is requested"),
}
_VIOLATIONS: dict[str, Callable[[], str]] = {
    "yes": lambda: _("a violation"),
    "no": lambda: _("no violation"),
    "undetermined": lambda: _("undetermined"),
}


def kind_title(kind: str) -> str:
    title = _TITLES.get(kind)
    return kind if title is None else title()


def reaction_name(reaction: str | None) -> str:
    name = _REACTIONS.get(reaction or "")
    return (reaction or "") if name is None else name()


def when(mission: Mission, text: str, lang: str) -> str:
    """A UTC time as "1 Feb 2021, 14:32 (Asia/Baku) = 10:32 UTC" in ``lang``."""
    return _when(text, mission.config.timezone, lang)


@lru_cache(maxsize=4096)
def _when(text: str, zone: str, lang: str) -> str:
    """:func:`when`, kept: Babel takes ~0.15 ms to write one, four a notice, and an incident's
    times come again in every notice about it (its start and end, often equal)."""
    return shown_in(parse_time(text), zone, lang, utc_format="medium", between="=")


def language_name(code: str, lang: str) -> str:
    """A language's name in ``lang`` (Babel's CLDR names): "русский", "Russian", "rusça"."""
    try:
        return Locale.parse(lang).languages.get(code) or code
    except (ValueError, UnknownLocaleError):
        return code


def _report(mission: Mission, notice: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """The daily report a notice points its recipient to, as the templates show it."""
    facts = notice["facts"]
    document = document_for(facts, lang)
    if document is None:
        return None
    period = facts.get("period") or {}
    made = facts["report"]
    langs = sorted({str(r["lang"]) for r in facts.get("reports") or []} | {str(made["lang"])})
    return {
        **document,
        "day_shown": format_date(date.fromisoformat(document["day"]), "long", locale=lang),
        "language": language_name(str(document["lang"]), lang),
        "own": document["lang"] == lang,
        "format_shown": str(document["format"]).upper(),
        "start": when(mission, period["start"], lang) if period.get("start") else "",
        "cutoff": when(mission, period["end"], lang) if period.get("end") else "",
        "made_language": language_name(str(made["lang"]), lang),
        "is_made": document["id"] == made["id"],
        "languages": ", ".join(language_name(code, lang) for code in langs),
        "note_lines": str(document["note"]).rstrip("\n").split("\n"),
        # with the notice's token, for a recipient without an account: in the HTML part and
        # the JSON only, as the acknowledgement link (never in the stored plain text)
        "by_notice": notice_links(
            notice["id"], notice.get("ack", {}).get("token", ""), mission.config.lines.base()
        ),
        "by_notice_path": notice_links(notice["id"])["href"],
    }


def _party_name(mission: Mission, party: str | None, lang: str) -> str:
    if party is None or party == "not_attributed":
        return _("could not be attributed")
    for p in mission.config.parties:
        if p.id == party:
            return p.names.get(lang) or p.id
    return party


def view(mission: Mission, notice: dict[str, Any], lang: str) -> dict[str, Any]:
    """What the templates show, in ``lang`` (call within ``language(lang)``)."""
    facts = notice["facts"]
    incident = facts.get("incident")
    shown: dict[str, Any] = {
        "center": mission.name(lang),
        "title": kind_title(notice["kind"]),
        "notice": notice,
        "facts": facts,
        "created": when(mission, notice["created_at"], lang),
        "ack_due": when(mission, notice["ack_due_at"], lang),
        # where a signed acknowledgement goes: absolute under the center's public URL if set
        "ack_endpoint": mission.config.lines.base() + notice.get("ack", {}).get("endpoint", ""),
        "recipient": notice["recipient_name"],
        "role": _("addressee") if notice["role"] == "addressee" else _("copy"),
        "addressees": [
            _party_name(mission, a, lang) if a in mission.party_ids() else a
            for a in facts.get("addressees", [])
        ],
        "reaction": reaction_name(facts.get("reaction")),
        # an answer's or a complaint's party (its own words follow, as ``facts.text``)
        "sender": _party_name(mission, facts["party"], lang) if facts.get("party") else "",
        "incident": None,
        "finding": None,
        "disclaimer": mission.disclaimer(lang),
        "report": _report(mission, notice, lang),
    }
    if incident is not None:
        settlement = incident["settlement"]
        place = next((s for s in mission.settlements if s.id == settlement), None)
        phrase = (
            place_phrase(
                mission.settlement_name(place, lang),
                incident["settlement_distance_m"],
                incident["settlement_bearing_deg"],
                lang,
            )
            if place is not None and incident["settlement_distance_m"] is not None
            else ""
        )
        names = {c.id: c.names.get(lang, c.id) for c in mission.contingents_for(lang)}
        order = [c.id for c in mission.contingents_for(lang)]
        shown["incident"] = {
            "id": incident["id"],
            "phrase": phrase,
            "lat": incident["location"]["lat"],
            "lon": incident["location"]["lon"],
            "ce_m": incident["location"]["ce_m"],
            "started": when(mission, incident["started_at"], lang),
            "ended": when(mission, incident["ended_at"], lang),
            "categories": [category_name(c) for c in incident["categories"]],
            "sensed_by": [sensed_name(s) for s in incident["sensed_by"]],
            "contingents": [names[c] for c in order if c in incident["contingents"]],
        }
    finding = facts.get("finding")
    if finding is not None:
        agreed = finding["outcome"] == "finding"
        violation = _VIOLATIONS.get(finding["violation"] or "")
        shown["finding"] = {
            "agreed": agreed,
            "violation": violation() if violation is not None else "",
            "clauses": ", ".join(finding["clauses"] or []),
            "attribution": _party_name(mission, finding["attribution"], lang) if agreed else "",
            "differs_on": ", ".join(
                {
                    "violation": _("whether it is a violation"),
                    "clauses": _("the clauses"),
                    "attribution": _("the attribution"),
                }[d]
                for d in finding["differs_on"]
            ),
        }
    return shown


def render(mission: Mission, notice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a notice in its recipient's language."""
    lang = notice["lang"]
    with language(lang):
        shown = view(mission, notice, lang)
        subject = f"[{mission.name(lang)}] {shown['title']}"
        if shown["incident"] is not None:
            subject += f": {shown['incident']['phrase'] or shown['incident']['id']}"
        elif shown["report"] is not None:
            subject += f": {shown['report']['day_shown']}"
        text = _render("notice.txt.j2", shown, lang)
        html = _render("notice.html.j2", shown, lang)
    return subject, text, html
