"""Helpers the test packages share: real servers on free loopback ports, and the database."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


#: How often a test server's loop looks for a shutdown request. Werkzeug's default (0.5 s) made
#: every test that starts a server wait that long at its end.
SHUTDOWN_POLL_SECONDS = 0.01


@contextmanager
def running(server: BaseWSGIServer) -> Iterator[BaseWSGIServer]:
    """Run ``server`` in a thread while the block runs; shut it down (promptly) after."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@contextmanager
def serve(wsgi_app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``wsgi_app`` in a thread (on a free port unless given); yield its base URL (no trailing slash)."""
    with running(make_server(host, port, wsgi_app, threaded=True)) as server:
        yield f"http://{host}:{server.server_port}"


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy (a deadline, never a speed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sandbox_token(page: str) -> str:
    """The token a sandbox page's forms carry (the session that fetched the page holds its cookie,
    the other half)."""
    match = re.search(r'name="sandbox_token" value="([^"]+)"', page)
    assert match, "no form token on the sandbox's page"
    return match.group(1)


#: A PostgreSQL server to run the suite on (``.ci/run`` sets it for its second pass), as a URL
#: of any database there; unset, every test gets a temporary SQLite file.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
_created: list[str] = []


def database_url(folder: Path) -> str:
    """A new empty database for one test: a SQLite file in ``folder``, or a fresh PostgreSQL
    database on TEST_DATABASE_URL's server (dropped when the test session ends)."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{folder}/shop.db"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"test_{secrets.token_hex(6)}"
    server = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    _created.append(name)
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def drop_test_databases() -> None:
    """Drop what ``database_url`` created (called once, at the end of the session)."""
    if not _created:
        return
    from sqlalchemy import create_engine, text

    server = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        for name in _created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()
    _created.clear()
