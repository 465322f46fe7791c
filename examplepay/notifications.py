"""Notifications to ``notifyUrl``: verified with the shared secret (reading A4), then read.

The gateway's side (``sign_notification``) is here too, for the sandbox and for tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import readings
from .errors import MalformedDataError
from .models import Payment, Refund
from .signing import authorize, signed_url, verify


@dataclass(frozen=True)
class Notification:
    """One verified notification: ``event`` "PAYMENT" with ``payment``, or "REFUND" with ``refund``
    (and the payment's state after it)."""

    event: str
    payment: Payment
    refund: Refund | None
    raw: dict[str, Any]


def read_notification(
    body: bytes,
    authorization: str | None,
    *,
    app_id: str,
    app_secret: str,
    notify_url: str,
    signed_url_form: str = readings.DEFAULT_SIGNED_URL_FORM,
    clock: Callable[[], float] = time.time,
    window_ms: int = readings.TIMESTAMP_WINDOW_MS,
) -> Notification:
    """Verify a notification's ``Authorization`` header over the raw body, then parse it.

    Raises ``SignatureVerificationError`` or ``MalformedDataError``; never reads an unverified body.
    ``window_ms`` widens the timestamp check, e.g. for staff re-applying a stored delivery.
    """
    verify(
        authorization,
        app_id,
        app_secret,
        "POST",
        signed_url(notify_url, signed_url_form),
        body,
        clock=clock,
        window_ms=window_ms,
    )
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise MalformedDataError("body", "is not JSON") from None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict):
        raise MalformedDataError("data", "is missing or not an object")
    event = message.get("event", readings.PAYMENT_EVENT)
    if event == readings.REFUND_EVENT:
        refund = Refund.from_dict(data)
        payment_data = data.get("payment")
        if not isinstance(payment_data, dict):
            raise MalformedDataError("data.payment", "is missing or not an object")
        return Notification(event, Payment.from_dict(payment_data), refund, message)
    if event != readings.PAYMENT_EVENT:
        raise MalformedDataError("event", "is not a known event")
    return Notification(event, Payment.from_dict(data), None, message)


def sign_notification(
    message: dict[str, Any],
    *,
    app_id: str,
    app_secret: str,
    notify_url: str,
    signed_url_form: str = readings.DEFAULT_SIGNED_URL_FORM,
    clock: Callable[[], float] = time.time,
) -> tuple[bytes, str]:
    """The gateway's side: the body to POST and its ``Authorization`` header."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return body, authorize(
        app_id, app_secret, "POST", signed_url(notify_url, signed_url_form), body, clock=clock
    ).header()
