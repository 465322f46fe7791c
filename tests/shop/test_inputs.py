"""Every input bounded (issue 18, item 3): amounts, webhook bodies, page numbers, ids, dates and
redirect targets each get a field error, a clean 4xx or the nearest sensible reading, never a 500.
Each case the issue's "Why" names is a test here by that name."""

from __future__ import annotations

import html
import os
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from shop.extensions import db
from shop.models import Notification, Order, now_utc
from shop.templating import money
from tests.support import wait_for

from .conftest import PASSWORD, Shop, csrf_token_in, deliver, sealed, statement, text_of
from .test_examplepay import PAYER
from .test_examplepay import create as create_examplepay
from .test_examplepay import paid as paid_examplepay
from .test_start import ROOT, free_port

#: What staff may type in an amount field and what the field then says (SparkPay: 12 digits
#: before the point, 6 after).
SPARKPAY_AMOUNTS = {
    "1e30": "must be plain digits with an optional decimal point (no exponent)",
    "1E3": "must be plain digits with an optional decimal point (no exponent)",
    "1e-7": "must be plain digits with an optional decimal point (no exponent)",
    "1" * 39: "is too large: at most 12 digits before the decimal point",
    "1000000000000": "is too large: at most 12 digits before the decimal point",
    "0.0000001": "has more than 6 decimal places",
    "NaN": "is not a finite number",
    "Infinity": "is not a finite number",
    "-Infinity": "is not a finite number",
    "-5": "must be greater than zero",
    "١٢": "must be plain digits with an optional decimal point (no exponent)",
}
#: The same for ExamplePay (§12: 15 digits before the point, 2 after).
EXAMPLEPAY_AMOUNTS = {
    "1e30": "must be plain digits with an optional decimal point (no exponent)",
    "1" * 39: "is too large: at most 15 digits before the decimal point",
    "1" * 16: "is too large: at most 15 digits before the decimal point",
    "NaN": "is not a finite number",
    "Infinity": "is not a finite number",
    "0.001": "has more than 2 decimal places",
}


def field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">([^<]*)<', page)
    return html.unescape(match.group(1)) if match else ""


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", ["normal", "pro"])
@pytest.mark.parametrize(("typed", "reason"), SPARKPAY_AMOUNTS.items())
def test_a_staff_typed_1e30_or_39_digit_amount_is_refused_next_to_the_amount(
    shop: Shop, manager: requests.Session, edition: str, typed: str, reason: str
) -> None:
    currency = {"normal": "USDT", "pro": "USD"}[edition]
    response = shop.post_order_form(manager, edition, amount=typed, currency=currency)
    assert response.status_code == 422, response.text
    assert field_error(response.text, "amount") == reason
    assert shop.order_numbers() == [], "nothing is saved (or sent)"


@pytest.mark.parametrize("field", ["seller_amount", "merchant_amount", "other_amount_1"])
def test_split_amounts_are_bounded_like_the_total(shop: Shop, manager: requests.Session, field: str) -> None:
    split = {
        "split": "y",
        "seller_addr": "0x" + "a" * 40,
        "seller_amount": "10",
        "merchant_amount": "2.5",
        "other_addr_1": "0x" + "b" * 40,
        "other_amount_1": "1",
    }
    response = shop.post_order_form(manager, amount="12.5", **{**split, field: "1" * 39})
    assert response.status_code == 422
    assert field_error(response.text, field) == "is too large: at most 12 digits before the decimal point"
    assert shop.order_numbers() == []


def test_the_largest_amounts_are_taken_and_sent_exactly(shop: Shop, manager: requests.Session) -> None:
    largest = "999999999999.999999"
    request_no = shop.create_order(manager, amount=largest)
    order = shop.order(request_no)
    assert order.amount == Decimal(largest) and order.status == "UNPAID"
    at_gateway = shop.sandbox("GET", f"/orders/{request_no}").json()
    assert at_gateway["total_amount"] == largest, "sent as typed: not rounded"


@pytest.mark.parametrize(("typed", "reason"), EXAMPLEPAY_AMOUNTS.items())
def test_examplepay_amounts_are_bounded_by_its_documented_15_digits(
    shop: Shop, manager: requests.Session, typed: str, reason: str
) -> None:
    response = shop.post_order_form(manager, "examplepay", description="Chai", amount=typed, currency="INR", **PAYER)
    assert response.status_code == 422
    assert field_error(response.text, "amount") == reason
    assert shop.order_numbers() == []


