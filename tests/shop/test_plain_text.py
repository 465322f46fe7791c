"""Text that shows what it is (issue 18, item 6): control and direction characters are refused in
what staff type and written out where they come from a gateway or a stored row; the CSV export
follows OWASP's CSV injection guidance in full; the instance folder, databases, keys and secrets
are for the shop's user alone."""

from __future__ import annotations

import csv
import io
import re
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import text

from shop import create_app
from shop.extensions import db
from shop.models import Order
from shop.plain_text import hiding_character, shown
from shop.web.forms import RefundForm

from .conftest import Shop, deliver, sealed, statement, text_of
from .test_create_order import field_error

#: A right-to-left override: "Invoice <RLO>gnp.exe" displays as "Invoice exe.png".
RLO = "\u202e"
#: Every character the shop writes out, one of each kind.
HIDING = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u061c", "\u200e", "\u200f"] + [
    chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
]


def no_raw_hiding_character(page: str) -> None:
    found = [f"U+{ord(c):04X}" for c in page if c in HIDING]
    assert found == [], f"shown as they are: {found}"


# --- what staff type --------------------------------------------------------------------------------


def test_a_description_with_a_right_to_left_override_is_refused_with_a_field_error(
    shop: Shop, manager: requests.Session
) -> None:
    response = shop.post_order_form(manager, networks=["2"], description=f"Invoice {RLO}gnp.exe")
    assert response.status_code == 422
    assert "text-direction character (U+202E)" in field_error(response.text, "description")
    assert shop.order_numbers() == []
    no_raw_hiding_character(response.text)  # the field given back shows it written out
    assert "Invoice \\u202egnp.exe" in response.text


@pytest.mark.parametrize(
    ("field", "value", "character"),
    [
        ("merchant_order_no", "INV\t7", "U+0009"),  # one line: no tab
        ("user_id", "shopper\n2", "U+000A"),
        ("goods_info", "tea\x07", "U+0007"),
        ("goods_info", "\u2067tea\u2069", "U+2067"),
        ("seller_addr", "0x\u200fab", "U+200F"),
        ("description", "Green\x85tea", "U+0085"),
    ],
)
def test_control_and_direction_characters_are_refused_in_every_text_field(
    shop: Shop, manager: requests.Session, field: str, value: str, character: str
) -> None:
    extra = {"split": "y", "seller_amount": "1", "merchant_amount": "0.5"} if field == "seller_addr" else {}
    response = shop.post_order_form(manager, networks=["2"], **{field: value, **extra})
    assert response.status_code == 422
    assert f"({character})" in field_error(response.text, field)
    assert shop.order_numbers() == []


def test_a_textarea_keeps_its_line_breaks_and_tabs(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, networks=["2"], goods_info="1 x tea\r\n2 x\tcups")
    assert shop.order(request_no).goods_info == "1 x tea\r\n2 x\tcups"


def test_the_refund_reason_and_the_sign_in_email_refuse_them_too(shop: Shop) -> None:
    with shop.app.test_request_context(method="POST", data={"amount": "1", "reason": f"damaged{RLO}"}):
        form = RefundForm()
        assert not form.validate()
        assert "(U+202E)" in " ".join(form.reason.errors)
    assert hiding_character("a\tb") == "U+0009" and hiding_character("a\tb", multiline=True) is None
    assert hiding_character("plain words, 中文, café") is None


# --- what comes from a gateway or a stored row ----------------------------------------------------------


