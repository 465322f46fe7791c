"""The database's schema version: Alembic migrations in ``migrations/``, applied at every start."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
from flask import Flask
from sqlalchemy import inspect, text

from .extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
#: The first migration: the schema as it was before migrations, when tables came from create_all.
BASELINE = "0001_baseline"
#: Any number, the same in every process: PostgreSQL's advisory lock for "migrating now".
_ADVISORY_LOCK = 727_401


def upgrade(app: Flask) -> None:
    """Bring the database to the newest schema. Processes starting at once take turns, and a
    database made before migrations existed is first marked as the baseline it already is."""
    with app.app_context(), _one_at_a_time():
        tables = set(inspect(db.engine).get_table_names())
        if "orders" in tables and "alembic_version" not in tables:
            flask_migrate.stamp(MIGRATIONS, BASELINE)
        flask_migrate.upgrade(MIGRATIONS)


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK})
                connection.commit()
    elif url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        with os.fdopen(os.open(f"{url.database}.migrating", os.O_WRONLY | os.O_CREAT, 0o600), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield
