"""What every gateway's creation form has: its tab (edition), the one-time token that makes a
second submission find the first order, the amount, and the merchant's own references."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3 has it, types-WTForms 3.2 not yet
from wtforms.validators import DataRequired, Length, Optional

from ..plain_text import PlainTextForm

__all__ = ["CreationForm", "SelectChoice"]


class CreationForm(PlainTextForm):
    edition = HiddenField()
    form_token = HiddenField()
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=40)])
    merchant_order_no = StringField(_l("Your order number (optional)"), validators=[Optional(), Length(max=64)])
    user_id = StringField(_l("Shopper's user id (optional)"), validators=[Optional(), Length(max=64)])

    def set_edition(self, edition: str) -> None:
        """Fix the tab the form belongs to, and give a new form its token."""
        self.edition.data = edition
        if not self.form_token.data:
            self.form_token.data = secrets.token_urlsafe(24)
