"""The emulated ExamplePay gateway's state and behaviour: payments, refunds, notifications, the
checks of every request body, and the nonces already used.

Kept in a small SQLite file (stdlib sqlite3) so a restart loses nothing. Notifications are
re-signed at every attempt (their timestamp must stay fresh) and retried until acknowledged.
Where the docs are silent it behaves as ``Settings.readings`` chooses (``examplepay.readings``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from .. import readings
from ..models import (
    AMOUNT_FORMAT,
    EMAIL_FORMAT,
    OPTIONAL_PAYMENT_FIELDS,
    PAYMENT_LENGTHS,
    QUERY_LENGTHS,
    REFUND_LENGTHS,
)
from ..notifications import sign_notification

log = logging.getLogger("examplepay.sandbox")

#: A9: the docs' examples carry +08:00; the sandbox does too, so clients meet a non-UTC offset.
GATEWAY_TIME = timezone(timedelta(hours=8))

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_no TEXT PRIMARY KEY,
    merchant_trade_no TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,               -- the hosted page's address
    request TEXT NOT NULL,                    -- the create body as received (JSON)
    status TEXT NOT NULL,
    refunded TEXT NOT NULL DEFAULT '0.00',
    created_time TEXT NOT NULL,
    paid_time TEXT
);
CREATE TABLE IF NOT EXISTS refunds (
    refund_no TEXT PRIMARY KEY,
    merchant_refund_no TEXT NOT NULL UNIQUE,
    payment_no TEXT NOT NULL REFERENCES payments (payment_no),
    amount TEXT NOT NULL,
    description TEXT NOT NULL,
    created_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    payment_no TEXT NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,                    -- what is told, fixed when it happened (JSON)
    notify_url TEXT NOT NULL,
    state TEXT NOT NULL,                      -- pending | delivered | failed
    due_at REAL NOT NULL,
    attempts TEXT NOT NULL DEFAULT '[]'       -- [{"at", "http_status", "body", "error"}]
);
CREATE TABLE IF NOT EXISTS nonces (
    nonce TEXT PRIMARY KEY,
    expires_at REAL NOT NULL                  -- when its request's timestamp stops passing
);
"""

#: §11: the code of a field value the gateway refuses.
PARAMETER_ERROR = "Common.Request_Parameter_Error"


@dataclass(frozen=True)
class Settings:
    app_id: str
    app_secret: str
    db_path: str
    #: Where the hosted page is reached from a browser, e.g. "http://127.0.0.1:5000/examplepay-sandbox".
    public_url: str
    #: An alternative for each reading of ``examplepay.readings`` (those not named: the default).
    readings: Mapping[str, str] = field(default_factory=readings.defaults)
    #: Multiplies the notification retry delays (tests make them short).
    retry_scale: float = 1.0


