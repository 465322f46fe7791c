"""What the order service knows of a gateway: the ``Gateway`` protocol, and the neutral types its
adapters speak (statements, answers, refusals), so that no SDK type reaches the service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from flask import Flask

from ..models import Order, Refund
from ..notes import NO_NOTE, Note
from ..vocabulary import Status


class Headers(Protocol):
    """A delivery's request headers: werkzeug's (found whatever their case) or a plain mapping."""

    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True)
class Statement:
    """What a gateway says about one order, in the shop's words.

    ``status`` is None for a status the shop does not track. ``amount`` and ``currency`` must be
    given and equal the stored order's (a statement without them is not applied), except that
    ``currency_implied`` lets a statement name no currency where the gateway's reading of its
    docs says it names none (it is then the one the order was created with); ``edition`` and
    ``paid_amount`` are checked where given. ``problem`` is what the adapter itself found wrong
    (another merchant's statement, or one naming no merchant). ``details`` are the order's
    columns to set when the status changes (payment number, times, on-chain details).
    """

    request_no: str
    status: Status | None
    amount: Decimal | None = None
    currency: str | None = None
    edition: str | None = None
    paid_amount: Decimal | None = None
    problem: Note | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    currency_implied: bool = False


@dataclass(frozen=True)
class RefundStatement:
    """A gateway's word that a refund was made."""

    merchant_refund_no: str
    refund_no: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery: what it is about and what it says."""

    #: What the inspector shows as the delivery's content (decrypted where it was sealed).
    payload: str
    statement: Statement
    #: The status as the delivery gives it, for the inspector (the gateway's own word).
    status_in_it: str | None
    refund: RefundStatement | None = None

    @property
    def request_no(self) -> str:
        """The order it is about."""
        return self.statement.request_no


@dataclass(frozen=True)
class CreateAnswer:
    """The gateway holds the order: where the shopper pays, and its own number for it.
    ``link_problem`` says why ``payment_url`` must not be shown to the shopper
    (``payment_pages.problem``), if it must not."""

    payment_url: str
    payment_no: str | None
    link_problem: Note | None = None


class Refusal(StrEnum):
    """Refusals the service acts on, whichever gateway's code says them."""

    ALREADY_EXISTS = "already_exists"  # the request number is taken: ask for the order instead
    ALREADY_CLOSED = "already_closed"
    NOT_CLOSABLE = "not_closable"  # its status does not allow closing (paid meanwhile, say)
    NOT_FOUND = "not_found"


class GatewayRefused(Exception):
    """The gateway answered, and said no. ``meaning`` is catalogue text (shown translated),
    ``message`` the gateway's own words, ``field`` the request field it names, if any.

    ``verified`` is False for an answer that carried no signature: staff are shown what it says,
    marked unverified, but it changes no order; a signed query settles the order instead."""

    def __init__(
        self,
        code: str | int | None,
        meaning: str,
        message: str,
        *,
        field: str | None = None,
        kind: Refusal | None = None,
        hint: str = "",
        verified: bool = True,
    ) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.meaning, self.message, self.field, self.kind = code, meaning, message, field, kind
        #: What to do about it (catalogue text), where the gateway's error table says.
        self.hint = hint
        self.verified = verified


class GatewayUnreachable(Exception):
    """No usable answer (a timeout, a 5xx, an answer that did not verify): the gateway may or may
    not have done it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unverified_answer(code: object, message: str) -> GatewayUnreachable:
    """An error answer that carried no signature may be anyone's (a proxy's, or forged): its words
    are kept as the reason staff read, and it changes nothing."""
    return GatewayUnreachable(f"unverified answer (not signed): {code} {message}")


class DeliveryRefused(Exception):
    """A webhook delivery that cannot be verified or read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidField(Exception):
    """A field of the creation form the gateway's rules refuse (before anything is saved).
    ``field`` is the form's field name; ``reason_template`` and ``values`` the catalogue text."""

    def __init__(self, field: str, reason_template: str, values: Mapping[str, Any]) -> None:
        super().__init__(f"{field}: {reason_template % dict(values) if values else reason_template}")
        self.field, self.reason_template, self.values = field, reason_template, dict(values)


