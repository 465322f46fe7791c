"""Helpers the test packages share: real servers on free loopback ports."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from werkzeug.serving import make_server


@contextmanager
def serve(wsgi_app, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``wsgi_app`` in a thread (on a free port unless given); yield its base URL (no trailing slash)."""
    server = make_server(host, port, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


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
