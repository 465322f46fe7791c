"""The one place that builds the gateways' clients (and mounts their sandboxes) from configuration."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, current_app

from examplepay import ExamplePayClient
from sparkpay import SparkPayClient, signing


def init_app(app: Flask) -> None:
    """Load the keys once, build the client, and mount the sandbox when it is enabled."""
    config = app.config
    merchant_key = signing.load_private_key(config["SPARKPAY_PRIVATE_KEY"], "SPARKPAY_PRIVATE_KEY")
    platform_public = signing.load_public_key(config["SPARKPAY_PLATFORM_PUBLIC_KEY"], "SPARKPAY_PLATFORM_PUBLIC_KEY")
    app.extensions["sparkpay_keys"] = (merchant_key, platform_public)
    app.extensions["sparkpay_client"] = SparkPayClient(
        config["SPARKPAY_APP_ID"],
        config["SPARKPAY_MERCHANT_NO"],
        merchant_key,
        platform_public,
        base_url=config["SPARKPAY_BASE_URL"],
        timeout=config["SPARKPAY_TIMEOUT"],
        max_retries=int(config["SPARKPAY_MAX_RETRIES"]),
        verify_responses=config["SPARKPAY_VERIFY_RESPONSES"],
    )
    if config["SANDBOX_ENABLED"]:
        _mount_sandbox(app, merchant_key)
    if config["EXAMPLEPAY_ENABLED"]:
        app.extensions["examplepay_client"] = ExamplePayClient(
            config["EXAMPLEPAY_APP_ID"],
            config["EXAMPLEPAY_APP_SECRET"],
            base_url=config["EXAMPLEPAY_BASE_URL"],
            signed_url_form=config["EXAMPLEPAY_SIGNED_URL_FORM"],
            timeout=config["SPARKPAY_TIMEOUT"],
            max_retries=int(config["SPARKPAY_MAX_RETRIES"]),
        )
    if config["EXAMPLEPAY_SANDBOX"]:
        _mount_examplepay_sandbox(app)


def _mount_sandbox(app: Flask, merchant_key: rsa.RSAPrivateKey) -> None:
    from sparkpay.sandbox import Sandbox, SandboxSettings
    from sparkpay.sandbox.views import create_blueprint

    from .extensions import csrf

    platform_key = signing.load_private_key(app.config["SANDBOX_PLATFORM_PRIVATE_KEY"], "SANDBOX_PLATFORM_PRIVATE_KEY")
    settings = SandboxSettings(
        platform_private_key=platform_key,
        merchant_no=app.config["SPARKPAY_MERCHANT_NO"],
        app_id=app.config["SPARKPAY_APP_ID"],
        merchant_public_key=merchant_key.public_key(),
        db_path=str(Path(app.instance_path) / app.config.get("SANDBOX_DB_NAME", "sandbox.db")),
        public_url=app.config["PUBLIC_BASE_URL"] + "/sandbox",
        retry_scale=app.config["SANDBOX_RETRY_SCALE"],
    )
    sandbox = Sandbox(settings)
    blueprint = create_blueprint(sandbox)
    app.extensions["sparkpay_sandbox"] = sandbox  # stopped by whoever stops the app (tests)
    # The sandbox plays a third party: its forms are its own, the shop's CSRF does not apply.
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint, url_prefix="/sandbox")


def _mount_examplepay_sandbox(app: Flask) -> None:
    from examplepay.sandbox import BASE_PATH, Gateway, Settings
    from examplepay.sandbox.views import create_blueprint

    from .extensions import csrf

    sandbox = Gateway(
        Settings(
            app_id=app.config["EXAMPLEPAY_APP_ID"],
            app_secret=app.config["EXAMPLEPAY_APP_SECRET"],
            db_path=str(Path(app.instance_path) / "examplepay_sandbox.db"),
            public_url=app.config["PUBLIC_BASE_URL"] + BASE_PATH,
            signed_url_form=app.config["EXAMPLEPAY_SIGNED_URL_FORM"],
            retry_scale=app.config["SANDBOX_RETRY_SCALE"],
        )
    )
    blueprint = create_blueprint(sandbox)
    app.extensions["examplepay_sandbox"] = sandbox
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint, url_prefix=BASE_PATH)


def client() -> SparkPayClient:
    built: SparkPayClient = current_app.extensions["sparkpay_client"]
    return built


def examplepay_client() -> ExamplePayClient:
    built: ExamplePayClient = current_app.extensions["examplepay_client"]
    return built


def offered() -> list[str]:
    """The gateways staff may choose for a new order: SparkPay, and ExamplePay when configured."""
    return ["sparkpay"] + (["examplepay"] if current_app.config["EXAMPLEPAY_ENABLED"] else [])


def notification_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
    """(merchant private key, platform public key), loaded once at start."""
    keys: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey] = current_app.extensions["sparkpay_keys"]
    return keys