@dataclass(frozen=True)
class Edition:
    """One tab of the creation form: a gateway's way of pricing an order."""

    key: str
    label: str
    hint: str


@dataclass(frozen=True)
class Check:
    """One line of the go-live self-test (``shop.doctor``): passed, failed (``fix`` says what to
    do), or, with ``passed`` None, a fact to act on or a check that could not be made."""

    name: Note
    passed: bool | None
    detail: Note
    fix: Note = NO_NOTE
    #: Shown as it is below the line: the merchant public key's PEM (never a secret).
    block: str = ""

    @property
    def verdict(self) -> str:
        """``PASS``, ``FAIL`` or ``INFO``: how the command line starts the line."""
        return "INFO" if self.passed is None else "PASS" if self.passed else "FAIL"


class Gateway(Protocol):
    """One payment gateway, as the shop uses it. Adapters live beside this module; the
    registry (``shop.gateways``) holds one of each."""

    name: str
    label: str
    can_close: bool
    can_refund: bool
    #: A create sent again with the same content is answered with the same order; otherwise an
    #: unanswered create is settled by asking for the order, and sent again only once the
    #: gateway says it has none.
    resend_creates: bool
    editions: tuple[Edition, ...]
    #: The webhook's answers: (HTTP status, body) for a delivery taken and one refused, its type.
    acknowledgement: tuple[int, str]
    rejection: tuple[int, str]
    webhook_mimetype: str
    #: How the inspector says a verified delivery of this gateway was verified.
    verified_by: str

    def init_app(self, app: Flask) -> None:
        """Build its client from the settings (keys loaded once) and mount its sandbox if it runs."""
        ...

    def enabled(self) -> bool:
        """Configured (or its sandbox runs), so staff may choose it."""
        ...

    def form(self, edition: str, formdata: Any = ...) -> Any:
        """Its creation form (a Flask-WTF form) for ``edition``."""
        ...

    def new_order(self, form: Any, request_no: str, now: datetime, staff_email: str | None) -> Order:
        """The order its creation form describes; raises InvalidField naming the form's field."""
        ...

    def form_field(self, request_field: str) -> str | None:
        """The form field a refusal's request field (as the gateway names it) belongs to."""
        ...

    def send_create(self, order: Order) -> CreateAnswer:
        """Ask the gateway for the order; raises GatewayRefused or GatewayUnreachable."""
        ...

    def query(self, order: Order) -> Statement | None:
        """What the gateway says of the order now (None: it has no such order); raises
        GatewayUnreachable."""
        ...

    def close(self, order: Order) -> None:
        """Close the unpaid order at the gateway; raises GatewayRefused or GatewayUnreachable."""
        ...

    def refund_amount(self, text: str) -> Decimal:
        """A refund amount as staff typed it, checked by the gateway's rules; raises InvalidField."""
        ...

    def send_refund(self, refund: Refund) -> str:
        """Send the refund; its number at the gateway. Raises GatewayRefused or GatewayUnreachable."""
        ...

    def kept_headers(self, headers: Headers) -> dict[str, str]:
        """The headers of a delivery worth keeping for the inspector and a replay."""
        ...

    def open_delivery(self, raw_body: bytes, headers: Mapping[str, str], *, stored: bool = False) -> Delivery:
        """Verify and read a webhook delivery (``stored``: one kept earlier, replayed by staff,
        whose age no longer matters); raises DeliveryRefused."""
        ...

    def sandboxed(self) -> bool:
        """It talks to its embedded sandbox, not to a real gateway (no real money moves)."""
        ...

    def self_test(self) -> list[Check]:
        """Its part of the go-live self-test: its mode, its address, one signed query of an order
        that cannot exist (which proves the credentials and keys either way), and what to register
        at the merchant platform. Never a secret in what it returns."""
        ...
