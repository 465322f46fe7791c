"""The shop as the benchmarks serve it (configured from the environment, as in production),
plus ``/_bench/empty``: an empty endpoint on the same app and server, the floor of every HTTP figure."""

from __future__ import annotations

import os

from flask import Response

from shop import create_app

app = create_app(instance_path=os.environ.get("INSTANCE_PATH") or None)


@app.get("/_bench/empty")
def empty() -> Response:
    return Response(status=204)
