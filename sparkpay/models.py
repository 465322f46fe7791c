"""Typed requests and responses. Money is ``Decimal``; times are Unix seconds (``int``).

Requests validate themselves when built, so a bad amount, ``request_no`` or deadline raises a
``ValidationError`` (a ``ValueError``) naming the field, before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from gatewaykit.amounts import AmountRefused, amount_digits, plain_amount

from . import networks, protocol
from .errors import MalformedDataError, ValidationError

_REQUEST_NO = re.compile(protocol.REQUEST_NO_PATTERN)
_CURRENCY_CODE = re.compile(r"^[A-Z0-9]{2,10}$")


# --- money -------------------------------------------------------------------------------


def parse_amount(value: Any, field_name: str) -> Decimal:
    """A positive amount with at most ``AMOUNT_INTEGER_DIGITS`` digits before the point and
    ``AMOUNT_DECIMAL_PLACES`` after it, as ``Decimal``, exactly as given; text must be plain
    digits (``1e3`` is refused, not read as 1000); floats are refused."""
    try:
        return plain_amount(
            value, integer_digits=protocol.AMOUNT_INTEGER_DIGITS, decimal_places=protocol.AMOUNT_DECIMAL_PLACES
        )
    except AmountRefused as refused:
        raise ValidationError(field_name, refused.reason, **refused.values) from None


def format_amount(amount: Decimal) -> str:
    """The wire form of an amount: plain digits, no exponent, no trailing zeros (``"12.5"``),
    exact (``normalize`` would round past 28 digits)."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_datetime(timestamp: int | None) -> datetime | None:
    """Unix seconds -> aware UTC datetime (``None`` and ``0`` mean "not yet")."""
    if not timestamp:
        return None
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


# --- small validation helpers ----------------------------------------------------------------


def validate_request_no(request_no: str) -> str:
    """Check the documented ``request_no`` rule: 1-64 letters, digits or underscores."""
    if not isinstance(request_no, str) or not request_no:
        raise ValidationError("request_no", "is required")
    if len(request_no) > protocol.REQUEST_NO_MAX_LENGTH:
        raise ValidationError(
            "request_no", "is longer than %(length)s characters", length=protocol.REQUEST_NO_MAX_LENGTH
        )
    if not _REQUEST_NO.match(request_no):
        raise ValidationError("request_no", "may contain only letters, digits and underscores")
    return request_no


def _require_text(value: Any, field_name: str, max_length: int = 1024) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field_name, "is required")
    if len(value) > max_length:
        raise ValidationError(field_name, "is longer than %(length)s characters", length=max_length)


def _require_url(value: str, field_name: str, *, optional: bool = False) -> None:
    if optional and not value:
        return
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(field_name, "must be a full http:// or https:// URL")


def _require_int(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationError(field_name, "must be a positive Unix timestamp in seconds")
    return value


def _check_networks(values: tuple[int, ...], currency: str, field_name: str) -> None:
    seen: set[int] = set()
    for value in values:
        if value in seen:
            raise ValidationError(field_name, "network %(network)s is listed twice", network=value)
        seen.add(value)
        try:
            network = networks.Network(value)
        except ValueError:
            raise ValidationError(field_name, "%(network)s is not a supported network", network=value) from None
        if not networks.supports(network, currency):
            raise ValidationError(
                field_name, "%(network)s does not carry %(currency)s", network=network.label, currency=currency
            )


# --- revenue split -------------------------------------------------------------------------


@dataclass(frozen=True)
class OtherReceiver:
    """One extra receiver of a revenue split."""

    receiver_addr: str
    amount: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"receiver_addr": self.receiver_addr, "amount": format_amount(self.amount)}


