"""ExamplePay in the shop: chosen per order on the creation form, paid on its hosted page,
its signed notifications applied, status checks and reconciliation, and refunds."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask, Response

from examplepay import readings
from examplepay.signing import authorize
from tests.support import sandbox_token, serve, wait_for

from .conftest import Shop, csrf_token_in, start_shop, text_of

PAYER = {"payer_name": "Asha Rao", "payer_email": "asha@example.com", "payer_phone": "9000000000"}


def examplepay(shop: Shop, path: str, **kwargs: Any) -> requests.Response:
    response = requests.post(f"{shop.url}/examplepay-sandbox/control{path}", timeout=10, **kwargs)
    assert response.status_code < 400, response.text
    return response


def create(shop: Shop, session: requests.Session, **fields: str) -> str:
    page = session.get(f"{shop.url}/orders/new", params={"edition": "examplepay"}).text
    token_match = re.search(r'name="form_token" type="hidden" value="([^"]*)"', page)
    assert token_match is not None
    token = token_match.group(1)
    data = {
        "csrf_token": csrf_token_in(page),
        "edition": "examplepay",
        "form_token": token,
        "description": "Masala chai, 250 g",
        "amount": "499.00",
        "currency": "INR",
        **PAYER,
        **fields,
    }
    response = session.post(f"{shop.url}/orders/new", data=data, allow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def paid(shop: Shop, manager: requests.Session) -> str:
    request_no = create(shop, manager)
    examplepay(shop, f"/payments/{request_no}/pay")
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment notification")
    return request_no


def test_the_form_offers_examplepay_and_the_order_gets_a_payment_page(shop: Shop, manager: requests.Session) -> None:
    form = manager.get(f"{shop.url}/orders/new").text
    assert "ExamplePay (UPI or PIX)" in form
    request_no = create(shop, manager)
    order = shop.order(request_no)
    assert (order.gateway, order.status, order.amount, order.currency) == (
        "examplepay",
        "UNPAID",
        Decimal("499.00"),
        "INR",
    )
    assert order.payer == {"name": "Asha Rao", "email": "asha@example.com", "phone": "9000000000"}
    assert order.cashier_url is not None
    assert order.cashier_url.startswith(f"{shop.url}/examplepay-sandbox/pay/") and order.payment_order_no
    detail = text_of(manager.get(f"{shop.url}/orders/{request_no}").text)
    assert "Gateway ExamplePay" in detail and "Asha Rao" in detail and "Close order" not in detail
    pay_page = requests.get(f"{shop.url}/pay/{request_no}").text
    assert "ExamplePay's secure payment page" in pay_page and "Payments by ExamplePay" in pay_page


def test_bad_fields_are_shown_next_to_them(shop: Shop, manager: requests.Session) -> None:
    page = manager.get(f"{shop.url}/orders/new", params={"edition": "examplepay"}).text
    response = manager.post(
        f"{shop.url}/orders/new",
        data={
            "csrf_token": csrf_token_in(page),
            "edition": "examplepay",
            "description": "Chai",
            "amount": "10.005",
            "currency": "INR",
            **PAYER,
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="amount-error">has more than 2 decimal places', response.text)
    assert shop.order_numbers() == []


def test_the_shopper_pays_on_the_hosted_page_and_returns_to_a_true_status(
    shop: Shop, manager: requests.Session
) -> None:
    request_no = create(shop, manager)
    cashier = shop.order(request_no).cashier_url
    assert cashier is not None
    shopper = requests.Session()
    page = shopper.get(cashier).text
    assert "499.00" in page
    back = shopper.post(cashier, data={"action": "pay", "sandbox_token": sandbox_token(page)}, allow_redirects=False)
    target = urlsplit(back.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{shop.url}/checkout/return/{request_no}"
    wait_for(
        lambda: "Payment received" in requests.get(back.headers["Location"]).text, what="the return page to say paid"
    )
    # The return page asked the gateway itself; the notification then finds the order paid, or pays it.
    (record,) = wait_for(lambda: shop.order(request_no).notifications, what="the notification")
    order = shop.order(request_no)
    assert order.status == "COMPLETED" and order.pay_time is not None
    assert (record.gateway, record.verified) == ("examplepay", True) and record.outcome in ("applied", "duplicate")
    assert [e.source for e in order.events if e.from_status != e.to_status][-1] in ("webhook", "query")


def test_a_forged_notification_is_refused_and_changes_nothing(shop: Shop, manager: requests.Session) -> None:
    request_no = create(shop, manager)
    order = shop.order(request_no)
    body = (
        f'{{"event":"PAYMENT","data":{{"paymentNo":"{order.payment_order_no}","merchantTradeNo":"{request_no}",'
        '"amount":"499.00","currency":"INR","status":"PAID"}}'
    ).encode()
    forged = authorize(shop.app.config["EXAMPLEPAY_APP_ID"], "0" * 32, "POST", f"{shop.url}/webhooks/examplepay", body)
    for headers in ({"Authorization": forged.header()}, {}):
        answer = requests.post(
            f"{shop.url}/webhooks/examplepay", data=body, headers={"Content-Type": "application/json", **headers}
        )
        assert (answer.status_code, answer.json()) == (401, {"code": "FAIL"})
    assert shop.order(request_no).status == "UNPAID"
    assert [n.outcome for n in shop.order(request_no).notifications] == []
    inspector = text_of(manager.get(f"{shop.url}/deliveries").text)
    assert inspector.count("Refused (not verified)") >= 2 and "ExamplePay" in inspector


def test_a_missed_notification_is_caught_by_a_status_check_and_by_reconciliation(
    shop: Shop, manager: requests.Session
) -> None:
    examplepay(shop, "/notifications/pause")
    checked, reconciled = create(shop, manager), create(shop, manager)
    examplepay(shop, f"/payments/{checked}/pay")
    examplepay(shop, f"/payments/{reconciled}/close")
    page = manager.get(f"{shop.url}/orders/{checked}").text
    after = manager.post(f"{shop.url}/orders/{checked}/refresh", data={"csrf_token": csrf_token_in(page)})
    assert "Status updated from the gateway" in after.text and shop.order(checked).status == "COMPLETED"
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exit_code == 0, result.output
    assert shop.order(reconciled).status == "CLOSED"
    examplepay(shop, "/notifications/resume")
    wait_for(lambda: len(shop.order(checked).notifications) == 1, what="the late notification")
    assert shop.order(checked).notifications[0].outcome == "duplicate"


def test_a_refund_is_confirmed_and_written_in_the_history(
    shop: Shop, manager: requests.Session, viewer: requests.Session
) -> None:
    request_no = paid(shop, manager)
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    assert 'value="499.00"' in page and "Yes, refund" in page
    token = csrf_token_in(page)

    too_much = manager.post(
        f"{shop.url}/orders/{request_no}/refund", data={"csrf_token": token, "amount": "499.01", "reason": "Damaged"}
    )
    assert "At most 499.00 INR is left to refund." in html.unescape(too_much.text)
    no_reason = manager.post(
        f"{shop.url}/orders/{request_no}/refund", data={"csrf_token": token, "amount": "10.00", "reason": ""}
    )
    assert "Give the amount to refund and a reason." in no_reason.text
    viewer_page = viewer.get(f"{shop.url}/orders/{request_no}").text
    assert "Yes, refund" not in viewer_page
    assert (
        viewer.post(
            f"{shop.url}/orders/{request_no}/refund",
            data={"csrf_token": csrf_token_in(viewer_page), "amount": "1.00", "reason": "x"},
        ).status_code
        == 403
    )

    accepted = manager.post(
        f"{shop.url}/orders/{request_no}/refund",
        data={"csrf_token": token, "amount": "100.00", "reason": "One pack damaged"},
    )
    assert "Refund accepted by the gateway" in accepted.text
    wait_for(lambda: [r.status for r in shop.order(request_no).refunds] == ["REFUNDED"], what="the refund notification")
    order = shop.order(request_no)
    assert order.status == "COMPLETED" and order.refundable == Decimal("399.00")
    steps = [str(e.detail) for e in order.events if e.source in ("refund", "webhook") and e.from_status == e.to_status]
    assert [re.sub(r"RF[0-9A-F]+", "RF…", s) for s in steps] == [
        "Refund RF… of 100.00 INR requested: One pack damaged",
        re.sub(r"RF[0-9A-F]+", "RF…", steps[1]),
        "Refund RF… of 100.00 INR done.",
    ]
    assert steps[1].startswith("Refund RF") and "accepted by the gateway as R" in steps[1]
    detail = text_of(manager.get(f"{shop.url}/orders/{request_no}").text)
    assert "One pack damaged" in detail and "Refunded" in detail

    manager.post(
        f"{shop.url}/orders/{request_no}/refund", data={"csrf_token": token, "amount": "399.00", "reason": "Rest"}
    )
    wait_for(
        lambda: [r.status for r in shop.order(request_no).refunds] == ["REFUNDED", "REFUNDED"], what="the second refund"
    )
    assert "Yes, refund" not in manager.get(f"{shop.url}/orders/{request_no}").text, "nothing left to refund"


def test_an_unanswered_refund_is_sent_again_under_the_same_number(shop: Shop, manager: requests.Session) -> None:
    request_no = paid(shop, manager)
    token = csrf_token_in(manager.get(f"{shop.url}/orders/{request_no}").text)
    examplepay(
        shop, "/faults", json={"failing_refunds": 2}
    )  # the client's one retry of a query does not apply to creates
    answer = manager.post(
        f"{shop.url}/orders/{request_no}/refund", data={"csrf_token": token, "amount": "9.00", "reason": "Late"}
    )
    assert "will be sent again under the same number" in answer.text
    (refund,) = shop.order(request_no).refunds
    assert refund.status == "REQUESTED"
    from shop.extensions import db
    from shop.models import Refund, now_utc
    from shop.orders import refunds

    assert shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"]).exit_code == 0
    assert [r.status for r in shop.order(request_no).refunds] == ["REQUESTED"], (
        "not yet due; and the next try fails too"
    )
    with shop.app.app_context():
        due = now_utc() - refunds.RESEND_AFTER
        db.session.execute(db.update(Refund).values(updated_at=due))
        db.session.commit()
    assert shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"]).exit_code == 0  # answered 500 again
    with shop.app.app_context():
        db.session.execute(db.update(Refund).values(updated_at=due))
        db.session.commit()
    assert shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"]).exit_code == 0
    wait_for(lambda: [r.status for r in shop.order(request_no).refunds] == ["REFUNDED"], what="the resent refund")
    assert shop.order(request_no).refunds[0].merchant_refund_no == refund.merchant_refund_no


@pytest.fixture
def sparkpay_only(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    yield from start_shop(tmp_path, merchant_key, platform_key, SANDBOX_ENABLED="0")


def test_examplepay_is_offered_only_when_configured(sparkpay_only: Shop) -> None:
    manager = sparkpay_only.sign_in()
    assert "ExamplePay" not in manager.get(f"{sparkpay_only.url}/orders/new").text
    fallback = manager.get(f"{sparkpay_only.url}/orders/new", params={"edition": "examplepay"}).text
    assert "How the shopper may pay" in fallback, "the SparkPay form instead"
    assert requests.post(f"{sparkpay_only.url}/webhooks/examplepay", data=b"{}").status_code == 404


def test_with_examplepay_switched_off_its_open_orders_and_refunds_wait_without_breaking_reconcile(
    sparkpay_only: Shop,
) -> None:
    from shop.extensions import db, write_transaction
    from shop.models import Order, Refund, now_utc

    now = now_utc()
    with sparkpay_only.app.app_context(), write_transaction():
        for request_no, status in (("SPEXAMPLEOPEN", "UNPAID"), ("SPEXAMPLEPAID", "COMPLETED")):
            db.session.add(
                Order(
                    request_no=request_no,
                    gateway="examplepay",
                    edition="normal",
                    status=status,
                    amount=Decimal("499.00"),
                    currency="INR",
                    merchant_order_no=request_no,
                    user_id="guest",
                    description="Tea",
                    goods_info="Tea",
                    order_time=now,
                    timeout_at=now,
                )
            )
        db.session.flush()
        paid = db.session.scalars(db.select(Order).where(Order.request_no == "SPEXAMPLEPAID")).one()
        db.session.add(
            Refund(order=paid, merchant_refund_no="RFWAITING", amount=Decimal("1.00"), reason="x", status="REQUESTED")
        )
    with sparkpay_only.app.app_context(), write_transaction():
        db.session.execute(db.update(Refund).values(updated_at=now - timedelta(hours=1)))
    result = sparkpay_only.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Checked 1 open orders: 0 changed, 1 unreachable." in result.output
    assert sparkpay_only.order("SPEXAMPLEOPEN").status == "UNPAID"
    with sparkpay_only.app.app_context():
        assert db.session.scalars(db.select(Refund.status)).one() == "REQUESTED", "kept, to be sent once it is back"


#: The other alternatives of the ExamplePay sandbox's readings (the defaults run everywhere else).
OTHER_READINGS = [
    {"EXAMPLEPAY_SANDBOX_READINGS": "A13=http-400,A8=idempotent,A11=upper-case"},
    {"EXAMPLEPAY_SANDBOX_READINGS": "A2=path", "EXAMPLEPAY_SIGNED_URL_FORM": "path"},
]


@pytest.fixture(params=OTHER_READINGS, ids=["http-400-idempotent-upper-case", "path"])
def read_otherwise(
    request: pytest.FixtureRequest, tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Shop]:
    yield from start_shop(tmp_path, merchant_key, platform_key, **request.param)


def test_the_shop_is_right_under_the_other_readings_too(read_otherwise: Shop) -> None:
    """A lost create answer settled once, a notification applied, a refund done."""
    shop = read_otherwise
    chosen = {e["id"]: e["current"] for e in requests.get(f"{shop.url}/examplepay-sandbox/readings").json()}
    assert chosen == shop.app.config["EXAMPLEPAY_SANDBOX_READINGS"] and chosen != readings.defaults()
    manager = shop.sign_in()
    examplepay(shop, "/faults", json={"failing_creates": 1})
    request_no = create(shop, manager)
    assert shop.order(request_no).status == "CREATING"
    assert shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"]).exit_code == 0
    assert shop.order(request_no).status == "UNPAID"
    held = requests.get(f"{shop.url}/examplepay-sandbox/control/payments").json()
    assert [p["merchantTradeNo"] for p in held] == [request_no], "one payment, not two"
    examplepay(shop, f"/payments/{request_no}/pay")
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment notification")
    assert [n.verified for n in shop.order(request_no).notifications] == [True]
    token = csrf_token_in(manager.get(f"{shop.url}/orders/{request_no}").text)
    refund = {"csrf_token": token, "amount": "100.00", "reason": "One pack damaged"}
    accepted = manager.post(f"{shop.url}/orders/{request_no}/refund", data=refund)
    assert "Refund accepted by the gateway" in accepted.text
    wait_for(lambda: [r.status for r in shop.order(request_no).refunds] == ["REFUNDED"], what="the refund")


@dataclass
class UnsignedShop:
    shop: Shop
    calls: list[str]  # the paths its ExamplePay was asked, in order


@pytest.fixture
def unsigned_shop(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[UnsignedShop]:
    """A shop whose ExamplePay answers every call with an unsigned refusal (a proxy, or a forger)."""
    app = Flask("unsigned")
    calls: list[str] = []

    @app.post("/pg/v2/<path:path>")
    def refuse(path: str) -> Response:
        calls.append(path)
        code = "Payment.Common.Not_Found" if path == "payment/query" else "Common.Request_Parameter_Error"
        body = json.dumps({"code": code, "errorMessage": "amount is wrong", "data": None})
        return Response(body, status=400, mimetype="application/json")

    with serve(app) as url:
        for shop in start_shop(
            tmp_path,
            merchant_key,
            platform_key,
            EXAMPLEPAY_BASE_URL=url,
            EXAMPLEPAY_APP_ID="0123456789abcdef0123456789abcdef",
            EXAMPLEPAY_APP_SECRET="fedcba9876543210fedcba9876543210",
        ):
            yield UnsignedShop(shop, calls)


def test_an_unsigned_refusal_changes_no_order(unsigned_shop: UnsignedShop) -> None:
    shop = unsigned_shop.shop
    manager = shop.sign_in()
    request_no = create(shop, manager)
    assert shop.order(request_no).status == "CREATING", "not FAILED on an unsigned refusal"
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    assert "Unverified answer (not signed, so not trusted): Common.Request_Parameter_Error amount is wrong" in text_of(
        page
    )
    from shop.extensions import db
    from shop.models import Order, now_utc

    with shop.app.app_context():  # past the grace period: a signed "no such payment" would end it
        db.session.execute(db.update(Order).values(created_at=now_utc() - timedelta(hours=2)))
        db.session.commit()
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    assert "Checked 1 open orders: 0 changed, 1 unreachable." in result.output
    order = shop.order(request_no)
    assert order.status == "CREATING", "an unsigned 'no such payment' is not believed either"
    assert {e.to_status for e in order.events} == {"CREATING"}
    assert unsigned_shop.calls == ["payment/create", "payment/query", "payment/query"], "never sent again"
