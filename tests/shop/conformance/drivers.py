"""Everything gateway-specific the conformance suite needs, one driver per gateway.

A driver knows its gateway's creation form tab, how to act at its embedded sandbox (pay, let a
payment expire, hold notifications back, lose a create's answer), how the gateway signs a
notification (to build a genuine one for any statement, or a forged one), and what it can do
(close, refund). The tests speak in the shop's own statuses (``UNPAID``, ``COMPLETED``,
``CLOSED``); a driver translates to its gateway's words.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from examplepay import readings
from examplepay.notifications import sign_notification
from examplepay.sandbox.engine import GATEWAY_TIME
from shop.gateways.examplepay import STATUS_OF
from sparkpay import signing
from tests.shop.conftest import Shop, sealed, statement

if TYPE_CHECKING:
    from shop.models import Order


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as the gateway would POST it: the shop's path, body and headers."""

    path: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def send(self, shop: Shop) -> requests.Response:
        return requests.post(
            f"{shop.url}{self.path}",
            data=self.body,
            headers={"Content-Type": "application/json", **self.headers},
            timeout=10,
        )


@dataclass(frozen=True)
class GatewayOrder:
    """One order as the gateway's sandbox holds it, in the shop's words."""

    request_no: str
    merchant_order_no: str
    status: str


@dataclass(frozen=True)
class Statement:
    """What a notification says about an order: the stored order's own amount and currency
    unless told otherwise (to make one that does not match)."""

    status: str
    amount: Decimal | None = None
    currency: str | None = None


class GatewayDriver(ABC):
    """The gateway-specific half of the conformance suite."""

    #: The gateway's name as stored in ``Order.gateway`` (and the key of ``DRIVERS``).
    name: ClassVar[str]
    #: The name staff read on the pages.
    label: ClassVar[str]
    #: The creation form's tab (``edition`` of /orders/new).
    edition: ClassVar[str]
    #: Where the order's payment link (``Order.cashier_url``) points, after the shop's address.
    cashier_path: ClassVar[str]
    #: Whether the gateway can close an unpaid order on the merchant's request.
    can_close: ClassVar[bool]
    #: Whether the gateway can refund (part of) a paid order.
    can_refund: ClassVar[bool]
    #: The price the orders are created at, and another amount and currency for mismatches.
    amount: ClassVar[Decimal]
    currency: ClassVar[str]
    other_amount: ClassVar[Decimal]
    other_currency: ClassVar[str]
    #: A part of ``amount`` to refund (where the gateway can), in the gateway's format.
    refund_amount: ClassVar[str]

    @abstractmethod
    def order_fields(self) -> dict[str, str]:
        """The creation form's fields for an order of ``amount`` ``currency``."""

    def create_order(self, shop: Shop, session: requests.Session) -> str:
        """Create an order through the form (as staff would); return its request number."""
        return shop.create_order(session, self.edition, **self.order_fields())

    def post_order_form(self, shop: Shop, session: requests.Session) -> requests.Response:
        return shop.post_order_form(session, self.edition, **self.order_fields())

    # --- at the gateway's sandbox ------------------------------------------------------------

    @abstractmethod
    def pay(self, shop: Shop, request_no: str) -> None:
        """The shopper pays the order at the gateway."""

    @abstractmethod
    def expire(self, shop: Shop, request_no: str) -> None:
        """The gateway lets the unpaid order lapse (it closes it by itself)."""

    @abstractmethod
    def hold_notifications(self, shop: Shop) -> None:
        """From now on, the gateway's notifications do not reach the shop."""

    @abstractmethod
    def lose_next_create_answer(self, shop: Shop) -> None:
        """The next create is carried out (the gateway holds the order) but the shop gets no
        usable answer."""

    @abstractmethod
    def gateway_orders(self, shop: Shop) -> list[GatewayOrder]:
        """Every order the gateway's sandbox holds, as it says."""

    # --- notifications -----------------------------------------------------------------------

    @abstractmethod
    def genuine_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        """A delivery the gateway signed, saying ``said`` about the stored ``order``; a new
        signing at every call, as each of the gateway's retries is."""

    @abstractmethod
    def forged_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        """The same statement signed with a key or secret that is not the gateway's."""

    @abstractmethod
    def acknowledged(self, response: requests.Response) -> bool:
        """Whether the shop's answer is the acknowledgement the gateway expects."""


