"""Words for people that are stored (history lines, warnings, errors) in English and shown in
the reader's language: a ``Note`` keeps the catalogue message and its values, not the text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import types

from .plain_text import shown


@dataclass(frozen=True)
class _Part:
    text: str
    values: tuple[tuple[str, Any], ...] = ()
    verbatim: bool = False


class Note:
    """Words for people kept in the database in English, shown in the reader's language.

    Each part is either a catalogue message with its values (made with ``note``) or words kept
    as they came (``verbatim``: a gateway's or the SDK's English, older rows). Verbatim words are
    marked ``lang="en"`` in HTML so that readers and screen readers know.
    """

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[_Part, ...] = ()) -> None:
        self.parts = parts

    def __add__(self, other: Note) -> Note:
        return Note(self.parts + other.parts)

    def __bool__(self) -> bool:
        return any(part.text for part in self.parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Note) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:
        return f"Note({str(self)!r})"

    def __str__(self) -> str:
        return " ".join(_render(part, html=False) for part in self.parts if part.text)

    def __html__(self) -> Markup:
        return Markup(" ").join(_render(part, html=True) for part in self.parts if part.text)

    def to_json(self) -> str:
        if not self:
            return ""
        return json.dumps([_part_to_json(part) for part in self.parts], ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_stored(cls, text: str) -> Note:
        """Read what ``to_json`` wrote; anything else is an older row's plain English."""
        if not text:
            return cls()
        if text.startswith("[{"):
            try:
                return cls(tuple(_part_from_json(item) for item in json.loads(text)))
            except (ValueError, TypeError, KeyError, AttributeError):
                pass
        return verbatim(text)


#: No words: the default ``detail`` of a history entry (a ``Note`` is never changed in place).
NO_NOTE = Note()


def note(message: str, **values: Any) -> Note:
    """A catalogue message (English, ``%(name)s`` placeholders) with its values, for storing."""
    return Note((_Part(message, tuple(sorted(values.items()))),))


def verbatim(text: str | None) -> Note:
    """Words stored and shown as they are (they come in English from the gateway or the SDK)."""
    return Note((_Part(text or "", verbatim=True),))


def _shown(value: Any) -> Any:
    """A note's value with its control and direction characters written out (``Literal`` stays one)."""
    if isinstance(value, Literal):
        return Literal(shown(value))
    return shown(value) if isinstance(value, str) else value


def _render(part: _Part, *, html: bool) -> str:
    if part.verbatim:
        return Markup('<span lang="en">%s</span>') % shown(part.text) if html else shown(part.text)
    values = {
        name: (value.__html__() if html else str(value)) if isinstance(value, Note) else _shown(value)
        for name, value in part.values
    }
    translated: str = gettext(part.text)
    if html:
        translated = escape(translated)  # Markup: % escapes the values, nested notes stay markup
    return translated % values if values else translated


def _part_to_json(part: _Part) -> dict[str, Any]:
    if part.verbatim:
        return {"x": part.text}
    values = {
        name: {"note": json.loads(value.to_json())} if isinstance(value, Note) else value for name, value in part.values
    }
    return {"t": part.text, "v": values} if values else {"t": part.text}


def _part_from_json(item: dict[str, Any]) -> _Part:
    if "x" in item:
        return _Part(str(item["x"]), verbatim=True)
    values = {
        name: Note(tuple(_part_from_json(inner) for inner in value["note"])) if isinstance(value, dict) else value
        for name, value in item.get("v", {}).items()
    }
    return _Part(str(item["t"]), tuple(sorted(values.items())))


class NoteText(types.TypeDecorator[Note]):
    """A ``Note`` column, stored as JSON text (plain text from before is read as verbatim)."""

    impl = types.Text
    cache_ok = True

    def process_bind_param(self, value: Note | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Note):
            raise TypeError("words for people are stored as a Note: use note() or verbatim()")
        return value.to_json()

    def process_result_value(self, value: str | None, dialect: Any) -> Note | None:
        return None if value is None else Note.from_stored(value)


class Literal(str):
    """A note's value shown exactly as it is, never translated: a URL, a setting's name, a
    fingerprint. HTML shows it in the code font (``mono``) and marks it ``translate="no"``."""

    __slots__ = ()

    def __html__(self) -> Markup:
        return Markup('<span class="mono" translate="no">%s</span>') % str(self)
