"""Typed requests and answers of the ExamplePay API: camelCase on the wire, ``Decimal`` money."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from gatewaykit.amounts import AmountRefused, amount_digits, plain_amount

from . import readings
from .errors import MalformedDataError, ValidationError

#: §12: a string of 1-15 integer digits and exactly two decimals, for every currency.
AMOUNT_FORMAT = re.compile(r"\d{1,15}\.\d{2}")
AMOUNT_INTEGER_DIGITS = 15
AMOUNT_DECIMAL_PLACES = 2
#: What an amount read from the gateway may have at most in all (``Decimal``'s precision): more
#: cannot be stored or shown exactly, so it is read as malformed.
READ_AMOUNT_DIGITS = 28
_CURRENCY = re.compile(r"[A-Z]{3}")
#: An address's shape (§7.1 gives only the length): something, one @, a domain with a dot.
EMAIL_FORMAT = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

#: §7.1 (create payment) and §7.3 (create refund): each text field's maximum length in characters,
#: by its name in the body (nested: ``payer.name``). The sandbox refuses what the SDK does.
PAYMENT_LENGTHS = {
    "merchantTradeNo": 50,
    "amount": 18,
    "currency": 3,
    "description": 80,
    "merchantAttach": 255,
    "notifyUrl": 255,
    "returnUrl": 255,
    "payer.userId": 64,
    "payer.name": 80,
    "payer.email": 80,
    "payer.phone": 20,
    "payer.documentType": 20,
    "payer.document": 64,
    "tradeEnv.deviceId": 50,
    "tradeEnv.ip": 32,
}
#: The fields of ``PAYMENT_LENGTHS`` that may be left out (every other one is required).
OPTIONAL_PAYMENT_FIELDS = frozenset(
    {"merchantAttach", "payer.documentType", "payer.document", "tradeEnv.deviceId", "tradeEnv.ip"}
)
REFUND_LENGTHS = {"merchantRefundNo": 50, "paymentNo": 50, "amount": 18, "description": 80}
#: §7.2: the numbers a payment is asked for by.
QUERY_LENGTHS = {"merchantTradeNo": 50, "paymentNo": 32}


def format_amount(value: Decimal | str, field_name: str = "amount") -> str:
    """``Decimal("100.5")`` -> ``"100.50"`` (§12); refuses floats, exponents, more than 2 decimals
    or 15 digits before the point, zero and less. Never rounds."""
    try:
        amount = plain_amount(value, integer_digits=AMOUNT_INTEGER_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    except AmountRefused as refused:
        raise ValidationError(field_name, refused.reason, **refused.values) from None
    return format(amount.quantize(Decimal("0.01")), "f")  # exact: at most 17 digits


def _text(value: str, field_name: str, max_length: int, *, required: bool = True) -> str:
    if required and not (value or "").strip():
        raise ValidationError(field_name, "is required")
    if len(value or "") > max_length:
        raise ValidationError(field_name, "is longer than %(length)s characters", length=max_length)
    return value


def _url(value: str, field_name: str) -> str:
    _text(value, field_name, PAYMENT_LENGTHS[field_name])
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(field_name, "must be a full http:// or https:// URL")
    return value


def _payment_text(value: str, field_name: str, *, required: bool = True) -> str:
    return _text(value, field_name, PAYMENT_LENGTHS[field_name], required=required)


@dataclass(frozen=True)
class Payer:
    user_id: str
    name: str
    email: str
    phone: str
    #: The two document fields are optional (and only on the newer pages of §7.1).
    document_type: str = ""
    document: str = ""

    def to_payload(self) -> dict[str, str]:
        payload = {
            "userId": _payment_text(self.user_id, "payer.userId"),
            "name": _payment_text(self.name, "payer.name"),
            "email": _payment_text(self.email, "payer.email"),
            "phone": _payment_text(self.phone, "payer.phone"),
        }
        if not EMAIL_FORMAT.fullmatch(self.email):
            raise ValidationError("payer.email", "is not an email address")
        for name, value in (("documentType", self.document_type), ("document", self.document)):
            if value:
                payload[name] = _payment_text(value, f"payer.{name}")
        return payload


@dataclass(frozen=True)
class PaymentRequest:
    """§7.1 Create payment."""

    merchant_trade_no: str
    amount: Decimal | str
    currency: str
    description: str
    payer: Payer
    notify_url: str
    return_url: str
    pay_method: str = "UPI"
    merchant_attach: str = ""
    trade_env: Mapping[str, str] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        if not _CURRENCY.fullmatch(self.currency or ""):
            raise ValidationError("currency", "must be a currency code such as USD")
        if not (self.pay_method or "").strip():
            raise ValidationError("payMethod.type", "is required")
        payload: dict[str, Any] = {
            "merchantTradeNo": _payment_text(self.merchant_trade_no, "merchantTradeNo"),
            "amount": format_amount(self.amount),
            "currency": self.currency,
            "description": _payment_text(self.description, "description"),
            "payer": self.payer.to_payload(),
            "payMethod": {"type": self.pay_method},
            "notifyUrl": _url(self.notify_url, "notifyUrl"),
            "returnUrl": _url(self.return_url, "returnUrl"),
        }
        if self.merchant_attach:
            payload["merchantAttach"] = _payment_text(self.merchant_attach, "merchantAttach")
        if self.trade_env:
            for name in ("deviceId", "ip"):
                _payment_text(self.trade_env.get(name, ""), f"tradeEnv.{name}", required=False)
            payload["tradeEnv"] = dict(self.trade_env)
        return payload


def query_payload(*, merchant_trade_no: str = "", payment_no: str = "") -> dict[str, str]:
    """§7.2's body: exactly one of the two numbers."""
    if bool(merchant_trade_no) == bool(payment_no):
        raise ValidationError("merchantTradeNo", "give exactly one of merchantTradeNo and paymentNo")
    if merchant_trade_no:
        return {"merchantTradeNo": _text(merchant_trade_no, "merchantTradeNo", QUERY_LENGTHS["merchantTradeNo"])}
    return {"paymentNo": _text(payment_no, "paymentNo", QUERY_LENGTHS["paymentNo"])}


