"""The order service's ExamplePay side: creation (sent once, settled by a query), status checks,
notifications and refunds. Its statuses map onto the shop's, so the list, the live views, the
state machine (``orders.apply_status``) and reconciliation are the same for both gateways.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from examplepay import (
    ApiError,
    ExamplePayError,
    Payer,
    Payment,
    PaymentNotFoundError,
    PaymentRequest,
    RefundRequest,
    ValidationError,
    read_notification,
    readings,
)
from examplepay import Notification as GatewayNotification
from examplepay import Refund as GatewayRefund
from examplepay.models import format_amount

from . import gateway, orders
from .extensions import db, write_transaction
from .models import (
    CLOSED,
    COMPLETED,
    CREATING,
    REFUND_ACCEPTED,
    REFUND_DONE,
    REFUND_REFUSED,
    REFUND_REQUESTED,
    UNPAID,
    Notification,
    Order,
    OrderEvent,
    Refund,
    now_utc,
)
from .notes import NO_NOTE, Note, note, verbatim

log = logging.getLogger("shop.examplepay")

GATEWAY = "examplepay"
#: The gateway's payment statuses as the shop's order statuses (reading A7: others are pending).
STATUS_OF = {readings.PENDING: UNPAID, readings.PAID: COMPLETED, readings.CLOSED: CLOSED}
#: The gateway sets no deadline of its own; the sandbox closes a payment left this long (reading).
PAYMENT_LIFETIME = timedelta(seconds=readings.PAYMENT_LIFETIME_SECONDS)
#: A refund saved but unanswered is sent again (same number) by the reconciler after this long.
REFUND_RESEND_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class NewPayment:
    """What staff asked for on the creation form's ExamplePay tab (parsed, not yet validated)."""

    amount: str
    currency: str
    description: str
    payer_name: str
    payer_email: str
    payer_phone: str
    merchant_order_no: str = ""
    user_id: str = ""
    form_token: str | None = None


def notify_url() -> str:
    base_url: str = current_app.config["PUBLIC_BASE_URL"]
    return base_url + "/webhooks/examplepay"


def payment_request(order: Order) -> PaymentRequest:
    """The SDK request for a stored order (the same every time)."""
    payer = order.payer or {}
    return PaymentRequest(
        merchant_trade_no=order.request_no,
        amount=order.amount,
        currency=order.currency,
        description=order.description,
        payer=Payer(order.user_id, payer.get("name", ""), payer.get("email", ""), payer.get("phone", "")),
        notify_url=notify_url(),
        return_url=f"{current_app.config['PUBLIC_BASE_URL']}/checkout/return/{order.request_no}",
        pay_method=readings.PAY_METHOD_BY_CURRENCY.get(order.currency, "UPI"),
        merchant_attach=order.merchant_order_no,
    )


def create_order(new: NewPayment, staff_email: str | None) -> orders.CreateResult:
    """Save the order, then ask ExamplePay for the payment. Raises examplepay.ValidationError
    (before anything is saved) when a field is invalid."""
    existing = orders.order_of_form(new.form_token)
    if existing is not None:
        return orders.CreateResult(existing, existing=True)
    now = now_utc().replace(microsecond=0)
    request_no = orders.new_request_no()
    order = Order(
        request_no=request_no,
        gateway=GATEWAY,
        edition="normal",
        status=CREATING,
        amount=Decimal(format_amount(new.amount)),
        currency=new.currency,
        merchant_order_no=new.merchant_order_no or request_no,
        user_id=new.user_id or "guest",
        description=new.description,
        goods_info=new.description,
        order_time=now,
        timeout_at=now + PAYMENT_LIFETIME,
        receive_network="",
        payer={"name": new.payer_name, "email": new.payer_email, "phone": new.payer_phone},
        form_token=new.form_token,
        created_by=staff_email,
    )
    payment_request(order).to_payload()  # every field checked before anything is saved
    order.events.append(
        OrderEvent(
            from_status=None,
            to_status=CREATING,
            source="staff",
            actor=staff_email,
            detail=note("Order saved; asking the gateway."),
        )
    )
    saved = orders.save_new(order)
    if saved is not order:
        return orders.CreateResult(saved, existing=True)
    return send_create(order, source="create")


