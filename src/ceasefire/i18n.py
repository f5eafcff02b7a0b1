"""Translations of every user-facing text (gettext catalogs, one per working language).

Catalogs live in ``ceasefire/locales/<lang>/LC_MESSAGES/ceasefire.po`` and are compiled to
``.mo`` next to them (``make catalogs``). The language in force is a context variable, so a
server can answer each request in its caller's language and the CLI follows ``--lang`` or
``CEASEFIRE_LANG``.
"""

from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "ceasefire"
LANGUAGES = ("en", "ru", "tr", "az", "hy")

_current: ContextVar[str] = ContextVar("ceasefire_language", default="")


def default_language() -> str:
    """The language from CEASEFIRE_LANG, else LANG, else English."""
    for variable in ("CEASEFIRE_LANG", "LANG"):
        code = os.environ.get(variable, "")[:2].lower()
        if code in LANGUAGES:
            return code
    return "en"


def current_language() -> str:
    return _current.get() or default_language()


@cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def set_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    _current.set(lang)


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """Run a block in another language (a notice to a party, a report in Russian, ...)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate a message into the language in force."""
    return translations(current_language()).gettext(message)


def pgettext(context: str, message: str) -> str:
    """Translate a message whose translation depends on where it is used."""
    return translations(current_language()).pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)
