"""What the emulated gateway checks and decides: create, query, close, pay, expire.

Every refusal raises ``Refusal(code)``; the views turn it into the documented envelope. The
numbers the docs do not publish (fee rate, minimum fee, exchange rates, split limit) are the
constants below, shown on the sandbox's home page.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .. import networks, protocol
from ..networks import Network
from .store import StoredOrder

#: Platform service fee: rate x amount, at least the minimum (in USD), per 7.3.
FEE_RATE = Decimal("0.005")
MINIMUM_FEE_USD = Decimal("0.1")
#: Sandbox exchange rates to USD (Pro pricing and the minimum-fee check).
USD_RATES: dict[str, Decimal] = {
    "USD": Decimal(1),
    "HKD": Decimal("0.128"),
    "USDT": Decimal(1),
    "USDC": Decimal(1),
    "ETH": Decimal(3000),
    "BNB": Decimal(600),
    "POL": Decimal("0.5"),
    "HSK": Decimal("0.5"),
    "IRIS": Decimal("0.01"),
}
#: 43011: most splits the sandbox accepts in one order (the real limit is unpublished).
MAX_OTHER_RECEIVERS = 5
#: The merchant's "CA" (collection) address in the sandbox; 41034 forbids it as a split address.
MERCHANT_CA_ADDRESS = "0x5a0d00000000000000000000000000000000ca5a"
#: A second merchant the sandbox knows, so "AppID does not belong to this merchant" (40007) can happen.
OTHER_MERCHANT_NO = "M0THERMERCHANT"

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: A "large units" decimal string as the docs show them: digits, optionally a point and at most
#: six more; no sign, exponent or space (``Decimal`` alone would take "1e3" and " 12.5").
AMOUNT_TEXT = re.compile(r"\d+(\.\d+)?")
#: Network numbers joined by commas, nothing else ("2,4"; not "2, 4").
RECEIVE_NETWORK_TEXT = re.compile(r"\d+(,\d+)*")
#: Unix seconds: ten digits until 2286. A millisecond timestamp (13 digits) is refused.
LATEST_SECONDS = 9_999_999_999
#: How far ahead a deadline may be (the docs give no limit; a year is past any sane checkout).
LONGEST_TIMEOUT_SECONDS = 366 * 24 * 3600
REQUIRED_COMMON = (
    "merchant_no",
    "request_no",
    "merchant_order_no",
    "merchant_application_user_id",
    "merchant_order_time",
    "merchant_order_timeout",
    "merchant_order_desc",
    "goods_info",
    "notify_url",
)
REQUIRED = {
    "normal": (*REQUIRED_COMMON, "total_amount", "merchant_order_currency"),
    "pro": (*REQUIRED_COMMON, "pricing_amount", "pricing_currency"),
}
INTEGER_FIELDS = ("merchant_order_time", "merchant_order_timeout")


class Refusal(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        from ..errors import ERROR_CODES

        meaning = ERROR_CODES.get(code, ("error", ""))[0]
        super().__init__(f"{meaning}: {detail}" if detail else meaning)
        self.code = code
        self.message = str(self)


# --- amounts and addresses --------------------------------------------------------------------


def _amount(value: Any, invalid: int, too_precise: int, field: str) -> Decimal:
    if not isinstance(value, str) or not value.strip():
        raise Refusal(invalid, f"{field} must be a decimal string")
    if not AMOUNT_TEXT.fullmatch(value):
        raise Refusal(invalid, f"{field} must be digits with an optional decimal point, not {value[:40]!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Refusal(invalid, f"{field} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise Refusal(invalid, f"{field} must be greater than zero")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > protocol.AMOUNT_DECIMAL_PLACES:
        raise Refusal(too_precise, f"{field} has more than {protocol.AMOUNT_DECIMAL_PLACES} decimal places")
    return amount


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def fee_usd(amount_usd: Decimal) -> Decimal:
    return max(amount_usd * FEE_RATE, MINIMUM_FEE_USD)


def to_usd(amount: Decimal, currency: str) -> Decimal:
    return amount * USD_RATES[currency]


def fake_address(*parts: object) -> str:
    """A stable, realistic-looking EVM address (every documented network is EVM-style)."""
    return "0x" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:40]


# --- create -----------------------------------------------------------------------------------


def fingerprint(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def check_create(body: Any, edition: str, merchant_no: str, now: int) -> list[list[Any]]:
    """Validate a create body as the gateway does; return the (currency, network, amount) offers."""
    if not isinstance(body, dict):
        raise Refusal(40009, "the body must be a JSON object")
    for name in REQUIRED[edition]:
        if body.get(name) in (None, ""):
            raise Refusal(40003, name)
    for name in INTEGER_FIELDS:
        if isinstance(body[name], bool) or not isinstance(body[name], int):
            raise Refusal(40009, f"{name} must be an integer")
        if not 0 < body[name] <= LATEST_SECONDS:
            raise Refusal(40009, f"{name} must be a Unix time in seconds")
    for name in set(REQUIRED[edition]) - set(INTEGER_FIELDS):
        if not isinstance(body[name], str):
            raise Refusal(40009, f"{name} must be a string")
    if body["merchant_no"] != merchant_no:
        raise Refusal(40007 if body["merchant_no"] == OTHER_MERCHANT_NO else 40008)
    if not re.match(protocol.REQUEST_NO_PATTERN, body["request_no"]):
        raise Refusal(41023, "letters, digits and underscores, at most 64")
    if body["merchant_order_timeout"] <= body["merchant_order_time"]:
        raise Refusal(41021)
    if body["merchant_order_timeout"] <= now:
        raise Refusal(41012)
    if body["merchant_order_timeout"] > now + LONGEST_TIMEOUT_SECONDS:
        raise Refusal(40009, "merchant_order_timeout is more than a year ahead")
    if not _is_url(body["notify_url"]):
        raise Refusal(41001)
    if body.get("redirect_url") and not _is_url(body["redirect_url"]):
        raise Refusal(41000)
    if edition == "normal":
        amount = _amount(body["total_amount"], 41013, 41018, "total_amount")
        currency = body["merchant_order_currency"]
        if currency not in networks.CRYPTO_CURRENCIES:
            raise Refusal(41009, currency)
        offers = _normal_offers(body.get("receive_network"), currency, amount)
        if not offers:
            raise Refusal(41028)
    else:
        amount = _amount(body["pricing_amount"], 41013, 41018, "pricing_amount")
        currency = body["pricing_currency"]
        if currency not in networks.CRYPTO_CURRENCIES + networks.FIAT_CURRENCIES:
            raise Refusal(41009, currency)
        offers = _pro_offers(body.get("available_payment_currency_networks"), currency, amount)
        if not offers:
            raise Refusal(41038)
    if body.get("divide_detail") is not None:
        _check_split(body["divide_detail"], amount, currency)
    return offers


def _is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _network(value: Any) -> Network:
    try:
        return Network(int(value))
    except (TypeError, ValueError):
        raise Refusal(41027, str(value)) from None


def _normal_offers(receive_network: Any, currency: str, amount: Decimal) -> list[list[Any]]:
    if receive_network in (None, ""):
        chosen = list(networks.networks_for(currency))
    else:
        if not isinstance(receive_network, str) or not RECEIVE_NETWORK_TEXT.fullmatch(receive_network):
            raise Refusal(40009, 'receive_network must be network numbers joined by commas, such as "2,4"')
        chosen = [_network(part) for part in receive_network.split(",")]
        for network in chosen:
            if not networks.supports(network, currency):
                raise Refusal(41031, f"{network.label} does not carry {currency}")
    if to_usd(amount, currency) <= MINIMUM_FEE_USD:
        return []
    return [[currency, int(network), _text(amount)] for network in chosen]


def _pro_offers(pairs: Any, pricing_currency: str, amount: Decimal) -> list[list[Any]]:
    price_usd = to_usd(amount, pricing_currency)
    if pairs in (None, []):
        pairs = [{"currency": c, "networks": []} for c in networks.CRYPTO_CURRENCIES]
    if not isinstance(pairs, list):
        raise Refusal(40009, "available_payment_currency_networks must be a list")
    offers, seen = [], set()
    for pair in pairs:
        if not isinstance(pair, dict) or not isinstance(pair.get("currency"), str):
            raise Refusal(40009, "each entry needs a currency")
        currency = pair["currency"]
        if currency in seen:
            raise Refusal(41036, currency)
        seen.add(currency)
        if currency not in networks.CRYPTO_CURRENCIES:
            raise Refusal(41009, currency)
        chosen = [_network(n) for n in pair.get("networks") or []]
        if len(set(chosen)) != len(chosen):
            raise Refusal(41037, currency)
        for network in chosen:
            if not networks.supports(network, currency):
                raise Refusal(41031, f"{network.label} does not carry {currency}")
        converted = (price_usd / USD_RATES[currency]).quantize(Decimal("0.000001"))
        if price_usd < MINIMUM_FEE_USD:
            continue  # dropped silently, as documented
        for network in chosen or networks.networks_for(currency):
            offers.append([currency, int(network), _text(converted)])
    return offers


def _check_split(split: Any, total: Decimal, currency: str) -> None:
    if not isinstance(split, dict):
        raise Refusal(40009, "divide_detail must be an object")
    if not split.get("seller_addr") or split.get("seller_amount") in (None, ""):
        raise Refusal(41015)
    if split.get("merchant_amount") in (None, ""):
        raise Refusal(41026)
    seller = _amount(split["seller_amount"], 41014, 41019, "seller_amount")
    merchant = _amount(split["merchant_amount"], 41014, 41019, "merchant_amount")
    others = split.get("other_details") or []
    if not isinstance(others, list):
        raise Refusal(40009, "other_details must be a list")
    if len(others) > MAX_OTHER_RECEIVERS:
        raise Refusal(43011)
    addresses = [split["seller_addr"]]
    parts = seller + merchant
    for other in others:
        if not isinstance(other, dict) or not other.get("receiver_addr"):
            raise Refusal(40003, "other_details[].receiver_addr")
        parts += _amount(other.get("amount"), 41014, 41019, "other_details[].amount")
        addresses.append(other["receiver_addr"])
    for address in addresses:
        if not isinstance(address, str) or not ADDRESS.match(address):
            raise Refusal(41032, str(address)[:64])
        if address.lower() == MERCHANT_CA_ADDRESS:
            raise Refusal(41034)
    lowered = [a.lower() for a in addresses]
    if lowered.count(lowered[0]) > 1:
        raise Refusal(41029, "the seller is also listed as another receiver")
    if len(set(lowered)) != len(lowered):
        raise Refusal(41033)
    if parts != total:
        raise Refusal(41008, f"{_text(parts)} is not {_text(total)}")
    if to_usd(merchant, currency) <= fee_usd(to_usd(total, currency)):
        raise Refusal(41007)


def new_order_row(body: Mapping[str, Any], edition: str, offers: list[list[Any]], now: int) -> dict[str, Any]:
    return {
        "request_no": body["request_no"],
        "edition": edition,
        "request": json.dumps(body),
        "status": protocol.STATUS_UNPAID,
        "payment_order_no": "SPO" + time.strftime("%Y%m%d", time.gmtime(now)) + secrets.token_hex(6).upper(),
        "cashier_token": secrets.token_urlsafe(24),
        "offered": json.dumps(offers),
        "order_time": now,
    }


# --- what the gateway says about an order -------------------------------------------------------


def statement(order: StoredOrder, app_id: str, *, currency_key: str = "merchant_order_currency") -> dict[str, Any]:
    """The query API's ``data`` object (also the notification payload, 4.4); the normal
    edition's currency under ``currency_key`` (A26: "omitted" leaves it out)."""
    request = order["request"]
    paid = order["paid"]
    data: dict[str, Any] = {
        "payment_order_no": order["payment_order_no"],
        "order_time": order["order_time"],
        "pay_time": order["pay_time"] or 0,
        "completed_time": order["completed_time"] or 0,
        "closed_time": order["closed_time"] or 0,
        "pay_status": order["status"],
        "merchant_customer_no": request["merchant_no"],
        "merchant_order_no": request["merchant_order_no"],
        "merchant_application_user_id": request["merchant_application_user_id"],
        "request_no": order["request_no"],
        "merchant_order_time": request["merchant_order_time"],
        "merchant_order_timeout": request["merchant_order_timeout"],
        "merchant_order_desc": request["merchant_order_desc"],
        "goods_info": request["goods_info"],
        "business_info": request.get("business_info", ""),
        "notify_url": request["notify_url"],
        "redirect_url": request.get("redirect_url", ""),
        "extension": request.get("extension", ""),
        "app_id": app_id,
    }
    if request.get("divide_detail") is not None:
        data["divide_detail"] = request["divide_detail"]
    if order["edition"] == "pro":
        data["pricing_amount"] = request["pricing_amount"]
        data["pricing_currency"] = request["pricing_currency"]
        grouped: dict[str, list[int]] = {}
        for currency, network, _ in order["offered"]:
            grouped.setdefault(currency, []).append(network)
        data["available_payment_currency_networks"] = [{"currency": c, "networks": n} for c, n in grouped.items()]
    else:
        data["total_amount"] = request["total_amount"]
        if currency_key != "omitted":
            data[currency_key] = request["merchant_order_currency"]
        data["receive_network"] = ",".join(sorted({str(network) for _, network, _ in order["offered"]}))
        data["real_pay_amount"] = paid["amount"] if paid else ""
    if paid:
        data["pay_network_info"] = {
            "pay_network": paid["network"],
            "tx_hash": paid["tx_hash"],
            "payer_addr": paid["payer_addr"],
            "merchant_ca_addr": MERCHANT_CA_ADDRESS,
            "merchant_recv_account": fake_address("receiving", request["merchant_no"], paid["network"]),
        }
        if request.get("divide_detail") is not None:
            data["pay_network_info"]["payment_divide_detail"] = request["divide_detail"]
    return data


def payment(order: StoredOrder, choice: str | None) -> dict[str, Any]:
    """The simulated on-chain payment for the offer ``choice`` ("USDT:2", "2" or None = first)."""
    offers = order["offered"]
    chosen = offers[0]
    if choice:
        currency, _, network = choice.rpartition(":")
        matches = [o for o in offers if str(o[1]) == network and (not currency or o[0] == currency)]
        if not matches:
            raise Refusal(41027, f"{choice} is not offered for this order")
        chosen = matches[0]
    return {
        "currency": chosen[0],
        "network": chosen[1],
        "amount": chosen[2],
        "tx_hash": "0x" + secrets.token_hex(32),
        "payer_addr": "0x" + secrets.token_hex(20),
    }
