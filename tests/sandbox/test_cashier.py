"""The hosted cashier page, the sandbox's home page, and the sandbox running alone."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import OrderRequest, SparkPayClient, signing
from sparkpay.sandbox import create_app
from tests.support import sandbox_token, serve, wait_for

from .conftest import Gateway


def create(gateway: Gateway, **changes: Any) -> tuple[str, str]:
    now = int(time.time())
    fields: dict[str, Any] = dict(
        request_no=f"K{time.time_ns()}",
        merchant_order_no="INV-7",
        merchant_application_user_id="u-7",
        merchant_order_time=now,
        merchant_order_timeout=now + 900,
        merchant_order_desc="Green tea",
        goods_info="250 g",
        notify_url=f"{gateway.receiver.url}/notify",
        redirect_url="https://shop.example/return/7",
        total_amount="24.9",
        receive_network=(2, 4),
    )
    fields.update(changes)
    request = OrderRequest(**fields)
    return request.request_no, gateway.client.create_order(request).cashier_url


def test_cashier_shows_the_order_networks_addresses_and_a_countdown(gateway: Gateway) -> None:
    _, cashier_url = create(gateway)
    page = requests.get(cashier_url)
    assert page.status_code == 200
    for text in (
        "Green tea",
        "24.9",
        "USDT on Ethereum",
        "USDT on Polygon",
        "data-deadline=",
        "data:image/svg+xml;base64,",
        "Cancel and return to the shop",
    ):
        assert text in page.text, text
    assert len(set(re.findall(r"0x[0-9a-f]{40}", page.text))) == 2, "one deposit address per network"


def test_cashier_loads_nothing_from_elsewhere_and_has_no_inline_code(gateway: Gateway) -> None:
    _, cashier_url = create(gateway)
    page = requests.get(cashier_url)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert not url.startswith(("http:", "https:", "//")) or url == "https://shop.example/return/7", url
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text) and " style=" not in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_paying_on_the_cashier_sends_the_shopper_back_and_notifies(gateway: Gateway) -> None:
    request_no, cashier_url = create(gateway)
    token = cashier_url.rsplit("/", 1)[1]
    shopper = requests.Session()
    form = {"offer": "USDT:4", "sandbox_token": sandbox_token(shopper.get(cashier_url).text)}
    response = shopper.post(f"{cashier_url}/pay", data=form, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "https://shop.example/return/7"
    order = gateway.client.query_order(request_no)
    assert order.pay_network_info is not None
    assert order.pay_status == "COMPLETED" and order.pay_network_info.pay_network == 4
    wait_for(gateway.receiver.verified, what="the notification")
    again = requests.get(f"{gateway.url}/cashier/{token}")
    assert "Paid. Thank you." in again.text and "Pay (simulate" not in again.text


def test_an_expired_order_cannot_be_paid(gateway: Gateway) -> None:
    request_no, cashier_url = create(gateway)
    shopper = requests.Session()
    form = {"offer": "USDT:2", "sandbox_token": sandbox_token(shopper.get(cashier_url).text)}
    gateway.control("POST", f"/orders/{request_no}/expire")
    assert "This payment is closed" in requests.get(cashier_url).text
    refused = shopper.post(f"{cashier_url}/pay", data=form, allow_redirects=False)
    assert refused.status_code == 409 and "CLOSED" in refused.text
    assert requests.get(f"{gateway.url}/cashier/not-a-token").status_code == 404


def test_home_page_lists_orders_deliveries_switches_and_readings(gateway: Gateway) -> None:
    request_no, _ = create(gateway)
    gateway.control("POST", f"/orders/{request_no}/pay")
    wait_for(gateway.receiver.verified, what="the notification")
    owner = requests.Session()
    page = owner.get(f"{gateway.url}/").text
    for text in (request_no, "COMPLETED", "HTTP 200", "notify drop", "A22", "Readings"):
        assert text in page, text
    form = {"notify_drop": "2", "sandbox_token": sandbox_token(page)}
    form_post = owner.post(f"{gateway.url}/control/faults", data=form, allow_redirects=False)
    assert form_post.status_code == 303
    assert gateway.control("GET", "/faults").json()["faults"]["notify_drop"] == 2


def test_the_sandbox_runs_alone(tmp_path: Path, merchant_key: RSAPrivateKey) -> None:
    app = create_app(
        {"SANDBOX_MERCHANT_PUBLIC_KEY": signing.public_key_pem(merchant_key.public_key()).decode()},
        instance_path=str(tmp_path),
    )
    try:
        identity = json.loads((tmp_path / "sandbox.json").read_text())
        with serve(app) as url:
            client = SparkPayClient(
                identity["app_id"],
                identity["merchant_no"],
                merchant_key,
                tmp_path / "platform_public.pem",
                base_url=f"{url}/sandbox",
            )
            now = int(time.time())
            created = client.create_order(
                OrderRequest(
                    request_no="ALONE_1",
                    merchant_order_no="1",
                    merchant_application_user_id="u",
                    merchant_order_time=now,
                    merchant_order_timeout=now + 60,
                    merchant_order_desc="d",
                    goods_info="g",
                    notify_url="http://127.0.0.1:9/n",
                    total_amount=Decimal("1"),
                )
            )
            assert created.cashier_url.startswith(f"{url}/sandbox/cashier/")
            assert requests.get(url + "/").url == f"{url}/sandbox/"
            client.close()
    finally:
        app.extensions["sparkpay_sandbox"].stop()
