"""Typed requests and answers of the ExamplePay API: camelCase on the wire, ``Decimal`` money."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from . import readings
from .errors import MalformedDataError, ValidationError

#: §12: a string of 1-15 integer digits and exactly two decimals.
AMOUNT_FORMAT = re.compile(r"\d{1,15}\.\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


def format_amount(value: Decimal | str, field_name: str = "amount") -> str:
    """``Decimal("100.5")`` -> ``"100.50"``; refuses floats, more than 2 decimals, zero and less."""
    if isinstance(value, float):
        raise ValidationError(field_name, "must be a decimal string, not a float")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(field_name, "%(text)r is not a number", text=str(value)[:40]) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError(field_name, "must be greater than zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(field_name, "has more than %(places)s decimal places", places=2)
    text = format(amount.quantize(Decimal("0.01")), "f")
    if not AMOUNT_FORMAT.fullmatch(text):
        raise ValidationError(field_name, "is too large")
    return text


def _text(value: str, field_name: str, max_length: int, *, required: bool = True) -> str:
    if required and not (value or "").strip():
        raise ValidationError(field_name, "is required")
    if len(value or "") > max_length:
        raise ValidationError(field_name, "is longer than %(length)s characters", length=max_length)
    return value


def _url(value: str, field_name: str) -> str:
    _text(value, field_name, 255)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(field_name, "must be a full http:// or https:// URL")
    return value


@dataclass(frozen=True)
class Payer:
    user_id: str
    name: str
    email: str
    phone: str

    def to_payload(self) -> dict[str, str]:
        return {
            "userId": _text(self.user_id, "payer.userId", 64),
            "name": _text(self.name, "payer.name", 80),
            "email": _text(self.email, "payer.email", 80),
            "phone": _text(self.phone, "payer.phone", 20),
        }


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
        payload: dict[str, Any] = {
            "merchantTradeNo": _text(self.merchant_trade_no, "merchantTradeNo", 50),
            "amount": format_amount(self.amount),
            "currency": self.currency,
            "description": _text(self.description, "description", 80),
            "payer": self.payer.to_payload(),
            "payMethod": {"type": _text(self.pay_method, "payMethod.type", 20)},
            "notifyUrl": _url(self.notify_url, "notifyUrl"),
            "returnUrl": _url(self.return_url, "returnUrl"),
        }
        if self.merchant_attach:
            payload["merchantAttach"] = _text(self.merchant_attach, "merchantAttach", 255)
        if self.trade_env:
            payload["tradeEnv"] = dict(self.trade_env)
        return payload


@dataclass(frozen=True)
class RefundRequest:
    """§7.3 Create refund (the currency follows the payment's)."""

    merchant_refund_no: str
    payment_no: str
    amount: Decimal | str
    description: str

    def to_payload(self) -> dict[str, str]:
        return {
            "merchantRefundNo": _text(self.merchant_refund_no, "merchantRefundNo", 50),
            "paymentNo": _text(self.payment_no, "paymentNo", 50),
            "amount": format_amount(self.amount),
            "description": _text(self.description, "description", 80),
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
