"""The readings table (examplepay.readings) as switches: choosing them, the sandbox serving them,
and each alternative changing what the sandbox does while the SDK client stays right under it."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response

from examplepay import (
    ApiError,
    AuthenticationError,
    ExamplePayClient,
    InvalidRequestError,
    PaymentNotFoundError,
    RefundRequest,
    SignatureVerificationError,
    readings,
)
from examplepay.sandbox import BASE_PATH, Settings, create_app, create_blueprint
from examplepay.signing import Authorization, authorize, sign, signed_url
from tests.support import serve

from .conftest import APP_ID, APP_SECRET, Gateway, Receiver, running_gateway


def signed_post(gateway: Gateway, path: str, body: dict[str, Any], *, nonce: str = "") -> requests.Response:
    """A request signed like the SDK signs it (the sandbox's URL form), with ``nonce`` if given."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    url = gateway.url + "/pg/v2" + path
    signed = signed_url(url, gateway.client.signed_url_form)
    if nonce:
        timestamp = str(int(time.time() * 1000))
        header = Authorization(
            APP_ID, sign(APP_ID, APP_SECRET, "POST", signed, timestamp, nonce, raw), timestamp, nonce
        ).header()
    else:
        header = authorize(APP_ID, APP_SECRET, "POST", signed, raw).header()
    return requests.post(url, data=raw, headers={"Authorization": header, "Content-Type": "application/json"})


# --- the table ------------------------------------------------------------------------------


def test_choose_starts_from_the_defaults_and_names_what_it_does_not_know() -> None:
    assert readings.defaults() == {"A2": "absolute", "A8": "refused", "A11": "any-case", "A13": "http-200"}
    assert readings.choose(None) == readings.choose("") == readings.defaults()
    assert readings.choose(" a13 = http-400 ,A8=idempotent") == {
        **readings.defaults(),
        "A13": "http-400",
        "A8": "idempotent",
    }
    assert readings.choose({"A2": "path"})["A2"] == "path"
    with pytest.raises(ValueError, match=r"unknown reading 'A99'; known: A2, A8, A11, A13"):
        readings.choose("A99=x")
    with pytest.raises(ValueError, match=r"A13 is one of http-200, http-400, not 'http-404'"):
        readings.choose("A13=http-404")
    with pytest.raises(ValueError, match="A2 is one of absolute, path"):
        readings.choose({"A2": "relative"})
    assert readings.SIGNED_URL_FORMS == ("absolute", "path") and readings.DEFAULT_SIGNED_URL_FORM == "absolute"


def test_an_unknown_reading_stops_the_sandbox_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="A8 is one of refused, idempotent"):
        create_blueprint(Settings(APP_ID, APP_SECRET, str(tmp_path / "ep.db"), "http://x", readings={"A8": "x"}))


def test_the_sandbox_alone_reads_its_readings_from_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLEPAY_SANDBOX_READINGS", "A13=http-400")
    app = create_app(instance_path=str(tmp_path))
    try:
        served = app.test_client().get(BASE_PATH + "/readings").get_json()
        assert {e["id"]: e["current"] for e in served} == {**readings.defaults(), "A13": "http-400"}
    finally:
        app.extensions["examplepay_sandbox"].stop()
    monkeypatch.setenv("EXAMPLEPAY_SANDBOX_READINGS", "A13=http-500")
    with pytest.raises(ValueError, match="A13 is one of http-200, http-400, not 'http-500'"):
        create_app(instance_path=str(tmp_path))


def test_the_sandbox_serves_its_readings_as_json_and_on_its_home_page(tmp_path: Path, receiver: Receiver) -> None:
    with running_gateway(tmp_path, receiver, {"A13": "http-400", "A8": "idempotent"}) as gateway:
        served = requests.get(gateway.url + "/readings")
        assert served.status_code == 200 and served.headers["Content-Type"] == "application/json"
        table = {entry["id"]: entry for entry in served.json()}
        assert list(table) == ["A2", "A8", "A11", "A13"]
        assert {i: (e["current"], e["default"], e["alternatives"]) for i, e in table.items()} == {
            "A2": ("absolute", "absolute", ["absolute", "path"]),
            "A8": ("idempotent", "refused", ["refused", "idempotent"]),
            "A11": ("any-case", "any-case", ["any-case", "upper-case"]),
            "A13": ("http-400", "http-200", ["http-200", "http-400"]),
        }
        assert table["A13"]["question"].startswith("Which HTTP status does a business error")
        assert set(table["A13"]["meanings"]) == {"http-200", "http-400"}

        gateway.client.create_payment(gateway.payment_request("H1"))
        home = requests.get(gateway.url + "/")
        assert home.status_code == 200 and home.headers["Content-Type"].startswith("text/html")
        assert '<strong id="payments-count">1</strong>' in home.text
        assert "<script" not in home.text and "style=" not in home.text, "nothing inline (CSP)"
        a13 = home.text.split('id="reading-A13"')[1].split("</tr>")[0]
        assert "Which HTTP status does a business error" in a13
        assert (
            '<li class="ep-current" aria-current="true">\n                <code>http-400</code> <strong>(current)'
            in a13
        )
        assert "<code>http-200</code> <span" in a13, "the default, not current"
        a2 = home.text.split('id="reading-A2"')[1].split("</tr>")[0]
        assert "<code>absolute</code> <strong>(current)</strong>" in a2 and "<code>path</code>:" in a2


