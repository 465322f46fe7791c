"""The sandbox as strict as ExamplePay's docs: single-use nonces, the documented field lengths,
the payer's fields, the market's currencies, an Authorization header read as a server may write it,
and the gateway's envelope for any path or method it does not serve. The SDK refuses the same
fields before sending, so its user gets a field error rather than a gateway refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, request

from examplepay import ApiError, ExamplePayClient, InvalidRequestError, Payer, ValidationError
from examplepay.sandbox import BASE_PATH
from examplepay.signing import authorize, signed_url
from tests.support import serve

from .conftest import APP_ID, APP_SECRET, Gateway, Receiver, running_gateway


def body_of(gateway: Gateway, merchant_trade_no: str, **changes: Any) -> dict[str, Any]:
    """The SDK's create body for a payment, changed: ``payer_name="x"`` sets body["payer"]["name"]."""
    body = gateway.payment_request(merchant_trade_no).to_payload()
    for name, value in changes.items():
        group, _, key = name.rpartition("_")
        target = body.setdefault(group, {}) if group else body
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return body


def header_for(gateway: Gateway, path: str, raw: bytes) -> str:
    url = signed_url(gateway.url + "/pg/v2" + path, gateway.client.signed_url_form)
    return authorize(APP_ID, APP_SECRET, "POST", url, raw).header()


def send(gateway: Gateway, path: str, body: dict[str, Any], header: str | None = None) -> requests.Response:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return requests.post(
        gateway.url + "/pg/v2" + path,
        data=raw,
        headers={"Authorization": header or header_for(gateway, path, raw), "Content-Type": "application/json"},
    )


# --- nonces -------------------------------------------------------------------------------------


def test_a_nonce_is_taken_once(gateway: Gateway) -> None:
    gateway.client.create_payment(gateway.payment_request("N1"))
    raw = b'{"merchantTradeNo":"N1"}'
    header = header_for(gateway, "/payment/query", raw)
    first = requests.post(gateway.url + "/pg/v2/payment/query", data=raw, headers={"Authorization": header})
    assert (first.status_code, first.json()["code"]) == (200, "OK")
    replayed = requests.post(gateway.url + "/pg/v2/payment/query", data=raw, headers={"Authorization": header})
    assert replayed.status_code == 401
    assert replayed.json() == {
        "code": "Common.Auth.Sign_Failed",
        "errorMessage": "the nonce was used already",
        "data": None,
    }
    assert gateway.client.query_payment(merchant_trade_no="N1").status == "PENDING", "the client's fresh nonces pass"
    unsigned = requests.post(
        gateway.url + "/pg/v2/payment/query", data=raw, headers={"Authorization": header.replace("sign=", "sign=0")}
    )
    assert unsigned.json()["code"] == "Common.Auth.Invalid_Sign", "a bad header is refused before its nonce counts"


# --- fields -----------------------------------------------------------------------------------

#: Each documented maximum length (§7.1), one character over it.
TOO_LONG = [
    ("merchantTradeNo", "T" * 51),
    ("description", "d" * 81),
    ("merchantAttach", "a" * 256),
    ("notifyUrl", "http://shop.test/" + "n" * 239),
    ("returnUrl", "http://shop.test/" + "r" * 239),
    ("payer_userId", "u" * 65),
    ("payer_name", "n" * 81),
    ("payer_email", "e" * 69 + "@example.com"),
    ("payer_phone", "9" * 21),
    ("payer_documentType", "t" * 21),
    ("payer_document", "d" * 65),
    ("tradeEnv_deviceId", "x" * 51),
    ("tradeEnv_ip", "1" * 33),
]


@pytest.mark.parametrize(("name", "value"), TOO_LONG, ids=[name for name, _ in TOO_LONG])
def test_a_field_longer_than_documented_is_refused_by_the_sandbox_and_before_sending(
    gateway: Gateway, name: str, value: str
) -> None:
    shown = name.replace("_", ".")
    refused = send(gateway, "/payment/create", body_of(gateway, "L1", **{name: value}))
    assert refused.status_code == 200
    assert refused.json()["code"] == "Common.Request_Parameter_Error"
    assert refused.json()["errorMessage"] == f"{shown} is longer than {len(value) - 1} characters"
    at_limit = send(gateway, "/payment/create", body_of(gateway, "L1", **{name: value[:-1]}))
    assert at_limit.json()["code"] == "OK", at_limit.json()

    group, _, key = name.rpartition("_")
    if group == "payer":
        payer = gateway.payment_request("L2").payer
        request = gateway.payment_request("L2", payer=Payer(**{**payer.__dict__, PAYER_ATTRIBUTE[key]: value}))
    elif group == "tradeEnv":
        request = gateway.payment_request("L2", trade_env={key: value})
    elif key == "merchantTradeNo":
        request = gateway.payment_request(value)
    else:
        request = gateway.payment_request("L2", **{REQUEST_ATTRIBUTE[key]: value})
    with pytest.raises(ValidationError) as caught:
        gateway.client.create_payment(request)
    assert (caught.value.field, caught.value.reason) == (shown, f"is longer than {len(value) - 1} characters")


