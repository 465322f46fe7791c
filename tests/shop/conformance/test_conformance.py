"""What the shop promises whatever the gateway: each behaviour written once, run for every
gateway (``gateway`` is its driver), through the shop's pages and the gateway's real sandbox.

Each test checks what staff see (the order page, the list, the inspector, the messages) and the
stored state where it matters (the order's status and history, the gateway's own records).
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import requests

from shop.extensions import db
from shop.models import Notification, Order
from tests.shop.conftest import Shop, csrf_token_in, text_of
from tests.support import wait_for

from .drivers import GatewayDriver, Statement

#: The order statuses as staff read them (English).
AWAITING, PAID, CLOSED, CREATING = "Awaiting payment", "Paid", "Closed", "Creating"


# --- reading the pages -------------------------------------------------------------------------


def order_page(shop: Shop, session: requests.Session, request_no: str) -> str:
    response = session.get(f"{shop.url}/orders/{request_no}")
    assert response.status_code == 200, response.text
    return response.text


def history(page: str) -> str:
    """The order page's audit trail, as text."""
    match = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert match, "no audit trail on the order page"
    return text_of(match.group(1))


def status_badge(page: str) -> str:
    """The status the order page shows in its Payment card."""
    match = re.search(r'<h2 class="card__title">Payment</h2>\s*<p>(.*?)</p>', page, re.S)
    assert match, "no status on the order page"
    return text_of(match.group(1)).strip()


def list_row(shop: Shop, session: requests.Session, request_no: str) -> str:
    """The order's row on /orders, as text ("" when it is not listed)."""
    page = session.get(f"{shop.url}/orders").text
    match = re.search(rf'<tr id="order-{request_no}".*?</tr>', page, re.S)
    return text_of(match.group(0)).strip() if match else ""


def flashes(page: str) -> list[tuple[str, str]]:
    """The messages shown at the top of a page: (category, text)."""
    return [
        (category, html.unescape(text))
        for category, text in re.findall(r'<p class="flash flash--(\w+)">(.*?)</p>', page, re.S)
    ]


def press(shop: Shop, session: requests.Session, request_no: str, action: str, **fields: str) -> str:
    """POST one of the order page's forms (with the page's CSRF token); the page it leads back to."""
    token = csrf_token_in(order_page(shop, session, request_no))
    response = session.post(f"{shop.url}/orders/{request_no}/{action}", data={"csrf_token": token, **fields})
    assert response.status_code == 200, response.text
    return response.text


def status_changes(order: Order) -> list[tuple[str | None, str | None, str]]:
    """The order's history, only the entries that moved its status: (from, to, source)."""
    return [(e.from_status, e.to_status, e.source) for e in order.events if e.from_status != e.to_status]


def reconcile(shop: Shop) -> str:
    """``flask --app app sparkpay reconcile``; its output."""
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 0, result.output
    output: str = result.output
    return output


def paid(shop: Shop, gateway: GatewayDriver, request_no: str) -> Order:
    """Pay the order at the gateway and wait for its notification to reach the shop."""
    gateway.pay(shop, request_no)
    return wait_for(
        lambda: (order := shop.order(request_no)).status == "COMPLETED" and order, what="the payment notification"
    )


def sent(shop: Shop, gateway: GatewayDriver, request_no: str, said: Statement) -> None:
    """Deliver a genuine notification saying ``said`` about the order; it must be acknowledged."""
    response = gateway.genuine_delivery(shop, shop.order(request_no), said).send(shop)
    assert gateway.acknowledged(response), (response.status_code, response.text)


def outcomes(shop: Shop, request_no: str) -> list[str]:
    return [n.outcome for n in shop.order(request_no).notifications]


# --- 1. create ---------------------------------------------------------------------------------