def test_a_gateways_words_are_written_out_not_interpreted(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    mismatched, paid = (shop.create_order(manager, networks=["2"]) for _ in range(2))
    deliver(
        shop,
        sealed(shop, statement(shop, mismatched, merchant_customer_no=f"EVIL{RLO}LIVE"), merchant_key, platform_key),
    )
    payer = {"pay_network": 2, "tx_hash": "0x" + "ab" * 32, "payer_addr": f"0x\u2066cd{RLO}"}
    deliver(shop, sealed(shop, statement(shop, paid, pay_network_info=payer), merchant_key, platform_key))
    assert shop.order(paid).status == "COMPLETED"

    page = manager.get(f"{shop.url}/orders/{mismatched}").text
    no_raw_hiding_character(page)
    assert "merchant EVIL\\u202eLIVE is not this shop's" in text_of(page)
    for notification in shop.order(mismatched).notifications:
        inspector = manager.get(f"{shop.url}/deliveries/{notification.id}").text
        no_raw_hiding_character(inspector)
        assert "EVIL\\u202eLIVE" in inspector
    paid_page = manager.get(f"{shop.url}/orders/{paid}").text
    no_raw_hiding_character(paid_page)
    assert "0x\\u2066cd\\u202e" in paid_page
    no_raw_hiding_character(manager.get(f"{shop.url}/orders").text)
    no_raw_hiding_character(manager.get(f"{shop.url}/deliveries").text)


def test_a_stored_description_with_a_direction_override_is_written_out_for_shoppers_and_staff(
    shop: Shop, manager: requests.Session
) -> None:
    request_no = shop.create_order(manager, networks=["2"])
    with shop.app.app_context():  # a row from before the form refused them, or written by another tool
        order = db.session.scalars(db.select(Order).filter_by(request_no=request_no)).one()
        order.description = f"Invoice {RLO}gnp.exe"
        db.session.commit()
    for page in (
        requests.get(f"{shop.url}/pay/{request_no}").text,
        requests.get(f"{shop.url}/checkout/return/{request_no}").text,
        manager.get(f"{shop.url}/orders/{request_no}").text,
        manager.get(f"{shop.url}/orders").text,
    ):
        no_raw_hiding_character(page)
        assert "Invoice \\u202egnp.exe" in page
    assert shown("a\u202eb\tc\nd") == "a\\u202eb\tc\nd"


# --- the CSV export -------------------------------------------------------------------------------------


def test_the_csv_export_follows_the_owasp_csv_injection_guidance(shop: Shop, manager: requests.Session) -> None:
    descriptions = {
        "=1+1": "'=1+1",
        "+1": "'+1",
        "-1+2": "'-1+2",
        "@SUM(A1)": "'@SUM(A1)",
        "\tx": "'\tx",
        "\rx": "'\rx",
        "x;=4+4": "'x;=4+4",
        "x,=1+1": "'x,=1+1",
        'x"=1': "'x\"=1",
        "x, -1": "'x, -1",
        "plain, words; fine": "plain, words; fine",
        "1-2 cups": "1-2 cups",
        f"Invoice {RLO}gnp.exe": "Invoice \\u202egnp.exe",
    }
    start = datetime.now(UTC) - timedelta(days=1)
    with shop.app.app_context():
        for index, description in enumerate(descriptions):
            db.session.add(
                Order(
                    request_no=f"SPCSV{index:04d}",
                    gateway="sparkpay",
                    edition="normal",
                    status="UNPAID",
                    amount=Decimal("1"),
                    currency="USDT",
                    merchant_order_no=f"INV-{index}",
                    user_id="guest",
                    description=description,
                    goods_info="x",
                    order_time=start,
                    timeout_at=start,
                    receive_network="2",
                )
            )
        db.session.commit()
    exported = manager.get(f"{shop.url}/orders.csv").text
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    width = len(rows[0])
    # Every field quoted: each line is "…","…",…,"…" (embedded quotes doubled).
    assert all(re.fullmatch(r'"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*', line) for line in exported.split("\r\n") if line)
    got = {row[rows[0].index("request_no")]: row[rows[0].index("description")] for row in rows[1:]}
    assert all(len(row) == width for row in rows)
    for index, expected in enumerate(descriptions.values()):
        assert got[f"SPCSV{index:04d}"] == expected, (index, got[f"SPCSV{index:04d}"])


# --- files ------------------------------------------------------------------------------------------------


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_fresh_start_keeps_its_folder_databases_keys_and_secrets_to_itself(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = create_app({"PUBLIC_BASE_URL": "http://127.0.0.1:5999"}, instance_path=str(instance))
    try:
        with app.app_context():
            db.session.execute(text("SELECT 1"))  # a connection open: SQLite's -wal and -shm exist
            assert mode(instance) == "0o700"
            files = sorted(p.name for p in instance.iterdir())
            for expected in (
                "shop.db",
                "shop.db-wal",
                "shop.db-shm",
                "secret_key",
                "merchant_private.pem",
                "sandbox_platform_private.pem",
                "sandbox.json",
                "sandbox.db",
                "examplepay_sandbox.json",
                "examplepay_sandbox.db",
            ):
                assert expected in files, (expected, files)
            assert {name: mode(instance / name) for name in files} == dict.fromkeys(files, "0o600")
    finally:
        for name in ("sparkpay_sandbox", "examplepay_sandbox"):
            app.extensions[name].stop()
        with app.app_context():
            db.engine.dispose()


def test_a_database_elsewhere_is_created_for_the_shops_user_alone(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    from .conftest import start_shop

    for _ in start_shop(tmp_path, merchant_key, platform_key, DATABASE_URL=f"sqlite:///{tmp_path}/data/orders.db"):
        assert mode(tmp_path / "data") == "0o700"
        for name in ("orders.db", "orders.db-wal", "orders.db-shm"):
            assert mode(tmp_path / "data" / name) == "0o600", name
