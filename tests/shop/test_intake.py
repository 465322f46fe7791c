"""Bounded intake (shop/intake.py): what a refused webhook delivery leaves behind is an excerpt
within a per-address limit, pruned after the retention; genuine deliveries are never limited."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import create_engine, func, select, text, update

from shop.extensions import db
from shop.intake import source_of
from shop.models import Notification, RefusalWindow, now_utc
from tests.support import database_url, wait_for

from .conftest import Shop, create_in_process, csrf_token_in, deliver, sealed, start_shop, statement, text_of
from .test_start import start, stop

MIB = 1024 * 1024


def database_bytes(shop: Shop) -> int:
    """What the database takes on disk: the SQLite file and its WAL after a checkpoint, or the
    PostgreSQL tables with their indexes and TOAST."""
    with shop.app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or "")
            connection = sqlite3.connect(path)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        size = db.session.scalar(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'"
            )
        )
        db.session.rollback()
        return int(size or 0)


def forged(size: int, number: int) -> bytes:
    """A body that does not verify, ``size`` bytes long: half look like an envelope, half are
    bytes that are not UTF-8 at all (each would become three bytes of text if kept as it is)."""
    if number % 2:
        return os.urandom(size)
    envelope = json.dumps({"head": {"aes_key": "QUFB", "sign": "c2ln"}, "body": ""}).encode()
    return envelope[:-2] + b"A" * (size - len(envelope)) + b'"}'


def test_600_refused_posts_of_64_kib_grow_the_database_by_at_most_1_mib(shop: Shop) -> None:
    limit = 30  # the default REFUSED_DELIVERY_RATE_LIMIT, per minute
    assert shop.app.config["REFUSED_DELIVERY_RATE_LIMIT"] == f"{limit} per minute"
    bodies = [forged(64 * 1024, n) for n in range(600)]
    before = database_bytes(shop)
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def sender(chunk: list[bytes]) -> None:
        with requests.Session() as session:
            for body in chunk:
                response = session.post(f"{shop.url}/webhooks/sparkpay", data=body, timeout=30)
                with lock:
                    answers.append((response.status_code, response.headers.get("Retry-After")))

    threads = [threading.Thread(target=sender, args=(bodies[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    grown = database_bytes(shop) - before

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) == {400, 429} and sum(statuses.values()) == 600, statuses
    assert all(1 <= int(after or 0) <= 60 for status, after in answers if status == 429), "429 without Retry-After"
    with shop.app.app_context():
        windows = db.session.scalars(select(RefusalWindow).where(RefusalWindow.source == "127.0.0.1")).all()
        stored = db.session.scalars(select(Notification)).all()
        # The counters tell the whole story: every refused post, and which were not stored.
        assert sum(w.refused for w in windows) == 600
        assert sum(w.not_stored for w in windows) == statuses[429]
        assert all(w.refused - w.not_stored == min(w.refused, limit) for w in windows)
        assert len(stored) == statuses[400] == sum(min(w.refused, limit) for w in windows)
        for record in stored:
            assert (record.verified, record.outcome, record.body_size, record.body_kept) == (
                False,
                "rejected",
                64 * 1024,
                4096,
            )
            assert len(record.body.encode()) <= 4096
            assert record.body_sha256 in {hashlib.sha256(b).hexdigest() for b in bodies}
    assert grown <= MIB, f"the database grew by {grown:,} bytes for {len(stored)} stored refusals"


@pytest.fixture
def limited(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    """A shop that stores 3 refused deliveries per address and hour (an hour, so that a window
    rarely ends while a test runs)."""
    yield from start_shop(tmp_path, merchant_key, platform_key, REFUSED_DELIVERY_RATE_LIMIT="3 per hour")


def test_past_the_limit_a_stranger_gets_429_while_a_genuine_delivery_from_the_same_address_is_applied(
    limited: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    shop = limited
    request_no = create_in_process(shop, networks=["2"])
    stranger = sealed(shop, statement(shop, request_no), merchant_key, other_key)  # signed by someone else
    first = [deliver(shop, stranger) for _ in range(4)]
    assert [r.status_code for r in first] == [400, 400, 400, 429]
    assert 1 <= int(first[-1].headers["Retry-After"]) <= 3600
    assert first[-1].text == "too many refused deliveries"

    # The stranger goes on while the gateway delivers, from the same address, at the same time.
    late: list[requests.Response] = []
    start = threading.Barrier(9)

    def stranger_sends() -> None:
        start.wait()
        late.append(deliver(shop, stranger))

    threads = [threading.Thread(target=stranger_sends) for _ in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    genuine = deliver(shop, sealed(shop, statement(shop, request_no), merchant_key, platform_key))
    for thread in threads:
        thread.join(timeout=30)

    assert (genuine.status_code, genuine.text) == (200, "SUCCESS")
    assert shop.order(request_no).status == "COMPLETED"
    assert sorted(r.status_code for r in late) == [429] * 8
    with shop.app.app_context():
        (window,) = db.session.scalars(select(RefusalWindow)).all()
        assert (window.source, window.refused, window.not_stored) == ("127.0.0.1", 12, 9)
        verified = db.session.scalars(select(Notification.verified).order_by(Notification.id)).all()
        assert verified == [False, False, False, True], "three refusals stored, the genuine one too"


def test_a_source_is_an_ipv4_address_or_an_ipv6_slash_64() -> None:
    assert source_of("203.0.113.7") == "203.0.113.7"
    assert source_of("2001:db8:1:2:aaaa::1") == source_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert source_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert source_of(None) == "unknown"


def post_refused_and_genuine(shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> str:
    """Two refused deliveries and a genuine one, all then made 40 days old, and one refused
    delivery of today; the genuine delivery's request number."""
    request_no = create_in_process(shop, networks=["2"])
    for body in (b"not a notification", forged(8 * 1024, 1)):
        assert deliver(shop, body).status_code == 400
    genuine = deliver(shop, sealed(shop, statement(shop, request_no), merchant_key, platform_key))
    assert genuine.status_code == 200
    with shop.app.app_context():
        old = now_utc() - timedelta(days=40)
        db.session.execute(update(Notification).values(received_at=old))
        db.session.execute(update(RefusalWindow).values(window_start=old))
        db.session.commit()
    assert deliver(shop, b"today's refusal").status_code == 400
    return request_no


