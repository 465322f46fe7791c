"""/orders.csv: the filtered order list for spreadsheets, streamed."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from shop.extensions import db
from shop.models import Order
from tests.support import wait_for

from .conftest import PASSWORD, Shop, csrf_token_in

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_keeps_exact_amounts_utc_times_and_the_lists_filters(shop: Shop, manager: requests.Session) -> None:
    paid = shop.create_order(manager, amount="12.345678", networks=["2"], description="Exact amount")
    open_one = shop.create_order(manager, amount="0.5", networks=["2"], description="Still open")
    shop.sandbox("POST", f"/orders/{paid}/pay", json={"network": 2})
    wait_for(lambda: shop.order(paid).status == "COMPLETED", what="the payment")

    response = manager.get(f"{shop.url}/orders.csv", params={"status": "COMPLETED"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert re.match(r'attachment; filename="orders-\d{8}-\d{6}\.csv"', response.headers["Content-Disposition"])
    (row,) = rows_of(response.text)
    assert (row["request_no"], row["status"], row["amount"], row["currency"]) == (
        paid,
        "COMPLETED",
        "12.345678",
        "USDT",
    )
    assert Decimal(row["paid_amount"]) >= Decimal("12.345678")
    assert row["tx_hash"] == shop.order(paid).tx_hash and row["pay_network"]
    for column in ("created_at_utc", "pay_time_utc", "completed_time_utc"):
        assert ISO_UTC.match(row[column]), (column, row[column])

    everything = rows_of(manager.get(f"{shop.url}/orders.csv").text)
    assert [r["request_no"] for r in everything] == [open_one, paid]  # newest first, like the list
    assert everything[0]["amount"] == "0.5" and everything[0]["pay_time_utc"] == ""
    assert rows_of(manager.get(f"{shop.url}/orders.csv", params={"q": "exact"}).text)[0]["request_no"] == paid


def test_the_list_links_to_the_export_with_its_filters(shop: Shop, manager: requests.Session) -> None:
    shop.create_order(manager, networks=["2"])
    page = manager.get(f"{shop.url}/orders", params={"status": "UNPAID", "q": "tea"}).text
    link = re.search(r'href="(/orders\.csv\?[^"]+)"[^>]*download>Export CSV', page)
    assert link and "status=UNPAID" in link.group(1) and "q=tea" in link.group(1)


def test_text_a_spreadsheet_would_run_as_a_formula_is_defused(shop: Shop, manager: requests.Session) -> None:
    shop.create_order(
        manager, networks=["2"], description='=HYPERLINK("http://evil.example")', merchant_order_no="+1-555"
    )
    (row,) = rows_of(manager.get(f"{shop.url}/orders.csv").text)
    assert row["description"] == '\'=HYPERLINK("http://evil.example")'
    assert row["merchant_order_no"] == "'+1-555"


def test_a_viewer_may_export(shop: Shop, viewer: requests.Session) -> None:
    assert viewer.get(f"{shop.url}/orders.csv").status_code == 200


def test_a_large_export_is_streamed_in_flat_memory(shop: Shop) -> None:
    count = 20_000
    start = datetime.now(UTC) - timedelta(days=30)
    with shop.app.app_context():
        db.session.execute(
            Order.metadata.tables[Order.__tablename__].insert(),
            [
                dict(
                    request_no=f"SPEXPORT{i:08d}",
                    edition="normal",
                    status="UNPAID",
                    revision=1,
                    amount=Decimal("1.000001"),
                    currency="USDT",
                    merchant_order_no=f"INV-{i}",
                    user_id="guest",
                    description=f"Order {i}",
                    goods_info="x",
                    order_time=start,
                    timeout_at=start,
                    receive_network="2",
                    created_at=start + timedelta(seconds=i),
                    updated_at=start,
                )
                for i in range(count)
            ],
        )
        db.session.commit()
    shop.add_staff("exporter@shop.test", "viewer")
    client = shop.app.test_client()  # in this process, so tracemalloc sees the server's memory
    token = csrf_token_in(client.get("/login").text)
    client.post("/login", data={"csrf_token": token, "email": "exporter@shop.test", "password": PASSWORD})

    tracemalloc.start()
    try:
        response = client.get("/orders.csv")
        assert response.status_code == 200 and response.is_streamed
        lines = sum(chunk.count(b"\r\n") for chunk in response.response)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == count + 1
    # 20,000 orders held at once take tens of megabytes; one batch of 1,000 takes a few.
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while streaming"
