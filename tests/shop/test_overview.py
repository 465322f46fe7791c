"""/ : the overview's charts, drawn on the server from the orders themselves."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import requests

from tests.support import wait_for

from .conftest import Shop


def test_the_overview_charts_orders_paid_volume_and_networks(shop: Shop, manager: requests.Session) -> None:
    paid_on_ethereum = shop.create_order(manager, amount="12.5", networks=["2"])
    paid_on_polygon = shop.create_order(manager, amount="0.25", networks=["4"])
    shop.create_order(manager, amount="3", networks=["2"])
    for request_no, network in ((paid_on_ethereum, 2), (paid_on_polygon, 4)):
        shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": network})
    wait_for(
        lambda: shop.order(paid_on_ethereum).status == shop.order(paid_on_polygon).status == "COMPLETED",
        what="payments",
    )

    page = html.unescape(manager.get(f"{shop.url}/").text)
    now = datetime.now(UTC)
    today = f"{now:%b} {now.day}"
    assert re.search(r"<span>Orders per day</span> <strong>3 orders</strong>", page)
    assert re.search(r"<span>Paid per day, USDT</span> <strong>12.75 USDT</strong>", page), "exact decimal sum"
    assert f"<title>{today}: 3 orders</title>" in page and f"<title>{today}: 12.75 USDT</title>" in page
    bars = re.findall(r'<rect class="chart__bar" [^>]*height="([\d.]+)"', page)
    assert len(bars) == 2 * 30 and float(bars[29]) > 0 and all(float(h) == 0 for h in bars[:29])
    shares = re.findall(r'<span class="shares__label">([^<]+)</span>.*?<span class="shares__value">(\d+) %', page, re.S)
    assert sorted(shares) == [("Ethereum", "50"), ("Polygon", "50")], shares


def test_an_empty_shop_says_so(shop: Shop, manager: requests.Session) -> None:
    page = manager.get(f"{shop.url}/").text
    assert "<strong>0 orders</strong>" in page and "No payments in the last 30 days." in page
