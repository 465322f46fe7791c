"""The one state machine, and the one way a gateway's statement is applied to an order.

Every status change, whatever its source, goes through ``apply_status``: it refuses moves
``TRANSITIONS`` does not allow, records an ``OrderEvent`` and bumps the order's revision (an
optimistic lock: the UPDATE carries ``WHERE revision = <read>``). ``apply_statement`` checks that
what a gateway says fits the stored order before it applies it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, select

from ..extensions import db
from ..gateways.base import Statement
from ..models import Order, OrderEvent, now_utc
from ..notes import NO_NOTE, Note, note
from ..vocabulary import TRANSITIONS, Outcome, Source, Status

log = logging.getLogger("shop.orders")

#: A CREATING order the gateway still does not know after this long was never created.
CREATION_GRACE = timedelta(minutes=2)


def get_order(request_no: str, *, for_update: bool = False) -> Order | None:
    """The order with this request number (gateways treat it case-insensitively).

    ``for_update`` locks its row until the caller's write transaction ends.
    """

    def one(condition: ColumnElement[bool]) -> Order | None:
        query = select(Order).where(condition)
        return db.session.scalar(_for_update(query) if for_update else query)

    order = one(Order.request_no == request_no)
    if order is None and request_no:
        order = one(func.upper(Order.request_no) == request_no.upper())
    return order


def _for_update(query: Select[Order]) -> Select[Order]:
    """Lock the rows read until the transaction ends, and read them afresh even if the session
    already holds them (a copy read before the lock may be older than the locked row)."""
    return query.with_for_update().execution_options(populate_existing=True)


def locked(order_id: int) -> Order:
    """The order, its row locked until the write transaction ends (always the order before its refunds)."""
    return db.session.scalars(_for_update(select(Order).where(Order.id == order_id))).one()


def apply_status(
    order: Order,
    new_status: Status,
    *,
    source: Source,
    actor: str | None = None,
    detail: Note = NO_NOTE,
    statement: Statement | None = None,
    notification_id: int | None = None,
) -> Outcome:
    """Move ``order`` to ``new_status`` if allowed. Runs inside the caller's transaction; the
    statement's details are copied only with a change."""
    if new_status == order.status:
        return Outcome.DUPLICATE
    if order.status not in TRANSITIONS or new_status not in TRANSITIONS[Status(order.status)]:
        return Outcome.STALE  # a move the state machine does not allow (or a status it does not know)
    old_status = Status(order.status)
    if statement is not None:
        for column, value in statement.details.items():
            setattr(order, column, value)
    order.status = new_status
    if new_status == Status.CLOSED and order.closed_time is None:
        order.closed_time = now_utc()
    if old_status == Status.CLOSED and new_status == Status.COMPLETED:
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
    by = f", {actor}" if actor else ""
    log.info("order %s: %s -> %s (%s%s)", order.request_no, old_status, new_status, source, by)
    return Outcome.APPLIED


def _plain(amount: Decimal) -> str:
    return format(amount.normalize(), "f")


def mismatch(order: Order, statement: Statement) -> Note | None:
    """Why a verified statement does not fit the stored order, or None if it does. A statement
    that leaves out the amount or the currency does not fit (``Statement.currency_implied``)."""
    if statement.problem is not None:
        return statement.problem
    if statement.request_no.upper() != order.request_no.upper():
        return note("it is about payment %(number)s", number=statement.request_no)
    if statement.edition is not None and statement.edition != order.edition:
        return note("edition differs from the stored order")
    if statement.amount is None:
        return note("it leaves out the amount")
    if statement.amount != order.amount:
        return note(
            "amount %(amount)s differs from the stored %(stored)s",
            amount=_plain(statement.amount),
            stored=_plain(order.amount),
        )
    if not statement.currency and not statement.currency_implied:
        return note("it leaves out the currency")
    if statement.currency and statement.currency != order.currency:
        return note(
            "currency %(currency)s differs from the stored %(stored)s",
            currency=statement.currency,
            stored=order.currency,
        )
    if (
        statement.status == Status.COMPLETED
        and not order.is_pro  # a Pro order's shopper pays in another currency than its price
        and statement.paid_amount is not None
        and statement.paid_amount < order.amount
    ):
        return note(
            "only %(paid)s of %(amount)s was paid", paid=_plain(statement.paid_amount), amount=_plain(order.amount)
        )
    return None


def apply_statement(
    order: Order,
    statement: Statement,
    *,
    source: Source,
    actor: str | None,
    detail: Note = NO_NOTE,
    notification_id: int | None = None,
) -> Outcome:
    """Apply what a gateway says about the (locked) ``order`` once it is checked to fit."""
    problem = mismatch(order, statement)
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
        return Outcome.MISMATCH
    if statement.status is None:
        return Outcome.STALE
    if (
        statement.status == Status.CLOSED
        and source in (Source.QUERY, Source.RECONCILE)
        and order.timeout_at <= now_utc()
    ):
        source = Source.TIMEOUT
    if order.status == Status.CREATING and statement.status == Status.UNPAID and not order.cashier_url:
        order.needs_attention = note(
            "The gateway holds this payment but its payment link was lost: create a new order for the shopper."
        )
    return apply_status(
        order,
        statement.status,
        source=source,
        actor=actor,
        detail=detail,
        statement=statement,
        notification_id=notification_id,
    )
