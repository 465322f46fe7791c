"""The ExamplePay sandbox served alone on a free port, the SDK client pointed at it, and a
merchant's notification endpoint that verifies what it receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from examplepay import ExamplePayClient, Payer, PaymentRequest, SignatureVerificationError, read_notification
from examplepay.readings import choose
from examplepay.sandbox import BASE_PATH, Settings, create_blueprint
from tests.support import serve

APP_ID = "0123456789abcdef0123456789abcdef"
APP_SECRET = "fedcba9876543210fedcba9876543210"


@dataclass
class Receiver:
    """Verifies each delivery like a merchant would; answers per ``answers``, then {"code":"OK"}."""

    answers: list[tuple[int, str]] = field(default_factory=list)
    verified: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    url: str = ""
    signed_url_form: str = "absolute"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.post("/notify")
        def notify() -> tuple[str, int]:
            try:
                notification = read_notification(
                    request.get_data(),
                    request.headers.get("Authorization"),
                    app_id=APP_ID,
                    app_secret=APP_SECRET,
                    notify_url=self.url,
                    signed_url_form=self.signed_url_form,
                )
            except SignatureVerificationError as error:
                with self.lock:
                    self.refused.append(error.message)
                return '{"code":"FAIL"}', 401
            with self.lock:
                self.verified.append(notification)
                status, body = self.answers.pop(0) if self.answers else (200, '{"code":"OK"}')
            return body, status

        return app


@dataclass
class Gateway:
    url: str  # the API's base URL (what EXAMPLEPAY_BASE_URL would be)
    engine: Any
    client: ExamplePayClient
    receiver: Receiver

    def payment_request(self, merchant_trade_no: str, amount: str = "100.05", **changes: Any) -> PaymentRequest:
        fields = {
            "merchant_trade_no": merchant_trade_no,
            "amount": amount,
            "currency": "INR",
            "description": "Green tea",
            "payer": Payer("u1", "Asha", "asha@example.com", "9000000000"),
            "notify_url": self.receiver.url,
            "return_url": "http://shop.test/return?from=examplepay",
            "merchant_attach": "cart-7",
        }
        return PaymentRequest(**{**fields, **changes})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve(receiver.app()) as url:
        receiver.url = url + "/notify"
        yield receiver


@contextmanager
def running_gateway(folder: Path, receiver: Receiver, readings: Mapping[str, str] | None = None) -> Iterator[Gateway]:
    """The sandbox with ``readings`` chosen, served on a free port; the client (and the receiver)
    signing with the sandbox's URL form (A2)."""
    chosen = choose(readings)
    receiver.signed_url_form = chosen["A2"]
    app = Flask("examplepay-sandbox-test")
    with serve(app) as site:
        blueprint = create_blueprint(
            Settings(APP_ID, APP_SECRET, str(folder / "ep.db"), site + BASE_PATH, readings=chosen, retry_scale=0.01)
        )
        app.register_blueprint(blueprint, url_prefix=BASE_PATH)
        client = ExamplePayClient(
            APP_ID, APP_SECRET, base_url=site + BASE_PATH, signed_url_form=chosen["A2"], timeout=(2, 5), max_retries=1
        )
        try:
            yield Gateway(site + BASE_PATH, blueprint.gateway, client, receiver)
        finally:
            client.close()
            blueprint.gateway.stop()


@pytest.fixture(params=["absolute", "path"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver) -> Iterator[Gateway]:
    """Both readings of A2, each end to end (the client and the sandbox agreeing on it)."""
    with running_gateway(tmp_path, receiver, {"A2": request.param}) as running:
        yield running
