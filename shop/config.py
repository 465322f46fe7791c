"""The contract's configuration names, their defaults, and the sandbox's throwaway keys.

Precedence: built-in defaults < ``instance/config.py`` < environment < ``create_app(config)``.
In sandbox mode (no ``SPARKPAY_BASE_URL``) the merchant key, the sandbox's platform key, the
app id and the merchant number are generated once under ``instance/``. With a real gateway
configured nothing is generated and every missing setting is an error at start.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sparkpay import signing
from sparkpay.errors import ConfigurationError

#: The contract's names (shared/CONTRACT.md), read from the environment.
CONTRACT_NAMES = (
    "SPARKPAY_BASE_URL",
    "SPARKPAY_APP_ID",
    "SPARKPAY_MERCHANT_NO",
    "SPARKPAY_PRIVATE_KEY",
    "SPARKPAY_PLATFORM_PUBLIC_KEY",
    "SANDBOX_PLATFORM_PRIVATE_KEY",
    "SANDBOX_ENABLED",
    "PUBLIC_BASE_URL",
    "DATABASE_URL",
    "SECRET_KEY",
    # The second gateway (issue 9), named in the same style.
    "EXAMPLEPAY_BASE_URL",
    "EXAMPLEPAY_APP_ID",
    "EXAMPLEPAY_APP_SECRET",
)

#: Further settings of this app (same precedence), with their defaults.
APP_DEFAULTS: dict[str, Any] = {
    # Shown to staff and shoppers.
    "SHOP_NAME": "SparkPay Checkout",
    # Seconds between in-process reconciliation runs; 0 turns the scheduler off.
    "RECONCILE_INTERVAL_SECONDS": 60,
    # The return page asks the gateway at most this often per order while it waits.
    "RETURN_PAGE_QUERY_INTERVAL_SECONDS": 5,
    # Live refresh period of the order list and the return page.
    "POLL_INTERVAL_SECONDS": 3,
    "ORDERS_PER_PAGE": 25,
    "SANDBOX_RETRY_SCALE": 1.0,
    "WEBHOOK_MAX_BYTES": 64 * 1024,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SPARKPAY_TIMEOUT": (5.0, 15.0),
    "SPARKPAY_MAX_RETRIES": 2,
    "SPARKPAY_VERIFY_RESPONSES": "strict",
    "LOGIN_RATE_LIMIT": "5 per minute;100 per hour",
    # The demo page (story, hide amounts); None: on exactly when the embedded sandbox runs.
    "DEMO_MODE": None,
    # Staff are warned when orders await payment and no notification arrived for this long (0 = off).
    "WEBHOOK_SILENCE_MINUTES": 60,
    # Which URL form ExamplePay signs (examplepay/readings.py, A2): "absolute" or "path".
    "EXAMPLEPAY_SIGNED_URL_FORM": "absolute",
}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, ``instance/config.py``, the environment and overrides."""
    app.config.update(APP_DEFAULTS)
    host = os.environ.get("HOST", "127.0.0.1")
    app.config["PUBLIC_BASE_URL"] = (
        f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{os.environ.get('PORT', '5000')}"
    )
    app.config.from_pyfile("config.py", silent=True)
    for name in CONTRACT_NAMES + tuple(APP_DEFAULTS):
        if name in os.environ:
            app.config[name] = os.environ[name]
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config["PUBLIC_BASE_URL"] = str(app.config["PUBLIC_BASE_URL"]).rstrip("/")

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = signing.secret_file(
            instance / "secret_key", lambda: secrets.token_hex(32).encode()
        ).decode()
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'shop.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_uri(app.config["DATABASE_URL"])

    real_gateway = bool(app.config.get("SPARKPAY_BASE_URL"))
    sandbox = app.config.get("SANDBOX_ENABLED")
    app.config["SANDBOX_ENABLED"] = _truthy(sandbox) if sandbox is not None else not real_gateway
    app.config["SANDBOX_MODE"] = not real_gateway
    if real_gateway:
        _require_gateway_settings(app)
    else:
        _sandbox_settings(app, instance)
    _examplepay_settings(app, instance)
    demo = app.config["DEMO_MODE"]
    app.config["DEMO_MODE"] = (
        _truthy(demo) if demo is not None else bool(app.config["SANDBOX_MODE"] and app.config["SANDBOX_ENABLED"])
    )
    for name in (
        "RECONCILE_INTERVAL_SECONDS",
        "RETURN_PAGE_QUERY_INTERVAL_SECONDS",
        "POLL_INTERVAL_SECONDS",
        "ORDERS_PER_PAGE",
        "WEBHOOK_MAX_BYTES",
        "MAX_CONTENT_LENGTH",
        "WEBHOOK_SILENCE_MINUTES",
    ):
        app.config[name] = int(app.config[name])
    app.config["SANDBOX_RETRY_SCALE"] = float(app.config["SANDBOX_RETRY_SCALE"])


