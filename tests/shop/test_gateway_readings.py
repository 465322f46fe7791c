"""Named regressions of readings the shop once mis-handled against a gateway that reads its docs
the other way (issue 17): A22, a re-sent create refused as a duplicate, and A5, error answers
that come unsigned."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.shop.conftest import Shop, start_shop, text_of

from .conformance.test_conformance import flashes, order_page, status_badge


@pytest.fixture
def refusing_shop(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    """A shop whose gateway refuses a re-used request_no (A22 "refused") and signs only its
    successful answers (A5 "success-only")."""
    yield from start_shop(tmp_path, merchant_key, platform_key, SANDBOX_READINGS="A5=success-only,A22=refused")


def gateway_statuses(shop: Shop) -> list[str]:
    return [row["status"] for row in shop.app.extensions["sparkpay_sandbox"].store.query("SELECT status FROM orders")]


def test_a22_a_create_the_sdk_retried_after_a_lost_answer_is_asked_for_not_failed(
    shop: Shop, manager: requests.Session
) -> None:
    # The gateway does the create, then its answer is lost (a proxy's 502); the SDK sends the same
    # body again, and this gateway refuses the re-used request_no with 41023.
    shop.sandbox("POST", "/faults", json={"api_lost_answer": 1})
    request_no = shop.create_order(manager, amount="12.5", currency="USDT")

    order = shop.order(request_no)
    assert order.status == "UNPAID", "the gateway holds a live order: the shop must not call it failed"
    assert gateway_statuses(shop) == ["UNPAID"]
    assert [(e.from_status, e.to_status, e.source) for e in order.events if e.from_status != e.to_status] == [
        (None, "CREATING", "staff"),
        ("CREATING", "UNPAID", "create"),
    ]
    page = order_page(shop, manager, request_no)
    assert status_badge(page) == "Awaiting payment"
    assert "its payment link was lost: create a new order for the shopper" in text_of(page)


def test_a5_an_unsigned_refusal_is_shown_unverified_and_changes_nothing(refusing_shop: Shop, tmp_path: Path) -> None:
    shop = refusing_shop
    manager = shop.sign_in("manager@shop.test", "manager")
    response = shop.post_order_form(manager, amount="0.05", currency="USDT")  # under the minimum fee: 41028
    assert response.status_code == 303, response.text
    request_no = response.headers["Location"].rsplit("/", 1)[1]
    page = manager.get(shop.url + response.headers["Location"]).text
    (message,) = [text for category, text in flashes(page) if category == "error"]
    assert "not signed, so it is not trusted: 41028" in message

    order = shop.order(request_no)
    assert order.status == "CREATING", "an unsigned answer never changes an order"
    assert order.last_error_code == 41028 and "Unverified answer" in str(order.last_error)
    assert "SparkPay code 41028: Unverified answer (not signed, so not trusted)" in text_of(page)
    events = len(order.events)

    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert "Checked 1 open orders: 0 changed, 1 unreachable." in result.output
    assert len(shop.order(request_no).events) == events, "not sent again: a signed query decides"
    assert gateway_statuses(shop) == []


def test_a5_an_unsigned_duplicate_refusal_is_settled_by_a_signed_query(refusing_shop: Shop) -> None:
    shop = refusing_shop
    manager = shop.sign_in("manager@shop.test", "manager")
    shop.sandbox("POST", "/faults", json={"api_lost_answer": 1})
    request_no = shop.create_order(manager, amount="12.5", currency="USDT")

    order = shop.order(request_no)
    assert order.status == "UNPAID" and gateway_statuses(shop) == ["UNPAID"]
    trail = [str(e.detail) for e in order.events]
    assert any(re.search(r"Unverified answer .*41023|request number", t) for t in trail), trail
