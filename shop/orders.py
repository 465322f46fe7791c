"""The order service: creation, the one state machine, close, query, notifications, reconcile.

Every status change, whatever its source, goes through ``apply_status``: it refuses
regressions from a final status, records an ``OrderEvent`` and bumps the order's revision
(an optimistic lock: the UPDATE carries ``WHERE revision = <read>``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sparkpay import (
    ApiError,
    CurrencyNetworks,
    DivideDetail,
    GatewayServerError,
    OrderAlreadyClosedError,
    OrderNotClosableError,
    OrderNotFoundError,
    OrderRequest,
    PaymentOrder,
    ProOrderRequest,
    RateLimitError,
    SignatureVerificationError,
    SparkPayError,
    TransportError,
)
from sparkpay.models import format_amount, parse_amount, to_datetime
from sparkpay.networks import format_receive_network, parse_receive_network
from sparkpay.notifications import open_notification
from sparkpay.protocol import DUPLICATE_REQUEST_NO_CODE

from . import examplepay_orders, gateway
from .extensions import db, write_transaction
from .models import (
    CLOSED,
    COMPLETED,
    CREATING,
    FAILED,
    OPEN_STATUSES,
    UNPAID,
    Notification,
    Order,
    OrderEvent,
    now_utc,
)
from .notes import NO_NOTE, Note, note, verbatim

log = logging.getLogger("shop.orders")

#: Allowed transitions. COMPLETED is final. CLOSED -> COMPLETED only happens when the gateway
#: itself reports the payment (a crypto payment confirmed after a close or the deadline), and
#: the order is then flagged for staff. FAILED orders revive if the gateway shows them after all.
TRANSITIONS: dict[str, frozenset[str]] = {
    CREATING: frozenset({UNPAID, COMPLETED, CLOSED, FAILED}),
    FAILED: frozenset({UNPAID, COMPLETED, CLOSED}),
    UNPAID: frozenset({COMPLETED, CLOSED}),
    CLOSED: frozenset({COMPLETED}),
    COMPLETED: frozenset(),
}

#: A CREATING order the gateway still does not know after this long was never created.
CREATION_GRACE = timedelta(minutes=2)


def new_request_no() -> str:
    """An unguessable request number (96 random bits): shopper pages are reached by it."""
    return "SP" + secrets.token_hex(12).upper()


def get_order(request_no: str, *, for_update: bool = False) -> Order | None:
    """The order with this request number (the gateway treats it case-insensitively).

    ``for_update`` locks its row until the caller's write transaction ends.
    """

    def one(condition: ColumnElement[bool]) -> Order | None:
        query = select(Order).where(condition)
        return db.session.scalar(_for_update(query) if for_update else query)

    order = one(Order.request_no == request_no)
    if order is None and request_no:
        order = one(func.upper(Order.request_no) == request_no.upper())
    return order


# --- the state machine ---------------------------------------------------------------------


def apply_status(
    order: Order,
    new_status: str,
    *,
    source: str,
    actor: str | None = None,
    detail: Note = NO_NOTE,
    gateway_order: PaymentOrder | None = None,
    notification_id: int | None = None,
) -> str:
    """Move ``order`` to ``new_status`` if allowed; return "applied", "duplicate" or "stale".

    Runs inside the caller's transaction. Gateway fields are copied only with a change.
    """
    old_status = order.status
    if new_status == old_status:
        return "duplicate"
    if new_status not in TRANSITIONS.get(old_status, frozenset()):
        return "stale"
    if gateway_order is not None:
        _copy_gateway_fields(order, gateway_order)
    order.status = new_status
    if new_status == CLOSED and order.closed_time is None:
        order.closed_time = now_utc()
    if old_status == CLOSED and new_status == COMPLETED:
        order.needs_attention = note("Paid after it was closed: check with the shopper whether to refund or fulfil.")
        detail = detail + note("Payment arrived after the order was closed.")
    order.events.append(
        OrderEvent(
            from_status=old_status,
            to_status=new_status,
            source=source,
            actor=actor,
            detail=detail,
            notification_id=notification_id,
        )
    )
    log.info(
        "order %s: %s -> %s (%s%s)", order.request_no, old_status, new_status, source, f", {actor}" if actor else ""
    )
    return "applied"


def _copy_gateway_fields(order: Order, info: PaymentOrder) -> None:
    order.payment_order_no = info.payment_order_no or order.payment_order_no
    order.pay_time = to_datetime(info.pay_time) or order.pay_time
    order.completed_time = to_datetime(info.completed_time) or order.completed_time
    order.closed_time = to_datetime(info.closed_time) or order.closed_time
    order.real_pay_amount = info.real_pay_amount if info.real_pay_amount is not None else order.real_pay_amount
    paid = info.pay_network_info
    if paid is not None:
        order.pay_network = paid.pay_network
        order.tx_hash = paid.tx_hash
        order.payer_addr = paid.payer_addr
        order.merchant_ca_addr = paid.merchant_ca_addr
        order.merchant_recv_account = paid.merchant_recv_account
        if paid.payment_divide_detail is not None:
            order.payment_divide_detail = paid.payment_divide_detail.to_dict()


def mismatch(order: Order, info: PaymentOrder) -> Note | None:
    """Why a verified gateway statement does not fit the stored order, or None if it does."""
    config = current_app.config
    if info.merchant_customer_no and info.merchant_customer_no != config["SPARKPAY_MERCHANT_NO"]:
        return note("merchant %(merchant)s is not this shop's", merchant=info.merchant_customer_no)
    if info.app_id and info.app_id != config["SPARKPAY_APP_ID"]:
        return note("app id %(app_id)s is not this shop's", app_id=info.app_id)
    if info.amount is not None and info.is_pro != order.is_pro:
        return note("edition differs from the stored order")
    if info.amount is not None and info.amount != order.amount:
        return note(
            "amount %(amount)s differs from the stored %(stored)s",
            amount=format_amount(info.amount),
            stored=format_amount(order.amount),
        )
    if info.currency and info.currency != order.currency:
        return note(
            "currency %(currency)s differs from the stored %(stored)s", currency=info.currency, stored=order.currency
        )
    if (
        info.pay_status == COMPLETED
        and not order.is_pro
        and info.real_pay_amount is not None
        and info.real_pay_amount < order.amount
    ):
        return note(
            "only %(paid)s of %(amount)s was paid",
            paid=format_amount(info.real_pay_amount),
            amount=format_amount(order.amount),
        )
    return None


def _apply_gateway_statement(
    order: Order,
    info: PaymentOrder,
    *,
    source: str,
    actor: str | None,
    detail: Note = NO_NOTE,
    notification_id: int | None = None,
) -> str:
    """Apply what the gateway says about ``order`` (after checking it fits); return the outcome."""
    problem = mismatch(order, info)
    if problem:
        order.needs_attention = note("Gateway data does not match: %(problem)s.", problem=problem)
        order.events.append(
            OrderEvent(
                from_status=order.status,
                to_status=order.status,
                source=source,
                actor=actor,
                detail=detail + note("Not applied: %(problem)s.", problem=problem),
                notification_id=notification_id,
            )
        )
        log.warning("order %s: %s statement not applied: %s", order.request_no, source, problem)
        return "mismatch"
    if info.pay_status not in (UNPAID, COMPLETED, CLOSED):
        return "stale"
    if info.pay_status == CLOSED and source in ("query", "reconcile") and order.timeout_at <= now_utc():
        source = "timeout"
    return apply_status(
        order,
        info.pay_status,
        source=source,
        actor=actor,
        detail=detail,
        gateway_order=info,
        notification_id=notification_id,
    )


def _for_update(query: Select[Order]) -> Select[Order]:
    """Lock the rows read until the transaction ends, and read them afresh even if the session
    already holds them (a copy read before the lock may be older than the locked row)."""
    return query.with_for_update().execution_options(populate_existing=True)


def _locked(order_id: int) -> Order:
    return db.session.scalars(_for_update(select(Order).where(Order.id == order_id))).one()


# --- creation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    """What staff asked for on the creation form (already parsed, not yet validated)."""

    edition: str
    amount: str
    currency: str
    description: str
    goods_info: str
    timeout_minutes: int
    merchant_order_no: str = ""
    user_id: str = ""
    networks: tuple[int, ...] = ()
    currency_networks: tuple[CurrencyNetworks, ...] = ()
    divide_detail: DivideDetail | None = None
    form_token: str | None = None


@dataclass(frozen=True)
class CreateResult:
    order: Order
    error: ApiError | None = None
    unknown: bool = False
    existing: bool = False


def build_request(new: NewOrder, request_no: str, now: datetime) -> OrderRequest | ProOrderRequest:
    """The SDK request for ``new``; raises sparkpay.ValidationError naming the bad field."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    order_time = int(now.timestamp())
    common: dict[str, Any] = dict(
        request_no=request_no,
        merchant_order_no=new.merchant_order_no or request_no,
        merchant_application_user_id=new.user_id or "guest",
        merchant_order_time=order_time,
        merchant_order_timeout=order_time + new.timeout_minutes * 60,
        merchant_order_desc=new.description,
        goods_info=new.goods_info,
        notify_url=f"{base_url}/webhooks/sparkpay",
        redirect_url=f"{base_url}/checkout/return/{request_no}",
        divide_detail=new.divide_detail,
    )
    if new.edition == "pro":
        return ProOrderRequest(
            pricing_amount=parse_amount(new.amount, "pricing_amount"),
            pricing_currency=new.currency,
            available_payment_currency_networks=new.currency_networks,
            **common,
        )
    return OrderRequest(
        total_amount=parse_amount(new.amount, "total_amount"),
        merchant_order_currency=new.currency,
        receive_network=new.networks,
        **common,
    )


def request_for(order: Order) -> OrderRequest | ProOrderRequest:
    """The SDK request for a stored order: the same content every time, so a re-send is idempotent."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    common: dict[str, Any] = dict(
        request_no=order.request_no,
        merchant_order_no=order.merchant_order_no,
        merchant_application_user_id=order.user_id,
        merchant_order_time=int(order.order_time.timestamp()),
        merchant_order_timeout=int(order.timeout_at.timestamp()),
        merchant_order_desc=order.description,
        goods_info=order.goods_info,
        notify_url=f"{base_url}/webhooks/sparkpay",
        redirect_url=f"{base_url}/checkout/return/{order.request_no}",
        divide_detail=DivideDetail.from_dict(order.divide_detail),
    )
    if order.is_pro:
        return ProOrderRequest(
            pricing_amount=order.amount,
            pricing_currency=order.currency,
            available_payment_currency_networks=tuple(
                CurrencyNetworks.from_dict(p) for p in order.currency_networks or ()
            ),
            **common,
        )
    return OrderRequest(
        total_amount=order.amount,
        merchant_order_currency=order.currency,
        receive_network=parse_receive_network(order.receive_network),
        **common,
    )


def create_order(new: NewOrder, staff_email: str | None) -> CreateResult:
    """Save the order, then ask the gateway for it; never creates two gateway orders for one form.

    Raises sparkpay.ValidationError (before anything is saved) when a field is invalid.
    """
    existing = order_of_form(new.form_token)
    if existing is not None:
        return CreateResult(existing, existing=True)
    now = now_utc().replace(microsecond=0)
    request = build_request(new, new_request_no(), now)
    currency_networks: list[dict[str, Any]] | None
    if isinstance(request, ProOrderRequest):
        edition, amount, currency = "pro", request.pricing_amount, request.pricing_currency
        receive_network = ""
        currency_networks = [p.to_dict() for p in request.available_payment_currency_networks]
    else:
        edition, amount, currency = "normal", request.total_amount, request.merchant_order_currency
        receive_network = format_receive_network(request.receive_network)
        currency_networks = None
    order = Order(
        request_no=request.request_no,
        edition=edition,
        status=CREATING,
        amount=amount,
        currency=currency,
        merchant_order_no=request.merchant_order_no,
        user_id=request.merchant_application_user_id,
        description=request.merchant_order_desc,
        goods_info=request.goods_info,
        order_time=now,
        timeout_at=datetime.fromtimestamp(request.merchant_order_timeout, tz=UTC),
        receive_network=receive_network,
        currency_networks=currency_networks,
        divide_detail=request.divide_detail.to_dict() if request.divide_detail else None,
        form_token=new.form_token,
        created_by=staff_email,
    )
    order.events.append(
        OrderEvent(
            from_status=None,
            to_status=CREATING,
            source="staff",
            actor=staff_email,
            detail=note("Order saved; asking the gateway."),
        )
    )
    saved = save_new(order)
    if saved is not order:
        return CreateResult(saved, existing=True)
    return send_create(order, source="create")


def order_of_form(form_token: str | None) -> Order | None:
    """The order a creation form already made (a double click, a browser retry), if any."""
    return db.session.scalar(select(Order).where(Order.form_token == form_token)) if form_token else None


def save_new(order: Order) -> Order:
    """Save a new order; if a concurrent submission of the same form won the race, its order."""
    try:
        with write_transaction():
            db.session.add(order)
    except IntegrityError:
        existing = order_of_form(order.form_token)
        if existing is None:
            raise
        return existing
    return order


def send_create(order: Order, *, source: str) -> CreateResult:
    """Send (or re-send, with identical content) the create call of a CREATING order."""
    if order.gateway == examplepay_orders.GATEWAY:
        return examplepay_orders.send_create(order, source=source)
    client = gateway.client()
    request = request_for(order)
    try:
        if isinstance(request, ProOrderRequest):  # request_for follows the order's edition
            result = client.create_pro_order(request)
        else:
            result = client.create_order(request)
    except (GatewayServerError, RateLimitError, TransportError, SignatureVerificationError) as error:
        # No usable answer: the gateway may or may not hold the order. Keep it CREATING; the
        # reconciler re-sends the identical request, which the gateway answers idempotently.
        return create_unanswered(order, source, error.message)
    except ApiError as error:
        if error.code == DUPLICATE_REQUEST_NO_CODE and source != "create":
            # The gateway has an order under this number but refuses the re-send: ask it.
            return CreateResult(
                order, unknown=refresh_from_gateway(order, source=source, query_only=True) == "unreachable"
            )
        return create_refused(order, source, error, code=error.code)
    return create_accepted(order, source, result.cashier_url, result.payment_order_no)


# What a create call's answer does to the order, whichever gateway gave it.


def create_unanswered(order: Order, source: str, reason: str) -> CreateResult:
    """No usable answer: the order stays CREATING, and says why, until it is checked again."""
    log.warning(
        "order %s: create sent to %s (%s), no usable answer: %s", order.request_no, order.gateway, source, reason
    )
    with write_transaction():
        order = _locked(order.id)
        order.last_error = note(
            "Outcome unknown (%(reason)s); the order will be checked with the gateway.", reason=verbatim(reason)
        )
        order.events.append(
            OrderEvent(from_status=CREATING, to_status=CREATING, source=source, detail=order.last_error)
        )
    return CreateResult(order, unknown=True)


def create_refused(order: Order, source: str, error: Any, *, code: int | None = None) -> CreateResult:
    """The gateway refused it (``error`` has code, meaning, message); ``code`` is kept if numeric."""
    log.info(
        "order %s: create sent to %s (%s), refused: %s %s",
        order.request_no,
        order.gateway,
        source,
        error.code,
        error.message,
    )
    with write_transaction():
        order = _locked(order.id)
        order.last_error_code, order.last_error = code, verbatim(error.message)
        apply_status(
            order,
            FAILED,
            source=source,
            detail=note(
                "Gateway refused the order: %(code)s %(meaning)s.", code=error.code, meaning=note(error.meaning)
            ),
        )
    return CreateResult(order, error=error)


def create_accepted(order: Order, source: str, cashier_url: str, payment_order_no: str | None) -> CreateResult:
    log.info("order %s: create sent to %s (%s), accepted", order.request_no, order.gateway, source)
    with write_transaction():
        order = _locked(order.id)
        order.cashier_url = cashier_url
        order.payment_order_no = payment_order_no or order.payment_order_no
        order.last_error = order.last_error_code = None
        apply_status(order, UNPAID, source=source, detail=note("Gateway accepted the order."))
    return CreateResult(order)


# --- query, close, reconcile ---------------------------------------------------------------


def refresh_from_gateway(order: Order, *, source: str, actor: str | None = None, query_only: bool = False) -> str:
    """Ask the gateway for the order's status and apply it; return the outcome.

    An order still CREATING (its create call went unanswered) is re-sent with identical
    content instead, which the gateway answers idempotently with the same order.
    Outcomes: applied, duplicate, stale, mismatch, not_found, unreachable.
    """
    if order.gateway == examplepay_orders.GATEWAY:
        return examplepay_orders.refresh(order, source=source, actor=actor)
    if order.status == CREATING and not query_only:
        result = send_create(order, source=source)
        return "unreachable" if result.unknown else "applied"
    client = gateway.client()
    try:
        info = client.query_pro_order(order.request_no) if order.is_pro else client.query_order(order.request_no)
    except OrderNotFoundError:
        with write_transaction():
            locked = _locked(order.id)
            locked.last_queried_at = now_utc()
            if locked.status == CREATING and locked.created_at <= now_utc() - CREATION_GRACE:
                locked.last_error = note("The gateway has no such order: it was never created.")
                apply_status(locked, FAILED, source=source, actor=actor, detail=locked.last_error)
        return "not_found"
    except SparkPayError as error:
        log.warning("order %s: %s query failed: %s", order.request_no, source, error.message)
        return "unreachable"
    return apply_answer(order, lambda locked: _apply_gateway_statement(locked, info, source=source, actor=actor))


def apply_answer(order: Order, apply: Callable[[Order], str]) -> str:
    """Apply what a status query answered (``apply`` gets the locked order); note when it asked."""
    with write_transaction():
        locked = _locked(order.id)
        db.session.execute(update(Order).where(Order.id == order.id).values(last_queried_at=now_utc()))
        return apply(locked)


#: How a staff member's status check that changed nothing is written in the order's history
#: (a change or a mismatch writes its own entry).
CHECKS_THAT_CHANGED_NOTHING = {
    "duplicate": note("Checked with the gateway: no change."),
    "stale": note("Checked with the gateway: no change."),
    "not_found": note("Checked with the gateway: it does not know this order."),
    "unreachable": note("Tried to check with the gateway: no answer."),
}


def record_check(order: Order, actor: str | None, outcome: str) -> None:
    """Write a staff member's status check in the audit trail when it changed nothing."""
    detail = CHECKS_THAT_CHANGED_NOTHING.get(outcome)
    if detail is None:
        return
    with write_transaction():
        locked = _locked(order.id)
        locked.events.append(
            OrderEvent(from_status=locked.status, to_status=locked.status, source="query", actor=actor, detail=detail)
        )


def query_if_due(order: Order) -> None:
    """While a shopper waits on the return page, ask the gateway at most every few seconds."""
    if not order.is_open:
        return
    interval = timedelta(seconds=current_app.config["RETURN_PAGE_QUERY_INTERVAL_SECONDS"])
    if order.last_queried_at is not None and order.last_queried_at > now_utc() - interval:
        return
    refresh_from_gateway(order, source="query", actor="return page")


@dataclass(frozen=True)
class CloseResult:
    closed: bool
    message: str


def close_order(order: Order, staff_email: str | None) -> CloseResult:
    """Ask the gateway to close an unpaid order; 43006/43007 end in the gateway's real status."""
    if order.gateway == examplepay_orders.GATEWAY:
        return CloseResult(False, gettext("ExamplePay cannot close a payment; it closes by itself when left unpaid."))
    if order.status != UNPAID:
        return CloseResult(
            False, gettext("Only orders awaiting payment can be closed. Status: %(status)s.", status=order.status_label)
        )
    try:
        gateway.client().close_order(order.request_no)
    except SparkPayError as error:
        log.info("order %s: close sent to sparkpay by %s, not closed: %s", order.request_no, staff_email, error.message)
        return _close_refused(order, staff_email, error)
    log.info("order %s: close sent to sparkpay by %s, closed", order.request_no, staff_email)
    with write_transaction():
        locked = _locked(order.id)
        apply_status(locked, CLOSED, source="close", actor=staff_email, detail=note("Closed at the gateway by staff."))
    return CloseResult(True, gettext("Order closed. The shopper can no longer pay it."))


