"""Sealed notifications from the sandbox: signing, retries until acknowledged, and each fault switch."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import OrderRequest, signing
from sparkpay.notifications import aes_decrypt, unwrap_aes_key
from tests.support import wait_for

from .conftest import Gateway


def paid_order(gateway: Gateway, **control: Any) -> str:
    now = int(time.time())
    request = OrderRequest(
        request_no=f"N{time.time_ns()}",
        merchant_order_no="INV-9",
        merchant_application_user_id="u-9",
        merchant_order_time=now,
        merchant_order_timeout=now + 600,
        merchant_order_desc="Notified order",
        goods_info="Tea",
        notify_url=f"{gateway.receiver.url}/notify",
        total_amount=Decimal("12.5"),
    )
    gateway.client.create_order(request)
    response = gateway.control("POST", f"/orders/{request.request_no}/pay", json=control or {})
    assert response.status_code == 200, response.text
    return request.request_no


def deliveries(gateway: Gateway, request_no: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = gateway.control("GET", "/deliveries", params={"request_no": request_no}).json()[
        "deliveries"
    ]
    return found


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")
def test_the_notification_signature_verifies_with_openssl(
    gateway: Gateway, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, tmp_path: Path
) -> None:
    paid_order(gateway)
    (entry,) = wait_for(gateway.receiver.verified, what="the notification")
    envelope = json.loads(entry["raw"])
    aes_key, _ = unwrap_aes_key(merchant_key, envelope["head"]["aes_key"])
    payload = aes_decrypt(aes_key, envelope["body"])
    (tmp_path / "payload.json").write_bytes(payload)
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(envelope["head"]["sign"]))
    (tmp_path / "platform.pem").write_bytes(signing.public_key_pem(platform_key.public_key()))
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "platform.pem", "-signature", "sig.bin", "payload.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "Verified OK" in result.stdout, result.stdout + result.stderr


def test_each_attempt_uses_a_fresh_aes_key_and_retries_until_success(gateway: Gateway) -> None:
    gateway.receiver.answers.extend([(" busy", 503), ("OK", 200)])  # "OK" is not the documented ack
    request_no = paid_order(gateway)
    wait_for(lambda: deliveries(gateway, request_no)[0]["state"] == "delivered", what="the third attempt")
    (delivery,) = deliveries(gateway, request_no)
    assert [(a["http_status"], a["body"]) for a in delivery["attempts"]] == [
        (503, " busy"),
        (200, "OK"),
        (200, "SUCCESS"),
    ]
    keys = {json.loads(r["raw"])["head"]["aes_key"] for r in gateway.receiver.received}
    assert len(keys) == 3
    gaps = [b["at"] - a["at"] for a, b in pairwise(delivery["attempts"])]
    assert gaps[0] >= 10 * 0.01 and gaps[1] >= 60 * 0.01, "the documented schedule, scaled"


def test_an_unreachable_receiver_is_retried_and_recorded(gateway: Gateway) -> None:
    now = int(time.time())
    request = OrderRequest(
        request_no=f"U{time.time_ns()}",
        merchant_order_no="I",
        merchant_application_user_id="u",
        merchant_order_time=now,
        merchant_order_timeout=now + 600,
        merchant_order_desc="d",
        goods_info="g",
        notify_url="http://127.0.0.1:9/notify",
        total_amount=Decimal("12.5"),
    )
    gateway.client.create_order(request)
    gateway.control("POST", f"/orders/{request.request_no}/pay")
    attempts = wait_for(
        lambda: len(a := deliveries(gateway, request.request_no)[0]["attempts"]) >= 2 and a, what="a retry"
    )
    assert attempts[0]["http_status"] is None and "could not reach" in attempts[0]["error"]


def test_notify_drop(gateway: Gateway) -> None:
    gateway.faults(notify_drop=1)
    request_no = paid_order(gateway)
    wait_for(lambda: deliveries(gateway, request_no)[0]["state"] == "dropped", what="the drop")
    time.sleep(0.3)
    assert gateway.receiver.received == []
    gateway.control("POST", f"/orders/{request_no}/notify")  # the demo's "notify again"
    wait_for(gateway.receiver.verified, what="the re-sent notification")


def test_notify_duplicate(gateway: Gateway) -> None:
    gateway.faults(notify_duplicate=1)
    paid_order(gateway)
    first, second = wait_for(lambda: len(v := gateway.receiver.verified()) == 2 and v, what="two deliveries")
    assert first["payload"] == second["payload"]


def test_notify_out_of_order(gateway: Gateway) -> None:
    gateway.faults(notify_out_of_order=1)
    paid_order(gateway)
    received = wait_for(lambda: len(v := gateway.receiver.verified()) == 2 and v, what="two deliveries")
    assert [r["payload"]["pay_status"] for r in received] == ["COMPLETED", "UNPAID"]


def test_notify_bad_signature_is_refused_then_retried_correctly(gateway: Gateway) -> None:
    gateway.faults(notify_bad_signature=1)
    request_no = paid_order(gateway)
    wait_for(lambda: deliveries(gateway, request_no)[0]["state"] == "delivered", what="the good retry")
    first, second = gateway.receiver.received
    assert first["verified"] is False and "signature" in first["error"]
    assert second["verified"] is True


def test_notify_mgf1_sha1(gateway: Gateway) -> None:
    gateway.faults(notify_mgf1_sha1=1)
    paid_order(gateway)
    (entry,) = wait_for(gateway.receiver.verified, what="the notification")
    assert entry["mgf1"] == "sha1"


def test_probe_notifications_with_a_wrong_signature(gateway: Gateway) -> None:
    gateway.faults(probe_bad_signature_rate=1)
    request_no = paid_order(gateway)
    wait_for(lambda: deliveries(gateway, request_no)[0]["state"] == "delivered", what="the delivery")
    attempts = deliveries(gateway, request_no)[0]["attempts"]
    assert [(a["kind"], a["http_status"]) for a in attempts] == [("probe", 400), ("notification", 200)]


def test_closing_does_not_notify_by_default(gateway: Gateway) -> None:
    now = int(time.time())
    request = OrderRequest(
        request_no=f"C{time.time_ns()}",
        merchant_order_no="I",
        merchant_application_user_id="u",
        merchant_order_time=now,
        merchant_order_timeout=now + 600,
        merchant_order_desc="d",
        goods_info="g",
        notify_url=f"{gateway.receiver.url}/notify",
        total_amount=Decimal("12.5"),
    )
    gateway.client.create_order(request)
    gateway.client.close_order(request.request_no)
    time.sleep(0.3)
    assert deliveries(gateway, request.request_no) == []
