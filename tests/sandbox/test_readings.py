"""Each switchable reading changes what the sandbox does as its alternative says, and the SDK
client reads every alternative (``sparkpay/readings.py``)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import InvalidRequestError, OrderNotFoundError, protocol, readings
from sparkpay.notifications import aes_decrypt, unwrap_aes_key
from tests.support import wait_for

from .conftest import MERCHANT_NO, Gateway, order_body, signed_request
from .test_api import normal_order
from .test_notifications import paid_order


def test_the_readings_are_listed_as_json_and_on_the_home_page(gateway: Gateway) -> None:
    listed = requests.get(f"{gateway.url}/readings", timeout=10).json()
    assert [r["id"] for r in listed] == ["A5", "A8", "A9", "A11", "A12", "A15", "A21", "A22", "A26"]
    a22 = next(r for r in listed if r["id"] == "A22")
    assert (a22["alternatives"], a22["current"], a22["default"]) == (["refused", "idempotent"], "refused", "refused")
    page = requests.get(f"{gateway.url}/", timeout=10).text
    assert '<tr id="reading-A22">' in page and "<code>refused</code> <strong>(current)</strong>" in page


@pytest.mark.readings(A5="success-only", A22="idempotent")
def test_a_chosen_reading_is_current_on_the_page(gateway: Gateway) -> None:
    listed = {r["id"]: r["current"] for r in requests.get(f"{gateway.url}/readings", timeout=10).json()}
    assert listed == readings.defaults() | {"A5": "success-only", "A22": "idempotent"}


def test_choose_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown reading 'A99'"):
        readings.choose("A99=x")
    with pytest.raises(ValueError, match="A5 is one of all-signed, success-only, not 'maybe'"):
        readings.choose("A5=maybe")
    assert readings.choose(" a12 = sha1 ")["A12"] == "sha1"


@pytest.mark.readings(A5="success-only")
def test_a5_success_only_errors_come_unsigned_and_are_read_as_unverified(
    gateway: Gateway, merchant_key: RSAPrivateKey
) -> None:
    with pytest.raises(OrderNotFoundError) as missing:
        gateway.client.query_order("NOSUCHORDER")
    assert (missing.value.code, missing.value.verified) == (43005, False)
    refused = signed_request(gateway.url, "POST", "/v4/pay/cashier", order_body(total_amount="abc"), merchant_key)
    assert refused.status_code == 400 and protocol.RESPONSE_SIGNATURE_HEADER not in refused.headers
    created = gateway.client.create_order(normal_order(gateway))  # a success is still signed and verified
    assert created.cashier_url


def test_a5_all_signed_an_error_is_signed_and_verified(gateway: Gateway) -> None:
    with pytest.raises(OrderNotFoundError) as missing:
        gateway.client.query_order("NOSUCHORDER")
    assert missing.value.verified is True


@pytest.mark.readings(A8="flat")
def test_a8_flat_the_close_answer_has_no_envelope(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    request = normal_order(gateway)
    gateway.client.create_order(request)
    raw = signed_request(
        gateway.url,
        "POST",
        "/v4/pay/orders/close",
        {"request_no": request.request_no, "merchant_no": MERCHANT_NO},
        merchant_key,
    )
    assert raw.json()["request_no"] == request.request_no and "code" not in raw.json()
    other = normal_order(gateway)
    gateway.client.create_order(other)
    assert gateway.client.close_order(other.request_no).request_no == other.request_no
    assert gateway.client.query_order(other.request_no).pay_status == "CLOSED"


@pytest.mark.readings(A9="string")
def test_a9_string_codes_are_read_as_numbers(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    request = normal_order(gateway)
    assert gateway.client.create_order(request).cashier_url
    assert (
        signed_request(gateway.url, "GET", f"/v4/pay/orders/{MERCHANT_NO}/NOPE", None, merchant_key).json()["code"]
        == "43005"
    )
    with pytest.raises(OrderNotFoundError) as missing:
        gateway.client.query_order("NOPE")
    assert missing.value.code == 43005
    with pytest.raises(InvalidRequestError) as refused:
        gateway.client.create_order(request)
    assert refused.value.code == 41023


@pytest.mark.readings(A11="top")
def test_a11_top_the_sign_sits_beside_head_and_still_verifies(gateway: Gateway) -> None:
    paid_order(gateway)
    (entry,) = wait_for(gateway.receiver.verified, what="the notification")
    envelope = json.loads(entry["raw"])
    assert "sign" in envelope and "sign" not in envelope["head"]


@pytest.mark.readings(A12="sha1")
def test_a12_sha1_the_key_is_wrapped_with_mgf1_sha1(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    paid_order(gateway)
    (entry,) = wait_for(gateway.receiver.verified, what="the notification")
    assert entry["mgf1"] == "sha1"
    aes_key, used = unwrap_aes_key(merchant_key, json.loads(entry["raw"])["head"]["aes_key"])
    assert used == "sha1" and aes_decrypt(aes_key, json.loads(entry["raw"])["body"])


@pytest.mark.parametrize("reading", ["completed-only", "closed-too"])
def test_a15_a_close_is_notified_only_under_closed_too(gateway: Gateway, reading: str) -> None:
    gateway.sandbox.readings["A15"] = reading  # the worker reads it at each event
    request = normal_order(gateway)
    gateway.client.create_order(request)
    gateway.client.close_order(request.request_no)
    paid_order(gateway)
    wait_for(
        lambda: any(e["payload"]["pay_status"] == "COMPLETED" for e in gateway.receiver.verified()), what="the payment"
    )
    told = [
        e["payload"]["pay_status"]
        for e in gateway.receiver.verified()
        if e["payload"]["request_no"] == request.request_no
    ]
    assert told == (["CLOSED"] if reading == "closed-too" else [])


@pytest.mark.parametrize("key", ["merchant_order_currency", "currency", "omitted"])
def test_a26_the_query_names_its_currency_under_any_key_or_none(gateway: Gateway, key: str) -> None:
    gateway.sandbox.readings["A26"] = key
    request = normal_order(gateway)
    gateway.client.create_order(request)
    order = gateway.client.query_order(request.request_no)
    assert (order.currency or None) == (None if key == "omitted" else "USDT")
    assert order.amount == Decimal("12.5")


def test_an_unknown_path_answers_the_gateways_error_envelope(gateway: Gateway) -> None:
    for method, path, code in (("POST", "/v4/pay/nope", 43005), ("GET", "/nope", 40009)):
        response = requests.request(method, f"{gateway.url}{path}", timeout=10)
        assert response.headers["Content-Type"] == "application/json", (method, path)
        assert response.json()["code"] == code and "no such endpoint" in response.json()["message"]
