"""The emulated gateway's engine: orders' lifecycle, fault switches, and the notification worker."""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import __version__, protocol, readings
from ..notifications import seal_notification
from ..signing import generate_private_key
from . import rules
from .rules import Refusal
from .store import Store, StoredOrder

log = logging.getLogger("sparkpay.sandbox")

#: Switches: 0 off, -1 always, N > 0 the next N occurrences. ``api_http_500`` answers before
#: doing anything; ``api_lost_answer`` does the call, then answers as a proxy whose upstream timed
#: out (an unsigned 502), so the client cannot know it was done.
COUNTED_FAULTS = (
    "api_http_500",
    "api_delay",
    "api_bad_signature",
    "api_lost_answer",
    "notify_drop",
    "notify_duplicate",
    "notify_out_of_order",
    "notify_bad_signature",
    "notify_mgf1_sha1",
)
#: Settings that are numbers, not counters.
VALUE_FAULTS = {"api_delay_seconds": 10.0, "probe_bad_signature_rate": 0.0}
#: Longer than any client waits: a longer delay would only hold a worker thread.
MAX_API_DELAY_SECONDS = 300

#: Decides when ``probe_bad_signature_rate`` sends a probe (the OS source: no seed to guess).
_random = random.SystemRandom()


@dataclass
class SandboxSettings:
    platform_private_key: rsa.RSAPrivateKey
    merchant_no: str
    app_id: str
    merchant_public_key: rsa.RSAPublicKey
    db_path: str
    #: External URL of the sandbox root (builds cashier_url); "" = from the request.
    public_url: str = ""
    #: Multiplies the documented retry intervals (tests and demos use e.g. 0.01).
    retry_scale: float = 1.0
    notify_timeout: float = 5.0
    timestamp_tolerance: int = protocol.TIMESTAMP_TOLERANCE_SECONDS
    #: How this sandbox reads the docs where they are silent (``readings.choose``).
    readings: Mapping[str, str] = field(default_factory=readings.defaults)
    worker_interval: float = 0.2
    start_worker: bool = True


class Faults:
    """The fault switches, shared by the API views and the worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._values: dict[str, float] = dict.fromkeys(COUNTED_FAULTS, 0) | dict(VALUE_FAULTS)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes``; raises ValueError naming an unknown switch or a bad value."""
        parsed = {}
        for name, value in changes.items():
            if name not in self._values:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(self._values))}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number") from None
            if not math.isfinite(number):
                raise ValueError(f"{name} must be a finite number")
            if name == "api_delay_seconds" and not 0 <= number <= MAX_API_DELAY_SECONDS:
                raise ValueError(f"api_delay_seconds must be between 0 and {MAX_API_DELAY_SECONDS}")
            if name in COUNTED_FAULTS and (number != int(number) or number < -1):
                raise ValueError(f"{name} must be -1 (always), 0 (off) or a count")
            if name == "probe_bad_signature_rate" and not 0 <= number <= 1:
                raise ValueError("probe_bad_signature_rate must be between 0 and 1")
            parsed[name] = int(number) if name in COUNTED_FAULTS else number
        with self._lock:
            self._values.update(parsed)

    def take(self, name: str) -> bool:
        """Whether ``name`` fires now (consuming one occurrence of a counted switch)."""
        with self._lock:
            value = self._values[name]
            if value == 0:
                return False
            if value > 0:
                self._values[name] = value - 1
            return True

    def value(self, name: str) -> float:
        with self._lock:
            return self._values[name]


