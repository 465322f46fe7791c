"""The sandbox's own small store (stdlib sqlite3): orders, used nonces, notification deliveries."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    request_key TEXT PRIMARY KEY,          -- request_no, upper-cased where the gateway folds case (A21)
    request_no TEXT NOT NULL,
    edition TEXT NOT NULL,                 -- normal | pro
    request TEXT NOT NULL,                 -- the create body as received (JSON)
    fingerprint TEXT NOT NULL,             -- canonical JSON of that body, for the duplicate check
    status TEXT NOT NULL,
    payment_order_no TEXT NOT NULL,
    cashier_token TEXT NOT NULL UNIQUE,
    offered TEXT NOT NULL,                 -- [[currency, network, amount], ...] the shopper may pay with
    order_time INTEGER NOT NULL,
    pay_time INTEGER,
    completed_time INTEGER,
    closed_time INTEGER,
    paid TEXT                              -- {"currency", "network", "amount", "tx_hash", "payer_addr"}
);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    request_no TEXT NOT NULL,
    pay_status TEXT NOT NULL,
    payload TEXT NOT NULL,                 -- the notification JSON, fixed when the event happened
    notify_url TEXT NOT NULL,
    state TEXT NOT NULL,                   -- pending | delivered | failed | dropped
    due_at REAL NOT NULL,
    attempts TEXT NOT NULL DEFAULT '[]',   -- [{"at", "http_status", "body", "error", "kind"}]
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (state, due_at);
"""


class StoredOrder(TypedDict):
    """One row of ``orders``, its JSON columns read."""

    request_key: str
    request_no: str
    edition: str
    request: dict[str, Any]
    fingerprint: str
    status: str
    payment_order_no: str
    cashier_token: str
    #: ``[currency, network, amount]`` offers.
    offered: list[list[Any]]
    order_time: int
    pay_time: int | None
    completed_time: int | None
    closed_time: int | None
    #: ``{"currency", "network", "amount", "tx_hash", "payer_addr"}`` once paid.
    paid: dict[str, Any] | None


class Store:
    """One connection guarded by a lock: the sandbox is small and this keeps it simple and safe."""

    def __init__(self, path: str, *, fold_case: bool = True) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # For this user alone; SQLite gives the -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.fold_case = fold_case
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- nonces -------------------------------------------------------------------------------

    def use_nonce(self, nonce: str, keep_seconds: float) -> bool:
        """Record ``nonce``; False when it was already used within the replay window."""
        now = time.time()
        with self.transaction() as db:
            db.execute("DELETE FROM nonces WHERE seen_at < ?", (now - keep_seconds,))
            try:
                db.execute("INSERT INTO nonces (nonce, seen_at) VALUES (?, ?)", (nonce, now))
            except sqlite3.IntegrityError:
                return False
        return True

    # --- orders -------------------------------------------------------------------------------

    def key(self, request_no: str) -> str:
        """The order's key: its request number, folded to upper case where the gateway ignores case (A21)."""
        return request_no.upper() if self.fold_case else request_no

    def order(self, request_no: str) -> StoredOrder | None:
        rows = self.query("SELECT * FROM orders WHERE request_key = ?", self.key(request_no))
        return _order(rows[0]) if rows else None

    def order_by_token(self, token: str) -> StoredOrder | None:
        rows = self.query("SELECT * FROM orders WHERE cashier_token = ?", token)
        return _order(rows[0]) if rows else None

    def orders(self, limit: int = 50) -> list[StoredOrder]:
        return [
            _order(r) for r in self.query("SELECT * FROM orders ORDER BY order_time DESC, rowid DESC LIMIT ?", limit)
        ]

    def deliveries(self, request_no: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if request_no:
            rows = self.query("SELECT * FROM deliveries WHERE upper(request_no) = ? ORDER BY id", request_no.upper())
        else:
            rows = self.query("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?", limit)
        return [{**dict(r), "attempts": json.loads(r["attempts"]), "payload": json.loads(r["payload"])} for r in rows]

    def reset(self) -> None:
        with self.transaction() as db:
            for table in ("orders", "nonces", "deliveries"):
                db.execute(f"DELETE FROM {table}")


def _order(row: sqlite3.Row) -> StoredOrder:
    return StoredOrder(
        request_key=row["request_key"],
        request_no=row["request_no"],
        edition=row["edition"],
        request=json.loads(row["request"]),
        fingerprint=row["fingerprint"],
        status=row["status"],
        payment_order_no=row["payment_order_no"],
        cashier_token=row["cashier_token"],
        offered=json.loads(row["offered"]),
        order_time=row["order_time"],
        pay_time=row["pay_time"],
        completed_time=row["completed_time"],
        closed_time=row["closed_time"],
        paid=json.loads(row["paid"]) if row["paid"] else None,
    )
