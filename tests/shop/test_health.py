"""Health that tells the truth (shop/health.py): a disk nearly full, full or read-only and a
database that cannot take a write give 503 from /healthz and the webhook, staff pages warn, and
everything recovers by itself when the cause is gone. Real filesystems, real files: a small
tmpfs mounted for the test (the tests run as root in CI), and a database file made immutable."""

from __future__ import annotations

import array
import errno
import fcntl
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shop.extensions import db
from tests.support import TEST_DATABASE_URL, database_url, wait_for

from .conftest import Shop, create_in_process, deliver, sealed, start_shop, statement, text_of

MIB = 1024 * 1024
ON_POSTGRESQL = bool(TEST_DATABASE_URL)
SQLITE_CASE = "a SQLite file on a filesystem of the test's own; it ran in the SQLite pass"


def health(shop: Shop) -> tuple[int, dict[str, Any]]:
    response = requests.get(f"{shop.url}/healthz", timeout=15)
    return response.status_code, response.json()


def wait_for_health(shop: Shop, status: int, what: str, **expected: str) -> dict[str, Any]:
    """/healthz once it answers ``status`` and says ``expected`` (a probe's result is reused for
    a few seconds)."""

    def answered() -> dict[str, Any] | None:
        code, answer = health(shop)
        return answer if code == status and expected.items() <= answer.items() else None

    found: dict[str, Any] = wait_for(answered, what=what)
    return found


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of the test's own, unmounted at the end."""
    if ON_POSTGRESQL:
        pytest.skip(SQLITE_CASE)
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root, as in CI): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Write a ballast file until ``leave`` bytes are free (0: until the disk says it is full)."""
    ballast = folder / f"ballast-{len(list(folder.glob('ballast-*')))}"
    chunk = b"\xa5" * MIB
    with ballast.open("wb") as file:
        try:
            while (room := shutil.disk_usage(folder).free - leave) > 0:
                file.write(chunk[:room])
                file.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return ballast


def checkpoint(database: Path) -> None:
    """Fold the WAL into the database and truncate it, so the next write must grow a file."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def staff_banner(session: requests.Session, shop: Shop) -> str | None:
    """The health warning on the order list, if there is one."""
    page = session.get(f"{shop.url}/orders")
    assert page.status_code == 200, page.status_code
    if 'id="shop-health"' not in page.text:
        return None
    banner = page.text.split('id="shop-health"', 1)[1].split("</div>", 1)[0]
    return text_of(banner)


