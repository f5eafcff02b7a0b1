"""Every user-facing text is in every catalog, translated, and the compiled catalogs are current."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ceasefire.i18n import LOCALE_DIR

SOURCE = Path(__file__).parents[1] / "src" / "ceasefire"
KEYWORDS = {"_": None, "pgettext": ((1, "c"), 2), "ngettext": (1, 2)}


def source_messages() -> set[tuple[str | None, str]]:
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(SOURCE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.add((context, msgid))
    return found


@pytest.mark.parametrize("lang", ["ru", "tr", "az", "hy"])
def test_catalog_translates_every_message(lang: str) -> None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "ceasefire.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    translated = {
        (m.context, m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string)) and not m.fuzzy
    }
    missing = sorted(str(m) for m in source_messages() - translated)
    assert not missing, (
        f"{lang}: untranslated (run `make catalogs`, then translate): {missing[:10]}"
    )


@pytest.mark.parametrize("lang", ["ru", "tr", "az", "hy"])
def test_compiled_catalog_matches_its_source(lang: str) -> None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "ceasefire.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    compiled = gettext.translation("ceasefire", LOCALE_DIR, languages=[lang])
    for message in catalog:
        if not message.id or message.fuzzy or isinstance(message.id, tuple):
            continue
        if message.context:
            assert compiled.pgettext(message.context, message.id) == message.string, message.id
        else:
            assert compiled.gettext(message.id) == message.string, message.id