PAYER_ATTRIBUTE = {
    "userId": "user_id",
    "name": "name",
    "email": "email",
    "phone": "phone",
    "documentType": "document_type",
    "document": "document",
}
REQUEST_ATTRIBUTE = {
    "description": "description",
    "merchantAttach": "merchant_attach",
    "notifyUrl": "notify_url",
    "returnUrl": "return_url",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payer": None}, "payer must be an object"),
        ({"payer_email": None}, "payer.email is required and must be a string"),
        ({"payer_phone": ""}, "payer.phone is required and must be a string"),
        ({"payer_userId": 7}, "payer.userId is required and must be a string"),
        ({"payer_email": "asha.example.com"}, "payer.email is not an email address"),
        ({"payer_email": "asha@localhost"}, "payer.email is not an email address"),
        ({"payMethod": None}, "payMethod must be an object"),
        ({"description": None}, "description is required and must be a string"),
        ({"currency": "USD"}, "currency USD is not supported"),
        ({"currency": "BRL"}, "payMethod.type must be a PIX type for BRL"),
        ({"payMethod_type": "CARD"}, "payMethod.type must be a UPI type for INR"),
        ({"amount": "100"}, "amount must be 1-15 digits, a point and 2 decimals, above zero"),
    ],
)
def test_the_payer_currency_and_method_are_checked(gateway: Gateway, changes: dict[str, Any], message: str) -> None:
    refused = send(gateway, "/payment/create", body_of(gateway, "P1", **changes))
    assert (refused.json()["code"], refused.json()["errorMessage"]) == ("Common.Request_Parameter_Error", message)
    assert requests.get(gateway.url + "/control/payments").json() == []


def test_the_sdk_refuses_a_bad_email_first_and_the_gateway_the_currencies_it_does_not_take(gateway: Gateway) -> None:
    with pytest.raises(ValidationError) as caught:
        gateway.client.create_payment(
            gateway.payment_request("P2", payer=Payer("u1", "Asha", "asha.example.com", "9000000000"))
        )
    assert (caught.value.field, caught.value.reason) == ("payer.email", "is not an email address")
    with pytest.raises(InvalidRequestError, match="currency USD is not supported") as usd:
        gateway.client.create_payment(gateway.payment_request("P3", currency="USD"))
    assert usd.value.code == "Common.Request_Parameter_Error"
    reais = gateway.client.create_payment(gateway.payment_request("P4", currency="BRL", pay_method="PIX_QRCODE"))
    assert gateway.client.query_payment(payment_no=reais.payment_no).currency == "BRL"
    documented = Payer("u1", "Asha", "asha@example.com", "9000000000", document_type="CPF", document="12345678900")
    gateway.client.create_payment(gateway.payment_request("P5", payer=documented, trade_env={"ip": "10.0.0.1"}))
    stored = gateway.engine.request_of(gateway.client.query_payment(merchant_trade_no="P5").payment_no)
    assert (stored["payer"]["documentType"], stored["tradeEnv"]) == ("CPF", {"ip": "10.0.0.1"})


def test_refund_and_query_fields_are_checked_too(gateway: Gateway) -> None:
    long_no = send(gateway, "/payment/query", {"paymentNo": "P" * 33})
    assert long_no.json()["errorMessage"] == "paymentNo is longer than 32 characters"
    both = send(gateway, "/payment/query", {"paymentNo": "P1", "merchantTradeNo": "T1"})
    assert both.json()["errorMessage"] == "give one of merchantTradeNo and paymentNo"
    refund = send(
        gateway,
        "/refund/create",
        {"merchantRefundNo": "R" * 51, "paymentNo": "P1", "amount": "1.00", "description": "x"},
    )
    assert refund.json()["errorMessage"] == "merchantRefundNo is longer than 50 characters"
    with pytest.raises(ValidationError, match="merchantTradeNo: is longer than 50 characters"):
        gateway.client.query_payment(merchant_trade_no="T" * 51)


# --- the Authorization header as written by someone else -------------------------------------------


