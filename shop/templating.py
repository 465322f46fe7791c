"""What every template may use: money and time formatting, labels, absolute public URLs."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app, url_for

from sparkpay.networks import network_label, parse_receive_network

from .extensions import htmx
from .models import DELIVERY_OUTCOMES, STATUS_LABELS


def money(value: Decimal | None) -> str:
    """Exact amount with thousands separators and no float rounding."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")


def network_labels(receive_network: str) -> str:
    """"1,2" -> "Ethereum (ERC-20), Tron (TRC-20)"; unknown numbers shown as they are."""
    try:
        return ", ".join(network_label(n) for n in parse_receive_network(receive_network))
    except ValueError:
        return receive_network


def pretty_json(value: object) -> str:
    """A JSON document (or JSON text) indented for reading; text that is not JSON as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def delivery_outcome(outcome: str) -> str:
    return DELIVERY_OUTCOMES.get(outcome, outcome)


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on PUBLIC_BASE_URL (what the shopper and the gateway see)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    for function in (money, utc, status_label, network_labels, pretty_json, delivery_outcome):
        app.add_template_filter(function)
    app.add_template_global(public_url, "public_url")

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"shop_name": app.config["SHOP_NAME"], "is_htmx": bool(htmx)}