def test_a_nearly_full_then_full_disk_gives_503_and_recovers_by_itself(
    small_disk: Path, tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    database = small_disk / "shop.db"
    for shop in start_shop(
        tmp_path, merchant_key, platform_key, DATABASE_URL=f"sqlite:///{database}", DISK_MIN_FREE_MB=4
    ):
        manager = shop.sign_in()
        first, second = (create_in_process(shop, networks=["2"]) for _ in range(2))
        assert health(shop) == (200, {"status": "ok", "database": "ok", "disk": "ok"})
        assert staff_banner(manager, shop) is None

        # Nearly full: under DISK_MIN_FREE_MB, yet writes still fit.
        ballast = [fill(small_disk, leave=2 * MIB)]
        answer = wait_for_health(shop, 503, "the nearly full disk")
        assert (answer["database"], answer["disk"]) == ("ok", "low")
        assert "MB free on the disk that holds the database (DISK_MIN_FREE_MB is 4)" in answer["reason"]
        banner = staff_banner(manager, shop)
        assert banner and "The shop is unwell:" in banner and "DISK_MIN_FREE_MB is 4" in banner
        genuine = deliver(shop, sealed(shop, statement(shop, first), merchant_key, platform_key))
        assert (genuine.status_code, genuine.text) == (200, "SUCCESS"), "what still fits is stored"
        assert deliver(shop, b"a stranger's post").status_code == 400
        with shop.app.app_context():
            refusals = db.session.execute(text("SELECT refused, not_stored FROM refusal_windows")).all()
            stored = db.session.execute(text("SELECT count(*) FROM notifications WHERE NOT verified")).scalar()
        assert (refusals, stored) == ([(1, 1)], 0), "the last room is for genuine deliveries"

        # Full: nothing more can be written.
        checkpoint(database)
        ballast.append(fill(small_disk))
        body = sealed(shop, statement(shop, second), merchant_key, platform_key)
        answer = wait_for_health(shop, 503, "the full disk", database="full")
        assert answer["disk"] == "low"
        assert "its disk is full" in answer["reason"]
        refused = deliver(shop, body)
        assert (refused.status_code, refused.text) == (503, "try again"), "the gateway retries"
        assert shop.order(second).status == "UNPAID"
        assert "its disk is full" in (staff_banner(manager, shop) or "")

        for file in ballast:
            file.unlink()
        assert wait_for_health(shop, 200, "recovery") == {"status": "ok", "database": "ok", "disk": "ok"}
        retried = deliver(shop, body)
        assert (retried.status_code, retried.text) == (200, "SUCCESS")
        assert shop.order(second).status == "COMPLETED"
        assert staff_banner(manager, shop) is None


def test_a_read_only_filesystem_gives_503_and_recovers_by_itself(
    small_disk: Path, tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for shop in start_shop(
        tmp_path, merchant_key, platform_key, DATABASE_URL=f"sqlite:///{small_disk / 'shop.db'}", DISK_MIN_FREE_MB=1
    ):
        manager = shop.sign_in()
        request_no = create_in_process(shop, networks=["2"])
        body = sealed(shop, statement(shop, request_no), merchant_key, platform_key)
        # Linux refuses to remount a filesystem read-only under open writers: the pool's
        # connections are closed first, as at any reconnect; the shop opens new ones itself.
        with shop.app.app_context():
            db.engine.dispose()
        remount = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True, text=True)
        assert remount.returncode == 0, remount.stderr
        try:
            assert (deliver(shop, body).status_code, deliver(shop, body).text) == (503, "try again")
            answer = wait_for_health(shop, 503, "the read-only filesystem")
            assert answer["disk"] == "low" and answer["database"] != "ok"
            assert "The filesystem that holds the database is read-only." in answer["reason"]
            page = manager.get(f"{shop.url}/orders")  # not even readable: the database's own page
            assert page.status_code == 503 and "The shop cannot reach its database" in page.text
            assert page.headers["Retry-After"]
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
        assert wait_for_health(shop, 200, "recovery")["database"] == "ok"
        assert (deliver(shop, body).status_code, shop.order(request_no).status) == (200, "COMPLETED")
        assert staff_banner(manager, shop) is None


FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def set_immutable(path: Path, on: bool) -> None:
    """``chattr +i``/``-i``: not even root may open the file for writing."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        flags = array.array("l", [0])
        fcntl.ioctl(descriptor, FS_IOC_GETFLAGS, flags, True)
        flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
        fcntl.ioctl(descriptor, FS_IOC_SETFLAGS, flags)
    finally:
        os.close(descriptor)


def test_a_read_only_database_file_gives_503_staff_are_warned_and_it_recovers_by_itself(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    if ON_POSTGRESQL:
        pytest.skip(SQLITE_CASE)
    request_no = create_in_process(shop, networks=["2"])
    body = sealed(shop, statement(shop, request_no), merchant_key, platform_key)
    with shop.app.app_context():
        database = Path(make_url(shop.app.config["SQLALCHEMY_DATABASE_URI"]).database or "")
        # A file made read-only stays writable through descriptors opened before; the pool's are
        # closed first, as at any reconnect. SQLite then opens the file read-only by itself.
        db.engine.dispose()
    try:
        set_immutable(database, True)
    except OSError as error:
        pytest.skip(f"this filesystem or user cannot make a file immutable: {error}")
    try:
        refused = deliver(shop, body)
        assert (refused.status_code, refused.text) == (503, "try again")
        answer = wait_for_health(shop, 503, "the read-only database")
        assert (answer["database"], answer["disk"]) == ("read-only", "ok")
        assert answer["reason"] == "The database is read-only: it cannot take a write."
        banner = staff_banner(manager, shop)  # reading still works: the pages say what is wrong
        assert banner and "The database is read-only" in banner and "/healthz answers 503" in banner
    finally:
        set_immutable(database, False)
    # The connections that found the file read-only are dropped, so nothing needs a restart.
    assert wait_for_health(shop, 200, "recovery")["database"] == "ok"
    assert (deliver(shop, body).text, shop.order(request_no).status) == ("SUCCESS", "COMPLETED")
    assert staff_banner(manager, shop) is None


def test_a_read_only_postgresql_database_gives_503_and_recovers_by_itself(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    if not ON_POSTGRESQL:
        pytest.skip("a PostgreSQL case: runs in the PostgreSQL pass (TEST_DATABASE_URL)")
    url = database_url(tmp_path)
    name = make_url(url).database
    server = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")

    def on_server(sql: str) -> None:
        with server.connect() as connection:
            connection.execute(text(sql))

    for shop in start_shop(tmp_path, merchant_key, platform_key, DATABASE_URL=url):
        manager = shop.sign_in()
        request_no = create_in_process(shop, networks=["2"])
        body = sealed(shop, statement(shop, request_no), merchant_key, platform_key)
        # What a failover to a standby looks like to the shop: sessions cut, new ones read-only.
        on_server(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        on_server(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            answer = wait_for_health(shop, 503, "a read-only session", database="read-only")
            assert deliver(shop, body).status_code == 503
            banner = wait_for(partial(staff_banner, manager, shop), what="the banner")
            assert "The database is read-only" in banner
        finally:
            on_server(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        answer = wait_for_health(shop, 200, "recovery")
        assert answer["database"] == "ok"
        assert (deliver(shop, body).text, shop.order(request_no).status) == ("SUCCESS", "COMPLETED")
    server.dispose()