def _database_uri(database_url: str) -> str:
    """The SQLAlchemy URL; a SQLite file's folder is created (SQLite would only say "unable to open")."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid SQLAlchemy URL: {error}") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    return url.render_as_string(hide_password=False)


def _require_gateway_settings(app: Flask) -> None:
    missing = [
        name
        for name in ("SPARKPAY_APP_ID", "SPARKPAY_MERCHANT_NO", "SPARKPAY_PRIVATE_KEY", "SPARKPAY_PLATFORM_PUBLIC_KEY")
        if not app.config.get(name)
    ]
    if missing:
        raise ConfigurationError("SPARKPAY_BASE_URL is set, so a real gateway is used; also set " + ", ".join(missing))


def _examplepay_settings(app: Flask, instance: Path) -> None:
    """ExamplePay is offered when configured, or, with the embedded sandbox, by its emulation
    (throwaway credentials made once under instance/)."""
    app.config["EXAMPLEPAY_SANDBOX"] = False
    if app.config.get("EXAMPLEPAY_BASE_URL"):
        missing = [name for name in ("EXAMPLEPAY_APP_ID", "EXAMPLEPAY_APP_SECRET") if not app.config.get(name)]
        if missing:
            raise ConfigurationError(
                "EXAMPLEPAY_BASE_URL is set, so ExamplePay is offered; also set " + ", ".join(missing)
            )
        app.config["EXAMPLEPAY_ENABLED"] = True
    elif app.config["SANDBOX_MODE"] and app.config["SANDBOX_ENABLED"]:
        from examplepay.sandbox import BASE_PATH

        identity = json.loads(
            signing.secret_file(
                instance / "examplepay_sandbox.json",
                lambda: json.dumps({"app_id": secrets.token_hex(16), "app_secret": secrets.token_hex(16)}).encode(),
            )
        )
        app.config["EXAMPLEPAY_BASE_URL"] = app.config["PUBLIC_BASE_URL"] + BASE_PATH
        app.config["EXAMPLEPAY_APP_ID"] = app.config.get("EXAMPLEPAY_APP_ID") or identity["app_id"]
        app.config["EXAMPLEPAY_APP_SECRET"] = app.config.get("EXAMPLEPAY_APP_SECRET") or identity["app_secret"]
        app.config["EXAMPLEPAY_ENABLED"] = app.config["EXAMPLEPAY_SANDBOX"] = True
    else:
        app.config["EXAMPLEPAY_ENABLED"] = False


def _sandbox_settings(app: Flask, instance: Path) -> None:
    """Throwaway identities and keys for the embedded sandbox, made once under instance/."""
    app.config["SPARKPAY_BASE_URL"] = app.config["PUBLIC_BASE_URL"] + "/sandbox"
    identity = json.loads(
        signing.secret_file(
            instance / "sandbox.json",
            lambda: json.dumps(
                {"app_id": "APP" + secrets.token_hex(8).upper(), "merchant_no": "M" + secrets.token_hex(5).upper()}
            ).encode(),
        )
    )
    app.config.setdefault("SPARKPAY_APP_ID", None)
    app.config["SPARKPAY_APP_ID"] = app.config["SPARKPAY_APP_ID"] or identity["app_id"]
    app.config["SPARKPAY_MERCHANT_NO"] = app.config.get("SPARKPAY_MERCHANT_NO") or identity["merchant_no"]

    def new_pem() -> bytes:
        return signing.private_key_pem(signing.generate_private_key())

    if not app.config.get("SPARKPAY_PRIVATE_KEY"):
        app.config["SPARKPAY_PRIVATE_KEY"] = str(instance / "merchant_private.pem")
        signing.secret_file(instance / "merchant_private.pem", new_pem)
    if not app.config.get("SANDBOX_PLATFORM_PRIVATE_KEY"):
        app.config["SANDBOX_PLATFORM_PRIVATE_KEY"] = str(instance / "sandbox_platform_private.pem")
        signing.secret_file(instance / "sandbox_platform_private.pem", new_pem)
    if not app.config.get("SPARKPAY_PLATFORM_PUBLIC_KEY"):
        platform = signing.load_private_key(app.config["SANDBOX_PLATFORM_PRIVATE_KEY"], "SANDBOX_PLATFORM_PRIVATE_KEY")
        app.config["SPARKPAY_PLATFORM_PUBLIC_KEY"] = platform.public_key()
