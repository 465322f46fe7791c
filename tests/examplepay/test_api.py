"""Every endpoint of the ExamplePay client against the sandbox over real HTTP, with both
readings of the signed URL form; the hosted page and returnUrl; notifications and refunds."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from examplepay import (
    AuthenticationError,
    ExamplePayClient,
    InvalidRequestError,
    PaymentNotFoundError,
    RefundRequest,
    SignatureVerificationError,
    ValidationError,
)
from examplepay.errors import ApiError
from examplepay.signing import authorize, signed_url
from tests.support import sandbox_token, serve, wait_for

from .conftest import APP_ID, APP_SECRET, Gateway


def test_create_then_query_by_either_number(gateway: Gateway) -> None:
    created = gateway.client.create_payment(gateway.payment_request("T1"))
    assert created.action_url.startswith(gateway.url + "/pay/")
    by_trade_no = gateway.client.query_payment(merchant_trade_no="T1")
    by_payment_no = gateway.client.query_payment(payment_no=created.payment_no)
    assert by_trade_no == by_payment_no
    assert (by_trade_no.payment_no, by_trade_no.amount, by_trade_no.currency, by_trade_no.status) == (
        created.payment_no,
        Decimal("100.05"),
        "INR",
        "PENDING",
    )
    assert by_trade_no.created_time is not None
    offset = by_trade_no.created_time.utcoffset()
    assert offset is not None
    assert by_trade_no.merchant_attach == "cart-7" and offset.total_seconds() == 8 * 3600
    assert not by_trade_no.is_final and by_trade_no.paid_time is None


def test_bad_input_is_refused_before_sending_and_the_gateway_refuses_the_rest(gateway: Gateway) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": "1.005"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"currency": "inr"}, "currency"),
        ({"description": "x" * 81}, "description"),
        ({"notify_url": "/notify"}, "notifyUrl"),
    ]
    for changes, field in cases:
        with pytest.raises(ValidationError) as caught:
            gateway.client.create_payment(gateway.payment_request("T2", **changes))
        assert caught.value.field == field
    with pytest.raises(ValidationError):
        gateway.client.query_payment()
    gateway.client.create_payment(gateway.payment_request("T2"))
    with pytest.raises(InvalidRequestError, match="already used"):
        gateway.client.create_payment(gateway.payment_request("T2"))
    with pytest.raises(PaymentNotFoundError) as missing:
        gateway.client.query_payment(merchant_trade_no="NOPE")
    assert missing.value.meaning == "the payment does not exist"


def test_a_wrong_secret_is_refused_with_401_and_an_unsigned_answer_is_not_trusted(gateway: Gateway) -> None:
    stranger = ExamplePayClient(
        APP_ID,
        "0" * 32,
        base_url=gateway.url,
        signed_url_form=gateway.client.signed_url_form,
        verify_responses="lenient",
        max_retries=0,
    )
    with pytest.raises(AuthenticationError) as refused:
        stranger.create_payment(gateway.payment_request("T3"))
    assert (refused.value.code, refused.value.http_status) == ("Common.Auth.Sign_Failed", 401)
    strict = ExamplePayClient(
        APP_ID, "0" * 32, base_url=gateway.url, signed_url_form=gateway.client.signed_url_form, max_retries=0
    )
    with pytest.raises(SignatureVerificationError, match="not trusted"):
        strict.query_payment(merchant_trade_no="T3")
    body = b'{"merchantTradeNo":"T3"}'
    bare = requests.post(gateway.url + "/pg/v2/payment/query", data=body)
    assert (bare.status_code, bare.json()["code"]) == (401, "Common.Auth.Authorization_Header_Not_Found")
    stale = authorize(
        APP_ID,
        APP_SECRET,
        "POST",
        signed_url(gateway.url + "/pg/v2/payment/query", gateway.client.signed_url_form),
        body,
        clock=lambda: time.time() - 3600,
    )
    late = requests.post(gateway.url + "/pg/v2/payment/query", data=body, headers={"Authorization": stale.header()})
    assert (late.status_code, late.json()["code"]) == (401, "Common.Auth.Sign_Timeout")


def test_the_payer_pays_on_the_hosted_page_and_comes_back_to_return_url(gateway: Gateway) -> None:
    created = gateway.client.create_payment(gateway.payment_request("T4"))
    payer = requests.Session()
    page = payer.get(created.action_url)
    assert page.status_code == 200 and "100.05" in page.text and "Green tea" in page.text
    form = {"sandbox_token": sandbox_token(page.text)}
    back = payer.post(created.action_url, data={"action": "pay", **form}, allow_redirects=False)
    assert back.status_code == 303
    target = urlsplit(back.headers["Location"])
    assert (target.netloc, target.path) == ("shop.test", "/return")
    assert parse_qs(target.query) == {
        "from": ["examplepay"],
        "merchantTradeNo": ["T4"],
        "paymentNo": [created.payment_no],
        "status": ["PAID"],
        "merchantAttach": ["cart-7"],
    }
    paid = gateway.client.query_payment(merchant_trade_no="T4")
    assert paid.is_paid and paid.is_final and paid.paid_time is not None

    notification = wait_for(lambda: gateway.receiver.verified, what="the payment notification")[0]
    assert (notification.event, notification.payment.status, notification.payment.payment_no) == (
        "PAYMENT",
        "PAID",
        created.payment_no,
    )
    cancel = payer.post(created.action_url, data={"action": "cancel", **form}, allow_redirects=False)
    assert cancel.status_code == 303
    assert gateway.client.query_payment(merchant_trade_no="T4").is_paid, "a final payment does not change again"


def test_an_unacknowledged_notification_is_retried_until_ok(gateway: Gateway) -> None:
    gateway.receiver.answers.extend([(500, "oops"), (200, '{"code":"FAIL"}')])
    gateway.client.create_payment(gateway.payment_request("T5"))
    requests.post(gateway.url + "/control/payments/T5/close")
    wait_for(lambda: len(gateway.receiver.verified) == 3, what="three attempts")
    (delivery,) = wait_for(
        lambda: [d for d in requests.get(gateway.url + "/control/deliveries").json() if d["state"] == "delivered"],
        what="the acknowledgement",
    )
    assert [a.get("http_status") for a in delivery["attempts"]] == [500, 200, 200]
    assert {n.payment.status for n in gateway.receiver.verified} == {"CLOSED"}


def test_a_forged_or_altered_notification_is_refused(gateway: Gateway) -> None:
    message = json.dumps(
        {
            "event": "PAYMENT",
            "data": {"paymentNo": "P1", "merchantTradeNo": "T6", "amount": "1.00", "currency": "INR", "status": "PAID"},
        }
    ).encode()
    url = signed_url(gateway.receiver.url, gateway.client.signed_url_form)
    forged = authorize(APP_ID, "0" * 32, "POST", url, message)
    assert (
        requests.post(gateway.receiver.url, data=message, headers={"Authorization": forged.header()}).status_code == 401
    )
    genuine = authorize(APP_ID, APP_SECRET, "POST", url, message)
    assert (
        requests.post(gateway.receiver.url, data=message, headers={"Authorization": genuine.header()}).status_code
        == 200
    )
    altered = message.replace(b"1.00", b"9.00")
    assert (
        requests.post(gateway.receiver.url, data=altered, headers={"Authorization": genuine.header()}).status_code
        == 401
    )
    assert requests.post(gateway.receiver.url, data=message).status_code == 401
    assert len(gateway.receiver.verified) == 1 and len(gateway.receiver.refused) == 3, "only the genuine one is read"


def test_refunds_partial_then_full_with_their_own_notifications(gateway: Gateway) -> None:
    created = gateway.client.create_payment(gateway.payment_request("T7", amount="50.00"))
    with pytest.raises(ApiError, match="only a paid payment"):
        gateway.client.create_refund(RefundRequest("R1", created.payment_no, "10.00", "damaged"))
    requests.post(gateway.url + "/control/payments/T7/pay")
    first = gateway.client.create_refund(RefundRequest("R1", created.payment_no, "20.00", "damaged"))
    assert (first.amount, first.currency, first.payment_no) == (Decimal("20.00"), "INR", created.payment_no)
    assert gateway.client.create_refund(RefundRequest("R1", created.payment_no, "20.00", "damaged")) == first, (
        "the same refund sent again"
    )
    assert gateway.client.query_payment(payment_no=created.payment_no).refund_status == "PARTIALLY_REFUNDED"
    with pytest.raises(ApiError, match=r"at most 30\.00"):
        gateway.client.create_refund(RefundRequest("R2", created.payment_no, "30.01", "too much"))
    gateway.client.create_refund(RefundRequest("R2", created.payment_no, "30.00", "rest"))
    assert gateway.client.query_payment(payment_no=created.payment_no).refund_status == "REFUNDED"
    refunds = wait_for(
        lambda: (
            [n for n in gateway.receiver.verified if n.event == "REFUND"]
            if len([n for n in gateway.receiver.verified if n.event == "REFUND"]) == 2
            else None
        ),
        what="two refund notifications",
    )
    assert [(n.refund.merchant_refund_no, n.payment.refund_status) for n in refunds] == [
        ("R1", "PARTIALLY_REFUNDED"),
        ("R2", "REFUNDED"),
    ]


def test_the_sandbox_runs_alone_and_keeps_its_identity(tmp_path: Path) -> None:
    from examplepay.sandbox import create_app

    first = create_app(instance_path=str(tmp_path))
    identity = tmp_path / "examplepay_sandbox.json"
    assert identity.stat().st_mode & 0o777 == 0o600
    credentials = json.loads(identity.read_text())
    with serve(first) as site:
        client = ExamplePayClient(
            credentials["app_id"], credentials["app_secret"], base_url=site + "/examplepay-sandbox"
        )
        with pytest.raises(PaymentNotFoundError):
            client.query_payment(merchant_trade_no="NONE")
    first.extensions["examplepay_sandbox"].stop()
    second = create_app(instance_path=str(tmp_path))
    assert json.loads(identity.read_text()) == credentials, "the same credentials after a restart"
    second.extensions["examplepay_sandbox"].stop()
