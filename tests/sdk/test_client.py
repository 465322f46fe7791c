"""SparkPayClient against a local HTTP server that checks headers and signatures and signs answers."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask, Response, request

from sparkpay import (
    GatewayServerError,
    GatewayTimeout,
    OrderNotFoundError,
    OrderRequest,
    SignatureVerificationError,
    SparkPayClient,
    TransportError,
    __version__,
    signing,
)
from tests.support import serve


@dataclass
class FakeGateway:
    """Records each request; answers from ``script`` (status, envelope, sign?) then success."""

    merchant_public: Any
    platform_key: Any
    script: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Flask:
        app = Flask("fake-gateway")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def anything(path: str) -> Response:
            raw = request.get_data()
            headers = signing.SignedHeaders(
                request.headers.get("Sparkpay-Timestamp", ""),
                request.headers.get("Sparkpay-Nonce", ""),
                request.headers.get("Sparkpay-Signature", ""),
            )
            try:
                signing.verify_message(self.merchant_public, raw, headers)
                verified = True
            except SignatureVerificationError:
                verified = False
            with self.lock:
                self.calls.append(
                    {
                        "method": request.method,
                        "path": "/" + path,
                        "headers": dict(request.headers),
                        "body": raw,
                        "verified": verified,
                    }
                )
                status, envelope, mode = (
                    self.script.pop(0)
                    if self.script
                    else (
                        200,
                        {
                            "code": 0,
                            "message": "success",
                            "data": {"cashier_url": "https://pay.example/c/1", "request_no": "R1"},
                        },
                        "sign",
                    )
                )
            time.sleep(self.delay)
            body = json.dumps(envelope).encode()
            response = Response(body, status=status, mimetype="application/json")
            if mode != "unsigned":
                signed = signing.sign_message(self.platform_key, body)
                response.headers.update(
                    {
                        "Sparkpay-Signature": signed.signature if mode == "sign" else signed.signature[::-1],
                        "Sparkpay-Timestamp": signed.timestamp,
                        "Sparkpay-Nonce": signed.nonce,
                    }
                )
            return response

        return app


@pytest.fixture
def fake(merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[tuple[FakeGateway, SparkPayClient]]:
    gateway = FakeGateway(merchant_key.public_key(), platform_key)
    with serve(gateway.app()) as url:
        client = SparkPayClient(
            "APP1", "M0001", merchant_key, platform_key.public_key(), base_url=url, backoff=0.01, timeout=(2, 1)
        )
        yield gateway, client
        client.close()


def order() -> OrderRequest:
    now = int(time.time())
    return OrderRequest(
        request_no="R1",
        merchant_order_no="1",
        merchant_application_user_id="u",
        merchant_order_time=now,
        merchant_order_timeout=now + 600,
        merchant_order_desc="d",
        goods_info="g",
        notify_url="https://shop.example/n",
        total_amount=Decimal("12.5"),
    )


def test_each_call_uses_the_documented_path_and_signed_headers(fake: tuple[FakeGateway, SparkPayClient]) -> None:
    gateway, client = fake
    client.create_order(order())
    gateway.script.append(
        (200, {"code": 0, "message": "ok", "data": {"request_no": "R1", "pay_status": "UNPAID"}}, "sign")
    )
    client.query_order("R1")
    gateway.script.append(
        (
            200,
            {"code": 0, "message": "ok", "data": {"request_no": "R1", "pay_status": "UNPAID", "pricing_amount": "1"}},
            "sign",
        )
    )
    client.query_pro_order("R1")
    gateway.script.append(
        (
            200,
            {
                "code": "0",
                "message": "ok",
                "data": {"request_no": "R1", "merchant_no": "M0001", "merchant_order_no": "1"},
            },
            "sign",
        )
    )
    assert client.close_order("R1").merchant_order_no == "1"
    assert [(c["method"], c["path"]) for c in gateway.calls] == [
        ("POST", "/v4/pay/cashier"),
        ("GET", "/v4/pay/orders/M0001/R1"),
        ("GET", "/v4/pro/pay/orders/M0001/R1"),
        ("POST", "/v4/pay/orders/close"),
    ]
    for call in gateway.calls:
        assert call["verified"], call["path"]
        assert call["headers"]["User-Agent"].startswith(f"sparkpay-python/{__version__}")
        assert call["headers"]["Sparkpay-App-Id"] == "APP1"
    assert gateway.calls[0]["headers"]["Content-Type"] == "application/json"
    assert json.loads(gateway.calls[0]["body"])["total_amount"] == "12.5"


def test_every_call_goes_through_one_session(merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> None:
    """Connection reuse is requests' job: the client must keep one Session for all its calls."""
    gateway = FakeGateway(merchant_key.public_key(), platform_key)
    session, seen = requests.Session(), []
    session.hooks["response"].append(lambda response, **_: seen.append(response.request.path_url))
    with serve(gateway.app()) as url:
        client = SparkPayClient("APP1", "M0001", merchant_key, platform_key.public_key(), base_url=url, session=session)
        client.create_order(order())
        client.create_order(order())
        client.close()
    assert seen == ["/v4/pay/cashier", "/v4/pay/cashier"]