def send_create(order: Order, *, source: str) -> orders.CreateResult:
    """Send the create call once. Without an answer the order stays CREATING: the reconciler
    then asks for it by number, and only sends it again once the gateway says it has none (A15)."""
    try:
        created = gateway.examplepay_client().create_payment(payment_request(order))
    except ApiError as error:
        if error.http_status is not None and error.http_status >= 500:
            return orders.create_unanswered(order, source, error.message)
        return orders.create_refused(order, source, error)  # its codes are words: last_error_code stays empty
    except ExamplePayError as error:
        return orders.create_unanswered(order, source, error.message)
    return orders.create_accepted(order, source, created.action_url, created.payment_no)


def refresh(order: Order, *, source: str, actor: str | None = None) -> str:
    """Ask ExamplePay for the payment and apply it (a CREATING order it does not hold, after the
    grace period, is created now). Outcomes as ``orders.refresh_from_gateway``."""
    try:
        payment = gateway.examplepay_client().query_payment(merchant_trade_no=order.request_no)
    except PaymentNotFoundError:
        if order.status == CREATING and order.created_at <= now_utc() - orders.CREATION_GRACE:
            result = send_create(order, source=source)
            return "unreachable" if result.unknown else "applied"
        return "not_found"
    except ExamplePayError as error:
        log.warning("order %s: %s query failed: %s", order.request_no, source, error.message)
        return "unreachable"
    return orders.apply_answer(order, lambda locked: apply_payment(locked, payment, source=source, actor=actor))


def _mismatch(order: Order, payment: Payment) -> Note | None:
    if payment.merchant_trade_no != order.request_no:
        return note("it is about payment %(number)s", number=payment.merchant_trade_no)
    if payment.amount != order.amount:
        return note(
            "amount %(amount)s differs from the stored %(stored)s", amount=str(payment.amount), stored=str(order.amount)
        )
    if payment.currency != order.currency:
        return note(
            "currency %(currency)s differs from the stored %(stored)s", currency=payment.currency, stored=order.currency
        )
    return None


def apply_payment(
    order: Order,
    payment: Payment,
    *,
    source: str,
    actor: str | None,
    detail: Note = NO_NOTE,
    notification_id: int | None = None,
) -> str:
    """Apply what ExamplePay says about the order (after checking it fits); return the outcome."""
    problem = _mismatch(order, payment)
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
        return "mismatch"
    status = STATUS_OF.get(payment.status)
    if status is None:
        return "stale"
    if status == CLOSED and source in ("query", "reconcile") and order.timeout_at <= now_utc():
        source = "timeout"
    if status != order.status:
        order.payment_order_no = payment.payment_no
        order.pay_time = order.completed_time = payment.paid_time if status == COMPLETED else None
    if order.status == CREATING and status == UNPAID and not order.cashier_url:
        order.needs_attention = note(
            "The gateway holds this payment but its payment link was lost: create a new order for the shopper."
        )
    return orders.apply_status(
        order, status, source=source, actor=actor, detail=detail, notification_id=notification_id
    )


# --- notifications -------------------------------------------------------------------------

ACKNOWLEDGED = readings.NOTIFICATION_ACK.decode()
#: A stored delivery's signature stays good for a replay however old it is (it still proves who sent it).
STORED_SIGNATURES_KEEP = 100 * 365 * 24 * 3600 * 1000
REFUSED = '{"code":"FAIL"}'


def _read(
    raw_body: bytes, authorization: str | None, window_ms: int = readings.TIMESTAMP_WINDOW_MS
) -> GatewayNotification:
    config = current_app.config
    return read_notification(
        raw_body,
        authorization,
        app_id=config["EXAMPLEPAY_APP_ID"],
        app_secret=config["EXAMPLEPAY_APP_SECRET"],
        notify_url=notify_url(),
        signed_url_form=config["EXAMPLEPAY_SIGNED_URL_FORM"],
        window_ms=window_ms,
    )


