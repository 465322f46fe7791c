"""The sandbox served alone on a free port, the SDK client pointed at it, and a notification receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask
from flask import request as incoming

from sparkpay import NotificationError, SparkPayClient, open_notification, readings, signing
from sparkpay.sandbox import Sandbox, SandboxSettings, create_blueprint
from tests.support import serve

APP_ID = "APPSANDBOXTEST"
MERCHANT_NO = "MSANDBOXTEST"


@dataclass
class Receiver:
    """A merchant's webhook endpoint: records every delivery, answers per ``answers`` then SUCCESS."""

    merchant_key: Any
    platform_public: Any
    answers: list[tuple[str, int]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.post("/notify")
        def notify() -> tuple[str, int]:
            raw = incoming.get_data()
            try:
                opened = open_notification(
                    raw, merchant_private_key=self.merchant_key, platform_public_key=self.platform_public
                )
                entry = {"raw": raw, "verified": True, "payload": json.loads(opened.payload), "mgf1": opened.mgf1_hash}
            except NotificationError as error:  # a receiver refuses what it cannot open
                entry = {"raw": raw, "verified": False, "error": str(error)}
            with self.lock:
                self.received.append(entry)
                if not entry["verified"]:
                    return "refused", 400
                return self.answers.pop(0) if self.answers else ("SUCCESS", 200)

        return app

    def verified(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["verified"]]


@dataclass
class Gateway:
    url: str  # the API base URL (…/sandbox)
    sandbox: Sandbox
    client: SparkPayClient
    receiver: Receiver

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/control{path}", timeout=10, **kwargs)

    def faults(self, **switches: Any) -> None:
        response = self.control("POST", "/faults", json=switches)
        assert response.status_code == 200, response.text


@pytest.fixture
def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Gateway]:
    """The sandbox, taking the readings of the test's ``readings`` mark (the defaults without one)."""
    marker = request.node.get_closest_marker("readings")
    receiver = Receiver(merchant_key, platform_key.public_key())
    with serve(receiver.app()) as receiver_url:
        receiver.url = receiver_url
        settings = SandboxSettings(
            platform_private_key=platform_key,
            merchant_no=MERCHANT_NO,
            app_id=APP_ID,
            merchant_public_key=merchant_key.public_key(),
            db_path=str(tmp_path / "sandbox.db"),
            retry_scale=0.01,
            notify_timeout=2.0,
            worker_interval=0.05,
            readings=readings.choose(marker.kwargs if marker else None),
        )
        blueprint = create_blueprint(settings)
        app = Flask("sandbox-under-test")
        app.register_blueprint(blueprint, url_prefix="/sandbox")
        try:
            with serve(app) as url:
                client = SparkPayClient(
                    APP_ID,
                    MERCHANT_NO,
                    merchant_key,
                    platform_key.public_key(),
                    base_url=f"{url}/sandbox",
                    max_retries=0,
                    timeout=(2, 5),
                )
                yield Gateway(f"{url}/sandbox", blueprint.sandbox, client, receiver)
                client.close()
        finally:
            blueprint.sandbox.stop()


def signed_request(
    url: str,
    method: str,
    path: str,
    body: Any,
    key: RSAPrivateKey,
    *,
    app_id: str = APP_ID,
    headers: dict[str, str | None] | None = None,
    raw: bytes | None = None,
) -> requests.Response:
    """A hand-built signed call, for what the SDK would refuse to send."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    signed = signing.sign_message(key, data)
    sent: dict[str, str | None] = {
        "User-Agent": "tests/1.0",
        "Content-Type": "application/json",
        "Sparkpay-App-Id": app_id,
        "Sparkpay-Signature": signed.signature,
        "Sparkpay-Timestamp": signed.timestamp,
        "Sparkpay-Nonce": signed.nonce,
    }
    sent.update(headers or {})
    return requests.request(
        method,
        url + path,
        data=data if method == "POST" else None,
        headers={k: v for k, v in sent.items() if v is not None},
        timeout=10,
    )


def order_body(**changes: Any) -> dict[str, Any]:
    """A valid normal-edition create body."""
    now = int(time.time())
    body = {
        "merchant_no": MERCHANT_NO,
        "request_no": f"R{time.time_ns()}",
        "merchant_order_no": "INV-1",
        "merchant_application_user_id": "u-42",
        "merchant_order_time": now,
        "merchant_order_timeout": now + 1800,
        "merchant_order_desc": "Order #1",
        "goods_info": "T-shirt x1",
        "notify_url": "http://127.0.0.1:9/notify",
        "total_amount": "12.5",
        "merchant_order_currency": "USDT",
        "receive_network": "2,4",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}
