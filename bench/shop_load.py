"""Load generator for the shop over loopback; every figure is printed next to a floor measured
in the same run, so the ratio holds on a noisy machine. From the repository root:

    python3 -m bench.shop_load [--server werkzeug|gunicorn] [--workers 2] [--threads 4] [--orders 100000]

Figures, and the floor each is divided by (ratio = the figure's cost / the floor's cost):
- webhook deliveries (genuine sealed COMPLETED notifications for distinct orders, concurrent
  senders; each opened, verified, recorded and applied in a committed transaction before SUCCESS).
  Floor: the same raw work in one thread of this process with `cryptography` and `sqlite3`
  (RSA-OAEP unwrap, AES decrypt, RSA verify, one INSERT committed through the database's own
  driver; for SQLite with the shop's pragmas).
- order list, page 1, at 10^3 / 10^4 / --orders orders. Floor: the empty endpoint, same server.
- "nothing changed" poll (204), 50 signed-in dashboards at once. Floor: the empty endpoint
  under the same 50 sessions and client threads.
- create-order round trip: the staff form's POST, the gateway call to the embedded sandbox and
  the redirect. Floor: two empty round trips (the shop's and the gateway's hop) plus one raw RSA
  sign and one raw RSA verify.

A throwaway shop (temporary SQLite file unless --database-url names an empty database, sandbox
mounted) is configured through the contract's environment names and served by Werkzeug's
threaded server in this process, or by gunicorn in its own processes as `README.md` runs it in
production (--instances N starts N of them on one database; the concurrent figures spread their
clients over all). Orders for the list are written straight to the table (the list is what is
measured, not their creation).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import platform
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sparkpay import seal_notification, signing
from tests.support import serve, wait_for

ROOT = Path(__file__).resolve().parents[1]
#: The throwaway staff member's password, new each run.
PASSWORD = secrets.token_urlsafe(16)
EMPTY = "/_bench/empty"


# --- measuring -----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def report(name: str, figure: str, floor: str, ratio: float) -> None:
    print(f"{name}\n    figure: {figure}\n    floor:  {floor}\n    ratio:  {ratio:.1f} x the floor's cost", flush=True)


def timed(call: Callable[[], requests.Response], expected: int) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    assert response.status_code == expected, (response.status_code, response.text[:300])
    return elapsed


def sequential(session: requests.Session, url: str, rounds: int, expected: int = 200) -> list[float]:
    session.get(url)  # warm up
    return [timed(lambda: session.get(url), expected) for _ in range(rounds)]


def concurrent(
    sessions: list[tuple[str, requests.Session]], path: str, each: int, expected: int
) -> tuple[list[float], float]:
    """Every (base URL, session) sends ``each`` GETs of ``path``; 16 client threads share them."""

    def run(pair: tuple[str, requests.Session]) -> list[float]:
        url, session = pair
        return [timed(lambda: session.get(url + path, headers={"HX-Request": "true"}), expected) for _ in range(each)]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(len(sessions), 16)) as pool:
        latencies = [v for part in pool.map(run, sessions) for v in part]
    return latencies, time.perf_counter() - started


# --- the shop under test -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def configure(
    folder: str, port: int, database_url: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    """The shop's settings, by the contract's environment names (read by both servers)."""
    os.environ.update(
        {
            "INSTANCE_PATH": f"{folder}/instance",
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "benchmark",
            "RECONCILE_INTERVAL_SECONDS": "0",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
            "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
        }
    )


def gunicorn(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "bench.wsgi_app:app",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT)

    def answers() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(f"http://127.0.0.1:{port}{EMPTY}", timeout=5).status_code == 204
        except requests.RequestException:
            return False

    wait_for(answers, timeout=30, what="gunicorn")
    return process


def fill(app: Flask, count: int, start: int = 0) -> None:
    """Insert ``count`` UNPAID orders of 12.5 USDT in one transaction per 10,000."""
    from shop.extensions import db
    from shop.models import Order

    base = datetime.now(UTC) - timedelta(days=30)
    with app.app_context():
        for chunk in range(start, start + count, 10_000):
            rows = []
            for index in range(chunk, min(chunk + 10_000, start + count)):
                at = base + timedelta(seconds=index * 20)
                rows.append(
                    dict(
                        request_no=f"SPBENCH{index:08d}",
                        edition="normal",
                        status="UNPAID",
                        revision=1,
                        amount=Decimal("12.5"),
                        currency="USDT",
                        merchant_order_no=f"INV-{index}",
                        user_id="guest",
                        description=f"Benchmark order {index}",
                        goods_info="goods",
                        order_time=at,
                        timeout_at=at + timedelta(days=60),
                        receive_network="2",
                        created_at=at,
                        updated_at=at,
                    )
                )
            db.session.execute(Order.metadata.tables[Order.__tablename__].insert(), rows)
            db.session.commit()


def new_session() -> requests.Session:
    """A client like a browser: a GET on a keep-alive connection the server has just closed is
    sent again on a new one (gunicorn closes idle connections after 2 s)."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=2, connect=2, read=2, status=0, backoff_factor=0)))
    return session


