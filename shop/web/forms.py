"""The staff pages' own Flask-WTF forms (CSRF comes with them, and ``PlainTextForm`` refuses
control and direction characters in their text); each gateway's creation form is its adapter's
(shop/gateways/)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..plain_text import PlainTextForm


class LoginForm(PlainTextForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class RefundForm(PlainTextForm):
    amount = StringField(_l("Amount to refund"), validators=[DataRequired(), Length(max=40)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=80)])


class ActionForm(PlainTextForm):
    """A button's POST: nothing but its CSRF token (close, check status now, sign out)."""
