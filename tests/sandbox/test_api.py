"""The sandbox's API driven by the SDK and by hand-built requests over real HTTP."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import (
    CurrencyNetworks,
    GatewayServerError,
    InvalidRequestError,
    OrderAlreadyClosedError,
    OrderNotClosableError,
    OrderNotFoundError,
    OrderRequest,
    ProOrderRequest,
    SignatureVerificationError,
    TransportError,
    signing,
)
from sparkpay.sandbox.rules import MERCHANT_CA_ADDRESS, OTHER_MERCHANT_NO
from tests.support import wait_for

from .conftest import MERCHANT_NO, Gateway, order_body, signed_request

SELLER = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20


def normal_order(gateway: Gateway, **changes: Any) -> OrderRequest:
    now = int(time.time())
    fields: dict[str, Any] = dict(
        request_no=f"R{time.time_ns()}",
        merchant_order_no="INV-1",
        merchant_application_user_id="u-42",
        merchant_order_time=now,
        merchant_order_timeout=now + 1800,
        merchant_order_desc="Order #1",
        goods_info="T-shirt x1",
        notify_url=f"{gateway.receiver.url}/notify",
        redirect_url="https://shop.example/return",
        total_amount="12.5",
        merchant_order_currency="USDT",
        receive_network=(2, 4),
    )
    fields.update(changes)
    return OrderRequest(**fields)


def test_normal_order_lifecycle_with_notification(gateway: Gateway) -> None:
    request = normal_order(gateway)
    created = gateway.client.create_order(request)
    assert created.cashier_url.startswith(gateway.url + "/cashier/")
    unpaid = gateway.client.query_order(request.request_no)
    assert (unpaid.pay_status, unpaid.amount, unpaid.currency) == ("UNPAID", request.total_amount, "USDT")
    assert unpaid.receive_network == (2, 4) and unpaid.payment_order_no == created.payment_order_no

    gateway.control("POST", f"/orders/{request.request_no}/pay", json={"network": 4})
    paid = gateway.client.query_order(request.request_no)
    assert paid.pay_status == "COMPLETED" and paid.pay_time and paid.completed_time
    assert paid.pay_network_info is not None and paid.pay_network_info.tx_hash is not None
    assert paid.pay_network_info.pay_network == 4 and paid.pay_network_info.tx_hash.startswith("0x")
    assert paid.real_pay_amount == request.total_amount

    (notification,) = wait_for(gateway.receiver.verified, what="the notification")
    assert notification["payload"]["request_no"] == request.request_no
    assert notification["payload"]["pay_status"] == "COMPLETED"
    assert notification["payload"]["pay_network_info"]["tx_hash"] == paid.pay_network_info.tx_hash


def test_pro_order_priced_in_fiat_paid_in_a_chosen_pair(gateway: Gateway) -> None:
    now = int(time.time())
    request = ProOrderRequest(
        request_no=f"P{time.time_ns()}",
        merchant_order_no="INV-2",
        merchant_application_user_id="u-1",
        merchant_order_time=now,
        merchant_order_timeout=now + 600,
        merchant_order_desc="Pro order",
        goods_info="Mug",
        notify_url=f"{gateway.receiver.url}/notify",
        pricing_amount=Decimal("49.9"),
        pricing_currency="USD",
        available_payment_currency_networks=(CurrencyNetworks("USDT", (4, 2)), CurrencyNetworks("ETH", ())),
    )
    gateway.client.create_pro_order(request)
    order = gateway.client.query_pro_order(request.request_no)
    assert order.is_pro and (order.pricing_amount, order.pricing_currency) == (request.pricing_amount, "USD")
    pairs = {p.currency: set(p.networks) for p in order.available_payment_currency_networks}
    assert pairs["USDT"] == {2, 4} and pairs["ETH"] == {2}, "empty networks means every network carrying ETH (A20)"
    gateway.control("POST", f"/orders/{request.request_no}/pay", json={"offer": "USDT:4"})
    paid_info = gateway.client.query_pro_order(request.request_no).pay_network_info
    assert paid_info is not None and paid_info.pay_network == 4
    with pytest.raises(OrderNotFoundError):
        gateway.client.query_order(request.request_no)  # a Pro order is not found by the normal query


def test_close_and_its_refusals(gateway: Gateway) -> None:
    open_order, paid_order = normal_order(gateway), normal_order(gateway, request_no=f"Q{time.time_ns()}")
    gateway.client.create_order(open_order)
    gateway.client.create_order(paid_order)
    result = gateway.client.close_order(open_order.request_no)
    assert (result.request_no, result.merchant_no, result.merchant_order_no) == (
        open_order.request_no,
        MERCHANT_NO,
        "INV-1",
    )
    closed = gateway.client.query_order(open_order.request_no)
    assert closed.pay_status == "CLOSED" and closed.closed_time
    with pytest.raises(OrderAlreadyClosedError) as already:
        gateway.client.close_order(open_order.request_no)
    assert already.value.code == 43007
    gateway.control("POST", f"/orders/{paid_order.request_no}/pay")
    with pytest.raises(OrderNotClosableError) as not_closable:
        gateway.client.close_order(paid_order.request_no)
    assert not_closable.value.code == 43006
    with pytest.raises(OrderNotFoundError):
        gateway.client.close_order("NO_SUCH_ORDER")
    with pytest.raises(OrderNotFoundError) as not_found:
        gateway.client.query_order("NO_SUCH_ORDER")
    assert (not_found.value.code, not_found.value.http_status) == (43005, 404)


def test_an_unpaid_order_closes_at_its_deadline(gateway: Gateway) -> None:
    now = int(time.time())
    request = normal_order(gateway, merchant_order_time=now, merchant_order_timeout=now + 2)
    gateway.client.create_order(request)
    closed = wait_for(
        lambda: (o := gateway.client.query_order(request.request_no)).pay_status == "CLOSED" and o, what="the deadline"
    )
    assert closed.closed_time == request.merchant_order_timeout


@pytest.mark.readings(A22="idempotent")
def test_a22_idempotent_a_same_content_resend_gets_the_order_again_whatever_its_case(
    gateway: Gateway, merchant_key: RSAPrivateKey
) -> None:
    request = normal_order(gateway, request_no=f"abc_{time.time_ns()}")
    first = gateway.client.create_order(request)
    again = gateway.client.create_order(request)
    assert again.cashier_url == first.cashier_url and again.payment_order_no == first.payment_order_no
    assert gateway.client.query_order(request.request_no.upper()).request_no == request.request_no
    folded = signed_request(
        gateway.url,
        "POST",
        "/v4/pay/cashier",
        request.to_payload(MERCHANT_NO) | {"request_no": request.request_no.upper()},
        merchant_key,
    )
    assert folded.json()["data"]["payment_order_no"] == first.payment_order_no, "A21 fold: the same request number"
    different = signed_request(
        gateway.url,
        "POST",
        "/v4/pay/cashier",
        order_body(request_no=request.request_no.upper(), total_amount="99"),
        merchant_key,
    )
    assert different.json()["code"] == 41023


def test_a22_refused_by_default_a_resend_is_refused_and_the_order_stays_one(gateway: Gateway) -> None:
    request = normal_order(gateway, request_no=f"abc_{time.time_ns()}")
    gateway.client.create_order(request)
    with pytest.raises(InvalidRequestError) as refused:
        gateway.client.create_order(request)
    assert (refused.value.code, refused.value.verified) == (41023, True)
    assert gateway.client.query_order(request.request_no.upper()).pay_status == "UNPAID"
    assert len(gateway.sandbox.store.orders()) == 1


@pytest.mark.readings(A21="exact", A22="idempotent")
def test_a21_exact_request_numbers_differing_in_case_are_two_orders(gateway: Gateway) -> None:
    lower = normal_order(gateway, request_no=f"abc_{time.time_ns()}")
    upper = replace(lower, request_no=lower.request_no.upper())
    first, second = gateway.client.create_order(lower), gateway.client.create_order(upper)
    assert first.payment_order_no != second.payment_order_no
    with pytest.raises(OrderNotFoundError):
        gateway.client.query_order("Abc" + lower.request_no[3:])
    assert gateway.client.query_order(upper.request_no).payment_order_no == second.payment_order_no


@pytest.mark.readings(A22="idempotent")
def test_a_resend_of_an_old_request_still_gets_its_order(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    body = order_body(merchant_order_timeout=int(time.time()) + 2)
    assert signed_request(gateway.url, "POST", "/v4/pay/cashier", body, merchant_key).json()["code"] == 0
    time.sleep(2.5)  # past the deadline: a fresh create would be refused with 41012
    again = signed_request(gateway.url, "POST", "/v4/pay/cashier", body, merchant_key)
    assert again.json()["code"] == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"goods_info": None}, 40003),
        ({"notify_url": None}, 40003),
        ({"merchant_order_time": "yesterday"}, 40009),
        ({"total_amount": 12.5}, 40009),
        ({"merchant_no": "MUNKNOWN"}, 40008),
        ({"merchant_no": OTHER_MERCHANT_NO}, 40007),
        ({"notify_url": "not a url"}, 41001),
        ({"redirect_url": "ftp://shop.example"}, 41000),
        ({"merchant_order_currency": "DOGE"}, 41009),
        ({"total_amount": "abc"}, 41013),
        ({"total_amount": "1.1234567"}, 41018),
        ({"total_amount": "1.25e1"}, 41013),
        ({"total_amount": " 12.5"}, 41013),
        ({"total_amount": "+12.5"}, 41013),
        ({"receive_network": "2, 4"}, 40009),
        (
            {"merchant_order_time": int(time.time() * 1000), "merchant_order_timeout": int(time.time() * 1000) + 1},
            40009,
        ),
        ({"merchant_order_timeout": int(time.time()) + 400 * 24 * 3600}, 40009),
        ({"merchant_order_timeout": int(time.time()) - 10, "merchant_order_time": int(time.time())}, 41021),
        ({"merchant_order_time": int(time.time()) - 100, "merchant_order_timeout": int(time.time()) - 10}, 41012),
        ({"request_no": "has spaces"}, 41023),
        ({"receive_network": "1"}, 41027),
        ({"receive_network": "5"}, 41031),
        ({"total_amount": "0.05"}, 41028),
        ({"divide_detail": {"seller_amount": "10", "seller_addr": SELLER, "merchant_amount": "2"}}, 41008),
        (
            {"divide_detail": {"seller_amount": "10.0000001", "seller_addr": SELLER, "merchant_amount": "2.4999999"}},
            41019,
        ),
        ({"divide_detail": {"seller_amount": "-1", "seller_addr": SELLER, "merchant_amount": "13.5"}}, 41014),
        ({"divide_detail": {"seller_amount": "10", "seller_addr": "nope", "merchant_amount": "2.5"}}, 41032),
        (
            {"divide_detail": {"seller_amount": "10", "seller_addr": MERCHANT_CA_ADDRESS, "merchant_amount": "2.5"}},
            41034,
        ),
        (
            {
                "divide_detail": {
                    "seller_amount": "12",
                    "seller_addr": SELLER,
                    "merchant_amount": "0.05",
                    "other_details": [{"receiver_addr": OTHER, "amount": "0.45"}],
                }
            },
            41007,
        ),
        (
            {
                "divide_detail": {
                    "seller_amount": "10",
                    "seller_addr": SELLER,
                    "merchant_amount": "2",
                    "other_details": [{"receiver_addr": SELLER, "amount": "0.5"}],
                }
            },
            41029,
        ),
        (
            {
                "divide_detail": {
                    "seller_amount": "10",
                    "seller_addr": SELLER,
                    "merchant_amount": "1.5",
                    "other_details": [
                        {"receiver_addr": OTHER, "amount": "0.5"},
                        {"receiver_addr": OTHER, "amount": "0.5"},
                    ],
                }
            },
            41033,
        ),
        (
            {
                "divide_detail": {
                    "seller_amount": "2",
                    "seller_addr": SELLER,
                    "merchant_amount": "4.5",
                    "other_details": [{"receiver_addr": "0x" + f"{i:040x}", "amount": "1"} for i in range(1, 7)],
                }
            },
            43011,
        ),
        ({"divide_detail": {"seller_amount": "", "seller_addr": SELLER, "merchant_amount": "2.5"}}, 41015),
        ({"divide_detail": {"seller_amount": "10", "seller_addr": SELLER}}, 41026),
    ],
)
def test_create_refusals_carry_the_documented_code(
    gateway: Gateway, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, changes: dict[str, Any], code: int
) -> None:
    response = signed_request(gateway.url, "POST", "/v4/pay/cashier", order_body(**changes), merchant_key)
    envelope = response.json()
    assert envelope["code"] == code, envelope
    assert response.status_code == (401 if code in (40007,) else 400)
    assert envelope["message"] and envelope["data"] is None
    signing.verify_message(
        platform_key.public_key(),
        response.content,
        signing.SignedHeaders(
            response.headers["Sparkpay-Timestamp"],
            response.headers["Sparkpay-Nonce"],
            response.headers["Sparkpay-Signature"],
        ),
    )


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ([{"currency": "USDT", "networks": [2]}, {"currency": "USDT", "networks": [4]}], 41036),
        ([{"currency": "USDT", "networks": [2, 2]}], 41037),
        ([{"currency": "USDT", "networks": [9]}], 41027),
        ([{"currency": "IRIS", "networks": [2]}], 41031),
        ([{"currency": "DOGE", "networks": []}], 41009),
    ],
)
def test_pro_pair_refusals(
    gateway: Gateway, merchant_key: RSAPrivateKey, pairs: list[dict[str, Any]], code: int
) -> None:
    body = order_body(
        total_amount=None,
        merchant_order_currency=None,
        receive_network=None,
        pricing_amount="10",
        pricing_currency="USD",
        available_payment_currency_networks=pairs,
    )
    assert signed_request(gateway.url, "POST", "/v4/pro/pay/cashier", body, merchant_key).json()["code"] == code


def test_a_pro_price_below_every_minimum_fee_is_refused_41038(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    body = order_body(
        total_amount=None,
        merchant_order_currency=None,
        receive_network=None,
        pricing_amount="0.01",
        pricing_currency="USD",
    )
    assert signed_request(gateway.url, "POST", "/v4/pro/pay/cashier", body, merchant_key).json()["code"] == 41038


@pytest.mark.parametrize(
    ("headers", "code", "status"),
    [
        ({"User-Agent": ""}, 40003, 400),
        ({"Sparkpay-App-Id": None}, 40003, 400),
        ({"Sparkpay-App-Id": "APPUNKNOWN"}, 40002, 401),
        ({"Sparkpay-Signature": None}, 40000, 401),
        ({"Sparkpay-Signature": "bm90IGEgc2lnbmF0dXJl"}, 40000, 401),
        ({"Sparkpay-Timestamp": str(int(time.time()) - 3600)}, 40000, 401),
        ({"Content-Type": "text/plain"}, 40009, 400),
    ],
)
def test_request_authentication(
    gateway: Gateway, merchant_key: RSAPrivateKey, headers: dict[str, str | None], code: int, status: int
) -> None:
    response = signed_request(gateway.url, "POST", "/v4/pay/cashier", order_body(), merchant_key, headers=headers)
    assert (response.json()["code"], response.status_code) == (code, status)


def test_a_request_signed_with_another_key_or_replayed_is_refused(
    gateway: Gateway, merchant_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    assert signed_request(gateway.url, "POST", "/v4/pay/cashier", order_body(), other_key).json()["code"] == 40000
    body = json.dumps(order_body()).encode()
    signed = signing.sign_message(merchant_key, body)
    headers = {
        "User-Agent": "t",
        "Content-Type": "application/json",
        "Sparkpay-App-Id": "APPSANDBOXTEST",
        "Sparkpay-Signature": signed.signature,
        "Sparkpay-Timestamp": signed.timestamp,
        "Sparkpay-Nonce": signed.nonce,
    }
    import requests

    assert requests.post(f"{gateway.url}/v4/pay/cashier", data=body, headers=headers).json()["code"] == 0
    replay = requests.post(f"{gateway.url}/v4/pay/cashier", data=body, headers=headers).json()
    assert replay["code"] == 40000 and "nonce" in replay["message"]


def test_get_requests_sign_an_empty_body(gateway: Gateway, merchant_key: RSAPrivateKey) -> None:
    body = order_body()
    signed_request(gateway.url, "POST", "/v4/pay/cashier", body, merchant_key)
    response = signed_request(
        gateway.url, "GET", f"/v4/pay/orders/{MERCHANT_NO}/{body['request_no']}", None, merchant_key
    )
    assert response.json()["data"]["pay_status"] == "UNPAID"
    wrong = signed_request(
        gateway.url, "GET", f"/v4/pay/orders/{MERCHANT_NO}/{body['request_no']}", None, merchant_key, raw=b"{}"
    )
    assert wrong.json()["code"] == 40000


def test_api_faults(gateway: Gateway) -> None:
    gateway.faults(api_http_500=1)
    with pytest.raises(GatewayServerError):
        gateway.client.create_order(normal_order(gateway))
    gateway.client.create_order(normal_order(gateway))  # only the next one failed
    gateway.faults(api_bad_signature=1)
    with pytest.raises(SignatureVerificationError):
        gateway.client.query_order("ANY")
    gateway.faults(api_lost_answer=1)
    lost = normal_order(gateway)
    with pytest.raises(GatewayServerError):
        gateway.client.create_order(lost)
    assert gateway.client.query_order(lost.request_no).pay_status == "UNPAID", "done, though its answer was lost"
    gateway.faults(api_delay=1, api_delay_seconds=1.5)
    slow = type(gateway.client)(
        gateway.client.app_id,
        MERCHANT_NO,
        gateway.client._private_key,
        gateway.client._platform_public_key,
        base_url=gateway.url,
        max_retries=0,
        timeout=(1, 0.5),
    )
    with pytest.raises(TransportError):
        slow.query_order("ANY")
    slow.close()
    assert gateway.control("POST", "/faults", json={"no_such_switch": 1}).status_code == 400
    assert gateway.control("POST", "/faults", json={"api_http_500": "often"}).status_code == 400