def signed_in(url: str) -> requests.Session:
    session = new_session()
    page = session.get(f"{url}/login").text
    token_match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token_match is not None
    token = token_match.group(1)
    response = session.post(
        f"{url}/login", data={"csrf_token": token, "email": "bench@shop.test", "password": PASSWORD}
    )
    assert response.ok and "/login" not in response.url, "sign-in failed"
    return session


# --- the figures ---------------------------------------------------------------------------


def bench_order_list(url: str, sizes: list[int], app: Flask, rounds: int) -> None:
    session = signed_in(url)
    filled = 0
    for size in sizes:
        fill(app, size - filled, start=filled)
        filled = size
        page = sequential(session, f"{url}/orders", rounds)
        empty = sequential(session, url + EMPTY, rounds, expected=204)
        report(
            f"order list, page 1, at {size:,} orders ({rounds} sequential requests)",
            f"median {ms(statistics.median(page))}, p95 {ms(percentile(page, 0.95))}",
            f"empty endpoint median {ms(statistics.median(empty))}",
            statistics.median(page) / statistics.median(empty),
        )


def bench_idle_polls(urls: list[str], dashboards: int, polls_each: int) -> None:
    page = signed_in(urls[0]).get(f"{urls[0]}/orders").text
    poll_match = re.search(r'id="list-poller" hx-get="([^"]+)"', page)
    assert poll_match is not None
    poll = poll_match.group(1).replace("&amp;", "&")
    sessions = [(urls[index % len(urls)], signed_in(urls[index % len(urls)])) for index in range(dashboards)]
    latencies, wall = concurrent(sessions, poll, polls_each, expected=204)
    floor_latencies, floor_wall = concurrent(sessions, EMPTY, polls_each, expected=204)
    rate, floor_rate = len(latencies) / wall, len(floor_latencies) / floor_wall
    report(
        f"'nothing changed' poll, {dashboards} dashboards x {polls_each} polls",
        f"{rate:,.0f} polls/s, median {ms(statistics.median(latencies))}, p95 {ms(percentile(latencies, 0.95))}",
        f"empty endpoint {floor_rate:,.0f}/s, median {ms(statistics.median(floor_latencies))}",
        floor_rate / rate,
    )


def bench_create_orders(url: str, count: int, merchant_key: RSAPrivateKey) -> None:
    session = signed_in(url)
    latencies = []
    for _ in range(count):
        form = session.get(f"{url}/orders/new").text
        csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        form_token = re.search(r'name="form_token" type="hidden" value="([^"]*)"', form)
        assert csrf_token is not None and form_token is not None
        data = {
            "csrf_token": csrf_token.group(1),
            "form_token": form_token.group(1),
            "edition": "normal",
            "description": "Green tea",
            "goods_info": "1 x green tea",
            "amount": "12.5",
            "currency": "USDT",
            "timeout_minutes": "30",
            "networks": "2",
        }
        latencies.append(timed(partial(session.post, f"{url}/orders/new", data=data, allow_redirects=False), 303))
    empty = statistics.median(sequential(session, url + EMPTY, count, expected=204))
    body = json.dumps({"request_no": "SPBENCH", "total_amount": "12.5", "goods_info": "x" * 300}).encode()
    signature = merchant_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    rsa_pair = best_time(lambda: merchant_key.sign(body, padding.PKCS1v15(), hashes.SHA256())) + best_time(
        lambda: merchant_key.public_key().verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    )
    floor = 2 * empty + rsa_pair
    report(
        f"create-order round trip, staff form -> sandbox -> redirect ({count} sequential)",
        f"median {ms(statistics.median(latencies))}, p95 {ms(percentile(latencies, 0.95))}",
        f"2 x empty round trip {ms(empty)} + raw RSA sign and verify {ms(rsa_pair)} = {ms(floor)}",
        statistics.median(latencies) / floor,
    )


def best_time(operation: Callable[[], object], rounds: int = 200) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        operation()
        best = min(best, time.perf_counter() - started)
    return best


