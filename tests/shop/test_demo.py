"""Demo mode: the presenter's story, through the real flow, and amounts hidden for screen sharing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.models import now_utc
from tests.support import database_url, wait_for

from .conftest import Shop, csrf_token_in, start_shop


def step_of(page: str) -> int:
    current = re.search(r'<li class="story__step is-current[^"]*">\s*<h2 class="story__title">(\d)\.', page)
    assert current is not None
    return int(current.group(1))


def test_the_story_runs_through_the_real_flow(shop: Shop, manager: requests.Session) -> None:
    page = manager.get(f"{shop.url}/demo").text
    assert step_of(page) == 1
    page = manager.post(f"{shop.url}/demo/story/create", data={"csrf_token": csrf_token_in(page)}).text
    assert step_of(page) == 2
    request_no_match = re.search(r'href="/pay/(SP[0-9A-F]+)"', page)
    assert request_no_match is not None
    request_no = request_no_match.group(1)
    assert shop.order(request_no).status == "UNPAID" and shop.order(request_no).cashier_url

    page = manager.post(f"{shop.url}/demo/story/pay", data={"csrf_token": csrf_token_in(page)}).text
    assert step_of(page) in (3, 4)
    live = wait_for(
        lambda: (r := manager.get(f"{shop.url}/demo/story")).status_code == 286 and r.text, what="the notification"
    )
    assert step_of(live) == 4 and "verified and applied" in live
    order = shop.order(request_no)
    assert order.status == "COMPLETED"
    assert [e.source for e in order.events if e.to_status == "COMPLETED"] == ["webhook"], "the notification did it"

    page = manager.post(f"{shop.url}/demo/story/reset", data={"csrf_token": csrf_token_in(live)}).text
    assert step_of(page) == 1


def test_amounts_are_hidden_on_screen_but_not_in_exports(shop: Shop, manager: requests.Session) -> None:
    shop.create_order(manager, amount="1234.5")
    page = manager.get(f"{shop.url}/orders").text
    assert "1,234.5 USDT" in page
    manager.post(
        f"{shop.url}/demo/hide-amounts", data={"csrf_token": csrf_token_in(page), "hide": "1", "next": "/orders"}
    )
    hidden = manager.get(f"{shop.url}/orders").text
    assert "1,234.5" not in hidden and "••• USDT" in hidden
    assert 'aria-pressed="true">Hide amounts' in manager.get(f"{shop.url}/demo").text
    assert "1234.5" in manager.get(f"{shop.url}/orders.csv").text, "the export stays exact"
    manager.post(f"{shop.url}/demo/hide-amounts", data={"csrf_token": csrf_token_in(hidden), "hide": "0"})
    assert "1,234.5 USDT" in manager.get(f"{shop.url}/orders").text


def test_demo_data_survives_a_restart(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> None:
    kept = {"DATABASE_URL": database_url(tmp_path)}
    for shop in start_shop(tmp_path, merchant_key, platform_key, **kept):
        manager = shop.sign_in()
        page = manager.post(
            f"{shop.url}/demo/story/create", data={"csrf_token": csrf_token_in(manager.get(f"{shop.url}/demo").text)}
        ).text
        request_no_match = re.search(r'href="/pay/(SP[0-9A-F]+)"', page)
        assert request_no_match is not None
        request_no = request_no_match.group(1)
        manager.post(f"{shop.url}/demo/story/pay", data={"csrf_token": csrf_token_in(page)})

        def paid(shop: Shop = shop, request_no: str = request_no) -> bool:
            return shop.order(request_no).status == "COMPLETED"

        wait_for(paid, what="the payment")
    for shop in start_shop(tmp_path, merchant_key, platform_key, **kept):  # the same instance folder and database
        manager = shop.sign_in("after-restart@shop.test")
        assert shop.order(request_no).status == "COMPLETED"
        detail = manager.get(f"{shop.url}/orders/{request_no}").text
        after = manager.post(f"{shop.url}/orders/{request_no}/refresh", data={"csrf_token": csrf_token_in(detail)}).text
        assert "The gateway confirms the status shown." in after, "the sandbox kept it too"


def test_demo_mode_can_be_switched_off(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for shop in start_shop(tmp_path, merchant_key, platform_key, DEMO_MODE="0"):
        manager = shop.sign_in()
        assert manager.get(f"{shop.url}/demo").status_code == 404
        assert ">Demo<" not in manager.get(f"{shop.url}/orders").text


def test_a_month_of_orders_is_made_through_the_sandbox(shop: Shop, manager: requests.Session) -> None:
    page = manager.get(f"{shop.url}/demo").text
    done = manager.post(f"{shop.url}/demo/fill", data={"csrf_token": csrf_token_in(page)})
    made_match = re.search(r"(\d+) orders made over the last 30 days", done.text)
    assert made_match is not None
    made = int(made_match.group(1))
    numbers = shop.order_numbers()
    assert made == len(numbers) >= 25
    filled = [shop.order(n) for n in numbers]
    assert {o.status for o in filled} == {"COMPLETED", "CLOSED", "UNPAID", "FAILED"}
    assert len([o for o in filled if o.status == "UNPAID"]) == 3, "only the last hour's orders are still open"
    assert {e.source for o in filled for e in o.events if e.to_status == "CLOSED"} <= {"timeout", "close"}
    assert len({o.created_at.date() for o in filled}) >= 15, "spread over the month"
    assert {o.edition for o in filled} == {"normal", "pro"} and len(
        {o.pay_network for o in filled if o.pay_network}
    ) >= 2
    for order in filled:
        times = [e.at for e in order.events]
        assert times == sorted(times) and abs(times[0] - order.created_at) < timedelta(seconds=1), (
            "a true history, in its own days"
        )
        if order.status == "COMPLETED":
            assert order.completed_time is not None
            assert order.created_at < order.completed_time < order.created_at + timedelta(hours=1)
            assert [e.source for e in order.events if e.to_status == "COMPLETED"] == ["webhook"]
    assert abs(now_utc() - datetime.now(UTC)) < timedelta(seconds=5), "the clocks are back"
    assert shop.app.extensions["sparkpay_sandbox"].clock_offset == 0

    # The overview draws the month; the sandbox knows every order (a status check agrees).
    overview = manager.get(f"{shop.url}/").text
    assert len(re.findall(r'<rect class="chart__bar" [^>]*height="(?!0\.0")', overview)) >= 15
    oldest = filled[-1]
    detail = manager.get(f"{shop.url}/orders/{oldest.request_no}").text
    checked = manager.post(
        f"{shop.url}/orders/{oldest.request_no}/refresh", data={"csrf_token": csrf_token_in(detail)}
    ).text
    assert "The gateway confirms the status shown." in checked