def receive_notification(raw_body: bytes, headers: orders.Headers, remote_addr: str | None) -> orders.DeliveryResult:
    """Verify, record and apply one delivery; acknowledge only what was committed."""
    text = raw_body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    # The Authorization header is a signature, not a secret: kept so a replay can check it again.
    kept_headers = {
        k: v
        for k, v in headers.items()
        if k.lower() in ("content-type", "user-agent", "content-length", "authorization")
    }
    try:
        notification = _read(raw_body, headers.get("Authorization"))
    except ExamplePayError as error:
        orders.record_refused_delivery(GATEWAY, remote_addr, kept_headers, text, error.message)
        return orders.DeliveryResult(401, REFUSED, "rejected")
    payment = notification.payment

    def apply(order: Order, record: Notification) -> str:
        actor = f"notification #{record.id}"
        if notification.refund is None:
            return apply_payment(order, payment, source="webhook", actor=actor, notification_id=record.id)
        return _confirm_refund(order, notification.refund, actor=actor, notification_id=record.id)

    record = orders.record_verified_delivery(
        Notification(
            gateway=GATEWAY,
            remote_addr=remote_addr,
            headers=kept_headers,
            body=text,
            verified=True,
            payload=text,
            request_no=payment.merchant_trade_no,
            pay_status=STATUS_OF.get(payment.status),
        ),
        apply,
    )
    return orders.DeliveryResult(200, ACKNOWLEDGED, record.outcome)


def replay_notification(record: Notification, staff_email: str | None) -> tuple[bool, str]:
    """Check a stored delivery's signature again (its age aside: staff replay old ones) and re-apply it."""
    authorization = next((v for k, v in (record.headers or {}).items() if k.lower() == "authorization"), None)
    try:
        notification = _read(record.body.encode("utf-8"), authorization, window_ms=STORED_SIGNATURES_KEEP)
    except ExamplePayError as error:
        return False, gettext(
            "The stored delivery does not verify any more (%(reason)s); nothing was applied.", reason=error.message
        )

    def apply(order: Order, label: Note) -> str:
        if notification.refund is None:
            return apply_payment(
                order, notification.payment, source="replay", actor=staff_email, detail=label, notification_id=record.id
            )
        return _confirm_refund(
            order, notification.refund, actor=staff_email, notification_id=record.id, source="replay"
        )

    return orders.reapply(record, staff_email, notification.payment.merchant_trade_no, apply)


# --- refunds -------------------------------------------------------------------------------


def refund(order: Order, amount_text: str, reason: str, staff_email: str | None) -> tuple[bool, str]:
    """Refund (part of) a paid ExamplePay order: saved, then sent once; its life is written in the
    order's history. Returns (whether the gateway accepted it, a message for staff)."""
    if order.gateway != GATEWAY or order.status != COMPLETED:
        return False, gettext("Only a paid ExamplePay order can be refunded.")
    try:
        amount = Decimal(format_amount(amount_text))
    except ValidationError as error:
        return False, gettext("Refund amount: %(reason)s.", reason=gettext(error.reason_template, **error.values))
    reason = (reason or "").strip()
    if not reason or len(reason) > 80:
        return False, gettext("Give a reason for the refund (at most 80 characters); the shopper may see it.")
    with write_transaction():
        locked = orders._locked(order.id)
        if amount > locked.refundable:
            return False, gettext(
                "At most %(amount)s %(currency)s is left to refund.",
                amount=str(locked.refundable),
                currency=locked.currency,
            )
        record = Refund(
            order=locked,
            merchant_refund_no="RF" + secrets.token_hex(12).upper(),
            amount=amount,
            reason=reason,
            status=REFUND_REQUESTED,
            created_by=staff_email,
        )
        db.session.add(record)
        _refund_event(
            locked,
            record,
            "staff",
            staff_email,
            note(
                "Refund %(number)s of %(amount)s %(currency)s requested: %(reason)s",
                number=record.merchant_refund_no,
                amount=str(amount),
                currency=locked.currency,
                reason=reason,
            ),
        )
    return send_refund(record.id, source="staff", actor=staff_email)


def send_refund(refund_id: int, *, source: str, actor: str | None) -> tuple[bool, str]:
    """Send a saved refund (again, under the same number: reading REFUND_NUMBER_IDEMPOTENT)."""
    record = db.session.get(Refund, refund_id)
    if record is None:
        raise LookupError(f"there is no refund #{refund_id} to send")
    request = RefundRequest(
        record.merchant_refund_no, record.order.payment_order_no or "", record.amount, record.reason
    )
    number, request_no = record.merchant_refund_no, record.order.request_no
    try:
        answer = gateway.examplepay_client().create_refund(request)
    except ApiError as error:
        if error.http_status is not None and error.http_status >= 500:
            return _refund_unanswered(refund_id, source, actor, error)
        log.info("order %s: refund %s sent to examplepay (%s), refused: %s", request_no, number, source, error.message)
        with write_transaction():
            order, record = _locked_refund(refund_id)
            record.status, record.error = REFUND_REFUSED, verbatim(error.message)
            _refund_event(
                order,
                record,
                source,
                actor,
                note(
                    "Refund %(number)s refused by the gateway: %(meaning)s.",
                    number=record.merchant_refund_no,
                    meaning=note(error.meaning),
                ),
            )
        return False, gettext("The gateway refused the refund: %(reason)s", reason=error.message)
    except ExamplePayError as error:
        return _refund_unanswered(refund_id, source, actor, error)
    log.info(
        "order %s: refund %s sent to examplepay (%s), accepted as %s", request_no, number, source, answer.refund_no
    )
    with write_transaction():
        order, record = _locked_refund(refund_id)
        if record.status == REFUND_REQUESTED:
            record.status, record.refund_no, record.error = REFUND_ACCEPTED, answer.refund_no, None
            _refund_event(
                order,
                record,
                source,
                actor,
                note(
                    "Refund %(number)s accepted by the gateway as %(refund_no)s.",
                    number=record.merchant_refund_no,
                    refund_no=answer.refund_no,
                ),
            )
    return True, gettext("Refund accepted by the gateway. It shows as refunded once the gateway confirms it.")


