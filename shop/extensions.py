"""Extensions, created bare here and bound to the app in ``create_app``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

# Flask-SQLAlchemy builds ``db.Model`` at run time (``Base`` with its query and bind mixins),
# which a type checker cannot follow: to it, the models' base is ``Base`` itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate()
htmx = HTMX()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", strategy="fixed-window")

_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL, a busy timeout, foreign keys and full durability for every SQLite connection."""
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    # Let SQLAlchemy's begin event (below) issue BEGIN, so writes can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON", "synchronous=FULL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        # A deferred read-then-write transaction fails at once with SQLITE_BUSY when another
        # writer got in first; BEGIN IMMEDIATE waits for the lock (busy_timeout) instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@event.listens_for(Engine, "handle_error")
def _read_only_connections_are_dropped(context: ExceptionContext) -> None:
    """A connection that found its database read-only is not reused: SQLite keeps a file it had
    to open read-only so for the connection's life, and a PostgreSQL session keeps the read-only
    default it started with. Dropped, the next one sees the database as it is now, so writes
    work again by themselves once it is writable."""
    error = context.original_exception
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == "25006" or "readonly database" in str(error):  # read_only_sql_transaction, SQLITE_READONLY
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = True


#: SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
#: 100 ms each), so under a burst most of the time went to sleeping. Threads of one process
#: queue here instead; only other processes still meet the busy timeout.
_sqlite_writers = threading.RLock()


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one write transaction, committed at the end, rolled back on error."""
    with _sqlite_writers if db.engine.dialect.name == "sqlite" else nullcontext():
        db.session.rollback()
        token = _immediate.set(True)
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _immediate.reset(token)


def in_write_transaction() -> bool:
    """Whether this thread is inside ``write_transaction`` (on SQLite: holds the write lock)."""
    return _immediate.get()


@contextmanager
def write_connection() -> Iterator[Connection]:
    """A write transaction on a connection of its own, outside the request's session (whose
    objects a commit would expire): for the health probe. Committed at the end."""
    with _sqlite_writers if db.engine.dialect.name == "sqlite" else nullcontext():
        token = _immediate.set(True)
        try:
            with db.engine.begin() as connection:
                yield connection
        finally:
            _immediate.reset(token)


def upsert(model: type[Base], values: dict[str, Any], key: tuple[str, ...], changes: dict[str, Any]) -> Insert:
    """INSERT ``values``, or where a row with the same ``key`` columns exists, UPDATE it with
    ``changes``, in one statement (SQLite and PostgreSQL), so instances racing on one row never fail."""
    dialect = db.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no upsert for {dialect}")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(values)
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)
