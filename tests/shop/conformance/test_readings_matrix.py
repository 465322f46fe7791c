"""The conformance journeys again, against a sandbox that takes another reading of its docs.

The sandbox was written from the same reading as the SDK, so on its own it only confirms that
reading. Here each alternative of each reading a real gateway could take (``sparkpay/readings.py``,
``examplepay/readings.py``) gets the journeys a shop lives by: create, a lost answer then the
re-send, a notification, close, the status check that repairs a missed notification, and
reconciliation. One alternative at a time keeps the matrix bounded; the recommended readings
are the suite's own run (test_conformance.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from examplepay import readings as examplepay_readings
from sparkpay import readings as sparkpay_readings
from tests.shop.conftest import Shop, start_shop

from .drivers import DRIVERS, GatewayDriver
from .test_conformance import (
    test_a_create_whose_answer_was_lost_ends_as_one_gateway_order_once_reconciled,
    test_a_payment_completes_the_order_through_the_notification_once,
    test_check_status_now_applies_the_gateways_status_when_the_notification_is_missing,
    test_close_where_the_gateway_can_and_a_refusal_where_it_cannot,
    test_reconcile_settles_orders_whose_notifications_were_missed,
    test_staff_create_an_order_that_awaits_payment,
)

__all__ = [  # collected here once more, under every alternative
    "test_a_create_whose_answer_was_lost_ends_as_one_gateway_order_once_reconciled",
    "test_a_payment_completes_the_order_through_the_notification_once",
    "test_check_status_now_applies_the_gateways_status_when_the_notification_is_missing",
    "test_close_where_the_gateway_can_and_a_refusal_where_it_cannot",
    "test_reconcile_settles_orders_whose_notifications_were_missed",
    "test_staff_create_an_order_that_awaits_payment",
]


@dataclass(frozen=True)
class Alternative:
    """One gateway's sandbox taking one alternative of one reading."""

    gateway: str
    reading: str
    name: str

    def __str__(self) -> str:
        return f"{self.gateway}-{self.reading}={self.name}"

    def settings(self) -> dict[str, Any]:
        """The shop's settings for it: the sandbox's reading and, where the merchant must match
        the gateway (what it signs), the shop's own setting too."""
        chosen = f"{self.reading}={self.name}"
        if self.gateway == "sparkpay":
            return {"SANDBOX_READINGS": chosen}
        if self.reading == "A2":  # the URL form both sides sign: the merchant sets it to the gateway's
            return {"EXAMPLEPAY_SANDBOX_READINGS": chosen, "EXAMPLEPAY_SIGNED_URL_FORM": self.name}
        return {"EXAMPLEPAY_SANDBOX_READINGS": chosen}


ALTERNATIVES = [
    Alternative(gateway, reading.id, name)
    for gateway, table in (("sparkpay", sparkpay_readings.READINGS), ("examplepay", examplepay_readings.READINGS))
    for reading in table
    for name in reading.names
    if name != reading.default
]


@pytest.fixture(params=ALTERNATIVES, ids=str)
def alternative(request: pytest.FixtureRequest) -> Alternative:
    chosen: Alternative = request.param
    return chosen


@pytest.fixture
def gateway(alternative: Alternative) -> GatewayDriver:
    return DRIVERS[alternative.gateway]


@pytest.fixture
def shop(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, alternative: Alternative
) -> Iterator[Shop]:
    yield from start_shop(tmp_path, merchant_key, platform_key, **alternative.settings())


def test_the_sandbox_takes_the_alternative(shop: Shop, alternative: Alternative) -> None:
    listed = {r["id"]: r["current"] for r in shop.sandbox_readings(alternative.gateway)}
    assert listed[alternative.reading] == alternative.name
