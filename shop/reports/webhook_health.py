"""Are the gateways' notifications getting through? Deliveries accepted and refused per day, why
they were refused, the last good one per gateway, the addresses whose refused deliveries went
past the limit (counted, not stored: shop/intake.py), and a warning when orders wait while
nothing arrives (WEBHOOK_SILENCE_MINUTES)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from ..extensions import db
from ..models import Notification, Order, RefusalWindow, now_utc
from ..notes import Note
from ..templating import money
from ..vocabulary import Status
from .charts import DailyChart, daily, day_of, last_days

#: How many days the panel covers, today (UTC) included.
DAYS = 14


@dataclass(frozen=True)
class Health:
    accepted: DailyChart
    refused: DailyChart
    reasons: tuple[tuple[Note, int], ...]  # why deliveries were refused, most frequent first
    last_good: tuple[tuple[str, Notification], ...]  # (gateway, its last verified delivery)
    turned_away: tuple[TurnedAway, ...]  # sources past the refused-delivery limit, most first


@dataclass(frozen=True)
class TurnedAway:
    """A source whose refused deliveries went past the limit: how many were counted, not stored."""

    source: str
    not_stored: int
    last: datetime  # the start of the last window it was turned away in


@dataclass(frozen=True)
class Silence:
    since: datetime | None  # the last verified delivery, None if there never was one
    minutes: int | None
    waiting: int  # orders awaiting payment longer than the silence window


def _count(n: Decimal) -> str:
    return str(ngettext("%(count)s delivery", "%(count)s deliveries", int(n), count=money(n)))


def panel() -> Health:
    days = last_days(DAYS)
    since = datetime.combine(days[0], time.min, UTC)
    received_day = func.date(Notification.received_at)
    per_day: dict[bool, dict[date, Decimal]] = {True: {}, False: {}}
    for day, verified, count in db.session.execute(
        select(received_day, Notification.verified, func.count())
        .where(Notification.received_at >= since)
        .group_by(received_day, Notification.verified)
    ):
        per_day[bool(verified)][day_of(day)] = Decimal(count)
    reasons = db.session.execute(
        select(Notification.error, func.count())
        .where(Notification.received_at >= since, Notification.verified.is_(False))
        .group_by(Notification.error)
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    last_good = []
    for gateway in db.session.scalars(select(Notification.gateway).distinct().order_by(Notification.gateway)):
        latest = db.session.scalar(
            select(Notification)
            .where(Notification.gateway == gateway, Notification.verified.is_(True))
            .order_by(Notification.id.desc())
            .limit(1)
        )
        if latest is not None:
            last_good.append((gateway, latest))
    turned_away = db.session.execute(
        select(RefusalWindow.source, func.sum(RefusalWindow.not_stored), func.max(RefusalWindow.window_start))
        .where(RefusalWindow.window_start >= since, RefusalWindow.not_stored > 0)
        .group_by(RefusalWindow.source)
        .order_by(func.sum(RefusalWindow.not_stored).desc())
        .limit(10)
    ).all()
    return Health(
        accepted=daily(gettext("Accepted per day"), per_day[True], days, _count),
        refused=daily(gettext("Refused per day"), per_day[False], days, _count),
        reasons=tuple((reason or Note(), count) for reason, count in reasons),
        last_good=tuple(last_good),
        turned_away=tuple(TurnedAway(source, int(count), last) for source, count, last in turned_away),
    )


def silence(now: datetime | None = None) -> Silence | None:
    """A warning when orders have awaited payment longer than the window and no verified
    delivery arrived within it; None when all is well or the check is off (0 minutes)."""
    minutes = int(current_app.config["WEBHOOK_SILENCE_MINUTES"])
    if minutes <= 0:
        return None
    now = now or now_utc()
    window_start = now - timedelta(minutes=minutes)
    # Newest first by id (its index): no scan of the whole delivery log on every staff page.
    since = db.session.scalar(
        select(Notification.received_at)
        .where(Notification.verified.is_(True))
        .order_by(Notification.id.desc())
        .limit(1)
    )
    if since is not None and since > window_start:
        return None
    waiting = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.status == Status.UNPAID, Order.created_at <= window_start)
    )
    if not waiting:
        return None
    return Silence(since, int((now - since).total_seconds() // 60) if since else None, waiting)
