"""A faithful local emulation of the SparkPay gateway: its v4 API, hosted cashier and notifications.

The shop mounts it at ``/sandbox`` (``create_blueprint``). To run it alone::

    flask --app sparkpay.sandbox run --port 5001

It then serves the same paths under ``http://127.0.0.1:5001/sandbox`` (so a client's
``SPARKPAY_BASE_URL`` is ``http://127.0.0.1:5001/sandbox``) and, on first start, writes under
``instance/`` the platform key pair, a merchant key pair (unless ``SANDBOX_MERCHANT_PUBLIC_KEY``
names the merchant's public key) and ``sandbox.json`` with the app id and merchant number.
``SANDBOX_READINGS`` (e.g. ``A5=success-only,A22=idempotent``) picks the readings it takes
(``sparkpay.readings``; listed at ``/sandbox/readings``).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect

from .. import readings, signing
from .core import Faults, Sandbox, SandboxSettings
from .views import SandboxBlueprint
from .views import create_blueprint as _blueprint

__all__ = ["Faults", "Sandbox", "SandboxBlueprint", "SandboxSettings", "create_app", "create_blueprint"]


def create_blueprint(settings: SandboxSettings) -> SandboxBlueprint:
    """The sandbox as a blueprint named ``sandbox``; ``blueprint.sandbox`` is its engine (``.stop()``)."""
    return _blueprint(Sandbox(settings))


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """The sandbox alone, mounted at /sandbox, with its identity and keys kept in instance/."""
    app = Flask(__name__, instance_path=instance_path or os.path.abspath("instance"), instance_relative_config=True)
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("SANDBOX_")})
    app.config.update(config or {})
    instance = Path(app.instance_path)

    def new_pem() -> bytes:
        return signing.private_key_pem(signing.generate_private_key())

    platform_key = signing.load_private_key(
        app.config.get("SANDBOX_PLATFORM_PRIVATE_KEY")
        or signing.secret_file(instance / "sandbox_platform_private.pem", new_pem),
        "SANDBOX_PLATFORM_PRIVATE_KEY",
    )
    if app.config.get("SANDBOX_MERCHANT_PUBLIC_KEY"):
        merchant_public = signing.load_public_key(
            app.config["SANDBOX_MERCHANT_PUBLIC_KEY"], "SANDBOX_MERCHANT_PUBLIC_KEY"
        )
    else:
        merchant_public = signing.load_private_key(
            signing.secret_file(instance / "merchant_private.pem", new_pem), "merchant key"
        ).public_key()
    signing.secret_file(instance / "platform_public.pem", lambda: signing.public_key_pem(platform_key.public_key()))
    identity = json.loads(
        signing.secret_file(
            instance / "sandbox.json",
            lambda: json.dumps(
                {"app_id": "APP" + secrets.token_hex(8).upper(), "merchant_no": "M" + secrets.token_hex(5).upper()}
            ).encode(),
        )
    )
    settings = SandboxSettings(
        platform_private_key=platform_key,
        merchant_no=app.config.get("SANDBOX_MERCHANT_NO", identity["merchant_no"]),
        app_id=app.config.get("SANDBOX_APP_ID", identity["app_id"]),
        merchant_public_key=merchant_public,
        db_path=str(instance / "sandbox.db"),
        public_url=app.config.get("SANDBOX_PUBLIC_URL", ""),
        retry_scale=float(app.config.get("SANDBOX_RETRY_SCALE", 1.0)),
        readings=readings.choose(app.config.get("SANDBOX_READINGS")),
    )
    blueprint = create_blueprint(settings)
    app.register_blueprint(blueprint, url_prefix="/sandbox")
    app.extensions["sparkpay_sandbox"] = blueprint.sandbox
    app.add_url_rule("/", "index", lambda: redirect("/sandbox/"))
    return app
