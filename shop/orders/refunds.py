"""Refunds, at any gateway that takes them: saved, then sent under their own number; sent again
under the same number while unanswered; confirmed by the gateway's notification. Every step is a
line of the order's history (the order's own status does not change)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask_babel import gettext
from sqlalchemy import select

from .. import gateways
from ..extensions import db, write_transaction
from ..gateways.base import GatewayRefused, GatewayUnreachable, InvalidField, RefundStatement
from ..models import Order, OrderEvent, Refund, now_utc
from ..notes import Note, note, verbatim
from ..vocabulary import Outcome, RefundStatus, Source, Status
from .state import locked

log = logging.getLogger("shop.orders")

#: A refund saved but unanswered is sent again (same number) by the reconciler after this long.
RESEND_AFTER = timedelta(seconds=30)


def refund(order: Order, amount_text: str, reason: str, staff_email: str | None) -> tuple[bool, str]:
    """Refund (part of) a paid order. Returns (whether the gateway accepted it, a message for staff)."""
    gateway = gateways.for_order(order)
    if not gateway.can_refund or order.status != Status.COMPLETED:
        return False, gettext("Only a paid order can be refunded, at a gateway that takes refunds.")
    try:
        amount = gateway.refund_amount(amount_text)
    except InvalidField as error:
        return False, gettext("Refund amount: %(reason)s.", reason=gettext(error.reason_template, **error.values))
    reason = (reason or "").strip()
    if not reason or len(reason) > 80:
        return False, gettext("Give a reason for the refund (at most 80 characters); the shopper may see it.")
    with write_transaction():
        mine = locked(order.id)
        if amount > mine.refundable:
            return False, gettext(
                "At most %(amount)s %(currency)s is left to refund.",
                amount=str(mine.refundable),
                currency=mine.currency,
            )
        record = Refund(
            order=mine,
            merchant_refund_no="RF" + secrets.token_hex(12).upper(),
            amount=amount,
            reason=reason,
            status=RefundStatus.REQUESTED,
            created_by=staff_email,
        )
        db.session.add(record)
        _event(
            mine,
            Source.REFUND,
            staff_email,
            note(
                "Refund %(number)s of %(amount)s %(currency)s requested: %(reason)s",
                number=record.merchant_refund_no,
                amount=str(amount),
                currency=mine.currency,
                reason=reason,
            ),
        )
    return send(record.id, source=Source.REFUND, actor=staff_email)


def send(refund_id: int, *, source: Source, actor: str | None) -> tuple[bool, str]:
    """Send a saved refund (again, under the same number)."""
    record = db.session.get(Refund, refund_id)
    if record is None:
        raise LookupError(f"there is no refund #{refund_id} to send")
    gateway = gateways.for_order(record.order)
    if not gateway.can_refund:
        raise LookupError(f"refund #{refund_id} is of an order at {gateway.name}, which takes no refunds")
    number, request_no = record.merchant_refund_no, record.order.request_no
    try:
        refund_no = gateway.send_refund(record)
    except GatewayUnreachable as error:
        log.warning(
            "order %s: refund %s sent to %s (%s), no usable answer: %s",
            request_no,
            number,
            gateway.name,
            source,
            error.reason,
        )
        with write_transaction():
            order, record = _locked(refund_id)
            record.error = note(
                "No answer (%(reason)s); it will be sent again under the same number.", reason=verbatim(error.reason)
            )
            _event(order, source, actor, record.error)
        return False, gettext(
            "The gateway did not answer; the refund is saved and will be sent again under the same number."
        )
    except GatewayRefused as refusal:
        log.info(
            "order %s: refund %s sent to %s (%s), refused: %s",
            request_no,
            number,
            gateway.name,
            source,
            refusal.message,
        )
        with write_transaction():
            order, record = _locked(refund_id)
            record.status, record.error = RefundStatus.REFUSED, verbatim(refusal.message)
            _event(
                order,
                source,
                actor,
                note(
                    "Refund %(number)s refused by the gateway: %(meaning)s.",
                    number=record.merchant_refund_no,
                    meaning=note(refusal.meaning),
                ),
            )
        return False, gettext("The gateway refused the refund: %(reason)s", reason=refusal.message)
    log.info("order %s: refund %s sent to %s (%s), accepted as %s", request_no, number, gateway.name, source, refund_no)
    with write_transaction():
        order, record = _locked(refund_id)
        if record.status == RefundStatus.REQUESTED:
            record.status, record.refund_no, record.error = RefundStatus.ACCEPTED, refund_no, None
            _event(
                order,
                source,
                actor,
                note(
                    "Refund %(number)s accepted by the gateway as %(refund_no)s.",
                    number=record.merchant_refund_no,
                    refund_no=refund_no,
                ),
            )
    return True, gettext("Refund accepted by the gateway. It shows as refunded once the gateway confirms it.")


def _locked(refund_id: int) -> tuple[Order, Refund]:
    """The refund and its order, both locked: the order first, as a notification locks them
    (the other order deadlocks on PostgreSQL when a confirmation and an answer cross)."""
    order_id = db.session.scalar(select(Refund.order_id).where(Refund.id == refund_id))
    if order_id is None:
        raise LookupError(f"there is no refund #{refund_id}")
    order = locked(order_id)
    record = db.session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    if record is None:  # its order is locked now, but the refund may have gone in between
        raise LookupError(f"there is no refund #{refund_id}")
    return order, record


def confirm(
    order: Order, statement: RefundStatement, *, source: Source, actor: str | None, notification_id: int
) -> Outcome:
    """The gateway's word that a refund was made (the order is locked by the caller)."""
    record = db.session.scalar(
        select(Refund).where(Refund.merchant_refund_no == statement.merchant_refund_no, Refund.order_id == order.id)
    )
    if record is None or statement.amount != record.amount:
        order.needs_attention = note(
            "The gateway reports a refund this shop did not ask for: %(number)s.", number=statement.merchant_refund_no
        )
        _event(order, source, actor, order.needs_attention, notification_id)
        return Outcome.MISMATCH
    if record.status == RefundStatus.DONE:
        return Outcome.DUPLICATE
    record.status, record.refund_no, record.error = RefundStatus.DONE, statement.refund_no, None
    _event(
        order,
        source,
        actor,
        note(
            "Refund %(number)s of %(amount)s %(currency)s done.",
            number=record.merchant_refund_no,
            amount=str(record.amount),
            currency=statement.currency,
        ),
        notification_id,
    )
    return Outcome.APPLIED


def _event(order: Order, source: Source, actor: str | None, detail: Note, notification_id: int | None = None) -> None:
    """A refund's step in the order's history."""
    order.events.append(
        OrderEvent(
            from_status=order.status,
            to_status=order.status,
            source=source,
            actor=actor,
            detail=detail,
            notification_id=notification_id,
        )
    )
    order.updated_at = now_utc()  # the order row changes too, so its revision moves and live views redraw


def resend_unanswered() -> int:
    """The reconciler's part: refunds saved but never answered are sent again (same number)."""
    due = db.session.scalars(
        select(Refund.id).where(Refund.status == RefundStatus.REQUESTED, Refund.updated_at <= now_utc() - RESEND_AFTER)
    ).all()
    sent = 0
    for refund_id in due:
        record = db.session.get(Refund, refund_id)
        if record is not None and gateways.for_order(record.order).enabled():
            send(refund_id, source=Source.RECONCILE, actor="reconciler")
            sent += 1
    return sent