# --- A2: the signed URL form ------------------------------------------------------------------


@pytest.mark.parametrize("form", ["absolute", "path"])
def test_a2_the_sandbox_checks_and_signs_with_its_url_form_only(tmp_path: Path, receiver: Receiver, form: str) -> None:
    other = "path" if form == "absolute" else "absolute"
    with running_gateway(tmp_path, receiver, {"A2": form}) as gateway:
        created = gateway.client.create_payment(gateway.payment_request("U1"))
        assert gateway.client.query_payment(payment_no=created.payment_no).merchant_trade_no == "U1"
        mismatched = ExamplePayClient(APP_ID, APP_SECRET, base_url=gateway.url, signed_url_form=other, max_retries=0)
        with pytest.raises(SignatureVerificationError, match="not trusted"):
            mismatched.query_payment(merchant_trade_no="U1")  # its answer is signed in the other form
        lenient = ExamplePayClient(
            APP_ID, APP_SECRET, base_url=gateway.url, signed_url_form=other, verify_responses="lenient", max_retries=0
        )
        with pytest.raises(AuthenticationError) as refused:
            lenient.query_payment(merchant_trade_no="U1")
        assert (refused.value.code, refused.value.http_status) == ("Common.Auth.Sign_Failed", 401)


# --- A13: the HTTP status of a business error ---------------------------------------------------


@pytest.mark.parametrize(("alternative", "status"), [("http-200", 200), ("http-400", 400)])
def test_a13_business_errors_come_with_its_status_and_the_client_reads_them_alike(
    tmp_path: Path, receiver: Receiver, alternative: str, status: int
) -> None:
    with running_gateway(tmp_path, receiver, {"A13": alternative}) as gateway:
        raw = signed_post(gateway, "/payment/query", {"merchantTradeNo": "NOPE"})
        assert raw.status_code == status and raw.headers["Authorization"].startswith("V2_SHA256 ")
        assert raw.json() == {"code": "Payment.Common.Not_Found", "errorMessage": "no such payment", "data": None}
        bad_json = requests.post(gateway.url + "/pg/v2/payment/query", data=b"{")
        assert bad_json.status_code == 401, "authentication first, whatever A13"

        created = gateway.client.create_payment(gateway.payment_request("S1", amount="50.00"))
        with pytest.raises(PaymentNotFoundError) as missing:
            gateway.client.query_payment(merchant_trade_no="NOPE")
        assert (missing.value.code, missing.value.http_status, missing.value.verified) == (
            "Payment.Common.Not_Found",
            status,
            True,
        )
        with pytest.raises(InvalidRequestError, match="already used") as duplicate:
            gateway.client.create_payment(gateway.payment_request("S1", amount="51.00"))
        assert (duplicate.value.code, duplicate.value.http_status) == ("Common.Request_Parameter_Error", status)
        with pytest.raises(ApiError, match="only a paid payment") as unpaid:
            gateway.client.create_refund(RefundRequest("R1", created.payment_no, "10.00", "early"))
        assert (unpaid.value.code, unpaid.value.http_status, unpaid.value.verified) == (
            "Refund.Common.Rejected",
            status,
            True,
        )
        requests.post(gateway.url + "/control/payments/S1/pay")
        refund = gateway.client.create_refund(RefundRequest("R1", created.payment_no, "10.00", "damaged"))
        assert refund.payment_no == created.payment_no
        assert gateway.client.query_payment(merchant_trade_no="S1").refund_status == "PARTIALLY_REFUNDED"


# --- A8: a merchantTradeNo used twice -------------------------------------------------------------


def test_a8_refused_a_second_create_is_refused_whatever_its_content(tmp_path: Path, receiver: Receiver) -> None:
    with running_gateway(tmp_path, receiver, {"A8": "refused"}) as gateway:
        gateway.client.create_payment(gateway.payment_request("D1"))
        with pytest.raises(InvalidRequestError, match="merchantTradeNo is already used"):
            gateway.client.create_payment(gateway.payment_request("D1"))
        assert len(requests.get(gateway.url + "/control/payments").json()) == 1


def test_a8_idempotent_the_same_create_gets_the_same_answer_other_content_is_refused(
    tmp_path: Path, receiver: Receiver
) -> None:
    with running_gateway(tmp_path, receiver, {"A8": "idempotent"}) as gateway:
        first = gateway.client.create_payment(gateway.payment_request("D2"))
        again = gateway.client.create_payment(gateway.payment_request("D2"))
        assert again == first, "the same paymentNo and payment page"
        with pytest.raises(InvalidRequestError, match="merchantTradeNo is already used"):
            gateway.client.create_payment(gateway.payment_request("D2", amount="1.00"))
        requests.post(gateway.url + "/control/payments/D2/pay")
        assert gateway.client.create_payment(gateway.payment_request("D2")).payment_no == first.payment_no
        assert [p["status"] for p in requests.get(gateway.url + "/control/payments").json()] == ["PAID"]