@dataclass(frozen=True)
class DivideDetail:
    """A revenue split: seller's main amount, merchant's fee, optional other receivers."""

    seller_amount: Decimal
    seller_addr: str
    merchant_amount: Decimal
    other_details: tuple[OtherReceiver, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "seller_amount", parse_amount(self.seller_amount, "divide_detail.seller_amount"))
        object.__setattr__(self, "merchant_amount", parse_amount(self.merchant_amount, "divide_detail.merchant_amount"))
        _require_text(self.seller_addr, "divide_detail.seller_addr", 128)
        others = []
        for index, other in enumerate(self.other_details):
            receiver_addr: Any
            amount: Any
            if isinstance(other, Mapping):  # the wire form is accepted too (as read from JSON)
                receiver_addr, amount = other.get("receiver_addr", ""), other.get("amount")
            else:
                receiver_addr, amount = other.receiver_addr, other.amount
            name = f"divide_detail.other_details[{index}]"
            _require_text(receiver_addr, f"{name}.receiver_addr", 128)
            others.append(OtherReceiver(receiver_addr, parse_amount(amount, f"{name}.amount")))
        object.__setattr__(self, "other_details", tuple(others))
        addresses = [self.seller_addr] + [o.receiver_addr for o in others]
        if len({a.lower() for a in addresses}) != len(addresses):
            raise ValidationError("divide_detail", "the same address appears twice")

    @property
    def total(self) -> Decimal:
        return self.seller_amount + self.merchant_amount + sum((o.amount for o in self.other_details), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seller_amount": format_amount(self.seller_amount),
            "seller_addr": self.seller_addr,
            "merchant_amount": format_amount(self.merchant_amount),
        }
        if self.other_details:
            data["other_details"] = [o.to_dict() for o in self.other_details]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DivideDetail | None:
        """Read a split from a response; ``None`` when absent. Never raises on odd values."""
        if not data or not isinstance(data, Mapping):
            return None
        others = data.get("other_details") or ()
        if not isinstance(others, (list, tuple)) or not all(isinstance(o, Mapping) for o in others):
            return None
        try:
            return cls(
                seller_amount=parse_amount(data.get("seller_amount"), "divide_detail.seller_amount"),
                seller_addr=data.get("seller_addr", ""),
                merchant_amount=parse_amount(data.get("merchant_amount"), "divide_detail.merchant_amount"),
                other_details=tuple(
                    OtherReceiver(
                        o.get("receiver_addr", ""),
                        parse_amount(o.get("amount"), f"divide_detail.other_details[{index}].amount"),
                    )
                    for index, o in enumerate(others)
                ),
            )
        except ValidationError:
            return None


@dataclass(frozen=True)
class CurrencyNetworks:
    """One entry of ``available_payment_currency_networks``: a currency and its networks.

    An empty ``networks`` means every network carrying the currency (reading A20).
    """

    currency: str
    networks: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"currency": self.currency, "networks": [int(n) for n in self.networks]}

    @classmethod
    def from_dict(cls, data: Any) -> CurrencyNetworks:
        """Read one pair; raises MalformedDataError for a field of the wrong type."""
        if not isinstance(data, Mapping):
            raise MalformedDataError("available_payment_currency_networks", "holds something other than objects")
        found = (as_integer(n, "networks") for n in read_list(data, "networks"))
        return cls(read_text(data, "currency") or "", tuple(n for n in found if n is not None))


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _OrderFields:
    """Fields common to both editions of Payment Order Creation."""

    request_no: str
    merchant_order_no: str
    merchant_application_user_id: str
    merchant_order_time: int
    merchant_order_timeout: int
    merchant_order_desc: str
    goods_info: str
    notify_url: str
    redirect_url: str = ""
    business_info: str = ""
    extension: str = ""
    divide_detail: DivideDetail | None = None

    def _validate_common(self, amount: Decimal) -> None:
        validate_request_no(self.request_no)
        _require_text(self.merchant_order_no, "merchant_order_no", 64)
        _require_text(self.merchant_application_user_id, "merchant_application_user_id", 64)
        _require_text(self.merchant_order_desc, "merchant_order_desc", 256)
        _require_text(self.goods_info, "goods_info", 512)
        _require_int(self.merchant_order_time, "merchant_order_time")
        _require_int(self.merchant_order_timeout, "merchant_order_timeout")
        if self.merchant_order_timeout <= self.merchant_order_time:
            raise ValidationError("merchant_order_timeout", "must be later than merchant_order_time")
        _require_url(self.notify_url, "notify_url")
        _require_url(self.redirect_url, "redirect_url", optional=True)
        if self.divide_detail is not None and self.divide_detail.total != amount:
            raise ValidationError(
                "divide_detail",
                "the parts add up to %(total)s, not %(amount)s",
                total=format_amount(self.divide_detail.total),
                amount=format_amount(amount),
            )

    def _common_payload(self, merchant_no: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "merchant_no": merchant_no,
            "request_no": self.request_no,
            "merchant_order_no": self.merchant_order_no,
            "merchant_application_user_id": self.merchant_application_user_id,
            "merchant_order_time": self.merchant_order_time,
            "merchant_order_timeout": self.merchant_order_timeout,
            "merchant_order_desc": self.merchant_order_desc,
            "goods_info": self.goods_info,
            "business_info": self.business_info,
            "extension": self.extension,
            "notify_url": self.notify_url,
        }
        if self.redirect_url:
            data["redirect_url"] = self.redirect_url
        if self.divide_detail is not None:
            data["divide_detail"] = self.divide_detail.to_dict()
        return data