class SparkPayDriver(GatewayDriver):
    """SparkPay: crypto, normal edition; RSA-sealed notifications; closes on request; no refunds."""

    name = "sparkpay"
    label = "SparkPay"
    edition = "normal"
    cashier_path = "/sandbox/cashier/"
    can_close = True
    can_refund = False
    amount = Decimal("12.5")
    currency = "USDT"
    other_amount = Decimal("1.25")
    other_currency = "USDC"
    refund_amount = "1.5"
    #: The network the shopper pays on (Ethereum).
    network = 2

    def order_fields(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    def pay(self, shop: Shop, request_no: str) -> None:
        shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": self.network})

    def expire(self, shop: Shop, request_no: str) -> None:
        shop.sandbox("POST", f"/orders/{request_no}/expire")

    def hold_notifications(self, shop: Shop) -> None:
        shop.sandbox("POST", "/faults", json={"notify_drop": -1})

    def lose_next_create_answer(self, shop: Shop) -> None:
        # api_http_500 answers before the order is stored (the gateway would not hold it);
        # api_bad_signature carries the create out and signs the answer wrongly: the shop, which
        # verifies every answer, cannot trust it and must treat the outcome as unknown.
        shop.sandbox("POST", "/faults", json={"api_bad_signature": 1})

    def gateway_orders(self, shop: Shop) -> list[GatewayOrder]:
        # The control surface answers for one request number; the sandbox's own store lists them all.
        sandbox = shop.app.extensions["sparkpay_sandbox"]
        found = []
        for row in sandbox.store.query("SELECT request, status FROM orders ORDER BY rowid"):
            request = json.loads(row["request"])
            found.append(GatewayOrder(request["request_no"], request["merchant_order_no"], row["status"]))
        return found

    def genuine_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        return self._sealed(shop, order, said, self._platform_key(shop))

    def forged_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        return self._sealed(shop, order, said, self._forger_key)

    def acknowledged(self, response: requests.Response) -> bool:
        return response.status_code == 200 and response.text == "SUCCESS"

    def _sealed(self, shop: Shop, order: Order, said: Statement, platform_key: RSAPrivateKey) -> Delivery:
        data = statement(
            shop,
            order.request_no,
            said.status,
            payment_order_no=order.payment_order_no,
            total_amount=str(said.amount if said.amount is not None else order.amount),
            merchant_order_currency=said.currency or order.currency,
        )
        if said.status != "COMPLETED":
            data.pop("pay_network_info")
        merchant_key, _ = shop.app.extensions["sparkpay_keys"]
        return Delivery("/webhooks/sparkpay", sealed(shop, data, merchant_key, platform_key))

    @staticmethod
    def _platform_key(shop: Shop) -> RSAPrivateKey:
        """The gateway's own signing key: the one its sandbox signs with."""
        key: RSAPrivateKey = shop.app.extensions["sparkpay_sandbox"].settings.platform_private_key
        return key

    @cached_property
    def _forger_key(self) -> RSAPrivateKey:
        return signing.generate_private_key()


class ExamplePayDriver(GatewayDriver):
    """ExamplePay: UPI in rupees; HMAC-signed notifications; cannot close; refunds."""

    name = "examplepay"
    label = "ExamplePay"
    edition = "examplepay"
    cashier_path = "/examplepay-sandbox/pay/"
    can_close = False
    can_refund = True
    amount = Decimal("499.00")
    currency = "INR"
    other_amount = Decimal("49.90")
    other_currency = "BRL"
    refund_amount = "100.00"

    #: The shop's statuses in the gateway's words.
    GATEWAY_STATUS: ClassVar[dict[str, str]] = {shop_status: status for status, shop_status in STATUS_OF.items()}

    def order_fields(self) -> dict[str, str]:
        return {
            "description": "Masala chai, 250 g",
            "amount": str(self.amount),
            "currency": self.currency,
            "payer_name": "Asha Rao",
            "payer_email": "asha@example.com",
            "payer_phone": "9000000000",
        }

    def control(self, shop: Shop, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, f"{shop.url}/examplepay-sandbox/control{path}", timeout=10, **kwargs)
        assert response.status_code < 400, response.text
        return response

    def pay(self, shop: Shop, request_no: str) -> None:
        self.control(shop, "POST", f"/payments/{request_no}/pay")

    def expire(self, shop: Shop, request_no: str) -> None:
        self.control(shop, "POST", f"/payments/{request_no}/close")

    def hold_notifications(self, shop: Shop) -> None:
        self.control(shop, "POST", "/notifications/pause")

    def lose_next_create_answer(self, shop: Shop) -> None:
        self.control(shop, "POST", "/faults", json={"failing_creates": 1})

    def gateway_orders(self, shop: Shop) -> list[GatewayOrder]:
        payments: list[dict[str, Any]] = self.control(shop, "GET", "/payments").json()
        return [
            GatewayOrder(p["merchantTradeNo"], p.get("merchantAttach", ""), STATUS_OF[p["status"]])
            for p in reversed(payments)  # the sandbox lists newest first
        ]

    def genuine_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        return self._signed(shop, order, said, shop.app.config["EXAMPLEPAY_APP_SECRET"])

    def forged_delivery(self, shop: Shop, order: Order, said: Statement) -> Delivery:
        return self._signed(shop, order, said, "0" * 32)

    def acknowledged(self, response: requests.Response) -> bool:
        return response.status_code == 200 and response.content == readings.NOTIFICATION_ACK

    def _signed(self, shop: Shop, order: Order, said: Statement, secret: str) -> Delivery:
        now = datetime.now(GATEWAY_TIME).isoformat(timespec="milliseconds")
        amount = said.amount if said.amount is not None else order.amount
        data = {
            "paymentNo": order.payment_order_no,
            "merchantTradeNo": order.request_no,
            "amount": f"{amount:.2f}",
            "currency": said.currency or order.currency,
            "status": self.GATEWAY_STATUS[said.status],
            "refundStatus": readings.REFUND_NONE,
            "createdTime": now,
            "paidTime": now if said.status == "COMPLETED" else None,
            "merchantAttach": order.merchant_order_no,
        }
        body, authorization = sign_notification(
            {"event": readings.PAYMENT_EVENT, "data": data},
            app_id=shop.app.config["EXAMPLEPAY_APP_ID"],
            app_secret=secret,
            notify_url=f"{shop.app.config['PUBLIC_BASE_URL']}/webhooks/examplepay",
            signed_url_form=shop.app.config["EXAMPLEPAY_SIGNED_URL_FORM"],
        )
        return Delivery("/webhooks/examplepay", body, {"Authorization": authorization})


#: Every gateway, by its name as stored in ``Order.gateway``.
DRIVERS: dict[str, GatewayDriver] = {"sparkpay": SparkPayDriver(), "examplepay": ExamplePayDriver()}