@dataclass(frozen=True)
class RefundRequest:
    """§7.3 Create refund (the currency follows the payment's)."""

    merchant_refund_no: str
    payment_no: str
    amount: Decimal | str
    description: str

    def to_payload(self) -> dict[str, str]:
        return {
            "merchantRefundNo": _text(self.merchant_refund_no, "merchantRefundNo", REFUND_LENGTHS["merchantRefundNo"]),
            "paymentNo": _text(self.payment_no, "paymentNo", REFUND_LENGTHS["paymentNo"]),
            "amount": format_amount(self.amount),
            "description": _text(self.description, "description", REFUND_LENGTHS["description"]),
        }


# --- reading what the gateway says ----------------------------------------------------------


def _read_text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedDataError(name, "is missing or not a string")
    return value


def _read_amount(data: Mapping[str, Any], name: str) -> Decimal:
    text = _read_text(data, name)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MalformedDataError(name, "is not a decimal string") from None
    if not amount.is_finite():
        raise MalformedDataError(name, "is not a finite number")
    integer_digits, places = amount_digits(amount)
    if integer_digits > AMOUNT_INTEGER_DIGITS or integer_digits + places > READ_AMOUNT_DIGITS:
        raise MalformedDataError(name, f"{text[:40]!r} has too many digits for an amount")
    return amount


def _read_time(data: Mapping[str, Any], name: str) -> datetime | None:
    """A9: ISO 8601 with any offset (with or without milliseconds); ``None`` stays ``None``."""
    text = _read_text(data, name, required=False)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedDataError(name, "is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise MalformedDataError(name, "has no UTC offset")
    return moment


@dataclass(frozen=True)
class CreatedPayment:
    payment_no: str
    action_url: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreatedPayment:
        action = data.get("action")
        if not isinstance(action, dict):
            raise MalformedDataError("action", "is missing or not an object")
        return cls(_read_text(data, "paymentNo"), _read_text(action, "url"))


@dataclass(frozen=True)
class Payment:
    """§7.2 Payment inquiry, and the ``data`` of a payment notification."""

    payment_no: str
    merchant_trade_no: str
    amount: Decimal
    currency: str
    status: str
    refund_status: str = readings.REFUND_NONE
    merchant_attach: str = ""
    created_time: datetime | None = None
    paid_time: datetime | None = None
    error_code: str = ""
    error_info: str = ""

    @property
    def is_paid(self) -> bool:
        return self.status == readings.PAID

    @property
    def is_final(self) -> bool:
        """Reading A7: anything not known to be final is still pending."""
        return self.status in readings.FINAL_STATUSES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Payment:
        return cls(
            payment_no=_read_text(data, "paymentNo"),
            merchant_trade_no=_read_text(data, "merchantTradeNo"),
            amount=_read_amount(data, "amount"),
            currency=_read_text(data, "currency"),
            status=_read_text(data, "status"),
            refund_status=_read_text(data, "refundStatus", required=False) or readings.REFUND_NONE,
            merchant_attach=_read_text(data, "merchantAttach", required=False),
            created_time=_read_time(data, "createdTime"),
            paid_time=_read_time(data, "paidTime"),
            error_code=_read_text(data, "errorCode", required=False),
            error_info=_read_text(data, "errorInfo", required=False),
        )


@dataclass(frozen=True)
class Refund:
    """§7.3's answer, and the ``data`` of a refund notification (reading in ``readings``)."""

    refund_no: str
    payment_no: str
    merchant_refund_no: str
    amount: Decimal
    currency: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Refund:
        return cls(
            _read_text(data, "refundNo"),
            _read_text(data, "paymentNo"),
            _read_text(data, "merchantRefundNo"),
            _read_amount(data, "amount"),
            _read_text(data, "currency"),
        )