@pytest.mark.parametrize("typed", ["1e30", "1" * 39, "NaN", "Infinity", "1e-7"])
def test_refund_amounts_are_bounded_likewise(shop: Shop, manager: requests.Session, typed: str) -> None:
    request_no = paid_examplepay(shop, manager)
    token = csrf_token_in(manager.get(f"{shop.url}/orders/{request_no}").text)
    response = manager.post(
        f"{shop.url}/orders/{request_no}/refund", data={"csrf_token": token, "amount": typed, "reason": "Damaged"}
    )
    assert response.status_code == 200
    assert "Refund amount: " in html.unescape(response.text)
    assert shop.order(request_no).refunds == []


#: Amounts a row may hold from before they were bounded (the old rules took 1e30 and 39 digits,
#: and more: what PostgreSQL's 40 characters hold here; SQLite holds any length).
HUGE = (Decimal("1E+30"), Decimal("1" * 39), Decimal("9" * 40))


@pytest.fixture
def huge_rows(shop: Shop, manager: requests.Session) -> list[str]:
    """Three orders whose stored amounts are written over with huge ones: one awaiting payment,
    one paid (it reaches the overview's charts), one whose create is still unanswered."""
    numbers = [shop.create_order(manager) for _ in HUGE]
    with shop.app.app_context():
        for request_no, amount, status in zip(numbers, HUGE, ("UNPAID", "COMPLETED", "CREATING"), strict=True):
            paid = {"completed_time": now_utc(), "real_pay_amount": amount} if status == "COMPLETED" else {}
            db.session.execute(
                update(Order).where(Order.request_no == request_no).values(amount=amount, status=status, **paid)
            )
        db.session.commit()
    return numbers


def test_a_row_already_holding_a_huge_amount_still_renders_every_page(
    shop: Shop, manager: requests.Session, viewer: requests.Session, huge_rows: list[str]
) -> None:
    for session in (manager, viewer):
        for path in ("/", "/orders", "/orders.csv", "/deliveries"):
            response = session.get(shop.url + path)
            assert response.status_code == 200, (path, response.text[-500:])
        listed = text_of(session.get(f"{shop.url}/orders").text)
        assert "1,000,000,000,000,000,000,000,000,000,000 USDT" in listed, "shown exactly, grouped"
        assert "111,111,111,111,111,111,111,111,111,111,111,111,111 USDT" in listed
        for request_no in huge_rows:
            for path in (f"/orders/{request_no}", f"/orders/{request_no}/live"):
                response = session.get(shop.url + path)
                assert response.status_code in (200, 286), (path, response.text[-500:])
    for request_no in huge_rows:
        for path in (f"/pay/{request_no}", f"/checkout/return/{request_no}", f"/checkout/return/{request_no}/status"):
            response = requests.get(shop.url + path)
            assert response.status_code in (200, 286), (path, response.text[-500:])
    unsendable = shop.order(huge_rows[2])
    assert unsendable.status == "CREATING" and "too large" in str(unsendable.last_error), (
        "the stored order the SDK refuses to send stays unsent, and says why"
    )


def test_amounts_over_28_digits_are_never_rounded_before_they_are_sent(shop: Shop, huge_rows: list[str]) -> None:
    from shop.orders import service
    from shop.vocabulary import Source

    with shop.app.test_request_context():
        order = db.session.scalar(select(Order).where(Order.request_no == huge_rows[2]))
        assert order is not None
        assert service.send_create(order, source=Source.CREATE).unknown
    assert shop.sandbox("GET", f"/orders/{huge_rows[2]}").json()["total_amount"] == "12.5", (
        "the sandbox still holds the first create only: nothing rounded was sent"
    )


def test_a_huge_amount_in_a_refund_form_or_charts_is_shown_not_raised(shop: Shop, manager: requests.Session) -> None:
    request_no = paid_examplepay(shop, manager)
    with shop.app.app_context():
        db.session.execute(update(Order).where(Order.request_no == request_no).values(amount=Decimal("9" * 40)))
        db.session.commit()
    assert manager.get(f"{shop.url}/orders/{request_no}").status_code == 200
    assert manager.get(f"{shop.url}/").status_code == 200


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.decimals(allow_nan=True, allow_infinity=True)
    | st.builds(
        Decimal, st.integers(min_value=0, max_value=10**80) | st.sampled_from(["1E+999999999", "-1E-999999", "sNaN"])
    )
)
def test_money_never_raises_and_never_rounds(shop: Shop, value: Decimal) -> None:
    with shop.app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        shown = money(value)
    if value.is_finite():
        assert Decimal(shown.replace(",", "")) == value, "exact: grouped digits, or Decimal's own notation"