@pytest.mark.parametrize("mode", ["unsigned", "bad"])
def test_a_badly_signed_answer_is_never_returned_as_data(fake: tuple[FakeGateway, SparkPayClient], mode: str) -> None:
    gateway, client = fake
    gateway.script.append((200, {"code": 0, "message": "ok", "data": {"cashier_url": "https://evil.example"}}, mode))
    with pytest.raises(SignatureVerificationError):
        client.create_order(order())


def test_a_gateway_error_keeps_its_code_and_status(fake: tuple[FakeGateway, SparkPayClient]) -> None:
    gateway, client = fake
    gateway.script.append((404, {"code": 43005, "message": "order does not exist", "data": None}, "sign"))
    with pytest.raises(OrderNotFoundError) as error:
        client.query_order("R404")
    assert (error.value.code, error.value.http_status) == (43005, 404)


def test_5xx_is_retried_with_the_same_bytes_then_gives_up(fake: tuple[FakeGateway, SparkPayClient]) -> None:
    gateway, client = fake
    gateway.script.extend([(500, {"code": 50000, "message": "internal", "data": None}, "sign")] * 2)
    assert client.create_order(order()).cashier_url == "https://pay.example/c/1"
    bodies = {c["body"] for c in gateway.calls}
    assert len(gateway.calls) == 3 and len(bodies) == 1, "the same request_no and body each time"
    assert len({c["headers"]["Sparkpay-Nonce"] for c in gateway.calls}) == 3, "each attempt signed afresh"
    gateway.calls.clear()
    gateway.script.extend([(502, {"code": 50000, "message": "bad gateway", "data": None}, "unsigned")] * 3)
    with pytest.raises(GatewayServerError):
        client.create_order(order())
    assert len(gateway.calls) == 3


def test_a_slow_gateway_times_out(fake: tuple[FakeGateway, SparkPayClient]) -> None:
    gateway, client = fake
    gateway.delay = 1.5
    with pytest.raises(TransportError) as error:
        client.query_order("R1")
    assert isinstance(error.value, GatewayTimeout)


def test_an_unreachable_gateway_is_a_transport_error(merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> None:
    client = SparkPayClient(
        "APP1",
        "M0001",
        merchant_key,
        platform_key.public_key(),
        base_url="http://127.0.0.1:9",
        max_retries=1,
        backoff=0.01,
    )
    with pytest.raises(TransportError):
        client.query_order("R1")
    client.close()


def test_no_secret_in_errors_reprs_or_logs(
    fake: tuple[FakeGateway, SparkPayClient], merchant_key: RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, client = fake
    caplog.set_level(logging.DEBUG)
    gateway.script.append((400, {"code": 41018, "message": "too many decimals", "data": None}, "sign"))
    with pytest.raises(Exception) as error:
        client.create_order(order())
    secret_line = signing.private_key_pem(merchant_key).decode().splitlines()[3]
    signature = gateway.calls[0]["headers"]["Sparkpay-Signature"]
    for text in (str(error.value), repr(error.value), repr(client), caplog.text):
        assert secret_line not in text and signature not in text