@dataclass(frozen=True, kw_only=True)
class OrderRequest(_OrderFields):
    """Payment Order Creation, normal edition: an amount in a crypto currency."""

    total_amount: Decimal
    merchant_order_currency: str = "USDT"
    receive_network: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_amount", parse_amount(self.total_amount, "total_amount"))
        if not _CURRENCY_CODE.match(self.merchant_order_currency or ""):
            raise ValidationError("merchant_order_currency", "must be a currency code such as USDT")
        if self.merchant_order_currency in networks.FIAT_CURRENCIES:
            raise ValidationError(
                "merchant_order_currency", "must be a crypto currency (fiat pricing needs the Pro edition)"
            )
        object.__setattr__(self, "receive_network", tuple(int(n) for n in self.receive_network))
        _check_networks(self.receive_network, self.merchant_order_currency, "receive_network")
        self._validate_common(self.total_amount)

    def to_payload(self, merchant_no: str) -> dict[str, Any]:
        data = self._common_payload(merchant_no)
        data["total_amount"] = format_amount(self.total_amount)
        data["merchant_order_currency"] = self.merchant_order_currency
        if self.receive_network:
            data["receive_network"] = networks.format_receive_network(self.receive_network)
        return data


@dataclass(frozen=True, kw_only=True)
class ProOrderRequest(_OrderFields):
    """Payment Order Creation, Pro edition: priced in fiat or crypto, paid in crypto."""

    pricing_amount: Decimal
    pricing_currency: str = "USD"
    available_payment_currency_networks: tuple[CurrencyNetworks, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pricing_amount", parse_amount(self.pricing_amount, "pricing_amount"))
        if not _CURRENCY_CODE.match(self.pricing_currency or ""):
            raise ValidationError("pricing_currency", "must be a currency code such as USD")
        pairs = tuple(
            CurrencyNetworks.from_dict(p) if isinstance(p, Mapping) else p
            for p in self.available_payment_currency_networks
        )
        object.__setattr__(self, "available_payment_currency_networks", pairs)
        seen: set[str] = set()
        for pair in pairs:
            if pair.currency in seen:
                raise ValidationError(
                    "available_payment_currency_networks", "%(currency)s is listed twice", currency=pair.currency
                )
            seen.add(pair.currency)
            if pair.currency in networks.FIAT_CURRENCIES or not networks.networks_for(pair.currency):
                raise ValidationError(
                    "available_payment_currency_networks",
                    "%(currency)s is not a payable crypto currency",
                    currency=pair.currency,
                )
            _check_networks(pair.networks, pair.currency, "available_payment_currency_networks")
        self._validate_common(self.pricing_amount)

    def to_payload(self, merchant_no: str) -> dict[str, Any]:
        data = self._common_payload(merchant_no)
        data["pricing_amount"] = format_amount(self.pricing_amount)
        data["pricing_currency"] = self.pricing_currency
        if self.available_payment_currency_networks:
            data["available_payment_currency_networks"] = [
                p.to_dict() for p in self.available_payment_currency_networks
            ]
        return data


# --- reading what the gateway sends ----------------------------------------------------------
# Signed data is authentic, not necessarily well formed. Each reader takes the documented type
# (and the harmless variants: a number for a numeric string), treats absent, null and "" alike,
# and raises MalformedDataError naming the field for anything else, so that no odd value can
# reach a caller as a crash or be taken for something it is not.

#: 9999-12-31T23:59:59Z, the last second a ``datetime`` can hold.
_LAST_TIMESTAMP = 253402300799


def _absent(value: Any) -> bool:
    return value is None or value == ""


def read_text(data: Mapping[str, Any], key: str) -> str | None:
    """A string field (a JSON number is read as its digits)."""
    value = data.get(key)
    if _absent(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedDataError(key, "is not text")
    if isinstance(value, str) and "\x00" in value:
        raise MalformedDataError(key, "contains a NUL character")
    return str(value)


def read_amount(data: Mapping[str, Any], key: str) -> Decimal | None:
    """A finite decimal amount, from a string or a JSON number, of at most
    ``AMOUNT_INTEGER_DIGITS`` digits before the point and ``READ_AMOUNT_DIGITS`` in all."""
    value = data.get(key)
    if _absent(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise MalformedDataError(key, "is not an amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedDataError(key, f"{str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite():
        raise MalformedDataError(key, "is not a finite amount")
    integer_digits, places = amount_digits(amount)
    if integer_digits > protocol.AMOUNT_INTEGER_DIGITS or integer_digits + places > protocol.READ_AMOUNT_DIGITS:
        raise MalformedDataError(key, f"{str(value)[:40]!r} has too many digits for an amount")
    return amount


def read_integer(data: Mapping[str, Any], key: str) -> int | None:
    """A whole number, from a JSON number or a string of digits."""
    return as_integer(data.get(key), key)


def as_integer(value: Any, key: str) -> int | None:
    """``read_integer`` for a value found elsewhere than under a key (in a list)."""
    if _absent(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise MalformedDataError(key, "is not a whole number")
    try:
        number = int(value)
    except (ValueError, ArithmeticError):
        raise MalformedDataError(key, f"{str(value)[:40]!r} is not a whole number") from None
    if isinstance(value, Decimal) and number != value:
        raise MalformedDataError(key, f"{value} is not a whole number")
    return number


def read_timestamp(data: Mapping[str, Any], key: str) -> int | None:
    """Unix seconds; 0 means "not yet" (None)."""
    number = read_integer(data, key)
    if not number:
        return None
    if not 0 < number <= _LAST_TIMESTAMP:
        raise MalformedDataError(key, f"{number} is not a time in Unix seconds")
    return number


def read_object(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if _absent(value):
        return None
    if not isinstance(value, Mapping):
        raise MalformedDataError(key, "is not an object")
    return value


def read_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if _absent(value):
        return []
    if not isinstance(value, list):
        raise MalformedDataError(key, "is not a list")
    return value


# --- responses -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateOrderResult:
    """What Payment Order Creation returns; only ``cashier_url`` is documented."""

    cashier_url: str
    request_no: str | None = None
    payment_order_no: str | None = None
    merchant_order_no: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreateOrderResult:
        return cls(
            cashier_url=read_text(data, "cashier_url") or "",
            request_no=read_text(data, "request_no"),
            payment_order_no=read_text(data, "payment_order_no"),
            merchant_order_no=read_text(data, "merchant_order_no"),
        )


@dataclass(frozen=True)
class CloseOrderResult:
    """What Payment Order Closure returns."""

    request_no: str
    merchant_no: str
    merchant_order_no: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CloseOrderResult:
        return cls(
            read_text(data, "request_no") or "",
            read_text(data, "merchant_no") or "",
            read_text(data, "merchant_order_no") or "",
        )


@dataclass(frozen=True)
class PayNetworkInfo:
    """The on-chain side of a paid order."""

    payer_addr: str | None = None
    merchant_ca_addr: str | None = None
    merchant_recv_account: str | None = None
    tx_hash: str | None = None
    pay_network: int | None = None
    payment_divide_detail: DivideDetail | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PayNetworkInfo | None:
        """Read ``pay_network_info``; raises MalformedDataError for a field of the wrong type."""
        if not data:
            return None
        return cls(
            payer_addr=read_text(data, "payer_addr"),
            merchant_ca_addr=read_text(data, "merchant_ca_addr"),
            merchant_recv_account=read_text(data, "merchant_recv_account"),
            tx_hash=read_text(data, "tx_hash"),
            pay_network=read_integer(data, "pay_network"),
            payment_divide_detail=DivideDetail.from_dict(data.get("payment_divide_detail")),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "payer_addr": self.payer_addr,
            "merchant_ca_addr": self.merchant_ca_addr,
            "merchant_recv_account": self.merchant_recv_account,
            "tx_hash": self.tx_hash,
            "pay_network": self.pay_network,
        }
        if self.payment_divide_detail is not None:
            data["payment_divide_detail"] = self.payment_divide_detail.to_dict()
        return data


@dataclass(frozen=True)
class PaymentOrder:
    """A payment order as the query APIs (and notifications) describe it, for both editions.

    ``amount`` and ``currency`` give the order's price whichever edition it is.
    """

    request_no: str
    pay_status: str
    payment_order_no: str | None = None
    merchant_customer_no: str | None = None
    merchant_order_no: str | None = None
    merchant_application_user_id: str | None = None
    app_id: str | None = None
    order_time: int | None = None
    pay_time: int | None = None
    completed_time: int | None = None
    closed_time: int | None = None
    merchant_order_time: int | None = None
    merchant_order_timeout: int | None = None
    merchant_order_desc: str | None = None
    goods_info: str | None = None
    total_amount: Decimal | None = None
    real_pay_amount: Decimal | None = None
    merchant_order_currency: str | None = None
    receive_network: tuple[int, ...] = ()
    pricing_amount: Decimal | None = None
    pricing_currency: str | None = None
    available_payment_currency_networks: tuple[CurrencyNetworks, ...] = ()
    divide_detail: DivideDetail | None = None
    pay_network_info: PayNetworkInfo | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_pro(self) -> bool:
        return self.pricing_amount is not None

    @property
    def amount(self) -> Decimal | None:
        return self.pricing_amount if self.is_pro else self.total_amount

    @property
    def currency(self) -> str | None:
        return self.pricing_currency if self.is_pro else self.merchant_order_currency

    @property
    def names_no_currency_key(self) -> bool:
        """A normal-edition answer with no currency key at all, as reading A26 "omitted" allows;
        unlike one that has the key but no value, which left the currency out."""
        return not self.is_pro and not any(key in self.raw for key in protocol.NORMAL_QUERY_CURRENCY_KEYS)

    @property
    def is_final(self) -> bool:
        return self.pay_status in protocol.FINAL_PAY_STATUSES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentOrder:
        """Read a query ``data`` object; unknown keys are ignored, missing and null are alike.

        Raises MalformedDataError naming the first field whose value has the wrong type.
        """
        currency = next((read_text(data, k) for k in protocol.NORMAL_QUERY_CURRENCY_KEYS if data.get(k)), None)
        receive = data.get("receive_network")
        try:
            receive_network = networks.parse_receive_network(str(receive)) if receive else ()
        except ValueError:
            receive_network = ()
        return cls(
            request_no=read_text(data, "request_no") or "",
            pay_status=read_text(data, "pay_status") or "",
            payment_order_no=read_text(data, "payment_order_no"),
            merchant_customer_no=read_text(data, "merchant_customer_no") or read_text(data, "merchant_no"),
            merchant_order_no=read_text(data, "merchant_order_no"),
            merchant_application_user_id=read_text(data, "merchant_application_user_id"),
            app_id=read_text(data, "app_id"),
            order_time=read_timestamp(data, "order_time"),
            pay_time=read_timestamp(data, "pay_time"),
            completed_time=read_timestamp(data, "completed_time"),
            closed_time=read_timestamp(data, "closed_time"),
            merchant_order_time=read_timestamp(data, "merchant_order_time"),
            merchant_order_timeout=read_timestamp(data, "merchant_order_timeout"),
            merchant_order_desc=read_text(data, "merchant_order_desc"),
            goods_info=read_text(data, "goods_info"),
            total_amount=read_amount(data, "total_amount"),
            real_pay_amount=read_amount(data, "real_pay_amount"),
            merchant_order_currency=currency,
            receive_network=receive_network,
            pricing_amount=read_amount(data, "pricing_amount"),
            pricing_currency=read_text(data, "pricing_currency"),
            available_payment_currency_networks=tuple(
                CurrencyNetworks.from_dict(pair) for pair in read_list(data, "available_payment_currency_networks")
            ),
            divide_detail=DivideDetail.from_dict(data.get("divide_detail")),
            pay_network_info=PayNetworkInfo.from_dict(read_object(data, "pay_network_info")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class Notification:
    """A verified asynchronous notification.

    ``payload`` is the decrypted JSON exactly as decrypted (the bytes the signature covers);
    ``order`` is that JSON read as a ``PaymentOrder``.
    """

    order: PaymentOrder
    payload: bytes
    app_id: str | None
    mgf1_hash: str
