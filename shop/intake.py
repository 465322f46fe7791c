"""What the webhook keeps of a delivery that does not verify, how many, and for how long.

Anyone can post to the webhook, so what a refused delivery leaves behind is bounded three ways:
the first ``REFUSED_DELIVERY_EXCERPT_BYTES`` of its body (with the whole body's size and
SHA-256); at most ``REFUSED_DELIVERY_RATE_LIMIT`` of them stored per source address and window,
past which they are answered 429 and only counted (``refusal_windows``, one row per source and
window, shared by every instance); and pruned after ``REFUSED_DELIVERY_RETENTION_DAYS``. A
delivery that verifies is kept whole and never limited: the limit is applied only once
verification has failed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse
from sqlalchemy import delete, exists, func, select, update

from .extensions import db, upsert, write_transaction
from .models import Notification, OrderEvent, RefusalWindow, now_utc

log = logging.getLogger("shop.intake")

#: A kept header of a refused delivery is cut to this many characters.
HEADER_VALUE_CHARS = 512
#: Pruning deletes this many rows per transaction, so writers never wait long behind it.
PRUNE_BATCH = 500


@dataclass(frozen=True)
class Body:
    """A delivery's body as the inspector keeps it."""

    text: str
    size: int  # the whole body, in bytes
    sha256: str  # of the whole body, hex
    kept: int | None  # the excerpt's limit in bytes when ``text`` is one; None when it is whole


def text_of(raw: bytes) -> str:
    """Bytes as text for the inspector; PostgreSQL text cannot hold NUL, which no valid body has."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def body_of(raw: bytes, limit: int | None = None) -> Body:
    """``raw`` whole, or with a ``limit`` no more than that many bytes of it (as UTF-8 text)."""
    digest = hashlib.sha256(raw).hexdigest()
    if limit is None:
        return Body(text_of(raw), len(raw), digest, None)
    text = text_of(raw[:limit])
    encoded = text.encode()
    if len(encoded) > limit:  # bytes that are not UTF-8 became U+FFFD, three bytes each
        text = encoded[:limit].decode("utf-8", errors="ignore")
    whole = len(raw) <= limit and text == text_of(raw)
    return Body(text, len(raw), digest, None if whole else limit)


def bounded_headers(headers: dict[str, str]) -> dict[str, str]:
    """A refused delivery's kept headers, each value cut to HEADER_VALUE_CHARS."""
    return {name: value[:HEADER_VALUE_CHARS] for name, value in headers.items()}


def source_of(remote_addr: str | None) -> str:
    """What the limit counts by: an IPv4 address as it is, an IPv6 one by its /64 (what one
    subscriber gets, so a sender cannot walk its own addresses past the limit)."""
    if not remote_addr:
        return "unknown"
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@lru_cache(maxsize=8)
def _limit(text: str) -> RateLimitItem:
    return parse(text)


@dataclass(frozen=True)
class Admission:
    """Whether a refused delivery is stored; past the limit, when its source may send more."""

    store: bool
    limited: bool  # past the limit: answered 429
    retry_after: int  # seconds until the window ends
    first_turned_away: bool  # the first of its window past the limit: worth one log line
    window_end: datetime


def admit_refused(remote_addr: str | None, *, room: bool = True, now: datetime | None = None) -> Admission:
    """Count one refused delivery from ``remote_addr`` in the current window, and say whether it
    may be stored: within the limit, and while the disk has ``room`` (what is left of a nearly
    full disk is for genuine deliveries). Call it inside the write transaction that stores it."""
    limit = _limit(current_app.config["REFUSED_DELIVERY_RATE_LIMIT"])
    now = now or now_utc()
    seconds = limit.get_expiry()
    start = datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)
    end = start + timedelta(seconds=seconds)
    source = source_of(remote_addr)
    key = (RefusalWindow.source == source, RefusalWindow.window_start == start)
    refused = db.session.scalar(
        upsert(
            RefusalWindow,
            {"source": source, "window_start": start, "refused": 1, "not_stored": 0},
            ("source", "window_start"),
            {"refused": RefusalWindow.refused + 1},
        ).returning(RefusalWindow.refused)
    )
    limited = refused is None or refused > limit.amount
    store = room and not limited
    if not store:
        db.session.execute(update(RefusalWindow).where(*key).values(not_stored=RefusalWindow.not_stored + 1))
    return Admission(
        store=store,
        limited=limited,
        retry_after=max(1, math.ceil((end - now).total_seconds())),
        first_turned_away=refused == limit.amount + 1,
        window_end=end,
    )


@dataclass(frozen=True)
class Pruned:
    deliveries: int
    windows: int
    before: datetime


def prune(now: datetime | None = None) -> Pruned:
    """Delete the refused deliveries and the rate-limit counters older than
    REFUSED_DELIVERY_RETENTION_DAYS, a batch per transaction. Verified deliveries stay."""
    before = (now or now_utc()) - timedelta(days=current_app.config["REFUSED_DELIVERY_RETENTION_DAYS"])
    old = (
        Notification.verified.is_(False),
        Notification.received_at < before,
        # Never true of a refused delivery; a row an entry points at is never deleted under it.
        ~exists().where(OrderEvent.notification_id == Notification.id),
    )
    deliveries = 0
    while ids := db.session.scalars(select(Notification.id).where(*old).limit(PRUNE_BATCH)).all():
        with write_transaction():
            db.session.execute(
                delete(Notification).where(Notification.id.in_(ids), *old).execution_options(synchronize_session=False)
            )
        deliveries += len(ids)
    windows = (
        db.session.scalar(select(func.count()).select_from(RefusalWindow).where(RefusalWindow.window_start < before))
        or 0
    )
    if windows:
        with write_transaction():
            db.session.execute(delete(RefusalWindow).where(RefusalWindow.window_start < before))
    db.session.rollback()  # end the read transaction of the last look
    if deliveries or windows:
        log.info(
            "prune: %d refused deliveries and %d rate-limit counters older than %s removed",
            deliveries,
            windows,
            f"{before:%Y-%m-%dT%H:%M:%SZ}",
        )
    return Pruned(deliveries, windows, before)