def test_an_amount_too_long_to_group_is_shown_in_decimals_own_notation(shop: Shop) -> None:
    with shop.app.test_request_context():
        assert money(Decimal(10) ** 1000) == "1E+1000"
        assert money(Decimal("1" * 60)) == ",".join(["111"] * 20)


# --- webhook bodies ----------------------------------------------------------------------------


def refused_deliveries(shop: Shop, gateway: str) -> int:
    with shop.app.app_context():
        return (
            db.session.scalar(
                select(func.count()).where(Notification.gateway == gateway, Notification.outcome == "rejected")
            )
            or 0
        )


def truncated_genuine(shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> bytes:
    body = sealed(shop, statement(shop, "SPNONE"), merchant_key, platform_key)
    return body[: len(body) // 2]


MALFORMED = {
    "20000 nested brackets": b"[" * 20_000,
    "10000 nested objects": b'{"a":' * 10_000,
    "nested inside the envelope": b'{"head": ' + b"[" * 20_000 + b"]" * 20_000 + b', "body": "x"}',
    "invalid UTF-8": b'{"head": {"aes_key": "\xff\xfe"}, "body": "\xc3"}',
    "a huge number": b'{"head": {"aes_key": 1e999999, "sign": "x"}, "body": 1e999999}',
    "digits past the int limit": b"[" + b"9" * 5000 + b"]",
    "a lone surrogate": b'{"head": "\\ud800", "body": "x"}',
    "NUL bytes": b"\x00" * 100,
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_webhook_body_of_20000_nested_brackets_gets_400_and_is_recorded(shop: Shop, body: bytes) -> None:
    response = deliver(shop, body)
    assert (response.status_code, response.text) == (400, "refused")
    assert refused_deliveries(shop, "sparkpay") == 1, "recorded as refused"
    assert requests.get(f"{shop.url}/healthz").status_code == 200


def test_a_truncated_genuine_body_gets_400_and_is_recorded(
    shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    response = deliver(shop, truncated_genuine(shop, merchant_key, platform_key))
    assert response.status_code == 400 and refused_deliveries(shop, "sparkpay") == 1


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_examplepay_refuses_and_records_the_same_bodies(shop: Shop, body: bytes) -> None:
    response = requests.post(f"{shop.url}/webhooks/examplepay", data=body, headers={"Authorization": "V2_SHA256 x"})
    assert response.status_code == 401, "ExamplePay's refusal: the body is not signed"
    assert refused_deliveries(shop, "examplepay") == 1


def test_the_inspector_shows_a_refused_nested_body(shop: Shop, manager: requests.Session) -> None:
    deliver(shop, b"[" * 20_000)
    with shop.app.app_context():
        record_id = db.session.scalar(select(func.max(Notification.id)))
    page = manager.get(f"{shop.url}/deliveries/{record_id}")
    assert page.status_code == 200 and "not JSON" in page.text


@pytest.mark.parametrize("path", ["/login", "/orders/new"])
def test_a_form_posted_as_json_nested_20000_deep_is_a_400(shop: Shop, manager: requests.Session, path: str) -> None:
    token = csrf_token_in(manager.get(f"{shop.url}/orders").text)
    response = manager.post(
        shop.url + path, data=b"[" * 20_000, headers={"Content-Type": "application/json", "X-CSRFToken": token}
    )
    assert response.status_code == 400


def chunked_post(url: str, path: str, chunks: bytes) -> tuple[int, bytes]:
    """POST ``chunks`` (already in chunked framing, malformed or not) over a raw socket; the
    status and the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
            + chunks
        )
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while data := connection.recv(65536):
            answer += data
    return int(answer.split(b" ", 2)[1]), answer


MALFORMED_CHUNKS = {
    "not a hex size": b"zz\r\n{}\r\n0\r\n\r\n",
    "size past the data": b"ffff\r\n{}\r\n",
    "no terminator": b"2\r\n{}XX0\r\n\r\n",
}


@pytest.mark.parametrize("chunks", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS.keys())
def test_a_malformed_chunked_body_gets_400_and_is_recorded(shop: Shop, chunks: bytes) -> None:
    status, answer = chunked_post(shop.url, "/webhooks/sparkpay", chunks)
    assert status == 400, answer
    assert refused_deliveries(shop, "sparkpay") == 1


@pytest.fixture(scope="module")
def gunicorn_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The shop under gunicorn (as docs/operations.md runs it), on its own SQLite file; its URL
    and that file."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKPAY_", "SANDBOX_", "DATABASE_"))}
    environment.update(INSTANCE_PATH=str(tmp_path / "instance"), RECONCILE_INTERVAL_SECONDS="0")
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "2", "--no-control-socket"]
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [*command, "--bind", f"127.0.0.1:{port}", "app:app"], cwd=ROOT, env=environment, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or the worker still booting
            return process.poll() is not None

    try:
        wait_for(answers, timeout=60, what="gunicorn to start")
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        yield url, tmp_path / "instance" / "shop.db"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.mark.parametrize("chunks", MALFORMED_CHUNKS.values(), ids=MALFORMED_CHUNKS.keys())
def test_a_malformed_chunked_body_under_gunicorn_gets_400_and_is_recorded(
    gunicorn_shop: tuple[str, Path], chunks: bytes
) -> None:
    url, database = gunicorn_shop

    def refused() -> int:
        with sqlite3.connect(database) as connection:
            ((count,),) = connection.execute("SELECT count(*) FROM notifications WHERE outcome = 'rejected'")
        return int(count)

    before = refused()
    status, answer = chunked_post(url, "/webhooks/sparkpay", chunks)
    assert status == 400, answer
    assert refused() == before + 1
    assert requests.get(f"{url}/healthz").status_code == 200


# --- pages, ids, dates, searches ------------------------------------------------------------------


@pytest.mark.parametrize("page", ["999999999999999999999", "9" * 5000, "-3", "0", "two", "", "1e3", "٣"])
def test_orders_page_999999999999999999999_shows_the_last_page(
    shop: Shop, manager: requests.Session, page: str
) -> None:
    shop.create_order(manager)
    for path in ("/orders", "/deliveries"):
        response = manager.get(f"{shop.url}{path}", params={"page": page})
        assert response.status_code == 200, response.text[-500:]
    listed = text_of(manager.get(f"{shop.url}/orders", params={"page": page}).text)
    assert "1–1 of 1" in listed and "Page 1 of 1" in listed


def test_a_page_past_the_end_of_an_uncounted_list_says_so(shop: Shop, manager: requests.Session) -> None:
    from shop.web.dashboard import ListPage

    shop.create_order(manager)
    cap = ListPage.COUNT_CAP
    ListPage.COUNT_CAP = 0  # the list counts "more than the cap": the last page is not known
    try:
        response = manager.get(f"{shop.url}/orders", params={"page": "999999999999999999999"})
    finally:
        ListPage.COUNT_CAP = cap
    assert response.status_code == 200
    text = text_of(response.text)
    assert f"Page {ListPage.MAX_PAGE} is past the end of the list." in text and "No orders yet" not in text


@pytest.mark.parametrize(
    ("day_from", "day_to"),
    [
        ("", "9999-12-31"),
        ("0000-01-01", ""),
        ("0001-01-01", "9999-12-31"),
        ("garbage", "2026-13-45"),
        ("99999-01-01", "-1"),
        ("2026-01-01\x00", ""),
    ],
)
def test_orders_to_9999_12_31_and_other_dates_are_read_or_ignored(
    shop: Shop, manager: requests.Session, day_from: str, day_to: str
) -> None:
    shop.create_order(manager)
    for path in ("/orders", "/orders.csv"):
        response = manager.get(f"{shop.url}{path}", params={"from": day_from, "to": day_to})
        assert response.status_code in (200, 400), response.text[-500:]
        if "\x00" not in day_from:
            assert response.status_code == 200
    if day_to == "9999-12-31":
        assert "1–1 of 1" in text_of(manager.get(f"{shop.url}/orders", params={"to": day_to}).text)


@pytest.mark.parametrize("delivery_id", [str(2**31), str(2**63), "9" * 40])
def test_a_delivery_id_too_large_for_the_database_is_a_404(
    shop: Shop, manager: requests.Session, delivery_id: str
) -> None:
    assert manager.get(f"{shop.url}/deliveries/{delivery_id}").status_code == 404
    token = csrf_token_in(manager.get(f"{shop.url}/orders").text)
    replay = manager.post(f"{shop.url}/deliveries/{delivery_id}/replay", data={"csrf_token": token})
    assert replay.status_code == 404


def test_a_search_longer_than_any_column_matches_nothing(shop: Shop, manager: requests.Session) -> None:
    shop.create_order(manager)
    for path in ("/orders", "/deliveries", "/orders.csv"):
        # Past SQLite's longest LIKE pattern (50,000 bytes), inside the server's longest request line.
        assert manager.get(f"{shop.url}{path}", params={"q": "x" * 55_000}).status_code == 200
    assert "No orders match these filters." in manager.get(f"{shop.url}/orders", params={"q": "x" * 257}).text


@pytest.mark.parametrize(
    "path",
    ["/orders/SP%00X", "/orders?q=%00", "/pay/SP%00", "/checkout/return/%00", "/orders/poll?open=A%00B&v=1"],
)
def test_a_nul_character_in_an_address_is_a_400(shop: Shop, manager: requests.Session, path: str) -> None:
    assert manager.get(shop.url + path, allow_redirects=False).status_code == 400


def test_a_nul_character_in_a_form_is_a_400(shop: Shop) -> None:
    shop.add_staff("staff@shop.test")
    visitor = requests.Session()
    token = csrf_token_in(visitor.get(f"{shop.url}/login").text)
    response = visitor.post(
        f"{shop.url}/login", data={"csrf_token": token, "email": "staff@shop.test\x00", "password": PASSWORD}
    )
    assert response.status_code == 400


# --- redirect targets -----------------------------------------------------------------------------

UNSAFE_NEXT = [
    "/orders\r\nSet-Cookie: x=1",
    "/orders\nX: 1",
    "\n/orders",
    "/orders\x00",
    "/orders\x7f",
    "/orders\u0085",
    "//evil.example",
    "https://evil.example/orders",
    "\\\\evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_a_line_break_in_next_falls_back_to_the_home_page(shop: Shop, target: str) -> None:
    shop.add_staff("staff@shop.test")
    visitor = requests.Session()
    page = visitor.get(f"{shop.url}/login", params={"next": target})
    if "\x00" in target:
        assert page.status_code == 400
        return
    assert page.status_code == 200 and 'name="next" type="hidden" value=""' in page.text
    response = visitor.post(
        f"{shop.url}/login",
        data={"csrf_token": csrf_token_in(page.text), "email": "staff@shop.test", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/orders")
    switched = visitor.post(
        f"{shop.url}/language",
        data={"csrf_token": csrf_token_in(visitor.get(f"{shop.url}/orders").text), "language": "en", "next": target},
        allow_redirects=False,
    )
    assert (switched.status_code, switched.headers["Location"]) == (303, "/")


@pytest.mark.parametrize("path", ["/orders/%0d%0aSet-Cookie:x", "/orders/%E2%80%A8", "/orders?q=%0a"])
def test_a_signed_out_visit_to_an_odd_address_still_goes_to_sign_in(shop: Shop, path: str) -> None:
    response = requests.get(shop.url + path, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "\n" not in response.headers["Location"] and "\r" not in response.headers["Location"]


def test_a_unicode_next_is_kept_encoded(shop: Shop) -> None:
    shop.add_staff("staff@shop.test")
    visitor = requests.Session()
    page = visitor.get(f"{shop.url}/login", params={"next": "/orders?q=绿茶"})
    response = visitor.post(
        f"{shop.url}/login",
        data={
            "csrf_token": csrf_token_in(page.text),
            "email": "staff@shop.test",
            "password": PASSWORD,
            "next": "/orders?q=绿茶",
        },
        allow_redirects=False,
    )
    assert response.status_code == 303
    assert unquote(response.headers["Location"]) == "/orders?q=绿茶"


def test_examplepay_orders_with_a_huge_stored_amount_wait_without_breaking_reconcile(
    shop: Shop, manager: requests.Session
) -> None:
    request_no = create_examplepay(shop, manager)
    with shop.app.app_context():
        db.session.execute(
            update(Order)
            .where(Order.request_no == request_no)
            .values(amount=Decimal("1" * 39), status="CREATING", created_at=now_utc() - timedelta(hours=1))
        )
        db.session.commit()
    from shop.orders import service

    with shop.app.test_request_context():
        service.reconcile()
    assert requests.get(f"{shop.url}/pay/{request_no}").status_code == 200