def _close_refused(order: Order, staff_email: str | None, error: SparkPayError) -> CloseResult:
    """What a close call the gateway did not carry out means, and what the shop does about it."""
    if isinstance(error, OrderAlreadyClosedError):
        refresh_from_gateway(order, source="close", actor=staff_email)
        return CloseResult(True, gettext("The gateway had already closed this order."))
    if isinstance(error, OrderNotClosableError):
        refresh_from_gateway(order, source="close", actor=staff_email)
        db.session.refresh(order)
        if order.status == COMPLETED:
            return CloseResult(False, gettext("The gateway refused to close it: the shopper has already paid."))
        return CloseResult(
            False, gettext("The gateway refused to close it (43006): its status does not allow closing.")
        )
    if isinstance(error, OrderNotFoundError):
        return CloseResult(False, gettext("The gateway does not know this order (43005)."))
    if isinstance(error, ApiError):
        return CloseResult(
            False,
            gettext(
                "The gateway refused to close it: %(code)s %(meaning)s.",
                code=error.code,
                meaning=gettext(error.meaning),
            ),
        )
    # Not an answer: a timeout, a 5xx, a response that did not verify.
    return CloseResult(
        False,
        gettext("Could not reach the gateway (%(reason)s); nothing changed. Try again.", reason=error.message),
    )


