"""Statements must be whole, and the shopper is sent only to the gateway's own payment page
(issue 18, item 4): a signed statement that leaves out what the shop compares is flagged, not
applied; a payment link off the gateway's host is flagged, and the shopper is told, not linked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from examplepay import readings
from examplepay.notifications import sign_notification
from shop.extensions import db
from shop.gateways import payment_pages
from shop.models import Notification
from sparkpay import signing

from .conftest import Shop, deliver, sealed, start_shop, statement, text_of
from .test_doctor import APP_ID, MERCHANT_NO, sparkpay_gateway

EXAMPLEPAY_ORDER = {
    "description": "Masala chai, 250 g",
    "amount": "499.00",
    "currency": "INR",
    "payer_name": "Asha Rao",
    "payer_email": "asha@example.com",
    "payer_phone": "9000000000",
}


def outcomes(shop: Shop, request_no: str) -> list[str]:
    return [n.outcome for n in shop.order(request_no).notifications]


def flagged(shop: Shop, manager: requests.Session, request_no: str, reason: str) -> None:
    """The order is as it was, flagged for staff with ``reason``, and its history says so."""
    order = shop.order(request_no)
    assert order.status == "UNPAID"
    assert reason in str(order.needs_attention), order.needs_attention
    assert outcomes(shop, request_no) == ["mismatch"]
    page = text_of(manager.get(f"{shop.url}/orders/{request_no}").text)
    assert "Needs attention:" in page and f"Not applied: {reason}" in page


@pytest.fixture
def unpaid(shop: Shop, manager: requests.Session) -> str:
    """An UNPAID normal order of 12.5 USDT."""
    return shop.create_order(manager, amount="12.5", networks=["2"])


def test_a_signed_completed_statement_without_amount_and_currency_does_not_mark_the_order_paid(
    shop: Shop, manager: requests.Session, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    data = statement(shop, unpaid)
    del data["total_amount"], data["merchant_order_currency"]
    response = deliver(shop, sealed(shop, data, merchant_key, platform_key))
    assert response.text == "SUCCESS", "retrying cannot make it whole: acknowledged, kept for staff"
    flagged(shop, manager, unpaid, "it leaves out the amount")
    assert requests.get(f"{shop.url}/pay/{unpaid}").text.count("Already paid") == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"total_amount": None}, "it leaves out the amount"),
        ({"total_amount": ""}, "it leaves out the amount"),
        ({"merchant_order_currency": ""}, "it leaves out the currency"),  # the key is there, its value not
        ({"merchant_order_currency": None}, "it leaves out the currency"),
        ({"merchant_customer_no": None}, "it leaves out the merchant"),
    ],
)
def test_a_signed_statement_that_leaves_out_a_compared_field_is_flagged(
    shop: Shop,
    manager: requests.Session,
    unpaid: str,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    changes: dict[str, Any],
    reason: str,
) -> None:
    deliver(shop, sealed(shop, statement(shop, unpaid, **changes), merchant_key, platform_key))
    flagged(shop, manager, unpaid, reason)


def test_a_normal_statement_without_any_currency_key_is_read_as_reading_a26_omitted(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    """A26 "omitted": a gateway may name no currency in the normal edition. Its statement still
    must name this merchant and the stored amount; the currency is the order's own."""
    fits, other_amount = (shop.create_order(manager, amount="12.5", networks=["2"]) for _ in range(2))
    for request_no, amount in ((fits, "12.5"), (other_amount, "1.25")):
        data = statement(shop, request_no, total_amount=amount)
        del data["merchant_order_currency"]
        deliver(shop, sealed(shop, data, merchant_key, platform_key))
    assert shop.order(fits).status == "COMPLETED" and outcomes(shop, fits) == ["applied"]
    flagged(shop, manager, other_amount, "amount 1.25 differs from the stored 12.5")


