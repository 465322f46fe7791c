"""The embedded sandboxes: each gateway's emulation, mounted in the shop's own process when enabled."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from sparkpay import signing


def mount_sparkpay(app: Flask, merchant_key: rsa.RSAPrivateKey) -> None:
    from sparkpay.sandbox import Sandbox, SandboxSettings
    from sparkpay.sandbox.views import create_blueprint

    from ..extensions import csrf

    platform_key = signing.load_private_key(app.config["SANDBOX_PLATFORM_PRIVATE_KEY"], "SANDBOX_PLATFORM_PRIVATE_KEY")
    settings = SandboxSettings(
        platform_private_key=platform_key,
        merchant_no=app.config["SPARKPAY_MERCHANT_NO"],
        app_id=app.config["SPARKPAY_APP_ID"],
        merchant_public_key=merchant_key.public_key(),
        db_path=str(Path(app.instance_path) / app.config.get("SANDBOX_DB_NAME", "sandbox.db")),
        public_url=app.config["PUBLIC_BASE_URL"] + "/sandbox",
        retry_scale=app.config["SANDBOX_RETRY_SCALE"],
        readings=app.config["SANDBOX_READINGS"],
    )
    sandbox = Sandbox(settings)
    blueprint = create_blueprint(sandbox)
    app.extensions["sparkpay_sandbox"] = sandbox  # stopped by whoever stops the app (tests)
    # The sandbox plays a third party: its forms are its own, the shop's CSRF does not apply.
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint, url_prefix="/sandbox")


def mount_examplepay(app: Flask) -> None:
    from examplepay.sandbox import BASE_PATH, Gateway, Settings
    from examplepay.sandbox.views import create_blueprint

    from ..extensions import csrf

    sandbox = Gateway(
        Settings(
            app_id=app.config["EXAMPLEPAY_APP_ID"],
            app_secret=app.config["EXAMPLEPAY_APP_SECRET"],
            db_path=str(Path(app.instance_path) / "examplepay_sandbox.db"),
            public_url=app.config["PUBLIC_BASE_URL"] + BASE_PATH,
            readings=app.config["EXAMPLEPAY_SANDBOX_READINGS"],
            retry_scale=app.config["SANDBOX_RETRY_SCALE"],
        )
    )
    blueprint = create_blueprint(sandbox)
    app.extensions["examplepay_sandbox"] = sandbox
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint, url_prefix=BASE_PATH)