# --- A11: the nonce's case ------------------------------------------------------------------------


@pytest.mark.parametrize(("alternative", "lower_case_status"), [("any-case", 200), ("upper-case", 401)])
def test_a11_a_lower_case_nonce_is_taken_or_refused_and_the_client_works_under_both(
    tmp_path: Path, receiver: Receiver, alternative: str, lower_case_status: int
) -> None:
    with running_gateway(tmp_path, receiver, {"A11": alternative}) as gateway:
        gateway.client.create_payment(gateway.payment_request("N1"))
        upper = signed_post(gateway, "/payment/query", {"merchantTradeNo": "N1"}, nonce=secrets.token_hex(16).upper())
        assert (upper.status_code, upper.json()["code"]) == (200, "OK")
        lower = signed_post(gateway, "/payment/query", {"merchantTradeNo": "N1"}, nonce=secrets.token_hex(16))
        assert lower.status_code == lower_case_status
        if lower_case_status == 401:
            assert lower.json()["code"] == "Common.Auth.Invalid_Sign"


# --- an answer that is not signed -------------------------------------------------------------


@pytest.fixture
def unsigned_gateway() -> Iterator[str]:
    """Something in front of the gateway answering unsigned (a proxy, or a gateway that signs only
    its successes): per path, a status and a body; /signed-badly carries a wrong signature."""
    app = Flask("unsigned")
    answers = {
        "/pg/v2/payment/create": (
            400,
            b'{"code":"Common.Request_Parameter_Error","errorMessage":"amount is wrong","data":null}',
        ),
        "/pg/v2/payment/query": (200, b'{"code":"Payment.Common.Not_Found","errorMessage":"no such payment"}'),
        "/pg/v2/refund/create": (401, b'{"code":"Common.Auth.AppId_Not_Found","errorMessage":"who?","data":null}'),
    }

    @app.post("/<path:path>")
    def any_path(path: str) -> Response:
        status, body = answers.get("/" + path, (200, b'{"code":"OK","errorMessage":null,"data":{}}'))
        return Response(body, status=status, mimetype="application/json")

    @app.post("/badly/<path:path>")
    def badly(path: str) -> Response:
        forged = authorize(APP_ID, "0" * 32, "POST", "http://x/", b"")
        body = b'{"code":"Common.Request_Parameter_Error","errorMessage":"amount is wrong","data":null}'
        return Response(body, status=400, mimetype="application/json", headers={"Authorization": forged.header()})

    with serve(app) as url:
        yield url


def test_an_unsigned_error_is_read_as_unverified_even_in_strict_mode(unsigned_gateway: str, gateway: Gateway) -> None:
    client = ExamplePayClient(APP_ID, APP_SECRET, base_url=unsigned_gateway, max_retries=0)
    with pytest.raises(InvalidRequestError) as refused:
        client.create_payment(gateway.payment_request("V1"))
    assert (refused.value.code, refused.value.message, refused.value.http_status, refused.value.verified) == (
        "Common.Request_Parameter_Error",
        "amount is wrong",
        400,
        False,
    )
    with pytest.raises(PaymentNotFoundError) as missing:
        client.query_payment(merchant_trade_no="V1")
    assert (missing.value.http_status, missing.value.verified) == (200, False)
    with pytest.raises(AuthenticationError) as who:
        client.create_refund(RefundRequest("R1", "P1", "1.00", "x"))
    assert (who.value.code, who.value.verified) == ("Common.Auth.AppId_Not_Found", False)

    with pytest.raises(SignatureVerificationError, match="not trusted"):
        ExamplePayClient(APP_ID, APP_SECRET, base_url=unsigned_gateway + "/elsewhere", max_retries=0).query_payment(
            merchant_trade_no="V1"
        )  # an unsigned success is never read in strict mode
    badly = ExamplePayClient(APP_ID, APP_SECRET, base_url=unsigned_gateway + "/badly", max_retries=0)
    with pytest.raises(SignatureVerificationError, match="does not match"):
        badly.create_payment(gateway.payment_request("V2"))  # a wrong signature is not "unsigned"
    lenient = ExamplePayClient(
        APP_ID, APP_SECRET, base_url=unsigned_gateway + "/badly", verify_responses="lenient", max_retries=0
    )
    with pytest.raises(InvalidRequestError) as read_anyway:
        lenient.create_payment(gateway.payment_request("V2"))
    assert read_anyway.value.verified is False

    with pytest.raises(PaymentNotFoundError) as signed:
        gateway.client.query_payment(merchant_trade_no="V1")
    assert signed.value.verified is True, "the sandbox signs its errors"
