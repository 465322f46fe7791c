"""/webhooks/sparkpay: sealed notifications, genuine (from the sandbox) and hand-made."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.support import wait_for

from .conftest import Shop, deliver, sealed, statement


@pytest.fixture
def unpaid(shop: Shop, manager: requests.Session) -> str:
    """An UNPAID normal order of 12.5 USDT."""
    return shop.create_order(manager, amount="12.5", networks=["2"])


def outcomes(shop: Shop, request_no: str) -> list[str]:
    return [n.outcome for n in shop.order(request_no).notifications]


def test_a_payment_at_the_sandbox_completes_the_order_through_the_webhook(
    shop: Shop, manager: requests.Session, unpaid: str
) -> None:
    shop.sandbox("POST", f"/orders/{unpaid}/pay", json={"network": 2})
    order = wait_for(lambda: (o := shop.order(unpaid)).status == "COMPLETED" and o, what="the notification")

    assert order.events[-1].source == "webhook"
    assert order.pay_network == 2 and order.tx_hash and order.payer_addr and order.pay_time
    (notification,) = order.notifications
    assert notification.verified and notification.outcome == "applied"
    detail = manager.get(f"{shop.url}/orders/{unpaid}").text
    assert order.tx_hash in detail and "Paid" in detail
    deliveries = shop.sandbox("GET", "/deliveries", params={"request_no": unpaid}).json()
    assert any(a.get("http_status") == 200 for d in _attempts(deliveries) for a in [d])


def _attempts(deliveries: Any) -> list[dict[str, Any]]:
    """The sandbox delivery log's attempts, whatever its nesting."""
    items = deliveries.get("deliveries", deliveries) if isinstance(deliveries, dict) else deliveries
    found: list[dict[str, Any]] = []
    for item in items:
        found.extend(item.get("attempts", [item]))
    return found


def test_a_genuine_delivery_needs_no_csrf_token_and_is_acknowledged_after_commit(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    response = deliver(shop, sealed(shop, statement(shop, unpaid), merchant_key, platform_key))
    assert (response.status_code, response.text) == (200, "SUCCESS")
    order = shop.order(unpaid)
    assert order.status == "COMPLETED" and order.tx_hash == "0x" + "ab" * 32


def test_a_forged_signature_is_refused_recorded_and_logged(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, other_key: RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="shop.orders")
    response = deliver(shop, sealed(shop, statement(shop, unpaid), merchant_key, other_key))
    assert response.status_code == 400 and response.text != "SUCCESS"
    assert shop.order(unpaid).status == "UNPAID"
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Notification

        (record,) = db.session.query(Notification).all()
        assert (record.verified, record.outcome) == (False, "rejected")
        assert "signature" in str(record.error)
    assert any("refused" in r.getMessage() and "signature" in r.getMessage() for r in caplog.records)


def test_a_body_sealed_for_another_merchant_cannot_be_opened(
    shop: Shop, unpaid: str, other_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    response = deliver(shop, sealed(shop, statement(shop, unpaid), other_key, platform_key))
    assert response.status_code == 400
    assert shop.order(unpaid).status == "UNPAID"


@pytest.mark.parametrize("body", [b"not json at all", b"{}", b'{"head": {}, "body": "x"}', b"[1,2]", b"\x00\xff{"])
def test_malformed_bodies_are_refused_cleanly(shop: Shop, body: bytes) -> None:
    response = deliver(shop, body)
    assert response.status_code == 400
    assert "Traceback" not in response.text


def test_an_oversized_body_is_refused(shop: Shop) -> None:
    response = deliver(shop, b"{" + b" " * (shop.app.config["WEBHOOK_MAX_BYTES"] + 1) + b"}")
    assert response.status_code == 413


def test_a_replayed_delivery_changes_nothing(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    body = sealed(shop, statement(shop, unpaid), merchant_key, platform_key)
    assert deliver(shop, body).text == "SUCCESS"
    assert deliver(shop, body).text == "SUCCESS"
    order = shop.order(unpaid)
    assert outcomes(shop, unpaid) == ["applied", "duplicate"]
    assert [e.to_status for e in order.events].count("COMPLETED") == 1


def test_a_duplicate_sent_afresh_changes_nothing(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for _ in range(2):  # two sealings: fresh AES keys, same statement
        assert deliver(shop, sealed(shop, statement(shop, unpaid), merchant_key, platform_key)).text == "SUCCESS"
    assert outcomes(shop, unpaid) == ["applied", "duplicate"]


def test_an_out_of_order_delivery_never_regresses_a_final_status(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    completed = sealed(shop, statement(shop, unpaid), merchant_key, platform_key)
    unpaid_again = sealed(shop, statement(shop, unpaid, "UNPAID"), merchant_key, platform_key)
    closed = sealed(shop, statement(shop, unpaid, "CLOSED"), merchant_key, platform_key)
    for body in (completed, unpaid_again, closed):
        assert deliver(shop, body).text == "SUCCESS"
    assert shop.order(unpaid).status == "COMPLETED"
    assert outcomes(shop, unpaid) == ["applied", "stale", "stale"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"total_amount": "1.25"}, "amount 1.25 differs"),
        ({"merchant_order_currency": "USDC"}, "currency USDC differs"),
        ({"merchant_customer_no": "SOMEONE_ELSE"}, "merchant SOMEONE_ELSE"),
        ({"real_pay_amount": "10"}, "only 10 of 12.5"),
    ],
)
def test_a_statement_that_does_not_fit_the_order_is_flagged_not_applied(
    shop: Shop,
    manager: requests.Session,
    unpaid: str,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    changes: dict[str, str],
    reason: str,
) -> None:
    response = deliver(shop, sealed(shop, statement(shop, unpaid, **changes), merchant_key, platform_key))
    assert response.text == "SUCCESS"  # retrying cannot make it fit: acknowledged, kept for staff
    order = shop.order(unpaid)
    assert order.status == "UNPAID"
    assert reason in str(order.needs_attention)
    assert outcomes(shop, unpaid) == ["mismatch"]
    assert "Needs attention" in manager.get(f"{shop.url}/orders/{unpaid}").text


def test_a_notification_for_an_unknown_order_is_recorded(
    shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    response = deliver(shop, sealed(shop, statement(shop, "SPNOSUCHORDER"), merchant_key, platform_key))
    assert response.text == "SUCCESS"
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Notification

        (record,) = db.session.query(Notification).all()
        assert record.outcome == "unknown_order" and record.request_no == "SPNOSUCHORDER"


def test_a_genuine_statement_with_a_malformed_field_is_refused_naming_it(
    shop: Shop, unpaid: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    response = deliver(shop, sealed(shop, statement(shop, unpaid, pay_time=10**15), merchant_key, platform_key))
    assert response.status_code == 400
    assert shop.order(unpaid).status == "UNPAID"
    with shop.app.app_context():
        from shop.extensions import db
        from shop.models import Notification

        (record,) = db.session.query(Notification).all()
        assert (record.verified, record.outcome) == (False, "rejected")
        assert "pay_time" in str(record.error) and "Unix seconds" in str(record.error)
