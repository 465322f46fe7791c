"""The gateway misbehaves through the sandbox's fault switches; the shop keeps its promises:
never paid without a verified source, never two gateway orders for one shop order, and every
order in the gateway's status once reconciliation has run."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.extensions import db
from shop.models import Notification, Order
from shop.orders import service
from shop.orders.state import get_order
from tests.shop.conftest import Shop, create_in_process, marked_readings, start_shop
from tests.support import wait_for

from .conftest import assert_legal_history, create_orders

#: A read timeout the sandbox's api_delay can outlast quickly.
CLIENT_TIMEOUT = (1.0, 1.0)
API_DELAY_SECONDS = 1.5


@pytest.fixture
def shop(
    request: pytest.FixtureRequest, tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Shop]:
    """The shop, its SparkPay sandbox taking the readings of the test's ``readings`` mark."""
    yield from start_shop(
        tmp_path,
        merchant_key,
        platform_key,
        SPARKPAY_TIMEOUT=CLIENT_TIMEOUT,
        SANDBOX_READINGS=marked_readings(request),
    )


def faults(shop: Shop, **switches: float) -> None:
    shop.sandbox("POST", "/faults", json={"api_delay_seconds": API_DELAY_SECONDS, **switches})


def reconcile(shop: Shop) -> service.ReconcileSummary:
    with shop.app.app_context():
        return service.reconcile()


