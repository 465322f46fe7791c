"""One audit trail per order: its history entries (status changes; staff creating, closing,
checking, replaying, refunding; the gateway's answers and retries) together with every
notification delivered about it that changed nothing, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Notification, Order, OrderEvent


@dataclass(frozen=True)
class Entry:
    at: datetime
    event: OrderEvent | None = None
    delivery: Notification | None = None


def trail(order: Order) -> list[Entry]:
    events = list(order.events)
    told = {event.notification_id for event in events if event.notification_id is not None}
    entries = [Entry(event.at, event=event) for event in events]
    # A delivery that changed something is already an entry above; the rest (repeats, stale or
    # late ones) still belong to what happened to the order.
    entries += [
        Entry(delivery.received_at, delivery=delivery) for delivery in order.notifications if delivery.id not in told
    ]
    return sorted(entries, key=lambda entry: (entry.at, entry.event.id if entry.event else 0), reverse=True)
