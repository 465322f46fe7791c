"""The contract's configuration names, their types and defaults, and the sandbox's throwaway keys.

Precedence: built-in defaults < ``instance/config.py`` < environment < ``create_app(config)``.
Every setting is parsed to its type once, at start: a bad value stops the start with a
``ConfigurationError`` naming the setting and what it expects. In sandbox mode (no
``SPARKPAY_BASE_URL``) the merchant key, the sandbox's platform key, the app id and the merchant
number are generated once under ``instance/``. With a real gateway configured nothing is generated
and every missing setting is an error at start.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from examplepay import readings as examplepay_readings
from sparkpay import readings as sparkpay_readings
from sparkpay import signing
from sparkpay.errors import ConfigurationError

#: The contract's names (shared/CONTRACT.md) that are text as they come: ids, keys, secrets.
TEXT_NAMES = (
    "SPARKPAY_APP_ID",
    "SPARKPAY_MERCHANT_NO",
    "SPARKPAY_PRIVATE_KEY",
    "SPARKPAY_PLATFORM_PUBLIC_KEY",
    "SANDBOX_PLATFORM_PRIVATE_KEY",
    "DATABASE_URL",
    "SECRET_KEY",
    "EXAMPLEPAY_APP_ID",
    "EXAMPLEPAY_APP_SECRET",
)


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError
        number = int(str(value).strip())
        if number < low or (high is not None and number > high):
            raise ValueError
        return number

    return parse


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    number = float(str(value).strip())
    if not 0 < number < float("inf"):
        raise ValueError
    return number


def _timeout(value: Any) -> float | tuple[float, float]:
    """``5`` (both) or ``5,15`` (connect, read), in seconds; a tuple from instance/config.py."""
    parts = value if isinstance(value, tuple | list) else str(value).split(",")
    if len(parts) == 1:
        return _positive_number(parts[0])
    if len(parts) == 2:
        return (_positive_number(parts[0]), _positive_number(parts[1]))
    raise ValueError


def _switch(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError


def _one_of(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if str(value) not in choices:
            raise ValueError
        return str(value)

    return parse


def _base_url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError
    return text


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: an address that never leaves this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _gateway_url(value: Any) -> str:
    """A gateway's base URL: https, or plain http to a loopback host (a local sandbox or tunnel),
    since the requests carry the merchant's signatures and the answers order statuses."""
    text = _base_url(value)
    parts = urlsplit(text)
    if parts.scheme != "https" and not is_loopback_host(parts.hostname or ""):
        raise ValueError
    return text


