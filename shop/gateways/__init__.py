"""The gateways the shop can take payments through: one adapter each, and the registry.

The order service reaches a gateway only through ``for_order`` / ``get`` and the ``Gateway``
protocol (``base.py``); a third gateway is its SDK, one adapter module here, one line in
``REGISTRY``, its settings, its templates under ``templates/gateways/<name>/`` and its sandbox.
"""

from __future__ import annotations

from flask import Flask, abort

from ..models import Notification, Order
from .base import Gateway
from .examplepay import ExamplePayGateway
from .sparkpay import SparkPayGateway

#: Every gateway, by the name orders and deliveries store; the first is the default.
REGISTRY: dict[str, Gateway] = {gateway.name: gateway for gateway in (SparkPayGateway(), ExamplePayGateway())}


def init_app(app: Flask) -> None:
    for gateway in REGISTRY.values():
        gateway.init_app(app)
    app.add_template_global(offered, "offered_gateways")
    app.add_template_global(for_order, "gateway_of")
    app.add_template_filter(label, "gateway_name")


def get(name: str) -> Gateway:
    """The gateway called ``name``; KeyError for a name the shop has none of."""
    return REGISTRY[name]


def for_order(item: Order | Notification) -> Gateway:
    """The gateway an order (or a delivery) is paid through."""
    return REGISTRY[item.gateway]


def enabled_or_404(name: str) -> Gateway:
    """The gateway called ``name`` if staff may use it now; a 404 for any other name."""
    gateway = REGISTRY.get(name)
    if gateway is None or not gateway.enabled():
        abort(404)
    return gateway


def offered() -> list[Gateway]:
    """The gateways staff may choose for a new order, in the registry's order."""
    return [gateway for gateway in REGISTRY.values() if gateway.enabled()]


def label(name: str) -> str:
    """ "examplepay" -> "ExamplePay": a stored gateway name as staff read it."""
    gateway = REGISTRY.get(name)
    return gateway.label if gateway is not None else name