class Refusal(Exception):
    """A request the gateway answers with a code other than OK. ``http_status`` None: a business
    error, whose status reading A13 decides (``Gateway.status_of``)."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status = code, message, http_status


def _now() -> str:
    return datetime.now(GATEWAY_TIME).isoformat(timespec="milliseconds")


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: Every reading's alternative (ValueError here for an unknown one, not at the first call).
        self.readings = readings.choose(settings.readings)
        Path(settings.db_path).parent.mkdir(parents=True, exist_ok=True)
        # For this user alone; SQLite gives the -wal and -shm files the database file's mode.
        os.close(os.open(settings.db_path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(settings.db_path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._stop = threading.Event()
        #: While paused, notifications wait (a demo's "the webhook is down"); resumed, they go out.
        self.notifications_paused = False
        #: How many of the next refund creates answer HTTP 500 (before doing anything).
        self.failing_refunds = 0
        #: How many of the next payment creates are carried out (the payment is stored) but
        #: answered HTTP 500: the merchant does not hear of a payment the gateway holds.
        self.failing_creates = 0
        self._worker = threading.Thread(target=self._deliver_forever, name="examplepay-sandbox-notifier", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        self._worker.join(timeout=5)
        with self._lock:
            self._db.close()

    # --- the API ---------------------------------------------------------------------------

    def status_of(self, refusal: Refusal) -> int:
        """The HTTP status a refusal is answered with: its own, or for a business error reading A13's."""
        if refusal.http_status is not None:
            return refusal.http_status
        return 400 if self.readings["A13"] == "http-400" else 200

    def first_use(self, nonce: str, timestamp: str) -> bool:
        """Record a request's nonce; False when it was used already by a request whose timestamp
        still passes (a replay). Only requests whose signature verified are recorded."""
        now = time.time()
        expires_at = int(timestamp) / 1000 + readings.TIMESTAMP_WINDOW_MS / 1000
        with self._lock:
            self._db.execute("DELETE FROM nonces WHERE expires_at < ?", (now,))
            added = self._db.execute(
                "INSERT OR IGNORE INTO nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at)
            )
        return added.rowcount == 1

    def create_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        _check_payment(body)
        with self._lock:
            earlier = self._row("SELECT * FROM payments WHERE merchant_trade_no = ?", body["merchantTradeNo"])
            if earlier is not None:
                if self.readings["A8"] == "idempotent" and json.loads(earlier["request"]) == body:
                    return self._created(earlier["payment_no"])  # the same create again: the same answer
                raise Refusal(PARAMETER_ERROR, "merchantTradeNo is already used")
            payment_no = datetime.now(GATEWAY_TIME).strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()
            self._db.execute(
                "INSERT INTO payments (payment_no, merchant_trade_no, token, request, status, created_time) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    payment_no,
                    body["merchantTradeNo"],
                    secrets.token_urlsafe(16),
                    json.dumps(body),
                    readings.PENDING,
                    _now(),
                ),
            )
            created = self._created(payment_no)
            if self.failing_creates > 0:
                self.failing_creates -= 1
                raise Refusal("Common.System_Error", "internal error", http_status=500)
        return created

    def _created(self, payment_no: str) -> dict[str, Any]:
        return {**self.payment(payment_no=payment_no), "action": {"type": "REDIRECT", "url": self.page_url(payment_no)}}

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        """§7.2: by exactly one of the two numbers."""
        given = [name for name in QUERY_LENGTHS if body.get(name)]
        if len(given) != 1:
            raise Refusal(PARAMETER_ERROR, "give one of merchantTradeNo and paymentNo")
        (name,) = given
        _check_text(body, name, QUERY_LENGTHS[name])
        if name == "merchantTradeNo":
            return self.payment(merchant_trade_no=body[name])
        return self.payment(payment_no=body[name])

    def payment(self, *, payment_no: str = "", merchant_trade_no: str = "") -> dict[str, Any]:
        row = (
            self._row("SELECT * FROM payments WHERE payment_no = ?", payment_no)
            if payment_no
            else self._row("SELECT * FROM payments WHERE merchant_trade_no = ?", merchant_trade_no)
        )
        if row is None:
            raise Refusal(readings.PAYMENT_NOT_FOUND, "no such payment")
        request = json.loads(row["request"])
        paid = Decimal(request["amount"])
        refunded = Decimal(row["refunded"])
        refund_status = (
            readings.REFUND_NONE
            if not refunded
            else readings.REFUND_FULL
            if refunded >= paid
            else readings.REFUND_PARTIAL
        )
        statement = {
            "paymentNo": row["payment_no"],
            "merchantTradeNo": row["merchant_trade_no"],
            "amount": request["amount"],
            "currency": request["currency"],
            "status": row["status"],
            "refundStatus": refund_status,
            "createdTime": row["created_time"],
            "paidTime": row["paid_time"],
        }
        if request.get("merchantAttach"):
            statement["merchantAttach"] = request["merchantAttach"]
        return statement

    def create_refund(self, body: dict[str, Any]) -> dict[str, Any]:
        for name, limit in REFUND_LENGTHS.items():
            _check_text(body, name, limit)
        amount = _amount(body["amount"])
        with self._lock:
            if self.failing_refunds > 0:
                self.failing_refunds -= 1
                raise Refusal("Common.System_Error", "internal error", http_status=500)
            earlier = self._row("SELECT * FROM refunds WHERE merchant_refund_no = ?", body["merchantRefundNo"])
            if earlier is not None:
                if (earlier["payment_no"], earlier["amount"]) != (body["paymentNo"], body["amount"]):
                    raise Refusal(PARAMETER_ERROR, "merchantRefundNo is already used for another refund")
                return self._refund_answer(earlier)  # the same refund sent again: the same answer
            payment = self.payment(payment_no=body["paymentNo"])
            left = Decimal(payment["amount"]) - Decimal(self._payment_row(body["paymentNo"])["refunded"])
            if payment["status"] != readings.PAID:
                raise Refusal(readings.REFUND_REJECTED, "only a paid payment can be refunded")
            if amount > left:
                raise Refusal(readings.REFUND_REJECTED, f"at most {left:.2f} is left to refund")
            refund_no = "R" + secrets.token_hex(12).upper()
            self._db.execute(
                "INSERT INTO refunds (refund_no, merchant_refund_no, payment_no, amount, description, created_time) VALUES (?, ?, ?, ?, ?, ?)",
                (refund_no, body["merchantRefundNo"], body["paymentNo"], body["amount"], body["description"], _now()),
            )
            self._db.execute(
                "UPDATE payments SET refunded = ? WHERE payment_no = ?",
                (f"{Decimal(payment['amount']) - left + amount:.2f}", body["paymentNo"]),
            )
            stored = self._row("SELECT * FROM refunds WHERE refund_no = ?", refund_no)
            if stored is None:
                raise RuntimeError(f"refund {refund_no} is missing right after it was stored")
            answer = self._refund_answer(stored)
            self._queue(
                body["paymentNo"],
                readings.REFUND_EVENT,
                {**answer, "payment": self.payment(payment_no=body["paymentNo"])},
            )
        return answer

    def _refund_answer(self, row: sqlite3.Row) -> dict[str, Any]:
        currency = self.request_of(row["payment_no"])["currency"]
        return {
            "refundNo": row["refund_no"],
            "paymentNo": row["payment_no"],
            "merchantRefundNo": row["merchant_refund_no"],
            "amount": row["amount"],
            "currency": currency,
        }

    # --- what the payer (or a test) does ---------------------------------------------------

    def by_token(self, token: str) -> dict[str, Any] | None:
        row = self._row("SELECT payment_no FROM payments WHERE token = ?", token)
        return (
            None
            if row is None
            else {**self.payment(payment_no=row["payment_no"]), "request": self.request_of(row["payment_no"])}
        )

    def request_of(self, payment_no: str) -> dict[str, Any]:
        request: dict[str, Any] = json.loads(self._payment_row(payment_no)["request"])
        return request

    def finish(self, payment_no: str, status: str) -> dict[str, Any]:
        """The payer paid (PAID) or gave up (CLOSED); a final payment does not change again."""
        with self._lock:
            payment = self.payment(payment_no=payment_no)
            if payment["status"] != readings.PENDING:
                return payment
            self._db.execute(
                "UPDATE payments SET status = ?, paid_time = ? WHERE payment_no = ?",
                (status, _now() if status == readings.PAID else None, payment_no),
            )
            payment = self.payment(payment_no=payment_no)
            self._queue(payment_no, readings.PAYMENT_EVENT, payment)
        return payment

    def expire_due(self) -> None:
        """Close payments left pending longer than readings.PAYMENT_LIFETIME_SECONDS (told as usual)."""
        oldest = (datetime.now(GATEWAY_TIME) - timedelta(seconds=readings.PAYMENT_LIFETIME_SECONDS)).isoformat(
            timespec="milliseconds"
        )
        with self._lock:
            due = [
                row["payment_no"]
                for row in self._db.execute(
                    "SELECT payment_no FROM payments WHERE status = ? AND created_time < ?", (readings.PENDING, oldest)
                )
            ]
        for payment_no in due:
            self.finish(payment_no, readings.CLOSED)

    def return_url(self, payment: dict[str, Any]) -> str:
        """§9: returnUrl with the result appended as a query string (names: readings.RETURN_PARAMETERS)."""
        from urllib.parse import urlencode

        target: str = self.request_of(payment["paymentNo"])["returnUrl"]
        values = {name: payment.get(name) for name in readings.RETURN_PARAMETERS if payment.get(name)}
        return target + ("&" if "?" in target else "?") + urlencode(values)

    def page_url(self, payment_no: str) -> str:
        return f"{self.settings.public_url}/pay/{self._payment_row(payment_no)['token']}"

    def payments(self) -> list[dict[str, Any]]:
        return [
            self.payment(payment_no=row["payment_no"])
            for row in self._db.execute("SELECT payment_no FROM payments ORDER BY rowid DESC")
        ]

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM deliveries ORDER BY id DESC").fetchall()
        return [
            {**dict(row), "message": json.loads(row["message"]), "attempts": json.loads(row["attempts"])}
            for row in rows
        ]

    # --- notifications ---------------------------------------------------------------------

    def _queue(self, payment_no: str, event: str, data: dict[str, Any]) -> None:
        message = {"event": event, "data": data}
        self._db.execute(
            "INSERT INTO deliveries (payment_no, event, message, notify_url, state, due_at) VALUES (?, ?, ?, ?, 'pending', ?)",
            (payment_no, event, json.dumps(message), self.request_of(payment_no)["notifyUrl"], time.time()),
        )

    def _deliver_forever(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.deliver_due()
            except Exception:
                log.exception("examplepay sandbox: delivery failed")

    def deliver_due(self) -> None:
        if self.notifications_paused:
            return
        self.expire_due()
        with self._lock:
            due = self._db.execute(
                "SELECT * FROM deliveries WHERE state = 'pending' AND due_at <= ? ORDER BY id", (time.time(),)
            ).fetchall()
        for row in due:
            self._deliver(row)

    def _deliver(self, row: sqlite3.Row) -> None:
        body, authorization = sign_notification(
            json.loads(row["message"]),
            app_id=self.settings.app_id,
            app_secret=self.settings.app_secret,
            notify_url=row["notify_url"],
            signed_url_form=self.readings["A2"],
        )
        attempt: dict[str, Any] = {"at": time.time()}
        try:
            answer = requests.post(
                row["notify_url"],
                data=body,
                timeout=10,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": authorization,
                    "User-Agent": "examplepay-sandbox",
                },
            )
            attempt.update(http_status=answer.status_code, body=answer.text[:200])
            acknowledged = answer.status_code == 200 and _is_ok(answer.content)
        except requests.RequestException as exc:
            attempt["error"] = type(exc).__name__
            acknowledged = False
        attempts = [*json.loads(row["attempts"]), attempt]
        delays = readings.NOTIFICATION_RETRY_DELAYS
        if acknowledged:
            state, due_at = "delivered", row["due_at"]
        elif len(attempts) > len(delays):
            state, due_at = "failed", row["due_at"]
        else:
            state, due_at = "pending", time.time() + delays[len(attempts) - 1] * self.settings.retry_scale
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state = ?, due_at = ?, attempts = ? WHERE id = ?",
                (state, due_at, json.dumps(attempts), row["id"]),
            )

    def _row(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
        return row

    def _payment_row(self, payment_no: str) -> sqlite3.Row:
        """The stored payment ``payment_no``; Refusal (not found) when there is none."""
        row = self._row("SELECT * FROM payments WHERE payment_no = ?", payment_no)
        if row is None:
            raise Refusal(readings.PAYMENT_NOT_FOUND, "no such payment")
        return row


def _check_text(values: Mapping[str, Any], name: str, limit: int, *, shown: str = "", required: bool = True) -> None:
    """``values[name]`` is a string of at most ``limit`` characters (and not empty when required)."""
    value = values.get(name)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise Refusal(PARAMETER_ERROR, f"{shown or name} is required and must be a string")
    if len(value) > limit:
        raise Refusal(PARAMETER_ERROR, f"{shown or name} is longer than {limit} characters")


def _check_payment(body: dict[str, Any]) -> None:
    """§7.1 as printed: the required fields and their lengths, the amount, a currency and method
    the sandbox's market has, an email address, full URLs."""
    groups = {
        "": body,
        "payer": body.get("payer"),
        "payMethod": body.get("payMethod"),
        "tradeEnv": body.get("tradeEnv", {}),
    }
    for group in ("payer", "payMethod", "tradeEnv"):
        if not isinstance(groups[group], dict):
            raise Refusal(PARAMETER_ERROR, f"{group} must be an object")
    for name, limit in PAYMENT_LENGTHS.items():
        group, _, key = name.rpartition(".")
        _check_text(groups[group], key, limit, shown=name, required=name not in OPTIONAL_PAYMENT_FIELDS)
    _amount(body["amount"])
    pay_method = body["payMethod"].get("type")
    rail = readings.PAY_METHOD_BY_CURRENCY.get(body["currency"])
    if rail is None:
        raise Refusal(PARAMETER_ERROR, f"currency {body['currency']} is not supported")
    if pay_method not in readings.PAY_METHOD_TYPES or pay_method.split("_")[0] != rail:
        raise Refusal(PARAMETER_ERROR, f"payMethod.type must be a {rail} type for {body['currency']}")
    if not EMAIL_FORMAT.fullmatch(body["payer"]["email"]):
        raise Refusal(PARAMETER_ERROR, "payer.email is not an email address")
    for name in ("notifyUrl", "returnUrl"):
        if not body[name].startswith(("http://", "https://")):
            raise Refusal("Common.Illegal_Url", f"{name} is not a URL")


def _amount(text: str) -> Decimal:
    """§12: a string of 1-15 digits, a point and exactly two decimals, above zero."""
    if not AMOUNT_FORMAT.fullmatch(text) or Decimal(text) <= 0:
        raise Refusal(PARAMETER_ERROR, "amount must be 1-15 digits, a point and 2 decimals, above zero")
    return Decimal(text)


def _is_ok(content: bytes) -> bool:
    try:
        answer = json.loads(content)
    except ValueError:  # UnicodeDecodeError included
        return False
    return isinstance(answer, dict) and answer.get("code") == "OK"