def test_the_sandbox_takes_a_header_in_another_order_with_spaces(gateway: Gateway) -> None:
    gateway.client.create_payment(gateway.payment_request("H1"))
    raw = b'{"merchantTradeNo":"H1"}'
    documented = header_for(gateway, "/payment/query", raw)
    parameters = dict(part.split("=", 1) for part in documented.removeprefix("V2_SHA256 ").split(","))
    reordered = "V2_SHA256 " + ", ".join(f"{k}={parameters[k]}" for k in ("nonce", "appId", "sign", "timestamp"))
    taken = requests.post(gateway.url + "/pg/v2/payment/query", data=raw, headers={"Authorization": reordered})
    assert (taken.status_code, taken.json()["code"]) == (200, "OK")
    for broken in (
        reordered.replace(f", timestamp={parameters['timestamp']}", ""),
        reordered + f", nonce={parameters['nonce']}",
        reordered.replace("V2_SHA256", "V3_SHA256"),
        reordered.replace(parameters["sign"], parameters["sign"][:-1] + "z"),
    ):
        refused = requests.post(gateway.url + "/pg/v2/payment/query", data=raw, headers={"Authorization": broken})
        assert (refused.status_code, refused.json()["code"]) == (401, "Common.Auth.Invalid_Sign"), broken


@pytest.fixture
def behind_a_proxy(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Gateway, str]]:
    """The sandbox (signing the path form, the one a proxy leaves unchanged) behind something that
    rewrites each answer's header: parameters reversed, spaces after the commas, the sign in upper
    case (what another server may well send). Yields the gateway and the proxy's base URL."""
    app = Flask("proxy")
    with running_gateway(tmp_path, receiver, {"A2": "path"}) as gateway:

        @app.post("/<path:path>")
        def forward(path: str) -> Response:
            upstream = requests.post(
                f"{gateway.url.removesuffix(BASE_PATH)}/{path}",
                data=request.get_data(),
                headers={"Authorization": request.headers["Authorization"]},
            )
            parameters = upstream.headers["Authorization"].removeprefix("V2_SHA256 ").split(",")
            sign = next(p for p in parameters if p.startswith("sign=")).removeprefix("sign=")
            rewritten = ("V2_SHA256 " + ", ".join(reversed(parameters))).replace(sign, sign.upper())
            return Response(upstream.content, status=upstream.status_code, headers={"Authorization": rewritten})

        with serve(app) as url:
            yield gateway, url + BASE_PATH


def test_the_client_takes_an_answer_whose_header_is_written_otherwise(behind_a_proxy: tuple[Gateway, str]) -> None:
    gateway, proxied = behind_a_proxy
    client = ExamplePayClient(APP_ID, APP_SECRET, base_url=proxied, signed_url_form="path")
    created = client.create_payment(gateway.payment_request("H2"))
    assert client.query_payment(merchant_trade_no="H2").payment_no == created.payment_no
    with pytest.raises(InvalidRequestError, match="already used") as refused:
        client.create_payment(gateway.payment_request("H2"))
    assert refused.value.verified is True


# --- paths and methods it does not serve ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/pg/v2/nope", 404, "Common.Not_Found"),
        ("GET", "/nope", 404, "Common.Not_Found"),
        ("DELETE", "/pg/v2/payment/query", 405, "Common.Method_Not_Allowed"),
        ("GET", "/pg/v2/payment/create", 405, "Common.Method_Not_Allowed"),
        ("POST", "/readings", 405, "Common.Method_Not_Allowed"),
    ],
)
def test_an_unknown_path_or_method_is_answered_in_the_envelope(
    gateway: Gateway, method: str, path: str, status: int, code: str
) -> None:
    answer = requests.request(method, gateway.url + path, data=b"{}")
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json"
    envelope = answer.json()
    assert set(envelope) == {"code", "errorMessage", "data"} and envelope["data"] is None
    assert envelope["code"] == code and path in envelope["errorMessage"]
    if status == 405:
        assert answer.headers["Allow"] == ("GET" if path == "/readings" else "POST")


def test_the_client_reads_a_wrong_base_url_as_the_gateways_not_found(gateway: Gateway) -> None:
    client = ExamplePayClient(
        APP_ID, APP_SECRET, base_url=gateway.url + "/v1", signed_url_form=gateway.client.signed_url_form
    )
    with pytest.raises(ApiError) as missing:
        client.query_payment(merchant_trade_no="T1")
    assert (missing.value.code, missing.value.http_status, missing.value.verified) == ("Common.Not_Found", 404, True)
    assert missing.value.meaning == "no such API path"
