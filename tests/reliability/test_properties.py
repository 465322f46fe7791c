"""Property-based tests: the order state machine keeps a legal history whatever happens, and
no single-byte change to a signed message or a sealed notification alters what is acted on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop import create_app
from shop.extensions import db, write_transaction
from shop.gateways.sparkpay import statement_of
from shop.models import Order, OrderEvent, now_utc
from shop.orders import service
from shop.orders.state import apply_statement, apply_status
from shop.vocabulary import Outcome, Source, Status
from sparkpay import NotificationError, PaymentOrder, SignatureVerificationError, seal_notification, signing
from sparkpay.notifications import open_notification
from tests.support import database_url

from .conftest import assert_legal_history

STATUSES = ("CREATING", "UNPAID", "COMPLETED", "CLOSED", "FAILED")
GATEWAY_STATUSES = ("UNPAID", "COMPLETED", "CLOSED")
SOURCES = ("webhook", "query", "reconcile", "close", "create")


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("properties")
    app = create_app(
        {
            "DATABASE_URL": database_url(folder),
            "SECRET_KEY": "property-tests",
            "SANDBOX_ENABLED": "0",
            "RECONCILE_INTERVAL_SECONDS": 0,
            "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
            "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
        },
        instance_path=str(folder / "instance"),
    )
    with app.app_context():
        yield app
        db.engine.dispose()


def new_order() -> Order:
    now = now_utc().replace(microsecond=0)
    order = Order(
        request_no=service.new_request_no(),
        edition="normal",
        status=Status.CREATING,
        amount=Decimal("12.5"),
        currency="USDT",
        merchant_order_no="INV",
        user_id="guest",
        description="tea",
        goods_info="tea",
        order_time=now,
        timeout_at=now,
        receive_network="2",
    )
    order.events.append(OrderEvent(from_status=None, to_status=Status.CREATING, source=Source.STAFF))
    with write_transaction():
        db.session.add(order)
    return order


#: One event: a status change asked directly (staff, creation) or a gateway statement.
events = st.one_of(
    st.tuples(st.just("direct"), st.sampled_from(STATUSES), st.sampled_from(SOURCES), st.just("12.5")),
    st.tuples(
        st.just("statement"),
        st.sampled_from(GATEWAY_STATUSES),
        st.sampled_from(("webhook", "query", "reconcile")),
        st.sampled_from(("12.5", "12.5", "1.25")),
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(events, max_size=10))
def test_any_sequence_of_events_leaves_a_legal_history(app: Flask, sequence: list[tuple[str, str, str, str]]) -> None:
    order = new_order()
    completed = False
    for kind, status, source, amount in sequence:
        with write_transaction():
            locked = db.session.get(Order, order.id)
            assert locked is not None
            before = locked.status
            if kind == "direct":
                outcome = apply_status(locked, Status(status), source=Source(source))
            else:
                statement = PaymentOrder.from_dict(
                    {
                        "request_no": locked.request_no,
                        "pay_status": status,
                        "total_amount": amount,
                        "merchant_order_currency": "USDT",
                        "merchant_customer_no": app.config["SPARKPAY_MERCHANT_NO"],
                    }
                )
                outcome = apply_statement(locked, statement_of(statement), source=Source(source), actor=None)
        reread = db.session.get(Order, order.id)
        assert reread is not None
        after = reread.status
        assert (outcome == Outcome.APPLIED) == (after != before), (outcome, before, after)
        if amount != "12.5" and kind == "statement":
            assert outcome == Outcome.MISMATCH and after == before, "a statement that does not fit is never applied"
        if completed:
            assert after == Status.COMPLETED, "nothing leaves COMPLETED"
        completed = after == Status.COMPLETED
    db.session.expire_all()
    final = db.session.get(Order, order.id)
    assert final is not None
    assert_legal_history(final)


def _flip(data: bytes, position: int, flip: int) -> bytes:
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    return bytes(changed)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=300),
    part=st.sampled_from(("timestamp", "nonce", "body")),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_signed_messages_round_trip_and_any_changed_byte_is_rejected(
    merchant_key: RSAPrivateKey, body: bytes, part: str, position: int, flip: int
) -> None:
    headers = signing.sign_message(merchant_key, body)
    signing.verify_message(merchant_key.public_key(), body, headers)
    if part == "body" and not body:
        body, part = b"", "nonce"
    fields = {"timestamp": headers.timestamp.encode(), "nonce": headers.nonce.encode(), "body": body}
    fields[part] = _flip(fields[part], position, flip)
    try:
        changed = signing.SignedHeaders(fields["timestamp"].decode(), fields["nonce"].decode(), headers.signature)
    except UnicodeDecodeError:
        return  # a header that is not text never reaches the verifier
    with pytest.raises(SignatureVerificationError):
        signing.verify_message(merchant_key.public_key(), fields["body"], changed)


@settings(max_examples=40, deadline=None)
@given(
    status=st.sampled_from(GATEWAY_STATUSES),
    note=st.text(max_size=40),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_a_sealed_notification_round_trips_and_no_changed_byte_alters_what_is_read(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, status: str, note: str, position: int, flip: int
) -> None:
    payload = json.dumps({"request_no": "SP1", "pay_status": status, "total_amount": "12.5", "note": note}).encode()
    keys: dict[str, Any] = dict(merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())
    body = seal_notification(
        payload, merchant_public_key=merchant_key.public_key(), platform_private_key=platform_key, app_id="APP"
    )
    assert open_notification(body, **keys).payload == payload
    try:
        opened = open_notification(_flip(body, position, flip), **keys)
    except NotificationError:
        return
    # Only unsigned envelope details (charset, app_id, Base64 padding bits) can change unnoticed.
    assert opened.payload == payload
