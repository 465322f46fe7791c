"""Fuzzing the webhook parser, the webhook endpoint and the key loader with random and
malformed input: always a clean refusal (4xx, or the SDK's own exception), never a 500 or a crash."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkpay import KeyFormatError, NotificationError, seal_notification, signing
from sparkpay.notifications import open_notification
from tests.shop.conftest import Shop, start_shop

from .conftest import UNLIMITED_REFUSALS, create_orders

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "0", "NaN", "sNaN", "-Infinity", "1e999999", "12.5", "99999999999999999999"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
#: The fields a statement may carry (sparkpay-api.md §6), each given any JSON value.
STATEMENT_FIELDS = (
    "payment_order_no",
    "merchant_customer_no",
    "merchant_order_no",
    "app_id",
    "order_time",
    "pay_time",
    "completed_time",
    "closed_time",
    "total_amount",
    "real_pay_amount",
    "merchant_order_currency",
    "receive_network",
    "pricing_amount",
    "pricing_currency",
    "available_payment_currency_networks",
    "divide_detail",
    "pay_network_info",
)
network_info = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ("pay_network", "tx_hash", "payer_addr", "merchant_ca_addr", "payment_divide_detail"), json_values
    ),
)


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Shop]:
    yield from start_shop(
        tmp_path_factory.mktemp("fuzz"), merchant_key, platform_key, REFUSED_DELIVERY_RATE_LIMIT=UNLIMITED_REFUSALS
    )


@pytest.fixture(scope="module")
def request_no(shop: Shop) -> str:
    (number,) = create_orders(shop, 1)
    return number


def envelopes() -> st.SearchStrategy[bytes]:
    """Random bytes, random JSON, and envelope-shaped JSON with random parts."""
    b64 = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    shaped = st.fixed_dictionaries(
        {
            "head": st.fixed_dictionaries(
                {}, optional={"aes_key": b64 | json_values, "sign": b64 | json_values, "app_id": json_values}
            )
        },
        optional={"body": b64 | json_values, "sign": b64},
    )
    return st.one_of(
        st.binary(max_size=500),
        json_values.map(lambda v: json.dumps(v).encode()),
        shaped.map(lambda v: json.dumps(v).encode()),
    )


@FUZZ
@given(raw=envelopes())
def test_the_parser_refuses_garbage_with_its_own_errors(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, raw: bytes
) -> None:
    with pytest.raises(NotificationError):
        open_notification(raw, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())


@FUZZ
@given(raw=envelopes())
def test_the_webhook_answers_garbage_with_400(shop: Shop, raw: bytes) -> None:
    response = requests.post(f"{shop.url}/webhooks/sparkpay", data=raw, timeout=10)
    assert response.status_code == 400, response.text


@FUZZ
@given(
    status=st.sampled_from(["UNPAID", "COMPLETED", "CLOSED"]) | st.text(min_size=1, max_size=12),
    fields=st.fixed_dictionaries({}, optional=dict.fromkeys(STATEMENT_FIELDS, json_values)),
    paid=network_info,
    known_order=st.booleans(),
)
def test_a_genuinely_signed_but_malformed_statement_is_handled_cleanly(
    shop: Shop,
    request_no: str,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    status: str,
    fields: dict[str, Any],
    paid: dict[str, Any],
    known_order: bool,
) -> None:
    statement: dict[str, Any] = {"request_no": request_no if known_order else "SPFUZZ", "pay_status": status, **fields}
    if paid:
        statement["pay_network_info"] = paid
    body = seal_notification(
        json.dumps(statement).encode(),
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        app_id="APP",
    )
    with contextlib.suppress(NotificationError):
        open_notification(body, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())
    response = requests.post(f"{shop.url}/webhooks/sparkpay", data=body, timeout=10)
    assert response.status_code in (200, 400), response.text
    health = requests.get(f"{shop.url}/healthz", timeout=10)
    assert health.status_code == 200


@FUZZ
@given(
    source=st.one_of(
        st.text(max_size=600),
        st.binary(max_size=600),
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=200, max_size=900
        ),
        st.text(max_size=200).map(lambda t: f"-----BEGIN PRIVATE KEY-----\n{t}\n-----END PRIVATE KEY-----"),
        st.text(max_size=200).map(lambda t: f"-----BEGIN PUBLIC KEY-----\n{t}\n-----END PUBLIC KEY-----"),
    )
)
def test_the_key_loader_refuses_garbage_with_key_format_error(source: str | bytes) -> None:
    for load in (signing.load_private_key, signing.load_public_key):
        with pytest.raises(KeyFormatError) as refused:
            load(source, "SPARKPAY_PRIVATE_KEY")
        assert "SPARKPAY_PRIVATE_KEY" in str(refused.value)


@FUZZ
@given(
    cut=st.integers(min_value=1, max_value=1600),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_a_damaged_real_key_is_refused_or_still_the_same_key(
    merchant_key: RSAPrivateKey, cut: int, position: int, flip: int
) -> None:
    pem = signing.private_key_pem(merchant_key)
    for damaged in (pem[:cut], bytes(b ^ flip if i == position % len(pem) else b for i, b in enumerate(pem))):
        try:
            loaded = signing.load_private_key(damaged)
        except KeyFormatError:
            continue
        assert loaded.private_numbers() == merchant_key.private_numbers()
