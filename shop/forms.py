"""Flask-WTF forms (CSRF comes with them). Business rules stay in the SDK and orders.py."""

from __future__ import annotations

import secrets

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3 has it, types-WTForms 3.2 not yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from examplepay import readings
from sparkpay.networks import CRYPTO_CURRENCIES, FIAT_CURRENCIES, TOKENS, Network

#: How many extra split receivers the form offers.
OTHER_RECEIVER_ROWS = 3


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def network_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n.value), n.label) for n in Network]


def currency_network_choices() -> list[SelectChoice]:
    """Every payable (currency, network) pair, as ``"USDT:4"`` -> ``"USDT on Polygon"``."""
    return [
        SelectChoice(
            f"{currency}:{network.value}",
            gettext("%(currency)s on %(network)s", currency=currency, network=network.label),
        )
        for currency in CRYPTO_CURRENCIES
        for network in Network
        if currency in TOKENS[network]
    ]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class OrderForm(FlaskForm):
    """Both editions; ``edition`` picks which amount and network fields apply."""

    edition = HiddenField(default="normal")
    form_token = HiddenField()
    description = StringField(_l("Description shown to the shopper"), validators=[DataRequired(), Length(max=256)])
    goods_info = TextAreaField(_l("Goods"), validators=[DataRequired(), Length(max=512)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=40)])
    currency = SelectField(_l("Currency"))
    timeout_minutes = IntegerField(
        _l("Shopper has (minutes) to pay"),
        default=30,
        validators=[InputRequired(), NumberRange(min=1, max=7 * 24 * 60)],
    )
    merchant_order_no = StringField(_l("Your order number (optional)"), validators=[Optional(), Length(max=64)])
    user_id = StringField(_l("Shopper's user id (optional)"), validators=[Optional(), Length(max=64)])
    networks = MultiCheckboxField(
        _l("Accepted networks (none ticked: all that carry the currency)"), choices=network_choices()
    )
    currency_networks = MultiCheckboxField(_l("Currencies and networks the shopper may pay with (none ticked: all)"))
    split = BooleanField(_l("Split the revenue"))
    seller_amount = StringField(_l("Seller amount"), validators=[Optional(), Length(max=40)])
    seller_addr = StringField(_l("Seller wallet address"), validators=[Optional(), Length(max=128)])
    merchant_amount = StringField(_l("Merchant fee"), validators=[Optional(), Length(max=40)])
    other_addr_1 = StringField(_l("Other receiver 1 address"), validators=[Optional(), Length(max=128)])
    other_amount_1 = StringField(_l("Other receiver 1 amount"), validators=[Optional(), Length(max=40)])
    other_addr_2 = StringField(_l("Other receiver 2 address"), validators=[Optional(), Length(max=128)])
    other_amount_2 = StringField(_l("Other receiver 2 amount"), validators=[Optional(), Length(max=40)])
    other_addr_3 = StringField(_l("Other receiver 3 address"), validators=[Optional(), Length(max=128)])
    other_amount_3 = StringField(_l("Other receiver 3 amount"), validators=[Optional(), Length(max=40)])

    def set_edition(self, edition: str) -> None:
        """Fix the edition and offer the currencies it accepts."""
        self.edition.data = edition
        pricing = list(FIAT_CURRENCIES) + list(CRYPTO_CURRENCIES) if edition == "pro" else list(CRYPTO_CURRENCIES)
        self.currency.choices = [SelectChoice(c, c) for c in pricing]
        self.currency_networks.choices = currency_network_choices()  # labels in the reader's language
        if not self.form_token.data:
            self.form_token.data = secrets.token_urlsafe(24)


class ExamplePayOrderForm(FlaskForm):
    """The creation form's ExamplePay tab: a fiat price and the payer the gateway asks for."""

    edition = HiddenField(default="examplepay")
    form_token = HiddenField()
    description = StringField(_l("Description shown to the shopper"), validators=[DataRequired(), Length(max=80)])
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=40)])
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c, c) for c in readings.PAY_METHOD_BY_CURRENCY])
    payer_name = StringField(_l("Shopper's name"), validators=[DataRequired(), Length(max=80)])
    payer_email = EmailField(_l("Shopper's email"), validators=[DataRequired(), Length(max=80)])
    payer_phone = StringField(_l("Shopper's phone"), validators=[DataRequired(), Length(max=20)])
    merchant_order_no = StringField(_l("Your order number (optional)"), validators=[Optional(), Length(max=64)])
    user_id = StringField(_l("Shopper's user id (optional)"), validators=[Optional(), Length(max=64)])

    def set_edition(self, edition: str) -> None:
        self.edition.data = "examplepay"
        if not self.form_token.data:
            self.form_token.data = secrets.token_urlsafe(24)


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount to refund"), validators=[DataRequired(), Length(max=40)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=80)])


class ActionForm(FlaskForm):
    """A button's POST: nothing but its CSRF token (close, check status now, sign out)."""