#: The lease a reconciliation run holds, so that only one instance asks the gateway at a time.
RECONCILER_LEASE = "reconciler"


@dataclass
class ReconcileSummary:
    checked: int = 0
    changed: int = 0
    unreachable: int = 0
    refunds_resent: int = 0


def reconcile(limit: int = 500) -> ReconcileSummary:
    """Query the gateway for every open order (oldest first) and apply what it says."""
    summary = ReconcileSummary()
    ids = db.session.scalars(
        select(Order.id).where(Order.status.in_(OPEN_STATUSES)).order_by(Order.created_at).limit(limit)
    ).all()
    for order_id in ids:
        order = db.session.get(Order, order_id)
        if order is None or not order.is_open:
            continue
        try:
            outcome = refresh_from_gateway(order, source="reconcile", actor="reconciler")
        except SQLAlchemyError:
            # Changed by someone else mid-way (a notification, staff): the next run sees it.
            db.session.rollback()
            log.warning(
                "order %s: changed while being reconciled; left for the next run", order.request_no, exc_info=True
            )
            outcome = "conflict"
        summary.checked += 1
        summary.changed += outcome == "applied"
        summary.unreachable += outcome == "unreachable"
    if current_app.config["EXAMPLEPAY_ENABLED"]:
        summary.refunds_resent = examplepay_orders.resend_unanswered_refunds()
    log.info(
        "reconcile: %d open orders checked, %d changed, %d unreachable; %d refunds re-sent",
        summary.checked,
        summary.changed,
        summary.unreachable,
        summary.refunds_resent,
    )
    return summary