def gateway_orders(shop: Shop) -> dict[str, list[dict[str, Any]]]:
    """The sandbox's orders grouped by the shop's invoice number (merchant_order_no)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in shop.app.extensions["sparkpay_sandbox"].store.query("SELECT request, status FROM orders"):
        grouped.setdefault(json.loads(row["request"])["merchant_order_no"], []).append(dict(row))
    return grouped


def sandbox_deliveries(shop: Shop, request_no: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = shop.sandbox("GET", "/deliveries", params={"request_no": request_no}).json()[
        "deliveries"
    ]
    return found


def assert_paid_only_from_verified_sources(shop: Shop) -> None:
    with shop.app.app_context():
        verified = {n.id for n in db.session.scalars(db.select(Notification).where(Notification.verified))}
        for order in db.session.scalars(db.select(Order)):
            assert_legal_history(order)
            for event in order.events:
                if event.to_status == "COMPLETED" and event.from_status != "COMPLETED":
                    assert event.source in ("webhook", "reconcile", "query"), event.source
                    if event.source == "webhook":
                        assert int(event.actor.removeprefix("notification #")) in verified


FAULTS_OF_A_CREATE = pytest.mark.parametrize(
    ("switches", "gateway_holds_it"),
    [
        ({"api_http_500": -1}, False),  # refused before it was carried out
        ({"api_delay": -1}, True),  # carried out, answer lost past the client's timeout
        ({"api_bad_signature": -1}, True),  # carried out, answer not trustworthy
        ({"api_lost_answer": -1}, True),  # carried out, then a proxy's 502
    ],
    ids=["500", "timeout", "bad-signature", "lost"],
)


@FAULTS_OF_A_CREATE
def test_a_create_without_a_usable_answer_ends_as_one_gateway_order(
    shop: Shop, switches: dict[str, int], gateway_holds_it: bool
) -> None:
    """Under A22 "refused" (the default) the re-send is refused: the order is asked for, and
    the payment link is lost where the gateway held the order."""
    order = unanswered_create_repaired(shop, switches, gateway_holds_it)
    if gateway_holds_it:
        assert order.cashier_url is None and "payment link was lost" in str(order.needs_attention)
    else:
        assert order.cashier_url


@FAULTS_OF_A_CREATE
@pytest.mark.readings(A22="idempotent")
def test_an_idempotent_gateway_gives_the_link_back_on_the_resend(
    shop: Shop, switches: dict[str, int], gateway_holds_it: bool
) -> None:
    assert unanswered_create_repaired(shop, switches, gateway_holds_it).cashier_url


def unanswered_create_repaired(shop: Shop, switches: dict[str, int], gateway_holds_it: bool) -> Order:
    faults(shop, **switches)
    (request_no,) = create_orders(shop, 1)
    assert shop.order(request_no).status == "CREATING"
    assert len(gateway_orders(shop).get("INV-0", [])) == int(gateway_holds_it)

    reconcile(shop)  # the gateway is still failing: nothing changes, nothing is duplicated
    assert shop.order(request_no).status == "CREATING"

    faults(shop, api_http_500=0, api_delay=0, api_bad_signature=0, api_lost_answer=0)
    reconcile(shop)
    order = shop.order(request_no)
    assert order.status == "UNPAID"
    assert [len(found) for found in gateway_orders(shop).values()] == [1]
    assert shop.order_numbers() == [request_no]
    return order


def test_a_dropped_notification_is_caught_up_by_reconciliation(shop: Shop) -> None:
    (request_no,) = create_orders(shop, 1)
    faults(shop, notify_drop=1)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: [d["state"] for d in sandbox_deliveries(shop, request_no)] == ["dropped"], what="the drop")
    assert shop.order(request_no).status == "UNPAID"

    assert reconcile(shop).changed == 1
    order = shop.order(request_no)
    assert order.status == "COMPLETED" and order.tx_hash
    assert order.events[-1].source == "reconcile"


def test_nothing_unverified_marks_an_order_paid(shop: Shop) -> None:
    (request_no,) = create_orders(shop, 1)
    faults(shop, api_bad_signature=-1, notify_bad_signature=-1)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})

    def refused_twice() -> bool:
        attempts = [a for d in sandbox_deliveries(shop, request_no) for a in d["attempts"]]
        refused: int = sum(a["http_status"] == 400 for a in attempts)
        return refused >= 2

    wait_for(refused_twice, what="two refused deliveries")
    assert reconcile(shop).unreachable == 1
    order = shop.order(request_no)
    assert order.status == "UNPAID"
    with shop.app.app_context():
        refused = db.session.scalars(db.select(Notification)).all()
    assert len(refused) >= 2 and not any(n.verified for n in refused)

    faults(shop, api_bad_signature=0, notify_bad_signature=0)
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the sandbox's next retry")
    assert_paid_only_from_verified_sources(shop)


def test_under_random_faults_every_order_ends_as_the_gateway_says(shop: Shop) -> None:
    rng = random.Random(2026)
    switches = (
        "api_http_500",
        "api_delay",
        "api_bad_signature",
        "notify_drop",
        "notify_duplicate",
        "notify_out_of_order",
        "notify_bad_signature",
    )
    numbers = []
    for index in range(16):
        faults(shop, **{name: int(rng.random() < 0.3) for name in switches})
        request_no = create_in_process(
            shop,
            amount="7.25",
            description=f"Order {index}",
            goods_info="tea",
            merchant_order_no=f"INV-{index}",
            networks=["2"],
        )
        numbers.append(request_no)
        action = rng.choice(("pay", "pay", "expire", "close", "wait"))
        if shop.order(request_no).status == "UNPAID" and action == "close":
            with shop.app.test_request_context():
                order = get_order(request_no)
                assert order is not None
                service.close_order(order, "staff@shop.test")
        if action in ("pay", "expire") and gateway_orders(shop).get(f"INV-{index}"):
            shop.sandbox("POST", f"/orders/{request_no}/{action}", json={"network": 2})

    faults(shop, **dict.fromkeys(switches, 0))
    reconcile(shop)  # re-sends the creates whose outcome was unknown
    reconcile(shop)  # and queries everything still open

    held = gateway_orders(shop)
    assert sorted(held) == sorted(f"INV-{i}" for i in range(16)), "every shop order exists at the gateway"
    assert all(len(found) == 1 for found in held.values()), "never two gateway orders for one shop order"
    with shop.app.app_context():
        statuses = {o.merchant_order_no: o.status for o in db.session.scalars(db.select(Order))}
    assert statuses == {invoice: found[0]["status"] for invoice, found in held.items()}
    assert Counter(statuses.values())["COMPLETED"] > 0, "the run exercised payments"
    assert_paid_only_from_verified_sources(shop)
