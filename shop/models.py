"""The shop's tables: orders, their status history, received notifications, staff."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, types
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import Model
from .notes import Note, NoteText
from .vocabulary import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    REFUND_STATUS_LABELS,
    STATUS_LABELS,
    RefundStatus,
    Status,
)

#: Added to the wall clock by ``now_utc``. Zero, except while demo mode fills the shop with last
#: month's orders (shop/web/demo.py), when the sandbox's test clock moves back by the same amount.
clock_offset = timedelta(0)


def now_utc() -> datetime:
    return datetime.now(UTC) + clock_offset


class UTCDateTime(types.TypeDecorator[datetime]):
    """Stores UTC; reads back aware UTC datetimes (SQLite returns naive ones)."""

    impl = types.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class DecimalText(types.TypeDecorator[Decimal]):
    """Money stored as exact decimal text (SQLite's Numeric goes through float)."""

    impl = types.String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("money must be a Decimal")
        return format(value, "f")

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return Decimal(value) if value is not None else None


class JSONText(types.TypeDecorator[Any]):
    """A JSON document stored as text (amounts inside stay strings)."""

    impl = types.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


class Order(Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_no: Mapped[str] = mapped_column(String(64), unique=True)
    gateway: Mapped[str] = mapped_column(String(16), default="sparkpay", server_default="sparkpay")
    edition: Mapped[str] = mapped_column(String(8))  # "normal" or "pro"
    status: Mapped[str] = mapped_column(String(12), default=Status.CREATING, index=True)
    revision: Mapped[int] = mapped_column(default=1)
    # What the shop sends.
    amount: Mapped[Decimal] = mapped_column(DecimalText)
    currency: Mapped[str] = mapped_column(String(10))
    merchant_order_no: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(256))
    goods_info: Mapped[str] = mapped_column(String(512))
    order_time: Mapped[datetime] = mapped_column(UTCDateTime)
    timeout_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receive_network: Mapped[str] = mapped_column(String(32), default="")
    currency_networks: Mapped[Any] = mapped_column(JSONText, nullable=True)
    divide_detail: Mapped[Any] = mapped_column(JSONText, nullable=True)
    # ExamplePay's payer: {"name", "email", "phone"}.
    payer: Mapped[Any] = mapped_column(JSONText, nullable=True)
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # What the gateway returns.
    cashier_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    payment_order_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pay_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    real_pay_amount: Mapped[Decimal | None] = mapped_column(DecimalText, nullable=True)
    pay_network: Mapped[int | None] = mapped_column(nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    payer_addr: Mapped[str | None] = mapped_column(String(128), nullable=True)
    merchant_ca_addr: Mapped[str | None] = mapped_column(String(128), nullable=True)
    merchant_recv_account: Mapped[str | None] = mapped_column(String(128), nullable=True)
    payment_divide_detail: Mapped[Any] = mapped_column(JSONText, nullable=True)
    # Operations.
    last_error_code: Mapped[int | None] = mapped_column(nullable=True)
    last_error: Mapped[Note | None] = mapped_column(NoteText, nullable=True)
    last_queried_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    needs_attention: Mapped[Note | None] = mapped_column(NoteText, nullable=True)

    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    notifications: Mapped[list[Notification]] = relationship(back_populates="order", order_by="Notification.id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="order", order_by="Refund.id")

    # Every UPDATE carries "WHERE revision = <read>" and bumps it: a concurrent writer that
    # read an older row fails instead of overwriting (and the live views poll on it).
    __mapper_args__ = MappingProxyType({"version_id_col": revision})

    @property
    def is_pro(self) -> bool:
        return self.edition == "pro"

    @property
    def is_live(self) -> bool:
        """Whether the order page keeps asking for changes: open, or a refund under way."""
        return self.is_open or any(r.status in (RefundStatus.REQUESTED, RefundStatus.ACCEPTED) for r in self.refunds)

    @property
    def refundable(self) -> Decimal:
        """What is left to refund: the amount less every refund not refused."""
        return self.amount - sum((r.amount for r in self.refunds if r.status != RefundStatus.REFUSED), Decimal(0))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def is_expired(self) -> bool:
        return self.status == Status.UNPAID and self.timeout_at <= now_utc()


class OrderEvent(Model):
    """One entry of an order's history: a status change or a notable action, with its source."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    # create, webhook, query, close, reconcile, timeout, staff
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(254), nullable=True)
    detail: Mapped[Note] = mapped_column(NoteText, default=Note)
    # The webhook delivery that caused this entry, on arrival or replayed.
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"), nullable=True, index=True)

    order: Mapped[Order] = relationship(back_populates="events")


class Notification(Model):
    """Every delivery received on the webhook, verified or not, and what it did."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    headers: Mapped[Any] = mapped_column(JSONText)
    #: The body as text; of a refused delivery only its first bytes (``shop.intake``).
    body: Mapped[str] = mapped_column(Text)
    #: The whole body's size in bytes and its SHA-256 (hex), whatever was kept of it.
    body_size: Mapped[int | None] = mapped_column(nullable=True)
    body_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: How many bytes of the body ``body`` holds when it is an excerpt; None when it is whole.
    body_kept: Mapped[int | None] = mapped_column(nullable=True)
    verified: Mapped[bool] = mapped_column(default=False)
    error: Mapped[Note | None] = mapped_column(NoteText, nullable=True)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pay_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # a vocabulary.Outcome
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True, index=True)
    gateway: Mapped[str] = mapped_column(String(16), default="sparkpay", server_default="sparkpay")

    order: Mapped[Order | None] = relationship(back_populates="notifications")

    @property
    def body_is_excerpt(self) -> bool:
        return self.body_kept is not None


# Pruning walks the refused deliveries by age without reading the verified ones it keeps.
Index("ix_notifications_verified_received", Notification.verified, Notification.received_at)


class RefusalWindow(Model):
    """How many refused deliveries one source sent in one rate-limit window, and how many of
    them were answered 429 and counted instead of stored (``shop.intake``)."""

    __tablename__ = "refusal_windows"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    refused: Mapped[int] = mapped_column(default=0)
    not_stored: Mapped[int] = mapped_column(default=0)


class Refund(Model):
    """A refund of (part of) a paid order, at a gateway that takes refunds."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    merchant_refund_no: Mapped[str] = mapped_column(String(50), unique=True)
    refund_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[Decimal] = mapped_column(DecimalText)
    reason: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=RefundStatus.REQUESTED)
    error: Mapped[Note | None] = mapped_column(NoteText, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    order: Mapped[Order] = relationship(back_populates="refunds")

    @property
    def status_label(self) -> str:
        return str(REFUND_STATUS_LABELS.get(self.status, self.status))


Index("ix_orders_status_created", Order.status, Order.created_at)

ROLES = ("viewer", "manager")


class Staff(UserMixin, Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def can_manage(self) -> bool:
        return self.role == "manager"


class Lease(Model):
    """A job only one process may run at a time across every instance (the reconciler).

    Held by ``holder`` until ``expires_at``; a holder that dies lets it lapse to the next.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HealthProbe(Model):
    """One row the health check rewrites to prove the database takes a write (``shop.health``)."""

    __tablename__ = "health_probes"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
