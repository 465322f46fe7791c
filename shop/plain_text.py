"""Text that shows what it is. Control characters and Unicode's direction controls can make a text
display as another one (a right-to-left override, U+202E, shows ``invoice<U+202E>fdp.exe`` as
``invoiceexe.pdf``) or hide part of it. What staff type is refused with a field error when it
holds one (``PlainTextForm``); what comes from anywhere else (a gateway's words, a stored row) is
shown with each such character written out, as ``\\u202e``, never interpreted (``shown``: every
template's output goes through it, and so do notes and the CSV export).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import Field, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

#: C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the direction
#: marks, embeddings, overrides and isolates (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069).
_HIDING = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SHOWN_ESCAPED = re.compile(f"[{_HIDING}]")
#: What a one-line field refuses besides: tab and line breaks (a textarea takes them).
_NOT_ON_ONE_LINE = re.compile(f"[{_HIDING}\t\n\r]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def shown(text: str) -> str:
    """``text`` with each control or direction character written out (``\\u202e``); tab and line
    breaks are kept."""
    return _SHOWN_ESCAPED.sub(_escape, text)


def shown_value(value: Any) -> Any:
    """A template's output, as ``shown`` (the Jinja environment's ``finalize``); markup stays markup."""
    if isinstance(value, Markup):
        return Markup(shown(str(value)))  # noqa: S704 - markup already; only characters become ASCII escapes
    if isinstance(value, str):
        return shown(value)
    return value


def hiding_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` that would hide or reorder it, as ``U+202E``; None if none."""
    match = (_SHOWN_ESCAPED if multiline else _NOT_ON_ONE_LINE).search(text)
    return f"U+{ord(match.group()):04X}" if match else None


def _plain_text(form: Any, field: Field) -> None:
    found = hiding_character(field.data or "", multiline=isinstance(field, TextAreaField))
    if found is not None:
        raise ValidationError(
            gettext(
                "Contains an invisible control or text-direction character (%(character)s): remove it.",
                character=found,
            )
        )


class PlainTextForm(FlaskForm):
    """A form staff fill in: each of its text fields (not hidden fields, not passwords) refuses a
    control or direction character with a field error; a textarea takes tab and line breaks."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField) and not isinstance(field, HiddenField | PasswordField):
                extra.setdefault(name, []).append(_plain_text)
        return bool(super().validate(extra_validators=extra))
