"""ExamplePay's amounts (§12: at most 15 digits before the point and 2 after) and the bodies of
its notifications: refused with the SDK's own errors before anything is sent, never rounded."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examplepay import MalformedDataError, Payment, ValidationError, read_notification, readings, sign_notification
from examplepay.models import format_amount
from examplepay.signing import authorize, signed_url

from .conftest import APP_ID, APP_SECRET

LARGEST = Decimal("999999999999999.99")
NOTIFY_URL = "https://shop.test/webhooks/examplepay"


@given(st.decimals(min_value=Decimal("0.01"), max_value=LARGEST, places=2, allow_nan=False, allow_infinity=False))
def test_amounts_up_to_the_documented_maximum_are_written_exactly(amount: Decimal) -> None:
    text = format_amount(amount)
    assert Decimal(text) == amount and text == f"{amount:.2f}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e30", "must be plain digits with an optional decimal point (no exponent)"),
        ("1E2", "must be plain digits with an optional decimal point (no exponent)"),
        ("NaN", "is not a finite number"),
        ("Infinity", "is not a finite number"),
        (Decimal("sNaN"), "is not a finite number"),
        ("1" * 39, "is too large: at most 15 digits before the decimal point"),
        ("1" * 16, "is too large: at most 15 digits before the decimal point"),
        (Decimal("1E+30"), "is too large: at most 15 digits before the decimal point"),
        ("0.001", "has more than 2 decimal places"),
        (1.5, "must be a decimal string, not a float"),
        ("", "is required"),
        ("0", "must be greater than zero"),
    ],
)
def test_amounts_past_the_maximum_are_refused_with_a_field_error(value: Any, reason: str) -> None:
    with pytest.raises(ValidationError) as error:
        format_amount(value)
    assert (error.value.field, error.value.reason) == ("amount", reason)


def test_amounts_over_28_digits_are_refused_not_rounded() -> None:
    # quantize() needs the whole amount within Decimal's 28 digits: it raised InvalidOperation.
    for digits in ("1" * 29 + ".00", "1" * 39):
        with pytest.raises(ValidationError, match="too large"):
            format_amount(digits)


@pytest.mark.parametrize("amount", ["1e30", "1" * 16 + ".00", "0." + "1" * 30])
def test_an_amount_the_gateway_sends_past_the_maximum_is_malformed(amount: str) -> None:
    data = {"paymentNo": "P1", "merchantTradeNo": "T1", "amount": amount, "currency": "INR", "status": "PAID"}
    with pytest.raises(MalformedDataError) as error:
        Payment.from_dict(data)
    assert error.value.field == "amount"


@pytest.mark.parametrize(
    "body",
    [b"[" * 20_000, b'{"data": ' + b'{"a":' * 20_000, b"\xff\xfe{", b'{"data": {"amount": 1e999999', b"[1e999999]"],
    ids=["nested arrays", "nested objects", "invalid UTF-8", "truncated", "huge number"],
)
def test_a_signed_body_of_20000_nested_brackets_is_malformed_data(body: bytes) -> None:
    # Signed (sign_notification signs only JSON it builds), so past the signature check: the
    # parser itself must refuse it with the SDK's own error.
    url = signed_url(NOTIFY_URL, readings.DEFAULT_SIGNED_URL_FORM)
    authorization = authorize(APP_ID, APP_SECRET, "POST", url, body).header()
    with pytest.raises(MalformedDataError):
        read_notification(body, authorization, app_id=APP_ID, app_secret=APP_SECRET, notify_url=NOTIFY_URL)


def test_a_genuine_notification_still_reads() -> None:
    message = {
        "data": {"paymentNo": "P1", "merchantTradeNo": "T1", "amount": "1.00", "currency": "INR", "status": "PAID"}
    }
    body, authorization = sign_notification(message, app_id=APP_ID, app_secret=APP_SECRET, notify_url=NOTIFY_URL)
    assert json.loads(body) == message
    notification = read_notification(body, authorization, app_id=APP_ID, app_secret=APP_SECRET, notify_url=NOTIFY_URL)
    assert notification.payment.amount == Decimal("1.00")
