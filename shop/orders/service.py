"""The order service: create (save, then send), check, close, reconcile, receive and replay
webhook deliveries, for every gateway alike. It reaches a gateway only through its adapter
(``shop.gateways``) and the neutral types of ``shop.gateways.base``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import gateways, health, intake
from ..extensions import db, write_transaction
from ..gateways.base import (
    Delivery,
    DeliveryRefused,
    Gateway,
    GatewayRefused,
    GatewayUnreachable,
    Headers,
    Refusal,
)
from ..models import Notification, Order, OrderEvent, now_utc
from ..notes import NO_NOTE, Literal, Note, note, verbatim
from ..vocabulary import OPEN_STATUSES, Outcome, Source, Status
from . import refunds
from .state import CREATION_GRACE, apply_statement, apply_status, get_order, locked

log = logging.getLogger("shop.orders")


def new_request_no() -> str:
    """An unguessable request number (96 random bits): shopper pages are reached by it."""
    return "SP" + secrets.token_hex(12).upper()


# --- creation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateResult:
    order: Order
    refusal: GatewayRefused | None = None
    unknown: bool = False
    existing: bool = False
    #: A refusal whose answer was not signed: shown to staff, not applied (the order stays CREATING).
    unverified: GatewayRefused | None = None
    #: Why the payment link the gateway gave is not shown to the shopper, if it is not.
    refused_link: Note | None = None


def create_order(gateway: Gateway, form: Any, staff_email: str | None) -> CreateResult:
    """Save the order ``form`` (the gateway's creation form) describes, then ask the gateway for
    it; never creates two gateway orders for one form. Raises InvalidField before anything is
    saved when a field is invalid."""
    form_token = form.form_token.data or None
    existing = order_of_form(form_token)
    if existing is not None:
        return CreateResult(existing, existing=True)
    order = gateway.new_order(form, new_request_no(), now_utc().replace(microsecond=0), staff_email)
    order.status, order.form_token = Status.CREATING, form_token
    order.events.append(
        OrderEvent(
            from_status=None,
            to_status=Status.CREATING,
            source=Source.STAFF,
            actor=staff_email,
            detail=note("Order saved; asking the gateway."),
        )
    )
    saved = save_new(order)
    if saved is not order:
        return CreateResult(saved, existing=True)
    return send_create(order, source=Source.CREATE)


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


def send_create(order: Order, *, source: Source) -> CreateResult:
    """Send (or re-send, with identical content) the create call of a CREATING order."""
    gateway = gateways.for_order(order)
    try:
        answer = gateway.send_create(order)
    except GatewayUnreachable as error:
        # No usable answer: the gateway may or may not hold the order. It stays CREATING and is
        # settled by the next check (a re-send, or a question first, as the gateway allows).
        return _create_unanswered(order, source, error.reason)
    except GatewayRefused as refusal:
        if not refusal.verified:
            return _create_unverified(order, source, refusal)
        if refusal.kind == Refusal.ALREADY_EXISTS:
            # The gateway holds an order under this number (a re-send, perhaps the SDK's own retry
            # after a lost answer, met a gateway that refuses duplicates, reading A22): ask it.
            refresh(order, source=source, query_only=True)
            return CreateResult(order, unknown=_still_creating(order))
        return _create_refused(order, source, refusal)
    log.info("order %s: create sent to %s (%s), accepted", order.request_no, gateway.name, source)
    detail = note("Gateway accepted the order.")
    with write_transaction():
        order = locked(order.id)
        if answer.link_problem is None:
            order.cashier_url = answer.payment_url
        else:
            log.warning(
                "order %s: %s's payment link not shown to the shopper: %s",
                order.request_no,
                gateway.name,
                answer.link_problem,
            )
            refused = note(
                "Its payment link %(url)s is not shown to the shopper: %(problem)s.",
                url=Literal(answer.payment_url[:200]),
                problem=answer.link_problem,
            )
            order.needs_attention = refused + note(
                "Check the gateway's settings, then create a new order for the shopper."
            )
            detail = detail + refused
        order.payment_order_no = answer.payment_no or order.payment_order_no
        order.last_error = order.last_error_code = None
        apply_status(order, Status.UNPAID, source=source, detail=detail)
    return CreateResult(order, refused_link=answer.link_problem)


def _create_unanswered(order: Order, source: Source, reason: str) -> CreateResult:
    """No usable answer: the order stays CREATING, and says why, until it is checked again."""
    log.warning(
        "order %s: create sent to %s (%s), no usable answer: %s", order.request_no, order.gateway, source, reason
    )
    with write_transaction():
        order = locked(order.id)
        order.last_error = note(
            "Outcome unknown (%(reason)s); the order will be checked with the gateway.", reason=verbatim(reason)
        )
        order.events.append(
            OrderEvent(from_status=Status.CREATING, to_status=Status.CREATING, source=source, detail=order.last_error)
        )
    return CreateResult(order, unknown=True)


def _still_creating(order: Order) -> bool:
    db.session.refresh(order)
    return order.status == Status.CREATING


def _create_unverified(order: Order, source: Source, refusal: GatewayRefused) -> CreateResult:
    """A refusal the gateway did not sign (reading A5): staff see what it says, marked unverified,
    but the order stays CREATING until a signed answer settles it. It is not sent again: a signed
    query decides (the gateway's statement, or its signed word that it holds no such order)."""
    log.warning(
        "order %s: create sent to %s (%s), refused by an unsigned answer: %s %s",
        order.request_no,
        order.gateway,
        source,
        refusal.code,
        refusal.message,
    )
    with write_transaction():
        order = locked(order.id)
        order.last_error_code = refusal.code if isinstance(refusal.code, int) else None
        order.last_error = note(
            "Unverified answer (not signed, so not trusted): %(code)s%(words)s (%(meaning)s). The order will be checked with the gateway.",
            code="" if order.last_error_code else f"{refusal.code} ",  # else shown beside it
            meaning=note(refusal.meaning),
            words=verbatim(refusal.message),
        )
        order.events.append(
            OrderEvent(from_status=Status.CREATING, to_status=Status.CREATING, source=source, detail=order.last_error)
        )
    refresh(order, source=source, query_only=True)
    return CreateResult(order, unknown=_still_creating(order), unverified=refusal)


def _create_refused(order: Order, source: Source, refusal: GatewayRefused) -> CreateResult:
    """The gateway refused it: the order is FAILED, with the gateway's code and words."""
    log.info(
        "order %s: create sent to %s (%s), refused: %s %s",
        order.request_no,
        order.gateway,
        source,
        refusal.code,
        refusal.message,
    )
    with write_transaction():
        order = locked(order.id)
        order.last_error_code = refusal.code if isinstance(refusal.code, int) else None
        order.last_error = verbatim(refusal.message)
        apply_status(
            order,
            Status.FAILED,
            source=source,
            detail=note(
                "Gateway refused the order: %(code)s %(meaning)s.", code=refusal.code, meaning=note(refusal.meaning)
            ),
        )
    return CreateResult(order, refusal=refusal)


# --- checking with the gateway ----------------------------------------------------------------


def refresh(order: Order, *, source: Source, actor: str | None = None, query_only: bool = False) -> Outcome:
    """Ask the gateway for the order's status and apply it.

    An order still CREATING (its create call went unanswered) is sent again where the gateway
    answers a re-send idempotently, unless an unsigned refusal of it is on record
    (``last_error_code``); elsewhere the gateway is asked first, and the create sent again only
    once it says, after the grace period, that it has no such order. ``query_only`` never sends.
    """
    gateway = gateways.for_order(order)
    resend = gateway.resend_creates and order.last_error_code is None
    if order.status == Status.CREATING and resend and not query_only:
        return Outcome.UNREACHABLE if send_create(order, source=source).unknown else Outcome.APPLIED
    try:
        statement = gateway.query(order)
    except GatewayUnreachable as error:
        log.warning("order %s: %s query failed: %s", order.request_no, source, error.reason)
        return Outcome.UNREACHABLE
    if statement is None:
        return _not_at_the_gateway(order, gateway, source=source, actor=actor, may_send=not query_only)
    return _apply_answer(order, lambda mine: apply_statement(mine, statement, source=source, actor=actor))


def _not_at_the_gateway(
    order: Order, gateway: Gateway, *, source: Source, actor: str | None, may_send: bool
) -> Outcome:
    """The gateway's signed word: it holds no such order. A CREATING order past the grace period
    was never created: sent (once more) where the gateway is asked first, else FAILED."""
    grace_over = order.status == Status.CREATING and order.created_at <= now_utc() - CREATION_GRACE
    if grace_over and not gateway.resend_creates and may_send:
        return Outcome.UNREACHABLE if send_create(order, source=source).unknown else Outcome.APPLIED
    with write_transaction():
        mine = locked(order.id)
        mine.last_queried_at = now_utc()
        if grace_over and mine.status == Status.CREATING:
            mine.last_error = note("The gateway has no such order: it was never created.")
            apply_status(mine, Status.FAILED, source=source, actor=actor, detail=mine.last_error)
    return Outcome.NOT_FOUND


def _apply_answer(order: Order, apply: Callable[[Order], Outcome]) -> Outcome:
    """Apply what a status query answered (``apply`` gets the locked order); note when it asked."""
    with write_transaction():
        mine = locked(order.id)
        db.session.execute(update(Order).where(Order.id == order.id).values(last_queried_at=now_utc()))
        return apply(mine)


#: How a staff member's status check that changed nothing is written in the order's history
#: (a change or a mismatch writes its own entry).
CHECKS_THAT_CHANGED_NOTHING = {
    Outcome.DUPLICATE: note("Checked with the gateway: no change."),
    Outcome.STALE: note("Checked with the gateway: no change."),
    Outcome.NOT_FOUND: note("Checked with the gateway: it does not know this order."),
    Outcome.UNREACHABLE: note("Tried to check with the gateway: no answer."),
}


def check_now(order: Order, actor: str | None) -> Outcome:
    """Staff's "Check status now": ask the gateway, and write the check in the audit trail even
    when it changed nothing."""
    outcome = refresh(order, source=Source.QUERY, actor=actor)
    detail = CHECKS_THAT_CHANGED_NOTHING.get(outcome)
    if detail is not None:
        with write_transaction():
            mine = locked(order.id)
            mine.events.append(
                OrderEvent(
                    from_status=mine.status, to_status=mine.status, source=Source.QUERY, actor=actor, detail=detail
                )
            )
    return outcome


def query_if_due(order: Order) -> None:
    """While a shopper waits on the return page, ask the gateway at most every few seconds."""
    if not order.is_open:
        return
    interval = timedelta(seconds=current_app.config["RETURN_PAGE_QUERY_INTERVAL_SECONDS"])
    if order.last_queried_at is not None and order.last_queried_at > now_utc() - interval:
        return
    refresh(order, source=Source.QUERY, actor="return page")


# --- closing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseResult:
    closed: bool
    message: str


def close_order(order: Order, staff_email: str | None) -> CloseResult:
    """Ask the gateway to close an unpaid order; a refusal ends in the gateway's real status."""
    gateway = gateways.for_order(order)
    if not gateway.can_close:
        return CloseResult(
            False,
            gettext("%(gateway)s cannot close a payment; it closes by itself when left unpaid.", gateway=gateway.label),
        )
    if order.status != Status.UNPAID:
        return CloseResult(
            False, gettext("Only orders awaiting payment can be closed. Status: %(status)s.", status=order.status_label)
        )
    try:
        gateway.close(order)
    except GatewayRefused as refusal:
        log.info(
            "order %s: close sent to %s by %s, not closed: %s",
            order.request_no,
            gateway.name,
            staff_email,
            refusal.message,
        )
        return _close_refused(order, staff_email, refusal)
    except GatewayUnreachable as error:
        log.info(
            "order %s: close sent to %s by %s, no usable answer: %s",
            order.request_no,
            gateway.name,
            staff_email,
            error.reason,
        )
        return CloseResult(
            False, gettext("Could not reach the gateway (%(reason)s); nothing changed. Try again.", reason=error.reason)
        )
    log.info("order %s: close sent to %s by %s, closed", order.request_no, gateway.name, staff_email)
    with write_transaction():
        mine = locked(order.id)
        apply_status(
            mine, Status.CLOSED, source=Source.CLOSE, actor=staff_email, detail=note("Closed at the gateway by staff.")
        )
    return CloseResult(True, gettext("Order closed. The shopper can no longer pay it."))


def _close_refused(order: Order, staff_email: str | None, refusal: GatewayRefused) -> CloseResult:
    """What a close the gateway did not carry out means, and what the shop does about it."""
    if not refusal.verified:
        # Not signed, so not trusted: a signed query says what the order's status is.
        refresh(order, source=Source.CLOSE, actor=staff_email)
        db.session.refresh(order)
        return CloseResult(
            order.status == Status.CLOSED,
            gettext(
                "The gateway answered %(code)s %(meaning)s, but its answer was not signed; "
                "a signed query says the order is %(status)s.",
                code=refusal.code,
                meaning=gettext(refusal.meaning),
                status=order.status_label,
            ),
        )
    if refusal.kind == Refusal.ALREADY_CLOSED:
        refresh(order, source=Source.CLOSE, actor=staff_email)
        return CloseResult(True, gettext("The gateway had already closed this order."))
    if refusal.kind == Refusal.NOT_CLOSABLE:
        refresh(order, source=Source.CLOSE, actor=staff_email)
        db.session.refresh(order)
        if order.status == Status.COMPLETED:
            return CloseResult(False, gettext("The gateway refused to close it: the shopper has already paid."))
        return CloseResult(
            False,
            gettext(
                "The gateway refused to close it (%(code)s): its status does not allow closing.", code=refusal.code
            ),
        )
    if refusal.kind == Refusal.NOT_FOUND:
        return CloseResult(False, gettext("The gateway does not know this order (%(code)s).", code=refusal.code))
    return CloseResult(
        False,
        gettext(
            "The gateway refused to close it: %(code)s %(meaning)s.",
            code=refusal.code,
            meaning=gettext(refusal.meaning),
        ),
    )


# --- reconciliation ----------------------------------------------------------------------------

#: The lease a reconciliation run holds, so that only one instance asks the gateways at a time.
RECONCILER_LEASE = "reconciler"


@dataclass
class ReconcileSummary:
    checked: int = 0
    changed: int = 0
    unreachable: int = 0
    refunds_resent: int = 0


def reconcile(limit: int = 500) -> ReconcileSummary:
    """Ask the gateway about every open order (oldest first) and apply what it says; send again
    the refunds no gateway answered."""
    summary = ReconcileSummary()
    ids = db.session.scalars(
        select(Order.id).where(Order.status.in_(OPEN_STATUSES)).order_by(Order.created_at).limit(limit)
    ).all()
    for order_id in ids:
        order = db.session.get(Order, order_id)
        if order is None or not order.is_open:
            continue
        try:
            outcome = refresh(order, source=Source.RECONCILE, actor="reconciler")
        except SQLAlchemyError:
            # Changed by someone else mid-way (a notification, staff): the next run sees it.
            db.session.rollback()
            log.warning(
                "order %s: changed while being reconciled; left for the next run", order.request_no, exc_info=True
            )
            outcome = Outcome.CONFLICT
        summary.checked += 1
        summary.changed += outcome == Outcome.APPLIED
        summary.unreachable += outcome == Outcome.UNREACHABLE
    summary.refunds_resent = refunds.resend_unanswered()
    log.info(
        "reconcile: %d open orders checked, %d changed, %d unreachable; %d refunds re-sent",
        summary.checked,
        summary.changed,
        summary.unreachable,
        summary.refunds_resent,
    )
    return summary


# --- webhook deliveries --------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    http_status: int
    body: str
    outcome: Outcome
    retry_after: int | None = None  # seconds, for an answer the sender should not repeat sooner


#: The answer to a refused delivery past its source's limit (shop.intake): counted, not stored.
TOO_MANY_REFUSED = "too many refused deliveries"


def receive_delivery(
    gateway: Gateway, raw_body: bytes, headers: Headers, remote_addr: str | None, *, unreadable: str | None = None
) -> DeliveryResult:
    """Open, record and apply one webhook delivery. Acknowledge only what was committed.

    A delivery that cannot be verified, or whose body the server could not read (``unreadable``
    says why), is refused (the gateway retries, an attacker learns nothing) and recorded within
    the bounds of ``shop.intake``. A verified one that does not fit the stored order is recorded,
    flagged for staff and acknowledged, since retrying cannot make it valid.
    """
    kept_headers = gateway.kept_headers(headers)
    try:
        if unreadable is not None:
            raise DeliveryRefused(unreadable)
        delivery = gateway.open_delivery(raw_body, kept_headers)
    except DeliveryRefused as refused:
        return _refused(gateway, raw_body, kept_headers, remote_addr, refused.reason)

    body = intake.body_of(raw_body)
    record = Notification(
        gateway=gateway.name,
        remote_addr=remote_addr,
        headers=kept_headers,
        body=body.text,
        body_size=body.size,
        body_sha256=body.sha256,
        verified=True,
        payload=delivery.payload.replace("\x00", "\ufffd"),
        request_no=delivery.request_no,
        pay_status=delivery.status_in_it,
    )
    with write_transaction():
        order = get_order(delivery.request_no, for_update=True)
        record.order, record.outcome = order, Outcome.UNKNOWN_ORDER
        db.session.add(record)
        if order is None:
            record.error = note("no order with this request number")
        else:
            db.session.flush()  # the record's id names this delivery in the order's history
            record.outcome = _apply_delivery(
                order, delivery, source=Source.WEBHOOK, actor=f"notification #{record.id}", notification_id=record.id
            )
    return DeliveryResult(*gateway.acknowledgement, Outcome(record.outcome))


def _refused(
    gateway: Gateway, raw_body: bytes, kept_headers: dict[str, str], remote_addr: str | None, reason: str
) -> DeliveryResult:
    """Record a delivery that did not verify within the bounds of ``shop.intake``: an excerpt,
    while its source is within the limit and the disk has room; past the limit, only a count."""
    room = not health.disk_low()
    with write_transaction():
        admission = intake.admit_refused(remote_addr, room=room)
        if admission.store:
            body = intake.body_of(raw_body, current_app.config["REFUSED_DELIVERY_EXCERPT_BYTES"])
            db.session.add(
                Notification(
                    gateway=gateway.name,
                    remote_addr=remote_addr,
                    headers=intake.bounded_headers(kept_headers),
                    body=body.text,
                    body_size=body.size,
                    body_sha256=body.sha256,
                    body_kept=body.kept,
                    verified=False,
                    error=verbatim(reason),
                    outcome=Outcome.REJECTED,
                )
            )
    if admission.store:
        log.warning("%s delivery from %s refused: %s", gateway.name, remote_addr, reason)
    elif not admission.limited:
        log.warning(
            "%s delivery from %s refused and not stored (the disk is nearly full): %s",
            gateway.name,
            remote_addr,
            reason,
        )
    elif admission.first_turned_away:
        log.warning(
            "%s deliveries from %s refused past the limit (%s): answered 429 and counted, not stored, until %s",
            gateway.name,
            intake.source_of(remote_addr),
            current_app.config["REFUSED_DELIVERY_RATE_LIMIT"],
            f"{admission.window_end:%H:%M:%SZ}",
        )
    if admission.limited:
        return DeliveryResult(429, TOO_MANY_REFUSED, Outcome.LIMITED, retry_after=admission.retry_after)
    return DeliveryResult(*gateway.rejection, Outcome.REJECTED)


def _apply_delivery(
    order: Order,
    delivery: Delivery,
    *,
    source: Source,
    actor: str | None,
    notification_id: int,
    detail: Note = NO_NOTE,
) -> Outcome:
    """A delivery says a refund was made, or what the order's status is."""
    if delivery.refund is not None:
        return refunds.confirm(order, delivery.refund, source=source, actor=actor, notification_id=notification_id)
    return apply_statement(
        order, delivery.statement, source=source, actor=actor, detail=detail, notification_id=notification_id
    )


def replay(record: Notification, staff_email: str | None) -> tuple[bool, str]:
    """Open a stored delivery again (its signature checked anew) and re-apply what it says.

    For staff repairing an order, e.g. after restoring an older backup. Idempotent: what is
    already true changes nothing, and every replay leaves a line in the order's history.
    Returns (whether it was applied, a message for staff).
    """
    if not record.verified:
        return False, gettext("Only a verified delivery can be replayed; this one was refused when it arrived.")
    headers: Mapping[str, str] = record.headers or {}
    try:
        delivery = gateways.for_order(record).open_delivery(record.body.encode("utf-8"), headers, stored=True)
    except DeliveryRefused as refused:
        return False, gettext(
            "The stored delivery does not verify any more (%(reason)s); nothing was applied.", reason=refused.reason
        )
    label = note("Replay of notification #%(id)s.", id=record.id)
    with write_transaction():
        order = get_order(delivery.request_no, for_update=True)
        if order is None:
            return False, gettext(
                "There is no order %(request_no)s; nothing was applied.", request_no=delivery.request_no
            )
        before = order.status
        outcome = _apply_delivery(
            order, delivery, source=Source.REPLAY, actor=staff_email, notification_id=record.id, detail=label
        )
        if outcome in (Outcome.DUPLICATE, Outcome.STALE):
            order.events.append(
                OrderEvent(
                    from_status=before,
                    to_status=before,
                    source=Source.REPLAY,
                    actor=staff_email,
                    notification_id=record.id,
                    detail=label + note("Nothing to change."),
                )
            )
    if outcome == Outcome.APPLIED:
        return True, gettext("Applied again. Status: %(status)s.", status=order.status_label)
    if outcome == Outcome.MISMATCH:
        return False, gettext(
            "The delivery does not match the order; it is flagged for review and nothing was applied."
        )
    return False, gettext("Nothing to change. Status: %(status)s.", status=order.status_label)


def events_of_delivery(record: Notification) -> list[OrderEvent]:
    """What a delivery changed in its order's history: on arrival, and at each replay."""
    return list(
        db.session.scalars(select(OrderEvent).where(OrderEvent.notification_id == record.id).order_by(OrderEvent.id))
    )
