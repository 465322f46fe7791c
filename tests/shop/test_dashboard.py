"""Staff pages: the live order list, order detail, close, check-now, reconciliation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from tests.support import wait_for

from .conftest import Shop, csrf_token_in


def insert_orders(
    shop: Shop,
    count: int,
    *,
    status: str = "UNPAID",
    created_at: datetime | None = None,
    description: str = "Stored order",
) -> list[str]:
    """Orders written straight to the database (the list's tests need many, not the gateway)."""
    from shop.extensions import db
    from shop.models import Order

    start = created_at or datetime.now(UTC) - timedelta(hours=1)
    numbers = []
    with shop.app.app_context():
        for index in range(count):
            number = f"SPSTORED{index:06d}{status[:2]}"
            db.session.add(
                Order(
                    request_no=number,
                    edition="normal",
                    status=status,
                    amount=Decimal("5"),
                    currency="USDT",
                    merchant_order_no=f"SHOP-{index}",
                    user_id="guest",
                    description=f"{description} {index}",
                    goods_info="goods",
                    order_time=start,
                    timeout_at=start + timedelta(hours=2),
                    created_at=start + timedelta(seconds=index),
                )
            )
            numbers.append(number)
        db.session.commit()
    return numbers


def row_numbers(page: str) -> list[str]:
    return re.findall(r'<tr id="order-([A-Z0-9_]+)"', page)


def test_list_is_newest_first_and_paginated(shop: Shop, manager: requests.Session) -> None:
    numbers = insert_orders(shop, 30)
    first = manager.get(f"{shop.url}/orders").text
    assert row_numbers(first) == list(reversed(numbers))[:25]
    assert "1–25 of 30" in first
    second = manager.get(f"{shop.url}/orders", params={"page": 2}).text
    assert row_numbers(second) == list(reversed(numbers))[25:]


def test_list_filters_by_status_date_and_search(shop: Shop, manager: requests.Session) -> None:
    old = insert_orders(
        shop, 2, status="CLOSED", created_at=datetime(2026, 1, 10, 12, tzinfo=UTC), description="Old closed"
    )
    paid = insert_orders(shop, 3, status="COMPLETED", description="Teapot")
    by_status = manager.get(f"{shop.url}/orders", params={"status": "COMPLETED"}).text
    assert sorted(row_numbers(by_status)) == sorted(paid)
    by_date = manager.get(f"{shop.url}/orders", params={"from": "2026-01-10", "to": "2026-01-10"}).text
    assert sorted(row_numbers(by_date)) == sorted(old)
    by_text = manager.get(f"{shop.url}/orders", params={"q": "teapot 1"}).text
    assert row_numbers(by_text) == [paid[1]]
    by_merchant_no = manager.get(f"{shop.url}/orders", params={"q": "SHOP-0"}).text
    assert sorted(row_numbers(by_merchant_no)) == sorted([old[0], paid[0]])
    nothing = manager.get(f"{shop.url}/orders", params={"q": "no such thing"}).text
    assert "No orders match these filters" in nothing
    bad_date = manager.get(f"{shop.url}/orders", params={"from": "yesterday"})
    assert bad_date.status_code == 200


def poll_url(page: str) -> str:
    match = re.search(r'id="list-poller" hx-get="([^"]+)"', page)
    return match.group(1).replace("&amp;", "&") if match else ""


def test_one_poll_per_page_answers_204_until_a_row_changes(shop: Shop, manager: requests.Session) -> None:
    paid_later = shop.create_order(manager)
    stays_open = shop.create_order(manager)
    page = manager.get(f"{shop.url}/orders").text
    assert page.count("hx-get=") == 1, "one poller for the whole page, not one per row"
    url = poll_url(page)

    unchanged = manager.get(shop.url + url, headers={"HX-Request": "true"})
    assert unchanged.status_code == 204 and unchanged.content == b""

    shop.sandbox("POST", f"/orders/{paid_later}/pay", json={"network": 2})
    wait_for(lambda: shop.order(paid_later).status == "COMPLETED", what="the payment")
    changed = manager.get(shop.url + url, headers={"HX-Request": "true"})
    assert changed.status_code == 200
    row_match = re.search(rf'<tr id="order-{paid_later}" hx-swap-oob="true">.*?</tr>', changed.text, re.S)
    assert row_match is not None
    row = row_match.group(0)
    assert "Paid" in row
    next_url = poll_url(changed.text)
    assert stays_open in next_url and paid_later not in next_url, "final rows stop being polled"
    assert manager.get(shop.url + next_url, headers={"HX-Request": "true"}).status_code == 204


def test_the_poller_is_gone_when_no_row_is_open(shop: Shop, manager: requests.Session) -> None:
    insert_orders(shop, 2, status="COMPLETED")
    page = manager.get(f"{shop.url}/orders").text
    assert poll_url(page) == ""


def test_detail_shows_fields_history_and_on_chain_details(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, merchant_order_no="INV_2026_001", user_id="alice")
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    order = wait_for(lambda: (o := shop.order(request_no)).status == "COMPLETED" and o, what="the payment")
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    for text in (
        "INV_2026_001",
        "alice",
        order.tx_hash,
        order.payer_addr,
        order.payment_order_no,
        "Awaiting payment → Paid",
        "notification #",
    ):
        assert text in page, text
    assert "Close order" not in page


def test_detail_live_fragment_answers_204_then_286_once_final(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    live_match = re.search(r'hx-get="([^"]+/live[^"]*)"', page)
    assert live_match is not None
    live = live_match.group(1).replace("&amp;", "&")
    assert manager.get(shop.url + live, headers={"HX-Request": "true"}).status_code == 204
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    final = manager.get(shop.url + live, headers={"HX-Request": "true"})
    assert final.status_code == 286 and "Paid" in final.text and "hx-get" not in final.text


def close(shop: Shop, session: requests.Session, request_no: str) -> str:
    detail = session.get(f"{shop.url}/orders/{request_no}")
    return session.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": csrf_token_in(detail.text)}).text


def test_close_an_unpaid_order(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    page = close(shop, manager, request_no)
    assert "Order closed" in page
    order = shop.order(request_no)
    assert order.status == "CLOSED" and order.closed_time is not None
    assert (order.events[-1].source, order.events[-1].actor) == ("close", "manager@shop.test")
    assert shop.sandbox("GET", f"/orders/{request_no}").json()["pay_status"] == "CLOSED"


def test_close_of_an_order_paid_meanwhile_is_refused_43006(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"notify_drop": -1})
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    detail = manager.get(f"{shop.url}/orders/{request_no}")
    assert "Awaiting payment" in detail.text  # the shop has not heard yet
    page = manager.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": csrf_token_in(detail.text)}).text
    assert "the shopper has already paid" in page
    assert shop.order(request_no).status == "COMPLETED"


def test_close_of_an_order_the_gateway_already_closed_43007(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/expire")
    page = close(shop, manager, request_no)
    assert "had already closed" in page
    assert shop.order(request_no).status == "CLOSED"


def test_check_status_now_applies_what_the_gateway_says(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"notify_drop": -1})
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    detail = manager.get(f"{shop.url}/orders/{request_no}")
    page = manager.post(f"{shop.url}/orders/{request_no}/refresh", data={"csrf_token": csrf_token_in(detail.text)}).text
    assert "Status updated from the gateway" in page
    assert shop.order(request_no).status == "COMPLETED"


def test_reconcile_settles_an_order_whose_notification_was_dropped(shop: Shop, manager: requests.Session) -> None:
    paid = shop.create_order(manager)
    expired = shop.create_order(manager)
    untouched = shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"notify_drop": -1})
    shop.sandbox("POST", f"/orders/{paid}/pay", json={"network": 2})
    shop.sandbox("POST", f"/orders/{expired}/expire")

    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "Checked 3 open orders: 2 changed" in result.output
    assert shop.order(paid).status == "COMPLETED" and shop.order(paid).events[-1].source == "reconcile"
    assert shop.order(expired).status == "CLOSED"
    assert shop.order(untouched).status == "UNPAID"


def test_an_unanswered_create_is_kept_and_finished_by_reconcile(shop: Shop, manager: requests.Session) -> None:
    shop.sandbox("POST", "/faults", json={"api_http_500": -1})
    response = shop.post_order_form(manager)
    assert response.status_code == 303
    request_no = response.headers["Location"].rsplit("/", 1)[1]
    assert "did not answer in time" in manager.get(shop.url + response.headers["Location"]).text
    assert shop.order(request_no).status == "CREATING"

    shop.sandbox("POST", "/faults", json={"api_http_500": 0})
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 0, result.output
    order = shop.order(request_no)
    assert order.status == "UNPAID" and order.cashier_url


def test_reconcile_exits_nonzero_when_the_gateway_is_unreachable(shop: Shop, manager: requests.Session) -> None:
    shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"api_http_500": -1})
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 1 and "1 unreachable" in result.output


def test_close_answered_with_a_server_error_changes_nothing_and_says_so(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"api_http_500": -1})
    page = close(shop, manager, request_no)
    assert "Could not reach the gateway" in page and "nothing changed" in page
    assert shop.order(request_no).status == "UNPAID"
