"""One audit trail per order: staff actions and system events together, newest first."""

from __future__ import annotations

import html
import re

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.support import wait_for

from .conftest import Shop, csrf_token_in, deliver, sealed, statement


def trail(page: str) -> list[str]:
    listed = re.search(r'<h2 class="card__title">Audit trail</h2>.*?<ol class="timeline">(.*?)</ol>', page, re.S)
    assert listed is not None
    items = re.findall(r'<li class="timeline__item[^"]*">(.*?)</li>', listed.group(1), re.S)
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", item))).strip() for item in items]


def test_staff_actions_deliveries_and_checks_share_one_trail(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    request_no = shop.create_order(manager)
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    manager.post(f"{shop.url}/orders/{request_no}/refresh", data={"csrf_token": csrf_token_in(page)})
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    # The gateway says it again (a retry it thought was lost): nothing changes, but it is seen.
    deliver(
        shop,
        sealed(
            shop,
            statement(shop, request_no, payment_order_no=shop.order(request_no).payment_order_no, total_amount="12.5"),
            merchant_key,
            platform_key,
        ),
    )
    wait_for(lambda: len(shop.order(request_no).notifications) == 2, what="both deliveries")
    repeat = max(n.id for n in shop.order(request_no).notifications)

    entries = trail(manager.get(f"{shop.url}/orders/{request_no}").text)
    assert re.search(
        rf"Notification #{repeat} received: Already applied SparkPay · status in it: Paid · details$", entries[0]
    )
    assert re.search(r"Awaiting payment → Paid notification #\d+$", entries[1])
    assert entries[2].endswith(
        "Awaiting payment (no change) status check · manager@shop.test · Checked with the gateway: no change."
    )
    assert entries[3].endswith("Creating → Awaiting payment creation · Gateway accepted the order.")
    assert entries[4].endswith("new → Creating staff · manager@shop.test · Order saved; asking the gateway.")
    assert len(entries) == 5