def _host_names(value: Any) -> tuple[str, ...]:
    """``pay.example.com,cashier.example.com`` (or a list from instance/config.py): bare host names."""
    names = value if isinstance(value, tuple | list) else str(value).split(",")
    hosts = tuple(str(name).strip().lower() for name in names if str(name).strip())
    if any(not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", h) for h in hosts):
        raise ValueError
    return hosts


def _rate_limit(value: Any) -> str:
    parse_many(str(value))  # raises ValueError for what Flask-Limiter could not read
    return str(value)


def _one_rate_limit(value: Any) -> str:
    if len(parse_many(str(value))) != 1:
        raise ValueError
    return str(value)


def _text(value: Any) -> str:
    return str(value)


def _log_level(value: Any) -> str:
    name = str(value).strip().upper()
    if name not in logging.getLevelNamesMapping() or name in ("NOTSET", "WARN", "FATAL"):
        raise ValueError
    return name


class ExplainedValueError(ValueError):
    """A value a parser refused, with words that say what is wrong in it."""


def _readings(choose: Callable[[str | Mapping[str, str]], dict[str, str]], value: Any) -> dict[str, str]:
    """A sandbox's readings (``A5=success-only,A22=idempotent``), or a dict from instance/config.py."""
    try:
        return choose(value if isinstance(value, Mapping) else str(value))
    except ValueError as error:
        raise ExplainedValueError(str(error)) from None


@dataclass(frozen=True)
class Setting:
    """One setting: its default (None: unset, or worked out at start) and how to read it."""

    default: Any
    parse: Callable[[Any], Any]
    expects: str


_URL = "an http:// or https:// URL such as https://shop.example.com"
_GATEWAY_URL = "an https:// URL (plain http:// only to a loopback host: 127.0.0.0/8, ::1, localhost)"
_SECONDS = "a whole number of seconds, 0 or more"
_HOSTS = "host names separated by commas, such as pay.example.com,cashier.example.com (no scheme, port or path)"
_READINGS = "readings and alternatives such as A5=success-only,A22=idempotent (the sandbox's page lists them)"
_EXAMPLEPAY_READINGS = (
    "readings and alternatives such as A13=http-400,A8=idempotent (the ExamplePay sandbox's page lists them)"
)

#: Every typed setting of the shop, with its default, its parser and what it expects.
SETTINGS: dict[str, Setting] = {
    # The contract's (shared/CONTRACT.md).
    "SPARKPAY_BASE_URL": Setting(None, _gateway_url, _GATEWAY_URL),
    "PUBLIC_BASE_URL": Setting(None, _base_url, _URL),
    "SANDBOX_ENABLED": Setting(None, _switch, "1 or 0 (also true/false, yes/no, on/off)"),
    "LOG_LEVEL": Setting("INFO", _log_level, "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "EXAMPLEPAY_BASE_URL": Setting(None, _gateway_url, _GATEWAY_URL),
    # Shown to staff and shoppers.
    "SHOP_NAME": Setting("SparkPay Checkout", _text, "text"),
    # Seconds between in-process reconciliation runs; 0 turns the scheduler off.
    "RECONCILE_INTERVAL_SECONDS": Setting(60, _integer(0), _SECONDS),
    # The return page asks the gateway at most this often per order while it waits.
    "RETURN_PAGE_QUERY_INTERVAL_SECONDS": Setting(5, _integer(0), _SECONDS),
    # Live refresh period of the order list and the return page.
    "POLL_INTERVAL_SECONDS": Setting(3, _integer(1, 3600), "a whole number of seconds from 1 to 3600"),
    "ORDERS_PER_PAGE": Setting(25, _integer(1, 500), "a whole number from 1 to 500"),
    "SANDBOX_RETRY_SCALE": Setting(1.0, _positive_number, "a number above 0 (1 is the gateway's own schedule)"),
    "WEBHOOK_MAX_BYTES": Setting(64 * 1024, _integer(1024), "a number of bytes, at least 1024"),
    "MAX_CONTENT_LENGTH": Setting(1024 * 1024, _integer(1024), "a number of bytes, at least 1024"),
    "SPARKPAY_TIMEOUT": Setting((5.0, 15.0), _timeout, "seconds above 0: one number, or connect,read such as 5,15"),
    "SPARKPAY_MAX_RETRIES": Setting(2, _integer(0, 10), "a whole number from 0 to 10"),
    "SPARKPAY_VERIFY_RESPONSES": Setting("strict", _one_of("strict", "lenient"), "strict or lenient"),
    "LOGIN_RATE_LIMIT": Setting("5 per minute;100 per hour", _rate_limit, "limits such as '5 per minute;100 per hour'"),
    # What the webhook keeps of deliveries that do not verify (shop/intake.py): the first bytes of
    # the body, so many per source address and window (past it: 429 and a counter), so long.
    "REFUSED_DELIVERY_EXCERPT_BYTES": Setting(4096, _integer(0, 65536), "a number of bytes from 0 to 65536"),
    "REFUSED_DELIVERY_RATE_LIMIT": Setting("30 per minute", _one_rate_limit, "one limit such as '30 per minute'"),
    "REFUSED_DELIVERY_RETENTION_DAYS": Setting(30, _integer(1, 3650), "a whole number of days from 1 to 3650"),
    # /healthz answers 503 when the disk holding the database or the instance folder has less free (0 = no check).
    "DISK_MIN_FREE_MB": Setting(100, _integer(0), "a whole number of megabytes, 0 or more"),
    # The demo page (story, hide amounts); unset: on exactly when the embedded sandbox runs.
    "DEMO_MODE": Setting(None, _switch, "1 or 0 (also true/false, yes/no, on/off)"),
    # Staff are warned when orders await payment and no notification arrived for this long (0 = off).
    "WEBHOOK_SILENCE_MINUTES": Setting(60, _integer(0), "a whole number of minutes, 0 or more"),
    # Hosts besides the base URL's where the gateway's payment page may be (https only).
    "SPARKPAY_PAYMENT_HOSTS": Setting((), _host_names, _HOSTS),
    "EXAMPLEPAY_PAYMENT_HOSTS": Setting((), _host_names, _HOSTS),
    # Which URL form ExamplePay signs (examplepay/readings.py, A2).
    "EXAMPLEPAY_SIGNED_URL_FORM": Setting("absolute", _one_of("absolute", "path"), "absolute or path"),
    # How the embedded SparkPay sandbox reads its docs where they are silent (sparkpay/readings.py).
    "SANDBOX_READINGS": Setting("", lambda value: _readings(sparkpay_readings.choose, value), _READINGS),
    # Likewise the embedded ExamplePay sandbox (examplepay/readings.py); its A2 is its own, not
    # EXAMPLEPAY_SIGNED_URL_FORM (which the shop's client signs with, to match the real gateway).
    "EXAMPLEPAY_SANDBOX_READINGS": Setting(
        "", lambda value: _readings(examplepay_readings.choose, value), _EXAMPLEPAY_READINGS
    ),
}

#: What ``python app.py`` reads for its address (the contract's HOST and PORT).
PORT = Setting(5000, _integer(1, 65535), "a port number from 1 to 65535")


def parse_setting(name: str, setting: Setting, value: Any) -> Any:
    """``value`` read as ``setting`` says; a ConfigurationError naming ``name`` when it cannot be."""
    try:
        return setting.parse(value)
    except (ValueError, TypeError) as error:
        shown = "(empty)" if str(value).strip() == "" else repr(value)
        why = f": {error}" if isinstance(error, ExplainedValueError) else ""
        raise ConfigurationError(f"{name} must be {setting.expects}, not {shown}{why}") from None


def listen_port() -> int:
    """The port ``python app.py`` serves on: PORT, or 5000."""
    return int(parse_setting("PORT", PORT, os.environ.get("PORT", PORT.default)))


def _reachable_host(host: str) -> str:
    """The host to put in the shop's own URLs: a server listening on every address is reached on loopback."""
    try:
        every_address = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        every_address = host == ""
    return "127.0.0.1" if every_address else host


def load(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, ``instance/config.py``, the environment and overrides."""
    app.config.update({name: setting.default for name, setting in SETTINGS.items()})
    app.config.from_pyfile("config.py", silent=True)
    for name in TEXT_NAMES + tuple(SETTINGS):
        if name in os.environ:
            app.config[name] = os.environ[name]
    if overrides:
        app.config.update(overrides)
    for name, setting in SETTINGS.items():
        value = app.config.get(name)
        if setting.default is None and (value is None or str(value).strip() == ""):
            app.config[name] = None  # unset: worked out below
        else:
            app.config[name] = parse_setting(name, setting, value)
    if app.config["PUBLIC_BASE_URL"] is None:
        app.config["PUBLIC_BASE_URL"] = f"http://{_reachable_host(os.environ.get('HOST', '127.0.0.1'))}:{listen_port()}"

    instance = Path(app.instance_path)
    private_folder(instance)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = signing.secret_file(
            instance / "secret_key", lambda: secrets.token_hex(32).encode()
        ).decode()
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'shop.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_uri(app.config["DATABASE_URL"])

    real_gateway = bool(app.config.get("SPARKPAY_BASE_URL"))
    sandbox = app.config["SANDBOX_ENABLED"]
    app.config["SANDBOX_ENABLED"] = sandbox if sandbox is not None else not real_gateway
    app.config["SANDBOX_MODE"] = not real_gateway
    if real_gateway:
        _require_gateway_settings(app)
    else:
        _sandbox_settings(app, instance)
    _examplepay_settings(app, instance)
    if app.config["DEMO_MODE"] is None:
        app.config["DEMO_MODE"] = bool(app.config["SANDBOX_MODE"] and app.config["SANDBOX_ENABLED"])


def private_folder(path: Path) -> None:
    """Create the folder ``path`` for this user alone (0700), unless it exists (then left as it is)."""
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return
    path.chmod(0o700)  # mkdir's mode passes through the umask


def private_file(path: Path) -> None:
    """Create ``path`` empty, for this user alone (0600), unless it exists (then left as it is)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


def _database_uri(database_url: str) -> str:
    """The SQLAlchemy URL. A SQLite file's folder is created (SQLite would only say "unable to
    open"), and the file itself for this user alone: SQLite gives its -wal and -shm files the
    database file's mode."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise ConfigurationError(f"DATABASE_URL is not a valid SQLAlchemy URL: {error}") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database).expanduser().resolve()
        private_folder(database.parent)
        private_file(database)
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
