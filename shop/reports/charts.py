"""The dashboard home's small charts: orders and paid volume per day, and the share of each
network among paid orders. Drawn on the server as SVG (no script, no CDN); amounts stay Decimal."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import ClassVar

from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from sparkpay.networks import network_label

from ..extensions import db
from ..models import Order
from ..templating import day as day_label
from ..templating import money
from ..vocabulary import Status

#: How many days the charts cover, today (UTC) included.
DAYS = 30
#: The drawing's size in SVG units; CSS scales it to the card.
WIDTH, HEIGHT = 600, 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class DailyChart:
    title: str
    bars: tuple[Bar, ...]
    total: str
    first_day: date
    width: ClassVar[int] = WIDTH
    height: ClassVar[int] = HEIGHT


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    percent: int


def day_of(value: object) -> date:
    """SQLite's date() gives text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def last_days(count: int, today: date | None = None) -> list[date]:
    """The last ``count`` days (UTC), oldest first, today included."""
    today = today or datetime.now(UTC).date()
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def daily(title: str, values: dict[date, Decimal], days: list[date], describe: Callable[[Decimal], str]) -> DailyChart:
    """One bar per day of ``days``; ``describe`` words a value ("3 orders", "12.5 USDT")."""
    top = max(values.values(), default=Decimal(0)) or Decimal(1)
    slot = WIDTH / len(days)
    bars = []
    for index, day in enumerate(days):
        value = values.get(day, Decimal(0))
        height = float(value / top) * (HEIGHT - 4)
        bars.append(Bar(index * slot + 1, HEIGHT - height, slot - 2, height, f"{day_label(day)}: {describe(value)}"))
    return DailyChart(title, tuple(bars), describe(sum(values.values(), Decimal(0))), days[0])


def _in(currency: str) -> Callable[[Decimal], str]:
    """Words an amount in ``currency`` ("12.5 USDT")."""
    return lambda value: f"{money(value)} {currency}"


def dashboard_charts(today: date | None = None) -> dict[str, object]:
    """The home page's charts for the last ``DAYS`` days (UTC)."""
    days = last_days(DAYS, today)
    since = datetime.combine(days[0], time.min, UTC)

    created_day = func.date(Order.created_at)
    created = {
        day_of(day): Decimal(count)
        for day, count in db.session.execute(
            select(created_day, func.count()).where(Order.created_at >= since).group_by(created_day)
        )
    }
    volume: dict[str, dict[date, Decimal]] = defaultdict(dict)
    networks: Counter[str] = Counter()
    paid = select(Order.completed_time, Order.currency, Order.amount, Order.pay_network).where(
        Order.status == Status.COMPLETED, Order.completed_time >= since
    )
    for completed_time, currency, amount, network in db.session.execute(paid.execution_options(yield_per=1000)):
        if completed_time is None:  # the query's condition leaves none out; the column allows it
            continue
        per_day = volume[currency]
        per_day[completed_time.date()] = per_day.get(completed_time.date(), Decimal(0)) + amount
        networks[network_label(network) or gettext("unknown")] += 1

    paid_count = sum(networks.values())
    return {
        "orders": daily(
            gettext("Orders per day"),
            created,
            days,
            lambda n: ngettext("%(count)s order", "%(count)s orders", int(n), count=money(n)),
        ),
        "volumes": [
            daily(
                gettext("Paid per day, %(currency)s", currency=currency),
                per_day,
                days,
                _in(currency),
            )
            for currency, per_day in sorted(volume.items(), key=lambda item: -sum(item[1].values()))
        ],
        "networks": [Share(label, count, round(100 * count / paid_count)) for label, count in networks.most_common()],
        "days": DAYS,
    }