def test_staff_create_an_order_that_awaits_payment(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    response = gateway.post_order_form(shop, manager)
    assert response.status_code == 303, response.text
    request_no = response.headers["Location"].rsplit("/", 1)[1]

    page = manager.get(shop.url + response.headers["Location"]).text
    assert ("success", "Order created. Send the checkout link to the shopper.") in flashes(page)
    assert status_badge(page) == AWAITING
    assert f'value="{shop.url}/pay/{request_no}"' in page, "the shopper's checkout link"
    assert AWAITING in list_row(shop, manager, request_no)

    order = shop.order(request_no)
    assert (order.gateway, order.status, order.amount, order.currency) == (
        gateway.name,
        "UNPAID",
        gateway.amount,
        gateway.currency,
    )
    assert order.cashier_url and order.cashier_url.startswith(shop.url + gateway.cashier_path)
    assert order.payment_order_no
    assert status_changes(order) == [(None, "CREATING", "staff"), ("CREATING", "UNPAID", "create")]
    assert [(o.request_no, o.status) for o in gateway.gateway_orders(shop)] == [(request_no, "UNPAID")]
    assert requests.get(f"{shop.url}/pay/{request_no}").status_code == 200


# --- 2. a create whose answer is lost ----------------------------------------------------------


def test_a_create_whose_answer_was_lost_ends_as_one_gateway_order_once_reconciled(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    gateway.lose_next_create_answer(shop)
    response = gateway.post_order_form(shop, manager)
    assert response.status_code == 303, response.text
    request_no = response.headers["Location"].rsplit("/", 1)[1]

    page = manager.get(shop.url + response.headers["Location"]).text
    assert any(category == "error" and "did not answer" in text for category, text in flashes(page))
    assert status_badge(page) == CREATING
    assert shop.order(request_no).status == "CREATING"
    held = gateway.gateway_orders(shop)
    assert [o.request_no for o in held] == [request_no], "the gateway holds it; the shop did not hear"

    assert "Checked 1 open orders: 1 changed, 0 unreachable." in reconcile(shop)
    order = shop.order(request_no)
    assert order.status == "UNPAID"
    assert [(o.request_no, o.status) for o in gateway.gateway_orders(shop)] == [(request_no, "UNPAID")]
    assert shop.order_numbers() == [request_no]
    assert status_badge(order_page(shop, manager, request_no)) == AWAITING

    assert "Checked 1 open orders: 0 changed" in reconcile(shop), "a second run changes nothing"
    assert len(gateway.gateway_orders(shop)) == 1


# --- 3. a notification applied once ------------------------------------------------------------


def test_a_payment_completes_the_order_through_the_notification_once(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    order = paid(shop, gateway, unpaid)
    assert status_changes(order)[-1] == ("UNPAID", "COMPLETED", "webhook")
    assert [e.to_status for e in order.events if e.from_status != e.to_status].count("COMPLETED") == 1
    (record,) = order.notifications
    assert (record.gateway, record.verified, record.outcome) == (gateway.name, True, "applied")
    assert order.pay_time is not None

    page = order_page(shop, manager, unpaid)
    assert status_badge(page) == PAID
    assert history(page).count(f"{AWAITING} → {PAID}") == 1
    assert PAID in list_row(shop, manager, unpaid)
    assert [o.status for o in gateway.gateway_orders(shop)] == ["COMPLETED"]


# --- 4. a duplicate ----------------------------------------------------------------------------


def test_a_duplicate_delivery_is_acknowledged_and_changes_nothing(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    first = gateway.genuine_delivery(shop, shop.order(unpaid), Statement("COMPLETED"))
    for delivery in (first, first, gateway.genuine_delivery(shop, shop.order(unpaid), Statement("COMPLETED"))):
        response = delivery.send(shop)  # the same bytes again, then the same statement signed afresh
        assert gateway.acknowledged(response), (response.status_code, response.text)

    order = shop.order(unpaid)
    assert order.status == "COMPLETED"
    assert outcomes(shop, unpaid) == ["applied", "duplicate", "duplicate"]
    assert [to for _, to, _ in status_changes(order)].count("COMPLETED") == 1
    page = order_page(shop, manager, unpaid)
    assert history(page).count(f"{AWAITING} → {PAID}") == 1
    assert history(page).count("Already applied") == 2


# --- 5. out of order ---------------------------------------------------------------------------


def test_a_late_earlier_statement_never_regresses_a_final_status(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    completed = gateway.create_order(shop, manager)
    paid(shop, gateway, completed)
    for late in ("UNPAID", "CLOSED"):
        sent(shop, gateway, completed, Statement(late))
    assert shop.order(completed).status == "COMPLETED"
    assert outcomes(shop, completed) == ["applied", "stale", "stale"]
    assert status_badge(order_page(shop, manager, completed)) == PAID

    closed = gateway.create_order(shop, manager)
    gateway.expire(shop, closed)
    reconcile(shop)  # (a gateway that tells of closes may have told the shop already)
    wait_for(lambda: shop.order(closed).status == "CLOSED", what="the expiry")
    sent(shop, gateway, closed, Statement("UNPAID"))
    assert shop.order(closed).status == "CLOSED"
    # (the gateway's own notification of the close, where it sends one, may come before or after)
    assert [n.outcome for n in shop.order(closed).notifications if n.pay_status == "UNPAID"] == ["stale"]
    assert status_badge(order_page(shop, manager, closed)) == CLOSED


# --- 6. forged ---------------------------------------------------------------------------------


def test_a_forged_delivery_is_refused_recorded_and_changes_nothing(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    before = shop.order(unpaid)
    response = gateway.forged_delivery(shop, before, Statement("COMPLETED")).send(shop)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert not gateway.acknowledged(response)

    after = shop.order(unpaid)
    assert after.status == "UNPAID" and after.revision == before.revision
    assert [e.id for e in after.events] == [e.id for e in before.events]
    assert after.notifications == []
    with shop.app.app_context():
        (record,) = db.session.scalars(db.select(Notification)).all()
        assert (record.gateway, record.verified, record.outcome) == (gateway.name, False, "rejected")
        refused_id = record.id

    inspector = manager.get(f"{shop.url}/deliveries").text
    row = re.search(rf'<tr>\s*<td><a href="/deliveries/{refused_id}">.*?</tr>', inspector, re.S)
    assert row, "the refused delivery is listed in the inspector"
    listed = text_of(row.group(0))
    assert f"{gateway.label} — — No Refused (not verified)" in listed, listed
    assert status_badge(order_page(shop, manager, unpaid)) == AWAITING


# --- 7. a statement that does not match the order -----------------------------------------------


def test_a_genuine_statement_that_does_not_match_the_order_is_flagged_not_applied(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    cases = {
        "amount": Statement("COMPLETED", amount=gateway.other_amount),
        "currency": Statement("COMPLETED", currency=gateway.other_currency),
    }
    for what, said in cases.items():
        request_no = gateway.create_order(shop, manager)
        response = gateway.genuine_delivery(shop, shop.order(request_no), said).send(shop)
        assert gateway.acknowledged(response), "retrying cannot make it fit: acknowledged, kept for staff"

        order = shop.order(request_no)
        assert order.status == "UNPAID", what
        assert outcomes(shop, request_no) == ["mismatch"], what
        assert f"{what} " in str(order.needs_attention) and "differs from the stored" in str(order.needs_attention)
        assert [to for _, to, _ in status_changes(order)] == ["CREATING", "UNPAID"], what

        page = order_page(shop, manager, request_no)
        assert "Needs attention:" in text_of(page) and "Gateway data does not match" in text_of(page), what
        assert status_badge(page) == AWAITING, what
        assert f"Not applied: {what} " in history(page), what
        assert "Does not match the order" in text_of(page), "the notifications received say so"
        assert "Needs attention" in list_row(shop, manager, request_no), what


# --- 8. a status check repairs a missed notification ---------------------------------------------


def test_check_status_now_applies_the_gateways_status_when_the_notification_is_missing(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    gateway.hold_notifications(shop)
    gateway.pay(shop, unpaid)
    assert [o.status for o in gateway.gateway_orders(shop)] == ["COMPLETED"]
    assert status_badge(order_page(shop, manager, unpaid)) == AWAITING, "the shop has not heard"

    page = press(shop, manager, unpaid, "refresh")
    assert ("success", "Status updated from the gateway.") in flashes(page)
    assert status_badge(page) == PAID
    order = shop.order(unpaid)
    assert order.status == "COMPLETED" and order.notifications == []
    assert status_changes(order)[-1] == ("UNPAID", "COMPLETED", "query")
    assert (order.events[-1].actor, order.pay_time is not None) == ("manager@shop.test", True)

    again = press(shop, manager, unpaid, "refresh")
    assert ("info", "The gateway confirms the status shown.") in flashes(again)
    assert [to for _, to, _ in status_changes(shop.order(unpaid))].count("COMPLETED") == 1


# --- 9. reconciliation -------------------------------------------------------------------------


def test_reconcile_settles_orders_whose_notifications_were_missed(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    settled, lapsed, untouched = (gateway.create_order(shop, manager) for _ in range(3))
    gateway.hold_notifications(shop)
    gateway.pay(shop, settled)
    gateway.expire(shop, lapsed)
    assert {o.request_no: o.status for o in gateway.gateway_orders(shop)} == {
        settled: "COMPLETED",
        lapsed: "CLOSED",
        untouched: "UNPAID",
    }

    assert "Checked 3 open orders: 2 changed, 0 unreachable." in reconcile(shop)
    assert status_changes(shop.order(settled))[-1] == ("UNPAID", "COMPLETED", "reconcile")
    assert status_changes(shop.order(lapsed))[-1] == ("UNPAID", "CLOSED", "reconcile")
    assert shop.order(untouched).status == "UNPAID"
    assert status_badge(order_page(shop, manager, settled)) == PAID
    assert status_badge(order_page(shop, manager, lapsed)) == CLOSED
    assert "Checked 1 open orders: 0 changed" in reconcile(shop)


# --- 10. close ---------------------------------------------------------------------------------


def test_close_where_the_gateway_can_and_a_refusal_where_it_cannot(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    offered = "Close order" in order_page(shop, manager, unpaid)
    assert offered == gateway.can_close
    before = shop.order(unpaid)
    page = press(shop, manager, unpaid, "close")
    if gateway.can_close:
        assert ("success", "Order closed. The shopper can no longer pay it.") in flashes(page)
        assert status_badge(page) == CLOSED
        order = shop.order(unpaid)
        assert order.status == "CLOSED" and order.closed_time is not None
        assert status_changes(order)[-1] == ("UNPAID", "CLOSED", "close")
        assert [o.status for o in gateway.gateway_orders(shop)] == ["CLOSED"]
    else:
        assert [category for category, _ in flashes(page)] == ["error"], "refused, with a message"
        assert status_badge(page) == AWAITING
        after = shop.order(unpaid)
        assert (after.status, after.revision, len(after.events)) == ("UNPAID", before.revision, len(before.events))
        assert [o.status for o in gateway.gateway_orders(shop)] == ["UNPAID"]


# --- 11. refund --------------------------------------------------------------------------------


def test_refund_where_the_gateway_can_and_a_refusal_where_it_cannot(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver, unpaid: str
) -> None:
    paid(shop, gateway, unpaid)
    offered = "Yes, refund" in order_page(shop, manager, unpaid)
    assert offered == gateway.can_refund
    before = shop.order(unpaid)
    page = press(shop, manager, unpaid, "refund", amount=gateway.refund_amount, reason="One pack damaged")
    if gateway.can_refund:
        assert any(c == "success" and t.startswith("Refund accepted by the gateway") for c, t in flashes(page))
        wait_for(lambda: [r.status for r in shop.order(unpaid).refunds] == ["REFUNDED"], what="the refund notification")
        order = shop.order(unpaid)
        assert order.status == "COMPLETED"
        assert order.refundable == gateway.amount - Decimal(gateway.refund_amount)
        trail = history(order_page(shop, manager, unpaid))
        done = f"of {gateway.refund_amount} {gateway.currency} done."
        assert trail.count(done) == 1 and "One pack damaged" in trail
    else:
        assert [category for category, _ in flashes(page)] == ["error"], "refused, with a message"
        after = shop.order(unpaid)
        assert after.refunds == [] and after.status == "COMPLETED"
        assert (after.revision, len(after.events)) == (before.revision, len(before.events))
    assert status_badge(order_page(shop, manager, unpaid)) == PAID


# --- 12. the list and the order page -------------------------------------------------------------


def test_the_list_and_the_order_page_show_the_order_with_its_gateway(
    shop: Shop, manager: requests.Session, gateway: GatewayDriver
) -> None:
    awaiting = gateway.create_order(shop, manager)
    completed = gateway.create_order(shop, manager)
    paid(shop, gateway, completed)

    for request_no, label in ((awaiting, AWAITING), (completed, PAID)):
        row = list_row(shop, manager, request_no)
        assert label in row, (request_no, row)

        page = order_page(shop, manager, request_no)
        assert status_badge(page) == label
        assert f"Gateway {gateway.label}" in text_of(page)
        trail = history(page)
        assert f"new → {CREATING}" in trail and f"{CREATING} → {AWAITING}" in trail
    assert f"{AWAITING} → {PAID}" in history(order_page(shop, manager, completed))
