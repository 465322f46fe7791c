"""The shop's own words for an order's life: its statuses and the moves between them, where a
change came from, and what applying a gateway's statement did. Every gateway's statuses are
translated into these by its adapter (shop/gateways/); the values are what the database stores.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l


class Status(StrEnum):
    #: Saved locally, the create call not yet answered (or its outcome unknown).
    CREATING = "CREATING"
    #: The gateway holds it; the shopper has not paid.
    UNPAID = "UNPAID"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    #: The gateway refused the order (or never heard of it); nothing to pay.
    FAILED = "FAILED"


OPEN_STATUSES = (Status.CREATING, Status.UNPAID)
FINAL_STATUSES = (Status.COMPLETED, Status.CLOSED)

#: Allowed moves. COMPLETED is final. CLOSED -> COMPLETED only happens when the gateway itself
#: reports the payment (a crypto payment confirmed after a close or the deadline), and the order
#: is then flagged for staff. FAILED orders revive if the gateway shows them after all.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATING: frozenset({Status.UNPAID, Status.COMPLETED, Status.CLOSED, Status.FAILED}),
    Status.FAILED: frozenset({Status.UNPAID, Status.COMPLETED, Status.CLOSED}),
    Status.UNPAID: frozenset({Status.COMPLETED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
}

STATUS_LABELS: dict[str, Any] = {
    Status.CREATING: _l("Creating"),
    Status.UNPAID: _l("Awaiting payment"),
    Status.COMPLETED: _l("Paid"),
    Status.CLOSED: _l("Closed"),
    Status.FAILED: _l("Not created"),
}


class Source(StrEnum):
    """Where an entry of an order's history came from."""

    STAFF = "staff"  # saved from the creation form
    CREATE = "create"  # the create call's answer
    WEBHOOK = "webhook"
    QUERY = "query"  # a status check: staff's "Check status now", the return page
    CLOSE = "close"
    RECONCILE = "reconcile"
    TIMEOUT = "timeout"  # a check found it closed at its deadline
    REPLAY = "replay"
    REFUND = "refund"


#: How each source of a history entry is named (OrderEvent.source).
SOURCE_LABELS: dict[str, Any] = {
    Source.STAFF: _l("staff"),
    Source.CREATE: _l("creation"),
    Source.WEBHOOK: _l("notification"),
    Source.QUERY: _l("status check"),
    Source.CLOSE: _l("close"),
    Source.RECONCILE: _l("reconciliation"),
    Source.TIMEOUT: _l("timeout"),
    Source.REPLAY: _l("replay"),
    Source.REFUND: _l("refund"),
}


class Outcome(StrEnum):
    """What applying a gateway's word (a statement, an answer, a delivery) did to an order."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # already so
    STALE = "stale"  # older than the order's status, or a status the shop does not track
    MISMATCH = "mismatch"  # does not fit the stored order: flagged for staff, not applied
    NOT_FOUND = "not_found"  # the gateway does not know the order
    UNREACHABLE = "unreachable"  # no usable answer
    CONFLICT = "conflict"  # changed by someone else meanwhile; left for the next run
    UNKNOWN_ORDER = "unknown_order"  # a delivery about an order the shop does not have
    REJECTED = "rejected"  # a delivery that did not verify
    LIMITED = "limited"  # one that did not verify, past its source's limit: counted, not stored


#: What a webhook delivery did, as staff read it.
DELIVERY_OUTCOMES: dict[str, Any] = {
    Outcome.APPLIED: _l("Applied"),
    Outcome.DUPLICATE: _l("Already applied"),
    Outcome.STALE: _l("Older than the order's status"),
    Outcome.MISMATCH: _l("Does not match the order"),
    Outcome.UNKNOWN_ORDER: _l("Unknown order"),
    Outcome.REJECTED: _l("Refused (not verified)"),
}


class RefundStatus(StrEnum):
    """A refund's life: saved and sent (the answer may still be unknown), accepted by the gateway
    (it has a refund number), confirmed by the gateway's notification, or refused."""

    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    DONE = "REFUNDED"
    REFUSED = "REFUSED"


REFUND_STATUS_LABELS: dict[str, Any] = {
    RefundStatus.REQUESTED: _l("Requested"),
    RefundStatus.ACCEPTED: _l("Accepted by the gateway"),
    RefundStatus.DONE: _l("Refunded"),
    RefundStatus.REFUSED: _l("Refused"),
}