@pytest.mark.parametrize(
    ("left_out", "reason"),
    [("pricing_currency", "it leaves out the currency"), ("pricing_amount", "it leaves out the amount")],
)
def test_a_pro_statement_must_name_its_price_and_currency(
    shop: Shop,
    manager: requests.Session,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    left_out: str,
    reason: str,
) -> None:
    request_no = shop.create_order(manager, edition="pro", amount="49.90", currency="USD", currency_networks=["USDT:2"])
    data = statement(shop, request_no, pricing_amount="49.90", pricing_currency="USD")
    del data["total_amount"], data["merchant_order_currency"], data[left_out]
    deliver(shop, sealed(shop, data, merchant_key, platform_key))
    flagged(shop, manager, request_no, reason)


def test_a_signed_examplepay_payment_without_amount_and_currency_marks_nothing_paid(
    shop: Shop, manager: requests.Session
) -> None:
    """ExamplePay's SDK reads a payment without them as unreadable (both are required in its docs):
    refused, recorded with the reason, and the order left as it was."""
    request_no = shop.create_order(manager, edition="examplepay", **EXAMPLEPAY_ORDER)
    order = shop.order(request_no)
    data = {"paymentNo": order.payment_order_no, "merchantTradeNo": request_no, "status": readings.PAID}
    body, authorization = sign_notification(
        {"event": readings.PAYMENT_EVENT, "data": data},
        app_id=shop.app.config["EXAMPLEPAY_APP_ID"],
        app_secret=shop.app.config["EXAMPLEPAY_APP_SECRET"],
        notify_url=f"{shop.url}/webhooks/examplepay",
        signed_url_form=shop.app.config["EXAMPLEPAY_SIGNED_URL_FORM"],
    )
    response = requests.post(
        f"{shop.url}/webhooks/examplepay",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )
    assert response.status_code == 401
    assert shop.order(request_no).status == "UNPAID"
    with shop.app.app_context():
        (record,) = db.session.scalars(db.select(Notification)).all()
        assert (record.verified, record.outcome) == (False, "rejected") and "amount" in str(record.error)


# --- the payment link -------------------------------------------------------------------------------


@pytest.fixture
def real_mode(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Any]:
    """``real_mode(public_url, **settings)``: a shop in real mode against a SparkPay sandbox served
    alone whose cashier links are on ``public_url``; the shop and a signed-in manager."""
    with ExitStack() as stack:

        def start(public_url: str, **settings: Any) -> tuple[Shop, requests.Session]:
            base_url = stack.enter_context(
                sparkpay_gateway(tmp_path / "gateway", merchant_key, platform_key, public_url=public_url)
            )
            shops = start_shop(
                tmp_path / "shop",
                merchant_key,
                platform_key,
                SPARKPAY_BASE_URL=base_url,
                SPARKPAY_APP_ID=APP_ID,
                SPARKPAY_MERCHANT_NO=MERCHANT_NO,
                SPARKPAY_PLATFORM_PUBLIC_KEY=signing.public_key_pem(platform_key.public_key()).decode(),
                **settings,
            )
            stack.callback(shops.close)
            shop = next(shops)
            return shop, shop.sign_in()

        yield start


def test_a_payment_link_off_the_gateways_host_is_flagged_and_not_shown_to_the_shopper(real_mode: Any) -> None:
    shop, manager = real_mode("https://pay.evil.example/sandbox")
    response = shop.post_order_form(manager, networks=["2"])
    assert response.status_code == 303
    request_no = response.headers["Location"].rsplit("/", 1)[1]

    order = shop.order(request_no)
    assert order.status == "UNPAID", "the gateway holds the order"
    assert order.cashier_url is None
    why = "it is on pay.evil.example, not on the gateway's host 127.0.0.1:"
    assert why in str(order.needs_attention)
    staff_page = text_of(manager.get(f"{shop.url}/orders/{request_no}").text)
    assert "Needs attention:" in staff_page and why in staff_page
    assert "https://pay.evil.example/sandbox/cashier/" in staff_page, "staff see the link that was refused"
    assert "Checkout link for the shopper" not in staff_page

    for path in (f"/pay/{request_no}", f"/checkout/return/{request_no}"):
        shopper_page = requests.get(f"{shop.url}{path}").text
        assert "evil.example" not in shopper_page, path
        assert "Continue to payment" not in shopper_page and "go back and pay" not in shopper_page, path
        assert "This payment cannot be opened" in text_of(shopper_page), path
        assert "ask SparkPay Checkout for a new payment link" in text_of(shopper_page), path


