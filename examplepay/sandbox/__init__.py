"""A local emulation of the ExamplePay gateway: its signed API (payment create/query, refund
create), a hosted payment page that sends the payer back to ``returnUrl``, and signed
notifications to ``notifyUrl`` retried until acknowledged. Readings: ``examplepay.readings``.

The shop mounts it at ``/examplepay-sandbox``. To run it alone::

    flask --app examplepay.sandbox run --port 5002

(``EXAMPLEPAY_SANDBOX_APP_ID`` / ``EXAMPLEPAY_SANDBOX_APP_SECRET`` set the credentials; otherwise
they are generated once into ``instance/examplepay_sandbox.json``. ``EXAMPLEPAY_SANDBOX_READINGS``,
e.g. ``A13=http-400,A8=idempotent``, chooses its readings; its home page lists them.)
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .. import readings
from .engine import Gateway, Refusal, Settings
from .views import GatewayBlueprint
from .views import create_blueprint as _blueprint

__all__ = ["BASE_PATH", "Gateway", "GatewayBlueprint", "Refusal", "Settings", "create_app", "create_blueprint"]

#: Where the sandbox is mounted; a client's base URL is the site's address plus this.
BASE_PATH = "/examplepay-sandbox"


def create_blueprint(settings: Settings) -> GatewayBlueprint:
    """The sandbox as a blueprint named ``examplepay_sandbox``; ``blueprint.gateway.stop()`` ends it."""
    return _blueprint(Gateway(settings))


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_path=instance_path or os.path.abspath("instance"))
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("EXAMPLEPAY_SANDBOX_")})
    app.config.update(config or {})
    identity_file = Path(app.instance_path) / "examplepay_sandbox.json"
    if not identity_file.exists():
        identity_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(
            identity_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )  # the secret is never world-readable
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps({"app_id": secrets.token_hex(16), "app_secret": secrets.token_hex(16)}))
    identity = json.loads(identity_file.read_text())
    blueprint = create_blueprint(
        Settings(
            app_id=app.config.get("EXAMPLEPAY_SANDBOX_APP_ID", identity["app_id"]),
            app_secret=app.config.get("EXAMPLEPAY_SANDBOX_APP_SECRET", identity["app_secret"]),
            db_path=str(Path(app.instance_path) / "examplepay_sandbox.db"),
            public_url=app.config.get("EXAMPLEPAY_SANDBOX_PUBLIC_URL", "http://127.0.0.1:5002" + BASE_PATH),
            readings=readings.choose(app.config.get("EXAMPLEPAY_SANDBOX_READINGS")),
        )
    )
    app.register_blueprint(blueprint, url_prefix=BASE_PATH)
    app.extensions["examplepay_sandbox"] = blueprint.gateway
    return app
