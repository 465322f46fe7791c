"""Crash safety: the shop process is killed (SIGKILL) in the middle of a burst of webhooks
(on SQLite in WAL mode, or on the PostgreSQL of the suite's second pass).
Every delivery it acknowledged must be in the database when it comes back, and the gateway's
re-sends of the rest must then complete every order exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import create_engine, text

from shop.extensions import db
from shop.models import Notification, Order
from sparkpay import signing
from tests.shop.conftest import sealed, start_shop, statement
from tests.support import wait_for

from .conftest import create_orders, send_concurrently

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 100
SEALINGS_PER_ORDER = 4
SENDERS = 16
#: Kill the process once this many deliveries were acknowledged.
KILL_AFTER_ACKS = 120


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ShopProcess:
    """``python app.py`` as an operator runs it, on the test's database and instance folder."""

    def __init__(self, tmp_path: Path, database: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "shop-process.log"
        self.env = os.environ | {
            "PORT": str(self.port),
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database,
            "SECRET_KEY": "crash-test",
            "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
            "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
            "RECONCILE_INTERVAL_SECONDS": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        wait_for(self._healthy, timeout=30, what="the shop process to answer")

    def _healthy(self) -> bool:
        assert self.process and self.process.poll() is None, self.log.read_text()
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def test_a_killed_process_loses_no_acknowledged_delivery(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    shop_in_test = start_shop(tmp_path, merchant_key, platform_key)
    shop = next(shop_in_test)
    database = shop.app.config["SQLALCHEMY_DATABASE_URI"]
    numbers = create_orders(shop, ORDERS)
    bodies = [
        sealed(shop, statement(shop, number), merchant_key, platform_key)
        for number in numbers
        for _ in range(SEALINGS_PER_ORDER)
    ]
    random.Random(3).shuffle(bodies)
    shop_in_test.close()  # the in-test server is gone; the process below owns the database

    process = ShopProcess(tmp_path, database, merchant_key, platform_key)
    process.start()
    acknowledged: list[bytes] = []
    lock = threading.Lock()
    killed = threading.Event()

    def post(session: requests.Session, body: bytes) -> None:
        try:
            response = session.post(f"{process.url}/webhooks/sparkpay", data=body, timeout=10)
        except requests.RequestException:
            return  # the process is gone: this one was never acknowledged
        if response.text == "SUCCESS":
            with lock:
                acknowledged.append(body)
                if len(acknowledged) == KILL_AFTER_ACKS:
                    process.kill()
                    killed.set()

    try:
        send_concurrently(bodies, SENDERS, post)
        assert killed.is_set(), "the burst ended before the kill"

        check = create_engine(database)
        with check.connect() as connection:
            if check.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA integrity_check").one() == ("ok",)
                assert connection.exec_driver_sql("PRAGMA journal_mode").one() == ("wal",)
            stored = set(connection.scalars(text("SELECT body FROM notifications")))
        check.dispose()
        lost = [body for body in acknowledged if body.decode() not in stored]
        assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged deliveries were lost"

        # The gateway re-sends whatever was not acknowledged, to the restarted shop.
        process.start()
        with requests.Session() as session:
            for body in bodies:
                if body not in acknowledged:
                    assert session.post(f"{process.url}/webhooks/sparkpay", data=body, timeout=10).text == "SUCCESS"
    finally:
        process.stop()

    app = shop.app
    with app.app_context():
        assert db.session.query(Notification).filter(Notification.verified.is_(False)).count() == 0
        for order in db.session.scalars(db.select(Order)):
            assert order.status == "COMPLETED", order.request_no
            assert [e.to_status for e in order.events].count("COMPLETED") == 1, order.request_no
        db.engine.dispose()