def webhook_floor(
    bodies: list[bytes], merchant_key: RSAPrivateKey, platform_public: RSAPublicKey, database_url: str
) -> float:
    """Raw deliveries per second in one thread: unwrap, decrypt, verify, then one INSERT committed
    through the database driver itself (for SQLite with the shop's pragmas: WAL, synchronous=FULL)."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    connection = engine.raw_connection()  # the DB-API connection: no ORM, no SQLAlchemy statements
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE bench_floor (body TEXT, payload TEXT)")
    connection.commit()
    insert = "INSERT INTO bench_floor (body, payload) VALUES ({0}, {0})".format(
        "?" if engine.dialect.paramstyle == "qmark" else "%s"
    )
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    started = time.perf_counter()
    for body in bodies:
        envelope = json.loads(body)
        key = merchant_key.decrypt(base64.b64decode(envelope["head"]["aes_key"]), oaep)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        padded = decryptor.update(base64.b64decode(envelope["body"])) + decryptor.finalize()
        unpadder = sym_padding.PKCS7(128).unpadder()
        payload = unpadder.update(padded) + unpadder.finalize()
        platform_public.verify(base64.b64decode(envelope["head"]["sign"]), payload, padding.PKCS1v15(), hashes.SHA256())
        cursor.execute(insert, (body.decode(), payload.decode()))
        connection.commit()
    elapsed = time.perf_counter() - started
    cursor.execute("DROP TABLE bench_floor")
    connection.commit()
    connection.close()
    engine.dispose()
    return len(bodies) / elapsed


def bench_webhooks(
    app: Flask, urls: list[str], deliveries: int, senders: int, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    from shop.extensions import db
    from shop.models import Order

    now = int(time.time())
    bodies = [
        seal_notification(
            json.dumps(
                {
                    "request_no": f"SPBENCH{index:08d}",
                    "pay_status": "COMPLETED",
                    "total_amount": "12.5",
                    "merchant_order_currency": "USDT",
                    "merchant_customer_no": app.config["SPARKPAY_MERCHANT_NO"],
                    "payment_order_no": f"PO{index}",
                    "pay_time": now,
                    "completed_time": now,
                    "pay_network_info": {
                        "pay_network": 2,
                        "tx_hash": f"0x{index:064x}",
                        "payer_addr": "0x" + "cd" * 20,
                    },
                }
            ).encode(),
            merchant_public_key=merchant_key.public_key(),
            platform_private_key=platform_key,
            app_id=app.config["SPARKPAY_APP_ID"],
        )
        for index in range(deliveries)
    ]

    def run(sender: int) -> list[float]:
        url = urls[sender % len(urls)]
        with new_session() as session:
            return [
                timed(partial(session.post, f"{url}/webhooks/sparkpay", data=body), 200)
                for body in bodies[sender::senders]
            ]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        latencies = [v for part in pool.map(run, range(senders)) for v in part]
    wall = time.perf_counter() - started
    with app.app_context():
        applied = db.session.query(Order).filter(Order.status == "COMPLETED").count()
    assert applied == deliveries, f"only {applied} of {deliveries} applied"
    rate = deliveries / wall
    floor = webhook_floor(
        bodies[: min(500, deliveries)], merchant_key, platform_key.public_key(), app.config["SQLALCHEMY_DATABASE_URI"]
    )
    report(
        f"webhook deliveries applied, {deliveries:,} distinct orders, {senders} concurrent senders",
        f"{rate:,.0f}/s, median {ms(statistics.median(latencies))}, p95 {ms(percentile(latencies, 0.95))}",
        f"raw unwrap + decrypt + verify + {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]} commit, one thread: {floor:,.0f}/s",
        floor / rate,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("werkzeug", "gunicorn"), default="werkzeug")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes per instance")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--instances", type=int, default=1, help="gunicorn instances sharing the database")
    parser.add_argument("--database-url", help="an EMPTY database (default: a temporary SQLite file)")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--creates", type=int, default=100)
    args = parser.parse_args()
    if args.instances > 1 and args.server != "gunicorn":
        parser.error("--instances needs --server gunicorn")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request would dominate
    server = (
        "Werkzeug threaded, in this process"
        if args.server == "werkzeug"
        else (f"gunicorn, {args.instances} instance(s) x {args.workers} workers x {args.threads} threads")
    )
    merchant_key, platform_key = signing.generate_private_key(), signing.generate_private_key()
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite:///{folder}/shop.db"
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"server: {server}; database: {database_url.split(':')[0]}"
        )
        ports = [free_port() for _ in range(args.instances)]
        configure(folder, ports[0], database_url, merchant_key, platform_key)
        from bench.wsgi_app import app
        from shop.cli import add_staff
        from shop.extensions import db
        from shop.models import Order

        with app.app_context():
            if db.session.query(Order).count():
                sys.exit("the database already holds orders: give the benchmark an empty one")
            add_staff("bench@shop.test", PASSWORD, "manager")
        processes = (
            [gunicorn(port, args.workers, args.threads, Path(folder) / f"gunicorn-{port}.log") for port in ports]
            if args.server == "gunicorn"
            else []
        )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            with serve(app, port=ports[0]) if not processes else nullcontext(urls[0]):
                bench_create_orders(urls[0], args.creates, merchant_key)
                bench_order_list(urls[0], sorted({1_000, 10_000, args.orders}), app, args.rounds)
                bench_idle_polls(urls, dashboards=50, polls_each=20)
                bench_webhooks(app, urls, args.deliveries, args.senders, merchant_key, platform_key)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
            for name in ("sparkpay_sandbox", "examplepay_sandbox"):
                sandbox = app.extensions.get(name)
                if sandbox is not None:
                    sandbox.stop()


if __name__ == "__main__":
    main()
