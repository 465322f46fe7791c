"""Staff create orders through /orders/new; the sandbox answers over real HTTP."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
import requests

from .conftest import Shop


def field_error(page: str, field: str) -> str:
    """The error text shown under a form field (empty when there is none)."""
    match = re.search(rf'<p class="field__error" id="{field}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def test_normal_order_is_created_and_shows_the_checkout_link(shop: Shop, manager: requests.Session) -> None:
    response = shop.post_order_form(manager, amount="12.5", networks=["2"])
    assert response.status_code == 303
    detail = manager.get(shop.url + response.headers["Location"])
    request_no = response.headers["Location"].rsplit("/", 1)[1]

    assert "Order created" in detail.text
    assert "Awaiting payment" in detail.text
    assert f'value="{shop.url}/pay/{request_no}"' in detail.text
    assert 'data-copy-target="checkout-link"' in detail.text
    order = shop.order(request_no)
    assert order.status == "UNPAID"
    assert order.amount == Decimal("12.5")
    assert order.receive_network == "2"
    assert order.cashier_url and order.cashier_url.startswith(shop.url + "/sandbox/")
    assert [(e.from_status, e.to_status) for e in order.events] == [(None, "CREATING"), ("CREATING", "UNPAID")]
    assert order.created_by == "manager@shop.test"


def test_pro_order_is_priced_in_fiat_with_the_chosen_pairs(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(
        manager, edition="pro", amount="49.90", currency="USD", currency_networks=["USDT:2", "USDT:4"]
    )
    order = shop.order(request_no)
    assert order.is_pro and order.status == "UNPAID"
    assert (order.amount, order.currency) == (Decimal("49.90"), "USD")
    assert order.currency_networks == [{"currency": "USDT", "networks": [2, 4]}]
    detail = manager.get(f"{shop.url}/orders/{request_no}").text
    assert "Pro (priced in USD)" in detail


def test_revenue_split_is_sent_and_shown(shop: Shop, manager: requests.Session) -> None:
    seller = "0x" + "a1" * 20
    request_no = shop.create_order(
        manager, amount="100", split="y", seller_amount="90", seller_addr=seller, merchant_amount="10", networks=["2"]
    )
    order = shop.order(request_no)
    assert order.divide_detail["seller_addr"] == seller
    assert Decimal(order.divide_detail["seller_amount"]) == 90
    assert seller in manager.get(f"{shop.url}/orders/{request_no}").text


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"description": ""}, "description", "required"),
        ({"goods_info": ""}, "goods_info", "required"),
        ({"amount": ""}, "amount", "required"),
        ({"amount": "twelve"}, "amount", "number"),
        ({"amount": "1.1234567"}, "amount", "6 decimal"),
        ({"amount": "0"}, "amount", "greater than zero"),
        ({"amount": "-5"}, "amount", "greater than zero"),
        ({"timeout_minutes": "0"}, "timeout_minutes", "between 1"),
        ({"timeout_minutes": "soon"}, "timeout_minutes", "integer"),
        ({"currency": "DOGE"}, "currency", "Not a valid choice"),
        ({"merchant_order_no": "x" * 65}, "merchant_order_no", "64 characters"),
        ({"networks": ["99"]}, "networks", "Not a valid choice"),
        (
            {"split": "y", "seller_amount": "5", "seller_addr": "0x" + "b2" * 20, "merchant_amount": "1"},
            "seller_amount",
            "add up",
        ),
        (
            {"split": "y", "seller_amount": "", "seller_addr": "0x" + "b2" * 20, "merchant_amount": "12.5"},
            "seller_amount",
            "required",
        ),
    ],
)
def test_each_bad_field_is_shown_next_to_it(
    shop: Shop, manager: requests.Session, fields: dict[str, Any], field: str, reason: str
) -> None:
    response = shop.post_order_form(manager, **fields)
    assert response.status_code == 422
    assert reason.lower() in field_error(response.text, field).lower(), (
        field_error(response.text, field) or response.text
    )
    assert "Please correct the fields marked below" in response.text
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Order

        assert db.session.query(Order).count() == 0, "nothing is saved for a refused form"


def test_the_gateways_refusal_is_shown_in_plain_words_with_its_code(shop: Shop, manager: requests.Session) -> None:
    # The SDK cannot know the gateway's minimum service fee: only the gateway refuses this.
    response = shop.post_order_form(manager, amount="0.000001")
    assert response.status_code == 422
    assert "The gateway refused this order" in response.text
    assert "SparkPay code 41028" in response.text
    assert "minimum" in field_error(response.text, "amount")
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Order

        (order,) = db.session.query(Order).all()
        assert (order.status, order.last_error_code) == ("FAILED", 41028)


def test_a_split_address_the_gateway_refuses_is_shown_next_to_it(shop: Shop, manager: requests.Session) -> None:
    response = shop.post_order_form(
        manager, split="y", seller_amount="10", seller_addr="not-an-address", merchant_amount="2.5"
    )
    assert response.status_code == 422
    assert "SparkPay code 41032" in response.text
    assert "address" in field_error(response.text, "seller_addr")


def test_sending_the_same_form_twice_creates_one_order(shop: Shop, manager: requests.Session) -> None:
    page = manager.get(f"{shop.url}/orders/new").text
    token_match = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert token_match is not None
    token = token_match.group(1)
    first = shop.post_order_form(manager, form_token=token)
    second = shop.post_order_form(manager, form_token=token)
    assert first.headers["Location"] == second.headers["Location"]
    assert "already submitted" in manager.get(shop.url + second.headers["Location"]).text
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Order

        assert db.session.query(Order).count() == 1


def test_two_concurrent_submissions_of_one_form_create_one_order(shop: Shop, manager: requests.Session) -> None:
    import threading

    page = manager.get(f"{shop.url}/orders/new").text
    token_match = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert token_match is not None
    token = token_match.group(1)
    start = threading.Barrier(2)
    answers: list[requests.Response] = []

    def submit() -> None:
        start.wait()
        answers.append(shop.post_order_form(manager, form_token=token))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"], "both land on the same order"
    assert len(shop.order_numbers()) == 1
    held = shop.app.extensions["sparkpay_sandbox"].store.query("SELECT request_key FROM orders")
    assert len(held) == 1, "one gateway order"
