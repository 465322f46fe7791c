"""Fixtures of the conformance suite: every test runs once per registered gateway (``gateway``),
against a real shop on a free port with both sandboxes mounted (``shop`` and ``manager``, from
tests/shop/conftest.py)."""

from __future__ import annotations

import pytest
import requests

from shop.gateways import REGISTRY
from tests.shop.conftest import Shop

from .drivers import DRIVERS, GatewayDriver


@pytest.fixture(params=sorted(REGISTRY), ids=sorted(REGISTRY))
def gateway(request: pytest.FixtureRequest) -> GatewayDriver:
    """The driver of the gateway this run of the test is about: every registered gateway gets
    the whole suite, and one registered without a driver fails it."""
    driver = DRIVERS.get(request.param)
    assert driver is not None, (
        f"gateway {request.param!r} is registered but tests/shop/conformance has no driver for it"
    )
    return driver


@pytest.fixture
def unpaid(shop: Shop, manager: requests.Session, gateway: GatewayDriver) -> str:
    """An order created through the form, awaiting payment at ``gateway``; its request number."""
    request_no = gateway.create_order(shop, manager)
    assert shop.order(request_no).status == "UNPAID"
    return request_no