def test_a_payment_link_on_a_host_the_merchant_lists_is_shown(real_mode: Any) -> None:
    shop, manager = real_mode("https://pay.gateway.example/sandbox", SPARKPAY_PAYMENT_HOSTS="pay.gateway.example")
    request_no = shop.create_order(manager, networks=["2"])
    cashier_url = shop.order(request_no).cashier_url
    assert cashier_url is not None and cashier_url.startswith("https://pay.gateway.example/sandbox/cashier/")
    assert f'href="{cashier_url}"' in requests.get(f"{shop.url}/pay/{request_no}").text
    assert not shop.order(request_no).needs_attention


@pytest.mark.parametrize(
    ("url", "gateway_url", "sandboxed", "reason"),
    [
        ("https://api.sparkpay.top/cashier/x", "https://api.sparkpay.top", False, None),
        ("https://API.sparkpay.top:443/cashier/x", "https://api.sparkpay.top", False, None),
        ("https://cashier.sparkpay.top/x", "https://api.sparkpay.top", False, "not on the gateway's host"),
        ("https://api.sparkpay.top.evil.example/x", "https://api.sparkpay.top", False, "not on the gateway's host"),
        ("https://api.sparkpay.top@evil.example/x", "https://api.sparkpay.top", False, "not a well-formed"),
        ("https://api.sparkpay.top:8443/x", "https://api.sparkpay.top", False, "not on the gateway's host"),
        ("http://api.sparkpay.top/x", "https://api.sparkpay.top", False, "plain http to api.sparkpay.top"),
        ("javascript:alert(1)", "https://api.sparkpay.top", False, "not a well-formed"),
        ("https://api.sparkpay.top/\u202ex", "https://api.sparkpay.top", False, "not a well-formed"),
        ("https://api.sparkpay.top/ x", "https://api.sparkpay.top", False, "not a well-formed"),
        ("", "https://api.sparkpay.top", False, "not a well-formed"),
        ("http://127.0.0.1:5001/sandbox/cashier/t", "http://127.0.0.1:5001/sandbox", False, None),
        ("http://127.0.0.1:5000/sandbox/cashier/t", "http://127.0.0.1:5000/sandbox", True, None),
        ("http://127.0.0.1:5000/checkout/x", "http://127.0.0.1:5000/sandbox", True, "sandbox's own address"),
        ("http://127.0.0.1:5000/sandbox/../orders", "http://127.0.0.1:5000/sandbox", True, "sandbox's own address"),
        ("http://127.0.0.1:5000/sandboxed/x", "http://127.0.0.1:5000/sandbox", True, "sandbox's own address"),
        ("http://10.0.0.5:5000/sandbox/cashier/t", "http://10.0.0.5:5000/sandbox", True, "plain http to 10.0.0.5"),
        ("https://shop.example/sandbox/cashier/t", "https://shop.example/sandbox", True, None),
    ],
)
def test_where_a_payment_link_may_lead(url: str, gateway_url: str, sandboxed: bool, reason: str | None) -> None:
    problem = payment_pages.problem(url, gateway_url, sandboxed=sandboxed)
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in str(problem)


def test_a_listed_host_is_https_only() -> None:
    hosts = ("pay.example.com",)
    assert payment_pages.problem("https://pay.example.com/p", "https://api.example.com", also_hosts=hosts) is None
    assert payment_pages.problem("http://pay.example.com/p", "https://api.example.com", also_hosts=hosts)
    assert payment_pages.problem("https://pay.example.com:8443/p", "https://api.example.com", also_hosts=hosts)
