"""Schema migrations, applied at every start, and the reconciler's lease across instances."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import flask_migrate
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask
from sqlalchemy import create_engine, inspect, text

from shop import create_app, leases, schema
from shop.extensions import db, migrate
from shop.models import Order
from shop.orders.service import RECONCILER_LEASE
from sparkpay import signing
from tests.support import database_url

from .conftest import Shop

HEAD = "0005_bounded_intake"


def make_app(tmp_path: Path, url: str, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "schema-tests",
            "SANDBOX_ENABLED": "0",
            "RECONCILE_INTERVAL_SECONDS": 0,
            "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
            "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
        },
        instance_path=str(tmp_path / "instance"),
    )


def version_of(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        version = (
            connection.scalar(text("SELECT version_num FROM alembic_version")) if "alembic_version" in tables else None
        )
    engine.dispose()
    return version


def previous_version_database(tmp_path: Path, *, before_migrations: bool) -> str:
    """A database at the baseline schema holding one order, as the last release left it; with
    ``before_migrations``, made the way that release made it (no alembic_version table)."""
    url = database_url(tmp_path)
    old = Flask("previous-release")
    old.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(old)
    migrate.init_app(old, db, directory=schema.MIGRATIONS)
    with old.app_context():
        flask_migrate.upgrade(schema.MIGRATIONS, schema.BASELINE)
        db.session.execute(
            text(
                "INSERT INTO orders (request_no, edition, status, revision, amount, currency, merchant_order_no, user_id,"
                " description, goods_info, order_time, timeout_at, receive_network, created_at, updated_at)"
                " VALUES ('SPOLD1', 'normal', 'UNPAID', 1, '12.345678', 'USDT', 'INV-OLD', 'guest', 'Kept', 'tea',"
                " '2026-11-01 10:00:00', '2026-11-01 10:30:00', '2', '2026-11-01 10:00:00', '2026-11-01 10:00:00')"
            )
        )
        # That release wrote words for people as plain English and named a delivery in the text.
        order_id = db.session.scalar(text("SELECT id FROM orders WHERE request_no = 'SPOLD1'"))
        db.session.execute(
            text("UPDATE orders SET needs_attention = 'Gateway data does not match (webhook): amount 1 differs.'")
        )
        db.session.execute(
            text(
                "INSERT INTO notifications (id, received_at, headers, body, verified, request_no, pay_status, outcome, order_id)"
                f" VALUES (7, '2026-11-01 10:05:00', '{{}}', '{{}}', true, 'SPOLD1', 'UNPAID', 'duplicate', {order_id})"
            )
        )
        for source, actor, detail in (
            ("webhook", "notification #7", ""),
            ("replay", "manager@shop.test", "Replay of notification #7: nothing to change."),
            ("query", "return page", ""),
        ):
            db.session.execute(
                text(
                    "INSERT INTO order_events (order_id, at, from_status, to_status, source, actor, detail)"
                    f" VALUES ({order_id}, '2026-11-01 10:05:00', 'UNPAID', 'UNPAID', '{source}', '{actor}', '{detail}')"
                )
            )
        if before_migrations:
            db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
        db.engine.dispose()
    return url


def test_an_empty_database_gets_the_newest_schema_and_it_matches_the_models(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    url = database_url(tmp_path)
    app = make_app(tmp_path, url, merchant_key, platform_key)
    assert version_of(url) == HEAD
    with app.app_context():
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == [], "models changed without a migration: flask --app app db migrate -m '...'"


def test_a_previous_version_database_is_upgraded_and_keeps_its_data(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for before_migrations in (False, True):
        folder = tmp_path / ("made-by-create-all" if before_migrations else "at-baseline")
        folder.mkdir()
        url = previous_version_database(folder, before_migrations=before_migrations)
        app = make_app(folder, url, merchant_key, platform_key)
        assert version_of(url) == HEAD
        with app.app_context():
            order = db.session.scalar(db.select(Order).where(Order.request_no == "SPOLD1"))
            assert (order.status, order.amount, order.description) == ("UNPAID", Decimal("12.345678"), "Kept")
            assert str(order.needs_attention) == "Gateway data does not match (webhook): amount 1 differs."
            assert [(e.source, e.notification_id, str(e.detail)) for e in order.events] == [
                ("webhook", 7, ""),
                ("replay", 7, "Replay of notification #7: nothing to change."),
                ("query", None, ""),
            ], "the deliveries' entries are linked to them"
            assert leases.acquire("reconciler", 60)
            db.session.remove()
            db.engine.dispose()


def test_starting_twice_changes_nothing(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    url = database_url(tmp_path)
    for _ in range(2):
        app = make_app(tmp_path, url, merchant_key, platform_key)
        with app.app_context():
            db.engine.dispose()
    assert version_of(url) == HEAD


def test_one_holder_at_a_time_and_a_lapsed_lease_passes_on(shop: Shop) -> None:
    with shop.app.app_context():
        assert leases.acquire("job", 60, holder="instance-a")
        assert not leases.acquire("job", 60, holder="instance-b")
        assert leases.acquire("job", 60, holder="instance-a"), "the holder renews"
        leases.release("job", holder="instance-a")
        assert leases.acquire("job", 60, holder="instance-b"), "a released lease is free"
        assert leases.acquire("job", 0, holder="instance-b")  # renewed to lapse at once
        assert leases.acquire("job", 60, holder="instance-a"), "a lapsed lease passes on"


def test_of_many_processes_asking_at_once_exactly_one_gets_the_lease(shop: Shop) -> None:
    results: list[bool] = []
    start = threading.Barrier(8)

    def contender(number: int) -> None:
        with shop.app.app_context():
            start.wait()
            results.append(leases.acquire("contested", 60, holder=f"instance-{number}"))

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def test_reconcile_skips_while_another_instance_holds_the_lease(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, networks=["2"])
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    with shop.app.app_context():
        assert leases.acquire(RECONCILER_LEASE, 60, holder="another-instance")
    runner = shop.app.test_cli_runner()
    skipped = runner.invoke(args=["sparkpay", "reconcile"])
    assert skipped.exit_code == 0 and "Another instance is reconciling now" in skipped.output
    with shop.app.app_context():
        leases.release(RECONCILER_LEASE, holder="another-instance")
    done = runner.invoke(args=["sparkpay", "reconcile"])
    assert done.exit_code == 0 and "Checked" in done.output, done.output
