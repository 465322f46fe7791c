"""Load generator for the shop over loopback: webhook throughput, order list at scale, idle polls.

    python3 bench/shop_load.py [--orders 100000] [--deliveries 2000] [--concurrency 8]

Builds a throwaway shop (temporary SQLite file, no sandbox mounted), fills it with orders written
straight to the database, serves it with Werkzeug's threaded server on a free loopback port and
measures with a pool of client threads. Nothing here is a pass/fail test; the figures go to
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shop import create_app  # noqa: E402
from shop.cli import add_staff  # noqa: E402
from shop.extensions import db  # noqa: E402
from shop.models import Order  # noqa: E402
from sparkpay import seal_notification, signing  # noqa: E402
from tests.support import serve  # noqa: E402

PASSWORD = "benchmark password"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(name: str, latencies: list[float], wall: float) -> str:
    ms = [v * 1000 for v in latencies]
    return (
        f"{name}: {len(ms)} requests in {wall:.2f} s = {len(ms) / wall:,.0f}/s; "
        f"latency median {statistics.median(ms):.2f} ms, p95 {percentile(ms, 0.95):.2f} ms"
    )


def fill(app, count: int, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Insert ``count`` UNPAID orders of 12.5 USDT in one transaction per 10,000."""
    base = datetime.now(timezone.utc) - timedelta(days=30)
    with app.app_context():
        table = Order.__table__
        for chunk in range(start, start + count, 10_000):
            rows = []
            for index in range(chunk, min(chunk + 10_000, start + count)):
                at = base + timedelta(seconds=index * 20)
                rows.append(dict(
                    request_no=f"SPBENCH{index:08d}", edition="normal", status="UNPAID", revision=1,
                    amount=Decimal("12.5"), currency="USDT", merchant_order_no=f"INV-{index}", user_id="guest",
                    description=f"Benchmark order {index}", goods_info="goods", order_time=at,
                    timeout_at=at + timedelta(days=60), receive_network="2", created_at=at, updated_at=at,
                ))
            db.session.execute(table.insert(), rows)
            db.session.commit()


def signed_in(url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    session.post(f"{url}/login", data={"csrf_token": token, "email": "bench@shop.test", "password": PASSWORD})
    return session


def timed_get(session: requests.Session, url: str, **kwargs) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = session.get(url, **kwargs)
    return time.perf_counter() - started, response.status_code


def bench_order_list(url: str, rounds: int) -> list[float]:
    session = signed_in(url)
    session.get(f"{url}/orders")  # warm up
    latencies = []
    for _ in range(rounds):
        elapsed, status = timed_get(session, f"{url}/orders")
        assert status == 200
        latencies.append(elapsed)
    return latencies


def bench_idle_polls(url: str, dashboards: int, polls_each: int) -> tuple[list[float], float]:
    """``dashboards`` signed-in staff, each polling its page of 25 open orders: all 204."""
    page = signed_in(url).get(f"{url}/orders").text
    poll = re.search(r'id="list-poller" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    sessions = [signed_in(url) for _ in range(dashboards)]

    def run(session: requests.Session) -> list[float]:
        result = []
        for _ in range(polls_each):
            elapsed, status = timed_get(session, url + poll, headers={"HX-Request": "true"})
            assert status == 204, status
            result.append(elapsed)
        return result

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(dashboards, 16)) as pool:
        latencies = [v for part in pool.map(run, sessions) for v in part]
    return latencies, time.perf_counter() - started


def bench_webhooks(app, url: str, deliveries: int, concurrency: int, merchant_key, platform_key) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    """Genuine sealed COMPLETED notifications for distinct orders, posted concurrently."""
    bodies = []
    for index in range(deliveries):
        payload = json.dumps({
            "request_no": f"SPBENCH{index:08d}", "pay_status": "COMPLETED", "total_amount": "12.5",
            "merchant_order_currency": "USDT", "merchant_customer_no": app.config["SPARKPAY_MERCHANT_NO"],
            "payment_order_no": f"PO{index}", "pay_time": int(time.time()), "completed_time": int(time.time()),
            "pay_network_info": {"pay_network": 2, "tx_hash": "0x" + f"{index:064x}", "payer_addr": "0x" + "cd" * 20},
        }).encode()
        bodies.append(seal_notification(payload, merchant_public_key=merchant_key.public_key(), platform_private_key=platform_key, app_id=app.config["SPARKPAY_APP_ID"]))
    chunks = [bodies[i::concurrency] for i in range(concurrency)]

    def run(chunk: list[bytes]) -> list[float]:
        session, result = requests.Session(), []
        for body in chunk:
            started = time.perf_counter()
            response = session.post(f"{url}/webhooks/sparkpay", data=body)
            assert response.text == "SUCCESS", response.text
            result.append(time.perf_counter() - started)
        return result

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = [v for part in pool.map(run, chunks) for v in part]
    wall = time.perf_counter() - started
    with app.app_context():
        applied = db.session.query(Order).filter(Order.status == "COMPLETED").count()
    assert applied == deliveries, f"only {applied} of {deliveries} applied"
    return latencies, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would dominate
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    merchant_key, platform_key = signing.generate_private_key(), signing.generate_private_key()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{folder}/shop.db",
                "SECRET_KEY": "benchmark",
                "SANDBOX_ENABLED": "0",
                "RECONCILE_INTERVAL_SECONDS": 0,
                "LOGIN_RATE_LIMIT": "10000 per minute",
                "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
                "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
            },
            instance_path=f"{folder}/instance",
        )
        with app.app_context():
            add_staff("bench@shop.test", PASSWORD, "manager")
        filled = 0
        with serve(app) as url:
            for size in sorted({1_000, 10_000, args.orders}):
                fill(app, size - filled, start=filled)
                filled = size
                latencies = bench_order_list(url, args.rounds)
                print(summary(f"order list page 1 at {size:,} orders", latencies, sum(latencies)))
            latencies, wall = bench_idle_polls(url, dashboards=50, polls_each=20)
            print(summary("'nothing changed' poll, 50 dashboards", latencies, wall))
            latencies, wall = bench_webhooks(app, url, args.deliveries, args.concurrency, merchant_key, platform_key)
            print(summary(f"webhook deliveries applied ({args.concurrency} concurrent senders)", latencies, wall))


if __name__ == "__main__":
    main()