# --- notifications -------------------------------------------------------------------------


class Headers(Protocol):
    """A delivery's request headers: werkzeug's (found whatever their case) or a plain mapping."""

    def items(self) -> Iterable[tuple[str, str]]: ...

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class DeliveryResult:
    http_status: int
    body: str
    outcome: str


def receive_notification(raw_body: bytes, headers: Headers, remote_addr: str | None) -> DeliveryResult:
    """Open, record and apply one webhook delivery. Acknowledge only what was committed.

    A delivery that cannot be verified is recorded and refused (the gateway retries, an
    attacker learns nothing). A verified one that does not fit the stored order is recorded,
    flagged for staff and acknowledged, since retrying cannot make it valid.
    """
    # Kept for the inspector as text; PostgreSQL text cannot hold NUL, which no valid body has.
    text = raw_body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    kept_headers = {k: v for k, v in headers.items() if k.lower() in ("content-type", "user-agent", "content-length")}
    merchant_key, platform_public = gateway.notification_keys()
    try:
        notification = open_notification(
            raw_body, merchant_private_key=merchant_key, platform_public_key=platform_public
        )
    except SparkPayError as error:
        record_refused_delivery("sparkpay", remote_addr, kept_headers, text, error.message)
        return DeliveryResult(400, "refused", "rejected")

    info = notification.order
    record = record_verified_delivery(
        Notification(
            remote_addr=remote_addr,
            headers=kept_headers,
            body=text,
            verified=True,
            payload=notification.payload.decode("utf-8", errors="replace"),
            request_no=info.request_no,
            pay_status=info.pay_status,
        ),
        lambda order, record: _apply_gateway_statement(
            order, info, source="webhook", actor=f"notification #{record.id}", notification_id=record.id
        ),
    )
    return DeliveryResult(200, "SUCCESS", record.outcome)


