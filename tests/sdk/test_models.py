"""Request validation before any network call, exact wire forms, and reading gateway answers."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkpay import (
    CurrencyNetworks,
    DivideDetail,
    MalformedDataError,
    OrderRequest,
    PaymentOrder,
    ProOrderRequest,
    ValidationError,
)
from sparkpay.errors import (
    ERROR_CODES,
    OrderAlreadyClosedError,
    OrderNotClosableError,
    OrderNotFoundError,
    error_from_response,
)
from sparkpay.models import format_amount, parse_amount

NOW = int(time.time())
BASE: dict[str, Any] = dict(
    request_no="R1",
    merchant_order_no="INV-1",
    merchant_application_user_id="u-42",
    merchant_order_time=NOW,
    merchant_order_timeout=NOW + 1800,
    merchant_order_desc="Order #1",
    goods_info="T-shirt x1",
    notify_url="https://shop.example/notify",
    total_amount="12.5",
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total_amount": "1.1234567"}, "total_amount"),
        ({"total_amount": "0"}, "total_amount"),
        ({"total_amount": 12.5}, "total_amount"),
        ({"total_amount": "ten"}, "total_amount"),
        ({"request_no": "x" * 65}, "request_no"),
        ({"request_no": "bad-no"}, "request_no"),
        ({"merchant_order_timeout": NOW - 1}, "merchant_order_timeout"),
        ({"notify_url": "shop.example/notify"}, "notify_url"),
        ({"merchant_order_desc": ""}, "merchant_order_desc"),
        ({"merchant_order_currency": "USD"}, "merchant_order_currency"),
        ({"receive_network": (1,)}, "receive_network"),
        ({"receive_network": (5,)}, "receive_network"),
        (
            {
                "divide_detail": DivideDetail(
                    seller_amount=Decimal("10"), seller_addr="0xa", merchant_amount=Decimal("1")
                )
            },
            "divide_detail",
        ),
    ],
)
def test_every_validation_error_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        OrderRequest(**{**BASE, **changes})
    assert error.value.field == field and str(error.value).startswith(field)
    assert isinstance(error.value, ValueError)


def test_split_amounts_are_checked_with_their_field_name() -> None:
    fields: dict[str, Any] = {"seller_amount": "1.0000001", "seller_addr": "0xa", "merchant_amount": "1"}
    with pytest.raises(ValidationError) as error:
        DivideDetail(**fields)
    assert error.value.field == "divide_detail.seller_amount"


def test_the_normal_payload_is_exactly_the_documented_fields() -> None:
    request = OrderRequest(**{**BASE, "receive_network": (2, 4), "total_amount": Decimal("12.50")})
    payload = request.to_payload("M0001")
    assert (
        payload["total_amount"] == "12.5" and payload["receive_network"] == "2,4" and payload["merchant_no"] == "M0001"
    )
    assert set(payload) == {
        "merchant_no",
        "request_no",
        "merchant_order_no",
        "merchant_application_user_id",
        "merchant_order_time",
        "merchant_order_timeout",
        "merchant_order_desc",
        "goods_info",
        "business_info",
        "extension",
        "notify_url",
        "total_amount",
        "merchant_order_currency",
        "receive_network",
    }


def test_the_pro_payload_carries_pairs_and_split() -> None:
    base = {k: v for k, v in BASE.items() if k != "total_amount"}
    request = ProOrderRequest(
        **base,
        pricing_amount=Decimal("100"),
        pricing_currency="USD",
        available_payment_currency_networks=(CurrencyNetworks("USDT", (4, 2)), CurrencyNetworks("ETH", ())),
        divide_detail=DivideDetail(
            seller_amount=Decimal("90"), seller_addr="0x" + "a" * 40, merchant_amount=Decimal("10")
        ),
    )
    payload = request.to_payload("M0001")
    assert payload["pricing_amount"] == "100" and payload["pricing_currency"] == "USD"
    assert payload["available_payment_currency_networks"] == [
        {"currency": "USDT", "networks": [4, 2]},
        {"currency": "ETH", "networks": []},
    ]
    assert payload["divide_detail"] == {"seller_amount": "90", "seller_addr": "0x" + "a" * 40, "merchant_amount": "10"}


#: The largest amount the SDK sends: 12 digits before the point, 6 after.
LARGEST = Decimal("999999999999.999999")


@given(st.decimals(min_value=Decimal("0.000001"), max_value=LARGEST, places=6, allow_nan=False, allow_infinity=False))
def test_amounts_round_trip_exactly(amount: Decimal) -> None:
    assert parse_amount(format_amount(amount), "amount") == amount
    assert "E" not in format_amount(amount)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e30", "must be plain digits with an optional decimal point (no exponent)"),
        ("1E3", "must be plain digits with an optional decimal point (no exponent)"),
        ("1e-7", "must be plain digits with an optional decimal point (no exponent)"),
        ("1_000", "must be plain digits with an optional decimal point (no exponent)"),
        ("１２", "must be plain digits with an optional decimal point (no exponent)"),
        ("NaN", "is not a finite number"),
        ("sNaN", "is not a finite number"),
        ("-Infinity", "is not a finite number"),
        (Decimal("NaN"), "is not a finite number"),
        ("1" * 39, "is too large: at most 12 digits before the decimal point"),
        (Decimal("1E+30"), "is too large: at most 12 digits before the decimal point"),
        (LARGEST + Decimal("0.000001"), "is too large: at most 12 digits before the decimal point"),
        ("0.0000001", "has more than 6 decimal places"),
        (Decimal("1E-999999"), "has more than 6 decimal places"),
    ],
)
def test_amounts_past_the_documented_maximum_are_refused_with_a_field_error(value: Any, reason: str) -> None:
    with pytest.raises(ValidationError) as error:
        OrderRequest(**{**BASE, "total_amount": value})
    assert (error.value.field, error.value.reason) == ("total_amount", reason)


def test_amounts_over_28_digits_are_never_rounded_before_they_are_sent() -> None:
    # Decimal's context precision is 28 digits: normalize() and arithmetic would round these.
    for digits in ("1234567890123456789012345678.9", "1" * 29, "1" * 39):
        with pytest.raises(ValidationError, match="too large"):
            parse_amount(digits, "total_amount")
    assert format_amount(Decimal("1" * 39)) == "1" * 39, "the wire form itself never rounds either"
    assert format_amount(Decimal("12.500000")) == "12.5" and format_amount(Decimal("1E+3")) == "1000"
    assert OrderRequest(**{**BASE, "total_amount": str(LARGEST)}).to_payload("M1")["total_amount"] == str(LARGEST)


@pytest.mark.parametrize("value", ["1e30", "1" * 13, "0.1" + "1" * 30, Decimal("1E+999999"), 10**20])
def test_an_amount_the_gateway_sends_past_the_maximum_is_malformed(value: Any) -> None:
    with pytest.raises(MalformedDataError) as error:
        PaymentOrder.from_dict({"request_no": "R1", "pay_status": "COMPLETED", "total_amount": value})
    assert error.value.field == "total_amount"


def test_a_query_answer_is_read_for_both_editions() -> None:
    normal = PaymentOrder.from_dict(
        {
            "payment_order_no": "P1",
            "order_time": 1735689600,
            "pay_time": 0,
            "pay_status": "COMPLETED",
            "real_pay_amount": "12.5",
            "total_amount": "12.5",
            "currency": "USDT",
            "request_no": "R1",
            "receive_network": "4",
            "pay_network_info": {"pay_network": 4, "tx_hash": "0xabc", "payer_addr": "0xdef"},
            "unknown_new_field": 1,
        }
    )
    assert (normal.amount, normal.currency, normal.pay_time, normal.receive_network) == (
        Decimal("12.5"),
        "USDT",
        None,
        (4,),
    )
    assert normal.pay_network_info is not None
    assert normal.is_final and normal.pay_network_info.pay_network == 4
    pro = PaymentOrder.from_dict(
        {
            "request_no": "R2",
            "pay_status": "UNPAID",
            "pricing_amount": "49.9",
            "pricing_currency": "USD",
            "available_payment_currency_networks": [{"currency": "USDT", "networks": [2]}],
        }
    )
    assert pro.is_pro and (pro.amount, pro.currency) == (Decimal("49.9"), "USD") and not pro.is_final


def test_every_documented_code_is_known_and_the_common_ones_are_named() -> None:
    for code in (
        40000,
        40002,
        40003,
        40007,
        40008,
        40009,
        40011,
        41001,
        41008,
        41018,
        41023,
        41028,
        41038,
        43005,
        43006,
        43007,
        50000,
    ):
        assert code in ERROR_CODES
    assert isinstance(error_from_response(43005, "", http_status=404), OrderNotFoundError)
    assert isinstance(error_from_response("43006", "x", http_status=400), OrderNotClosableError)
    closed = error_from_response(43007, None, http_status=400)
    assert isinstance(closed, OrderAlreadyClosedError) and closed.code == 43007 and closed.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_amount", [1]),
        ("total_amount", "NaN"),
        ("pay_time", 10**15),
        ("pay_time", "yesterday"),
        ("payment_order_no", {"no": 1}),
        ("pay_network_info", "tron"),
        ("available_payment_currency_networks", ["USDT"]),
    ],
)
def test_a_field_of_the_wrong_shape_is_named_not_crashed_on(field: str, value: object) -> None:
    with pytest.raises(MalformedDataError) as refused:
        PaymentOrder.from_dict({"request_no": "R1", "pay_status": "COMPLETED", field: value})
    assert refused.value.field == field


def test_numbers_where_strings_are_documented_are_read_as_their_digits() -> None:
    order = PaymentOrder.from_dict(
        {"request_no": 123, "pay_status": "UNPAID", "total_amount": 12, "pay_time": "1700000000"}
    )
    assert (order.request_no, order.total_amount, order.pay_time) == ("123", Decimal("12"), 1700000000)


def test_text_with_a_nul_character_is_malformed() -> None:
    with pytest.raises(MalformedDataError, match="tx_hash: contains a NUL"):
        PaymentOrder.from_dict(
            {"request_no": "R1", "pay_status": "COMPLETED", "pay_network_info": {"tx_hash": "0x\x00"}}
        )