def kept(shop: Shop) -> list[tuple[bool, str | None]]:
    with shop.app.app_context():
        rows = db.session.execute(select(Notification.verified, Notification.request_no).order_by(Notification.id))
        return [(bool(verified), request_no) for verified, request_no in rows]


def test_the_cli_prunes_old_refused_deliveries_and_keeps_verified_ones(
    shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    request_no = post_refused_and_genuine(shop, merchant_key, platform_key)
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "prune-deliveries"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Removed 2 refused deliveries and 1 rate-limit counters received before ")
    assert kept(shop) == [(True, request_no), (False, None)], "the verified one and today's refusal stay"
    again = shop.app.test_cli_runner().invoke(args=["sparkpay", "prune-deliveries"])
    assert again.output.startswith("Removed 0 refused deliveries and 0 rate-limit counters")


def test_the_scheduler_prunes_old_refused_deliveries_and_keeps_verified_ones(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    process, base, _ = start(tmp_path, RECONCILE_INTERVAL_SECONDS="1", DATABASE_URL=url)  # python app.py
    engine = create_engine(url)
    try:
        for body in (b"not a notification", forged(8 * 1024, 1)):
            assert requests.post(f"{base}/webhooks/sparkpay", data=body).status_code == 400
        old = {"old": (datetime.now(UTC) - timedelta(days=40)).replace(tzinfo=None)}
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO notifications (received_at, headers, body, verified, outcome, gateway, request_no)"
                    " VALUES (:old, '{}', '{}', true, 'unknown_order', 'sparkpay', 'SPKEPT')"
                ),
                old,
            )
            connection.execute(text("UPDATE notifications SET received_at = :old"), old)
            connection.execute(text("UPDATE refusal_windows SET window_start = :old"), old)
        assert requests.post(f"{base}/webhooks/sparkpay", data=b"today's refusal").status_code == 400

        def rows() -> list[tuple[bool, str | None]]:
            with engine.connect() as connection:
                found = connection.execute(text("SELECT verified, request_no FROM notifications ORDER BY id"))
                return [(bool(verified), request_no) for verified, request_no in found]

        wait_for(lambda: len(rows()) == 2, what="the scheduler's pruning")
        assert rows() == [(True, "SPKEPT"), (False, None)], "the old verified one and today's refusal stay"
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM refusal_windows")) == 1, "today's counter stays"
    finally:
        stop(process)
        engine.dispose()


def test_the_inspector_says_what_was_cut_and_counts_what_was_not_stored(limited: Shop) -> None:
    shop = limited
    manager = shop.sign_in()
    body = forged(64 * 1024, 0)
    answers = [deliver(shop, body).status_code for _ in range(5)]
    assert answers == [400, 400, 400, 429, 429]
    with shop.app.app_context():
        delivery_id = db.session.scalar(select(func.min(Notification.id)))

    detail = text_of(manager.get(f"{shop.url}/deliveries/{delivery_id}").text)
    digest = hashlib.sha256(body).hexdigest()
    assert (
        f"Body cut to the first 4 KiB of 65,536 bytes (SHA-256 {digest}): refused deliveries keep an excerpt only"
        in detail
    )
    assert "Body as received (an excerpt)" in detail and "Replay" not in detail

    listing = manager.get(f"{shop.url}/deliveries").text
    assert text_of(listing).count("No (body cut to an excerpt)") == 3
    assert "127.0.0.1</span>: 2 not stored" in listing
    assert "At most 3 per hour of them are stored per sending address" in text_of(listing)

    page = manager.get(f"{shop.url}/deliveries/{delivery_id}").text
    refused = manager.post(f"{shop.url}/deliveries/{delivery_id}/replay", data={"csrf_token": csrf_token_in(page)}).text
    assert "Only a verified delivery can be replayed" in refused
