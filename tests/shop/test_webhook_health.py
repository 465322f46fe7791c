"""Staff see whether notifications get through: accepted and refused per day, why refused, the
last good one, and a warning when orders wait while nothing arrives."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.extensions import db
from shop.models import Notification, Order, now_utc
from tests.support import wait_for

from .conftest import Shop, deliver, sealed, start_shop, statement


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_panel_counts_accepted_and_refused_with_reasons(
    shop: Shop,
    manager: requests.Session,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    other_key: RSAPrivateKey,
) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    forged = sealed(shop, statement(shop, request_no), merchant_key, other_key)
    deliver(shop, forged)
    deliver(shop, forged)
    deliver(shop, b"not json at all")

    page = manager.get(f"{shop.url}/deliveries").text
    health = re.search(r'<section class="card stack" id="webhook-health".*?</section>', page, re.S)
    assert health is not None
    panel = text_of(health.group(0))
    assert re.search(r"Accepted per day 1 delivery", panel) and re.search(r"Refused per day 3 deliveries", panel)
    listed = re.search(r'id="refusal-reasons">(.*?)</ul>', page, re.S)
    assert listed is not None
    reasons = re.findall(r"<li><strong>(\d+)</strong> × (.*?)</li>", listed.group(1))
    assert [count for count, _ in reasons] == ["2", "1"]
    assert "signature" in reasons[0][1] and "JSON" in reasons[1][1]
    good = wait_for(lambda: [n for n in shop.order(request_no).notifications if n.verified], what="the good delivery")[
        0
    ]
    assert f"Last good delivery SparkPay: #{good.id} , " in panel


def age(shop: Shop, model: type[Order] | type[Notification], minutes: int) -> None:
    """Make every row of ``model`` as old as that (the silence is about time gone by)."""
    column = Order.created_at if model is Order else Notification.received_at
    with shop.app.app_context():
        db.session.execute(db.update(model).values({column: now_utc() - timedelta(minutes=minutes)}))
        db.session.commit()


def test_a_banner_warns_when_orders_wait_and_nothing_arrives(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for shop in start_shop(tmp_path, merchant_key, platform_key, WEBHOOK_SILENCE_MINUTES=30):
        manager = shop.sign_in()
        request_no = shop.create_order(manager)
        assert 'id="webhook-silence"' not in manager.get(f"{shop.url}/orders").text, "a new order is not a silence"

        age(shop, Order, 45)
        silence = re.search(
            r'<div class="alert alert--warning" role="alert" id="webhook-silence">.*?</div>',
            manager.get(f"{shop.url}/").text,
            re.S,
        )
        assert silence is not None
        banner = text_of(silence.group(0))
        assert "No notification has ever arrived from the gateways, while 1 orders await payment." in banner
        assert f"{shop.url}/webhooks/sparkpay" in banner

        deliver(shop, sealed(shop, statement(shop, request_no, pay_status="UNPAID"), merchant_key, platform_key))
        assert 'id="webhook-silence"' not in manager.get(f"{shop.url}/orders").text, "a good delivery ends it"
        age(shop, Notification, 40)
        page = text_of(manager.get(f"{shop.url}/orders").text)
        assert "No notification has arrived from the gateways for 40 minutes, while 1 orders await payment." in page
        poll = manager.get(f"{shop.url}/orders/{request_no}/live?v=0", headers={"HX-Request": "true"}).text
        assert "webhook-silence" not in poll, "not in the fragments htmx swaps"


def test_the_warning_can_be_turned_off(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for shop in start_shop(tmp_path, merchant_key, platform_key, WEBHOOK_SILENCE_MINUTES=0):
        manager = shop.sign_in()
        shop.create_order(manager)
        age(shop, Order, 600)
        assert 'id="webhook-silence"' not in manager.get(f"{shop.url}/orders").text
