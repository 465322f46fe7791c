"""What every template may use: money and time formatting, labels, absolute public URLs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app, url_for

from sparkpay.networks import network_label, parse_receive_network

from .extensions import htmx
from .models import STATUS_LABELS


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


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on PUBLIC_BASE_URL (what the shopper and the gateway see)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    for name, function in (("money", money), ("utc", utc), ("status_label", status_label), ("network_labels", network_labels)):
        app.add_template_filter(function, name)
    app.add_template_global(public_url, "public_url")

    @app.context_processor
    def _globals() -> dict[str, object]:
        return {"shop_name": app.config["SHOP_NAME"], "is_htmx": bool(htmx)}
