"""Can the shop do its job right now? ``/healthz``, the staff pages' banner and the webhook ask.

The probe is real and cheap: the disk holding the database (a SQLite file) and the instance
folder must have ``DISK_MIN_FREE_MB`` free, the database's filesystem must be writable, and the
database must take a write (one row of ``health_probes``, the same row for every instance,
rewritten in a transaction of its own). A result is reused for PROBE_MAX_AGE seconds, so a flood
of requests to ``/healthz`` makes one write per interval and process, and a page never waits
for another thread's probe.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db, in_write_transaction, upsert, write_connection
from .leases import HOLDER
from .models import HealthProbe, now_utc
from .notes import Note, note

log = logging.getLogger("shop.health")

#: Seconds a probe's result is reused.
PROBE_MAX_AGE = 3.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Health:
    """One probe's result. ``database``/``disk`` are short words for machines; ``reason`` says
    what is wrong for people (in English in ``/healthz`` and the log, translated on the pages)."""

    database: str  # ok, read-only, full, locked, unreachable, error
    disk: str  # ok, low
    reason: Note = field(default_factory=Note)
    checked_at: float = 0.0  # time.monotonic()

    @property
    def ok(self) -> bool:
        return self.database == "ok" and self.disk == "ok"


@dataclass(frozen=True)
class _Place:
    path: Path
    database: bool  # the SQLite database's folder (else the instance folder)


def _places() -> list[_Place]:
    """The folders whose disks matter, one per device: the SQLite database's, the instance's."""
    places = []
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        places.append(_Place(Path(url.database).expanduser().resolve().parent, database=True))
    places.append(_Place(Path(current_app.instance_path), database=False))
    devices: set[int] = set()
    distinct = []
    for place in places:
        try:
            device = os.stat(place.path).st_dev
        except OSError:
            continue  # a folder that cannot be looked at is the write probe's to report
        if device not in devices:
            devices.add(device)
            distinct.append(place)
    return distinct


def _disk() -> Note:
    """What is wrong with the disks, or nothing."""
    minimum = current_app.config["DISK_MIN_FREE_MB"]
    problems = Note()
    for place in _places():
        try:
            if place.database and os.statvfs(place.path).f_flag & os.ST_RDONLY:
                problems += note("The filesystem that holds the database is read-only.")
                continue
            free = shutil.disk_usage(place.path).free // MIB
        except OSError:
            continue
        if not minimum or free >= minimum:
            continue
        if place.database:
            problems += note(
                "Only %(free)s MB free on the disk that holds the database (DISK_MIN_FREE_MB is %(minimum)s).",
                free=free,
                minimum=minimum,
            )
        else:
            problems += note(
                "Only %(free)s MB free on the disk that holds the instance folder (DISK_MIN_FREE_MB is %(minimum)s).",
                free=free,
                minimum=minimum,
            )
    return problems


def disk_low() -> bool:
    """Whether a disk the shop writes to is nearly full or read-only (a few system calls)."""
    return bool(_disk())


def english(words: Note) -> str:
    """Words for the log and for machines (``/healthz``), in the catalogue's English."""
    with force_locale("en"):
        return str(words)


def _database() -> tuple[str, Note]:
    """Rewrite the probe row; what kept it from being written, if anything."""
    if in_write_transaction():
        return "ok", Note()  # this thread is writing now; a second connection would wait for it
    now = now_utc()
    try:
        with write_connection() as connection:
            connection.execute(
                upsert(
                    HealthProbe,
                    {"name": "write", "holder": HOLDER, "at": now},
                    ("name",),
                    {"holder": HOLDER, "at": now},
                )
            )
    except SQLAlchemyError as error:
        state, reason = _classify(error)
        log.debug("health: the write probe failed", exc_info=True)
        return state, reason
    return "ok", Note()


def _classify(error: SQLAlchemyError) -> tuple[str, Note]:
    """A failed write as a short state and words that name no host, path or statement."""
    original = getattr(error, "orig", None) or error
    text = str(original).lower()
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == "25006" or "readonly" in text or "read-only" in text:
        return "read-only", note("The database is read-only: it cannot take a write.")
    if sqlstate == "53100" or "disk is full" in text or "no space" in text:
        return "full", note("The database cannot take a write: its disk is full.")
    if "locked" in text or "busy" in text:
        return "locked", note("The database stayed locked by another writer: it cannot take a write now.")
    if "unable to open" in text or "connect" in text or "connection" in text:
        return "unreachable", note("The database cannot be opened or reached.")
    return "error", note("The database refused a write.")


def probe() -> Health:
    """Look now: the disks, then one write."""
    disk = _disk()
    database, reason = _database()
    return Health(database=database, disk="low" if disk else "ok", reason=reason + disk, checked_at=time.monotonic())


class _Latest:
    """The last probe's result in this process, and the lock of the thread that makes the next."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.health: Health | None = None


def current(max_age: float = PROBE_MAX_AGE) -> Health:
    """The last result if it is recent, else a new probe. While another thread probes, its
    predecessor's result is given (a page does not wait for a slow database to answer twice)."""
    latest: _Latest = current_app.extensions["shop.health"]
    last = latest.health
    if last is not None and time.monotonic() - last.checked_at < max_age:
        return last
    if last is not None and not latest.lock.acquire(blocking=False):
        return last
    if last is None:
        latest.lock.acquire()
    try:
        if latest.health is not last and latest.health is not None:
            return latest.health  # made by another thread while this one waited
        health = probe()
        latest.health = health
    finally:
        latest.lock.release()
    if not health.ok and (last is None or (last.database, last.disk) != (health.database, health.disk)):
        log.error("health: %s (database %s, disk %s)", english(health.reason), health.database, health.disk)
    elif health.ok and last is not None and not last.ok:
        log.info("health: recovered, the database takes writes and the disks have room")
    if health.database == "ok" and last is not None and last.database != "ok":
        # Connections opened meanwhile may have found the database read-only and would stay so
        # (a SQLite file opened read-only, a PostgreSQL session's default): start afresh.
        db.engine.dispose()
    return health


def init_app(app: Flask) -> None:
    app.extensions["shop.health"] = _Latest()
