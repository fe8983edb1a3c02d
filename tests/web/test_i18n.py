"""The committed Spanish catalogue is complete and its compiled .mo is current."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parents[2] / "open311" / "translations"


def test_every_spanish_message_is_translated_and_compiled():
    with (TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        po = read_po(po_file, locale="es")
    mo = read_mo(BytesIO((TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo").read_bytes()))
    untranslated = [
        m.id for m in po if m.id and not all(m.string if m.pluralizable else [m.string])
    ]
    assert untranslated == []
    compiled = {_key(m.id): _key(m.string) for m in mo if m.id}
    source = {_key(m.id): _key(m.string) for m in po if m.id}
    assert source == compiled, "run make translations-compile"


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_template_lists_every_message_of_the_catalogue():
    with (TRANSLATIONS / "messages.pot").open("rb") as pot_file:
        template = {m.id for m in read_po(pot_file) if m.id}
    with (TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        assert {m.id for m in read_po(po_file) if m.id} == template