def _refund_unanswered(refund_id: int, source: str, actor: str | None, error: ExamplePayError) -> tuple[bool, str]:
    with write_transaction():
        order, record = _locked_refund(refund_id)
        log.warning(
            "order %s: refund %s sent to examplepay (%s), no usable answer: %s",
            order.request_no,
            record.merchant_refund_no,
            source,
            error.message,
        )
        record.error = note(
            "No answer (%(reason)s); it will be sent again under the same number.", reason=verbatim(error.message)
        )
        _refund_event(order, record, source, actor, record.error)
    return False, gettext(
        "The gateway did not answer; the refund is saved and will be sent again under the same number."
    )


def _locked_refund(refund_id: int) -> tuple[Order, Refund]:
    """The refund and its order, both locked: the order first, as a notification locks them
    (the other order deadlocks on PostgreSQL when a confirmation and an answer cross)."""
    order_id = db.session.scalar(select(Refund.order_id).where(Refund.id == refund_id))
    if order_id is None:
        raise LookupError(f"there is no refund #{refund_id}")
    order = orders._locked(order_id)
    record = db.session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    if record is None:  # its order is locked now, but the refund may have gone in between
        raise LookupError(f"there is no refund #{refund_id}")
    return order, record


def _confirm_refund(
    order: Order, refund_info: GatewayRefund, *, actor: str | None, notification_id: int, source: str = "webhook"
) -> str:
    record = db.session.scalar(
        select(Refund).where(Refund.merchant_refund_no == refund_info.merchant_refund_no, Refund.order_id == order.id)
    )
    if record is None or refund_info.amount != record.amount:
        order.needs_attention = note(
            "The gateway reports a refund this shop did not ask for: %(number)s.", number=refund_info.merchant_refund_no
        )
        order.events.append(
            OrderEvent(
                from_status=order.status,
                to_status=order.status,
                source=source,
                actor=actor,
                notification_id=notification_id,
                detail=order.needs_attention,
            )
        )
        return "mismatch"
    if record.status == REFUND_DONE:
        return "duplicate"
    record.status, record.refund_no, record.error = REFUND_DONE, refund_info.refund_no, None
    _refund_event(
        order,
        record,
        source,
        actor,
        note(
            "Refund %(number)s of %(amount)s %(currency)s done.",
            number=record.merchant_refund_no,
            amount=str(record.amount),
            currency=refund_info.currency,
        ),
        notification_id=notification_id,
    )
    return "applied"


def _refund_event(
    order: Order, record: Refund, source: str, actor: str | None, detail: Note, notification_id: int | None = None
) -> None:
    """A refund's step in the order's history (the order's own status does not change)."""
    order.events.append(
        OrderEvent(
            from_status=order.status,
            to_status=order.status,
            source=source if source != "staff" else "refund",
            actor=actor,
            detail=detail,
            notification_id=notification_id,
        )
    )
    order.updated_at = now_utc()  # the order row changes too, so its revision moves and live views redraw


def resend_unanswered_refunds() -> int:
    """The reconciler's part: refunds saved but never answered are sent again (same number)."""
    due = db.session.scalars(
        select(Refund.id).where(Refund.status == REFUND_REQUESTED, Refund.updated_at <= now_utc() - REFUND_RESEND_AFTER)
    ).all()
    for refund_id in due:
        send_refund(refund_id, source="reconcile", actor="reconciler")
    return len(due)