class Sandbox:
    """One emulated gateway: its store, switches, keys and delivery worker."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.readings = readings.choose(settings.readings)
        self.store = Store(settings.db_path, fold_case=self.readings["A21"] == "fold")
        self.faults = Faults()
        self._wrong_key = generate_private_key()  # signs what must fail verification
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._http = requests.Session()
        self._http.headers["User-Agent"] = f"SparkPay-Sandbox/{__version__}"
        #: A test clock (seconds added to the wall clock for order, payment and deadline times):
        #: a demo can create last month's orders. Signatures and deliveries keep the real time.
        self.clock_offset = 0.0
        if settings.start_worker:
            self.start()

    def now(self) -> int:
        """The sandbox's business time: the wall clock plus ``clock_offset``."""
        return int(time.time() + self.clock_offset)

    # --- lifecycle of the worker ----------------------------------------------------------------

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="sparkpay-sandbox-notifier", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
        self._http.close()
        self.store.close()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.worker_interval):
            try:
                self.expire_due()
                self.deliver_due()
            except Exception:
                log.exception("sandbox worker round failed")

    # --- orders ---------------------------------------------------------------------------------

    def create(self, body: Any, edition: str) -> StoredOrder:
        """Create (or, for the same content, return again) an order; raises Refusal."""
        now = self.now()
        if isinstance(body, dict) and isinstance(body.get("request_no"), str):
            # Before the time checks, so a client re-sending an old request gets its order (A22).
            existing = self.store.order(body["request_no"])
            if existing is not None:
                same = existing["fingerprint"] == self._fingerprint(body) and existing["edition"] == edition
                if same and self.readings["A22"] == "idempotent":
                    return existing
                raise Refusal(
                    protocol.DUPLICATE_REQUEST_NO_CODE,
                    "this request_no is already used" + ("" if same else " for another order"),
                )
        offers = rules.check_create(body, edition, self.settings.merchant_no, now)
        row = rules.new_order_row(body, edition, offers, now) | {
            "request_key": self.store.key(body["request_no"]),
            "fingerprint": self._fingerprint(body),
        }
        with self.store.transaction() as db:
            db.execute(
                f"INSERT INTO orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
        self.expire_due()
        return self._stored(body["request_no"])

    def _fingerprint(self, body: Mapping[str, Any]) -> str:
        """The create's content, its request number folded as the gateway folds it (A21)."""
        return rules.fingerprint({**body, "request_no": self.store.key(body["request_no"])})

    def order(self, request_no: str) -> StoredOrder | None:
        self.expire_due()
        return self.store.order(request_no)

    def _stored(self, request_no: str) -> StoredOrder:
        """The order as stored now; Refusal 43005 if it is gone (a reset in between)."""
        order = self.store.order(request_no)
        if order is None:
            raise Refusal(43005)
        return order

    def close(self, request_no: str) -> StoredOrder:
        order = self.order(request_no)
        if order is None:
            raise Refusal(43005)
        if order["status"] == protocol.STATUS_CLOSED:
            raise Refusal(43007)
        if order["status"] != protocol.STATUS_UNPAID:
            raise Refusal(43006, f"the order is {order['status']}")
        self._finish(order, protocol.STATUS_CLOSED, closed_time=self.now())
        return self._stored(request_no)

    def pay(self, request_no: str, choice: str | None = None) -> StoredOrder:
        """Simulate the shopper's on-chain payment; raises Refusal if the order is not payable."""
        order = self.order(request_no)
        if order is None:
            raise Refusal(43005)
        if order["status"] != protocol.STATUS_UNPAID:
            raise Refusal(43006, f"the order is {order['status']}")
        paid = rules.payment(order, choice)
        now = self.now()
        self._finish(order, protocol.STATUS_COMPLETED, pay_time=now, completed_time=now, paid=json.dumps(paid))
        return self._stored(request_no)

    def expire(self, request_no: str) -> StoredOrder:
        """Let the order's deadline pass now."""
        order = self.order(request_no)
        if order is None:
            raise Refusal(43005)
        if order["status"] != protocol.STATUS_UNPAID:
            raise Refusal(43006, f"the order is {order['status']}")
        self._finish(order, protocol.STATUS_CLOSED, closed_time=self.now())
        return self._stored(request_no)

    def expire_due(self) -> None:
        """A16: an UNPAID order closes at its merchant_order_timeout."""
        now = self.now()
        for row in self.store.query("SELECT request_key FROM orders WHERE status = ?", protocol.STATUS_UNPAID):
            order = self.store.order(row["request_key"])
            if (
                order
                and order["status"] == protocol.STATUS_UNPAID
                and order["request"]["merchant_order_timeout"] <= now
            ):
                self._finish(order, protocol.STATUS_CLOSED, closed_time=order["request"]["merchant_order_timeout"])

    def _finish(self, order: StoredOrder, status: str, **fields: Any) -> None:
        """Move an UNPAID order to a final status (once) and queue its notification."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.store.transaction() as db:
            changed = db.execute(
                f"UPDATE orders SET status = ?, {assignments} WHERE request_key = ? AND status = ?",
                (status, *fields.values(), order["request_key"], protocol.STATUS_UNPAID),
            ).rowcount
        if changed and (status == protocol.STATUS_COMPLETED or self.readings["A15"] == "closed-too"):
            self.queue_notification(order["request_no"])

    # --- notifications --------------------------------------------------------------------------

    def statement(self, order: StoredOrder) -> dict[str, Any]:
        return rules.statement(order, self.settings.app_id, currency_key=self.readings["A26"])

    def queue_notification(self, request_no: str) -> int:
        order = self.store.order(request_no)
        if order is None:
            raise Refusal(43005)
        payload = json.dumps(self.statement(order), separators=(",", ":"))
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO deliveries (request_no, pay_status, payload, notify_url, state, due_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (
                    order["request_no"],
                    order["status"],
                    payload,
                    order["request"]["notify_url"],
                    time.time(),
                    time.time(),
                ),
            )
            if cursor.lastrowid is None:
                raise RuntimeError("sqlite3 gave no id for the delivery just inserted")
            return cursor.lastrowid

    def deliver_due(self) -> None:
        for row in self.store.query(
            "SELECT id FROM deliveries WHERE state = 'pending' AND due_at <= ? ORDER BY due_at", time.time()
        ):
            if self._stop.is_set():
                return
            self._deliver(row["id"])

    def _deliver(self, delivery_id: int) -> None:
        (row,) = self.store.query("SELECT * FROM deliveries WHERE id = ?", delivery_id)
        attempts = json.loads(row["attempts"])
        payload = row["payload"].encode()
        if self.faults.take("notify_drop"):
            attempts.append(
                {
                    "at": time.time(),
                    "kind": "dropped",
                    "http_status": None,
                    "body": "",
                    "error": "dropped by the notify_drop fault",
                }
            )
            self._save(delivery_id, "dropped", row["due_at"], attempts)
            return
        if _random.random() < self.faults.value("probe_bad_signature_rate"):
            attempts.append(self._send(row["notify_url"], payload, kind="probe", bad_signature=True))
            if attempts[-1]["http_status"] == 200:
                log.warning("sandbox: the receiver at %s accepted a probe with a wrong signature", row["notify_url"])
        bad_signature = self.faults.take("notify_bad_signature")
        mgf1 = "sha1" if self.faults.take("notify_mgf1_sha1") else self.readings["A12"]
        attempt = self._send(row["notify_url"], payload, kind="notification", bad_signature=bad_signature, mgf1=mgf1)
        attempts.append(attempt)
        acknowledged = attempt["http_status"] == 200 and attempt["body"].strip() == protocol.NOTIFICATION_ACK_BODY
        if acknowledged and self.faults.take("notify_duplicate"):
            attempts.append(self._send(row["notify_url"], payload, kind="duplicate"))
        if acknowledged and self.faults.take("notify_out_of_order"):
            stale = json.loads(payload) | {
                "pay_status": protocol.STATUS_UNPAID,
                "pay_time": 0,
                "completed_time": 0,
                "closed_time": 0,
            }
            stale.pop("pay_network_info", None)
            attempts.append(
                self._send(row["notify_url"], json.dumps(stale, separators=(",", ":")).encode(), kind="out_of_order")
            )
        if acknowledged:
            self._save(delivery_id, "delivered", row["due_at"], attempts)
            return
        failures = sum(1 for a in attempts if a["kind"] == "notification")
        intervals = protocol.NOTIFICATION_RETRY_INTERVALS
        if failures > len(intervals):
            self._save(delivery_id, "failed", row["due_at"], attempts)
        else:
            self._save(
                delivery_id, "pending", time.time() + intervals[failures - 1] * self.settings.retry_scale, attempts
            )

    def _send(
        self, url: str, payload: bytes, *, kind: str, bad_signature: bool = False, mgf1: str | None = None
    ) -> dict[str, Any]:
        mgf1 = mgf1 or self.readings["A12"]
        body = seal_notification(
            payload,
            merchant_public_key=self.settings.merchant_public_key,
            platform_private_key=self._wrong_key if bad_signature else self.settings.platform_private_key,
            app_id=self.settings.app_id,
            mgf1_hash=mgf1,
            sign_location=self.readings["A11"],
        )
        attempt: dict[str, Any] = {
            "at": time.time(),
            "kind": kind,
            "bad_signature": bad_signature,
            "mgf1": mgf1,
            "http_status": None,
            "body": "",
            "error": None,
        }
        try:
            response = self._http.post(
                url, data=body, headers={"Content-Type": "application/json"}, timeout=self.settings.notify_timeout
            )
            attempt["http_status"], attempt["body"] = response.status_code, response.text[:200]
        except requests.RequestException as error:
            attempt["error"] = f"{type(error).__name__}: could not reach {url}"
        return attempt

    def _save(self, delivery_id: int, state: str, due_at: float, attempts: list[dict[str, Any]]) -> None:
        with self.store.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, due_at = ?, attempts = ? WHERE id = ?",
                (state, due_at, json.dumps(attempts), delivery_id),
            )

    def reset(self) -> None:
        self.faults.reset()
        self.store.reset()
