"""What every template may use: money and time formatting for the reader's language, labels,
absolute public URLs."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext
from typing import Any

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import format_datetime, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from sparkpay.networks import network_label, parse_receive_network

from . import health
from .extensions import htmx
from .models import OrderEvent
from .plain_text import shown_value
from .vocabulary import DELIVERY_OUTCOMES, SOURCE_LABELS, STATUS_LABELS, Source

#: An amount longer than this is not grouped: only a row stored before amounts were bounded (the
#: SDKs allow 18 digits) can hold one, and it is shown exactly, as ``Decimal`` writes it.
MAX_GROUPED_DIGITS = 60
#: What an amount shows while hidden for screen sharing.
HIDDEN_AMOUNT = "•••"
#: The cookie that hides amounts on this browser (demo mode only).
HIDE_AMOUNTS_COOKIE = "hide_amounts"

#: Actors that are parts of the shop, not people.
SYSTEM_ACTORS = {"reconciler": _l("reconciler"), "return page": _l("return page")}
ROLES = {"manager": _l("manager"), "viewer": _l("viewer")}


def amounts_hidden() -> bool:
    """Whether this browser asked to hide amounts (demo mode's "Hide amounts")."""
    return bool(current_app.config["DEMO_MODE"]) and request.cookies.get(HIDE_AMOUNTS_COOKIE) == "1"


def money(value: Decimal | None) -> str:
    """Exact amount (every decimal kept, no float) grouped the way the reader's language does;
    "•••" while a presenter hides amounts (demo mode). Never raises, whatever a row holds."""
    if value is None:
        return ""
    if has_request_context() and amounts_hidden():
        return HIDDEN_AMOUNT
    if not value.is_finite():  # NaN or Infinity: only a row written by hand holds one
        return str(value)
    with localcontext() as context:
        # Room for every digit, any exponent and the language's decimals: nothing here rounds.
        context.prec, context.Emax, context.Emin = len(value.as_tuple().digits) + 10, MAX_EMAX, MIN_EMIN
        value = value.normalize()
        _, digits, exponent = value.as_tuple()
        size = len(digits) + abs(int(exponent))
        if size > MAX_GROUPED_DIGITS:
            return str(value)  # exact still, in Decimal's own notation ("1E+1000")
        context.prec = size + 10
        return format_decimal(value, locale=get_locale(), decimal_quantization=False)


def utc(value: datetime | None) -> str:
    """A date and time in UTC, written the reader's way ("Nov 27, 2026, 10:04:28 AM UTC")."""
    return f"{format_datetime(value, 'medium')} UTC" if value else ""


def day(value: date) -> str:
    """A day of the month, the reader's way ("Nov 27", "11月27日")."""
    return format_skeleton("MMMd", value, locale=get_locale())


def event_source(event: OrderEvent) -> str:
    """What made a history entry: a notification (named by its delivery), a status check, staff..."""
    if event.source == Source.WEBHOOK and event.notification_id is not None:
        return str(gettext("notification #%(id)s", id=event.notification_id))
    return str(SOURCE_LABELS.get(event.source, event.source))


def event_actor(event: OrderEvent) -> str:
    """Who made a history entry: a staff member's email or a part of the shop (a delivery's
    entry is already named by ``event_source``)."""
    if event.source == Source.WEBHOOK and event.notification_id is not None:
        return ""
    return str(SYSTEM_ACTORS.get(event.actor or "", event.actor or ""))


def network_label_of(network: int | None) -> str:
    """A SparkPay network number as staff and shoppers read it ("Tron (TRC-20)")."""
    return network_label(network)


def role_label(role: str) -> str:
    return str(ROLES.get(role, role))


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status or ""))


def network_labels(receive_network: str) -> str:
    """ "1,2" -> "Ethereum (ERC-20), Tron (TRC-20)"; unknown numbers shown as they are."""
    try:
        return ", ".join(network_label(n) for n in parse_receive_network(receive_network))
    except ValueError:
        return receive_network


def pretty_json(value: object) -> str:
    """A JSON document (or JSON text) indented for reading; text that is not JSON as it is."""
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return text
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def byte_count(value: int) -> str:
    """A size in bytes, grouped the reader's way ("65,536 bytes")."""
    return str(ngettext("%(count)s byte", "%(count)s bytes", value, count=format_decimal(value, locale=get_locale())))


def byte_size(value: int) -> str:
    """A size in whole KiB or MiB when it is one ("4 KiB"), else in bytes."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{format_decimal(value // size, locale=get_locale())} {unit}"
    return byte_count(value)


def delivery_outcome(outcome: str) -> str:
    return str(DELIVERY_OUTCOMES.get(outcome, outcome))


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on PUBLIC_BASE_URL (what the shopper and the gateway see)."""
    base_url: str = current_app.config["PUBLIC_BASE_URL"]
    return base_url + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    # Every {{ value }} with its control and direction characters written out (shop/plain_text.py).
    app.jinja_env.finalize = shown_value
    for function in (
        money,
        utc,
        day,
        status_label,
        network_labels,
        pretty_json,
        delivery_outcome,
        event_source,
        event_actor,
        role_label,
        byte_count,
        byte_size,
    ):
        app.add_template_filter(function)
    app.add_template_filter(network_label_of, "network_label")
    app.add_template_global(public_url, "public_url")

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"shop_name": app.config["SHOP_NAME"], "is_htmx": bool(htmx)}

    @app.context_processor
    def _health_banner() -> dict[str, object]:
        """Staff pages warn while the shop is unwell (not the fragments htmx swaps in)."""
        if htmx or not current_user.is_authenticated:
            return {"shop_health": None}
        now = health.current()
        return {"shop_health": None if now.ok else now}