def record_refused_delivery(
    gateway_name: str, remote_addr: str | None, headers: Mapping[str, str], text: str, reason: str
) -> None:
    """Keep a delivery that did not verify, for the inspector, and say so in the log."""
    with write_transaction():
        db.session.add(
            Notification(
                gateway=gateway_name,
                remote_addr=remote_addr,
                headers=headers,
                body=text,
                verified=False,
                error=verbatim(reason),
                outcome="rejected",
            )
        )
    log.warning("%s delivery from %s refused: %s", gateway_name, remote_addr, reason)


def record_verified_delivery(record: Notification, apply: Callable[[Order, Notification], str]) -> Notification:
    """Store a verified delivery and apply it to its order (``apply`` returns the outcome), in one transaction."""
    with write_transaction():
        order = get_order(record.request_no or "", for_update=True)
        record.order, record.outcome = order, "unknown_order"
        db.session.add(record)
        if order is None:
            record.error = note("no order with this request number")
        else:
            db.session.flush()  # the record's id names this delivery in the order's history
            record.outcome = apply(order, record)
    return record


def replay_notification(record: Notification, staff_email: str | None) -> tuple[bool, str]:
    """Open a stored delivery again (its signature checked anew) and re-apply what it says.

    For staff repairing an order, e.g. after restoring an older backup. Idempotent: what is
    already true changes nothing, and every replay leaves a line in the order's history.
    Returns (whether it was applied, a message for staff).
    """
    if not record.verified:
        return False, gettext("Only a verified delivery can be replayed; this one was refused when it arrived.")
    if record.gateway == examplepay_orders.GATEWAY:
        return examplepay_orders.replay_notification(record, staff_email)
    merchant_key, platform_public = gateway.notification_keys()
    try:
        info = open_notification(
            record.body.encode("utf-8"), merchant_private_key=merchant_key, platform_public_key=platform_public
        ).order
    except SparkPayError as error:
        return False, gettext(
            "The stored delivery does not verify any more (%(reason)s); nothing was applied.", reason=error.message
        )
    return reapply(
        record,
        staff_email,
        info.request_no,
        lambda order, label: _apply_gateway_statement(
            order, info, source="replay", actor=staff_email, detail=label, notification_id=record.id
        ),
    )


def reapply(
    record: Notification, staff_email: str | None, request_no: str, apply: Callable[[Order, Note], str]
) -> tuple[bool, str]:
    """Re-apply a stored delivery, already verified again, to its order (``apply`` gets the locked
    order and the history label); a replay that changes nothing is written too."""
    label = note("Replay of notification #%(id)s.", id=record.id)
    with write_transaction():
        order = get_order(request_no, for_update=True)
        if order is None:
            return False, gettext("There is no order %(request_no)s; nothing was applied.", request_no=request_no)
        before = order.status
        outcome = apply(order, label)
        if outcome in ("duplicate", "stale"):
            order.events.append(
                OrderEvent(
                    from_status=before,
                    to_status=before,
                    source="replay",
                    actor=staff_email,
                    notification_id=record.id,
                    detail=label + note("Nothing to change."),
                )
            )
    if outcome == "applied":
        return True, gettext("Applied again. Status: %(status)s.", status=order.status_label)
    if outcome == "mismatch":
        return False, gettext(
            "The delivery does not match the order; it is flagged for review and nothing was applied."
        )
    return False, gettext("Nothing to change. Status: %(status)s.", status=order.status_label)


def events_of_delivery(record: Notification) -> list[OrderEvent]:
    """What a delivery changed in its order's history: on arrival, and at each replay."""
    return list(
        db.session.scalars(select(OrderEvent).where(OrderEvent.notification_id == record.id).order_by(OrderEvent.id))
    )
