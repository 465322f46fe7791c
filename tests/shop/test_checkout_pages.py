"""The shopper's pages: /pay/<request_no> and the return page /checkout/return/<request_no>."""

from __future__ import annotations

import requests

from tests.support import wait_for

from .conftest import Shop


def test_pay_page_shows_the_summary_and_leads_to_the_cashier(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, amount="1234.5", description="Gift card", networks=["2"])
    page = requests.get(f"{shop.url}/pay/{request_no}")
    assert page.status_code == 200
    assert "1,234.5" in page.text and "Gift card" in page.text
    cashier_url = shop.order(request_no).cashier_url
    assert cashier_url is not None
    assert f'href="{cashier_url}"' in page.text
    assert "data-deadline=" in page.text
    assert "Sign out" not in page.text, "shoppers see no staff navigation"
    cashier = requests.get(cashier_url)
    assert cashier.status_code == 200 and "Gift card" in cashier.text


def test_pay_page_of_an_unknown_order_is_a_friendly_404(shop: Shop) -> None:
    page = requests.get(f"{shop.url}/pay/SPDOESNOTEXIST")
    assert page.status_code == 404
    assert "could not find this payment" in page.text
    assert "Traceback" not in page.text


def test_pay_page_of_an_expired_order_says_so_instead_of_redirecting(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/expire")
    page = requests.get(f"{shop.url}/pay/{request_no}")  # past its deadline: the page asks the gateway
    assert "no longer valid" in page.text
    cashier_url = shop.order(request_no).cashier_url
    assert cashier_url is not None
    assert cashier_url not in page.text


def test_pay_page_of_a_closed_order_says_so(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    _close(shop, manager, request_no)
    page = requests.get(f"{shop.url}/pay/{request_no}")
    assert "no longer valid" in page.text and "Continue to payment" not in page.text


def test_pay_page_of_a_paid_order_says_already_paid(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    page = requests.get(f"{shop.url}/pay/{request_no}")
    assert "Already paid" in page.text and "Continue to payment" not in page.text


def test_return_page_never_trusts_the_query_string(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    page = requests.get(
        f"{shop.url}/checkout/return/{request_no}",
        params={"pay_status": "COMPLETED", "status": "COMPLETED", "paid": "1"},
    )
    assert page.status_code == 200
    assert "Waiting for your payment" in page.text and "Payment received" not in page.text
    assert f'hx-get="/checkout/return/{request_no}/status"' in page.text
    assert shop.order(request_no).status == "UNPAID"


def test_return_page_asks_the_gateway_when_the_notification_is_missing(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", "/faults", json={"notify_drop": -1})
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    page = requests.get(f"{shop.url}/checkout/return/{request_no}")
    assert "Payment received" in page.text
    assert "hx-get" not in page.text, "a final page stops polling"
    order = shop.order(request_no)
    assert order.status == "COMPLETED" and order.events[-1].source == "query"


def test_return_status_fragment_polls_until_final_then_answers_286(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    fragment = requests.get(f"{shop.url}/checkout/return/{request_no}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "Waiting for your payment" in fragment.text
    assert "<html" not in fragment.text
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    fragment = requests.get(f"{shop.url}/checkout/return/{request_no}/status", headers={"HX-Request": "true"})
    assert fragment.status_code == 286 and "Payment received" in fragment.text


def test_return_page_of_a_closed_order_says_nothing_was_charged(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    _close(shop, manager, request_no)
    page = requests.get(f"{shop.url}/checkout/return/{request_no}")
    assert "Payment not completed" in page.text and "Nothing was charged" in page.text


def test_return_page_of_a_refused_order(shop: Shop, manager: requests.Session) -> None:
    shop.post_order_form(manager, amount="0.000001")
    request_no = shop.order_numbers()[0]
    page = requests.get(f"{shop.url}/checkout/return/{request_no}")
    assert "could not be set up" in page.text


def _close(shop: Shop, session: requests.Session, request_no: str) -> None:
    from .conftest import csrf_token_in

    detail = session.get(f"{shop.url}/orders/{request_no}")
    response = session.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": csrf_token_in(detail.text)})
    assert "Order closed" in response.text
