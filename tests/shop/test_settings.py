"""Settings are read once, at start, to their types: a bad value stops the start with one line that
names the setting and what it expects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop import create_app
from sparkpay import ConfigurationError, signing

from .test_start import ROOT, free_port


def _app_config(tmp_path: Path, merchant_key: RSAPrivateKey, **settings: object) -> dict[str, object]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path}/shop.db",
        "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
        "RECONCILE_INTERVAL_SECONDS": "0",
        **settings,
    }


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SPARKPAY_TIMEOUT", "5", 5.0),
        ("SPARKPAY_TIMEOUT", " 3.5 , 20 ", (3.5, 20.0)),
        ("SPARKPAY_MAX_RETRIES", "0", 0),
        ("ORDERS_PER_PAGE", "50", 50),
        ("SANDBOX_RETRY_SCALE", "0.01", 0.01),
        ("DEMO_MODE", "off", False),
        ("LOG_LEVEL", "warning", "WARNING"),
        ("PUBLIC_BASE_URL", "https://shop.example.com/", "https://shop.example.com"),
        (
            "EXAMPLEPAY_SANDBOX_READINGS",
            "a13=http-400, A8=idempotent",
            {"A2": "absolute", "A8": "idempotent", "A11": "any-case", "A13": "http-400"},
        ),
    ],
)
def test_text_from_the_environment_becomes_its_type(
    tmp_path: Path,
    merchant_key: RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    expected: object,
) -> None:
    monkeypatch.setenv(name, value)
    app = create_app(_app_config(tmp_path, merchant_key), instance_path=str(tmp_path / "instance"))
    assert app.config[name] == expected


@pytest.mark.parametrize(
    ("name", "value", "expects"),
    [
        ("SPARKPAY_TIMEOUT", "five", "seconds above 0"),
        ("SPARKPAY_TIMEOUT", "0", "seconds above 0"),
        ("SPARKPAY_TIMEOUT", "1,2,3", "connect,read"),
        ("SPARKPAY_MAX_RETRIES", "-1", "from 0 to 10"),
        ("ORDERS_PER_PAGE", "1e3", "from 1 to 500"),
        ("WEBHOOK_SILENCE_MINUTES", "soon", "0 or more"),
        ("SANDBOX_RETRY_SCALE", "nan", "above 0"),
        ("SANDBOX_ENABLED", "maybe", "1 or 0"),
        ("SPARKPAY_VERIFY_RESPONSES", "loose", "strict or lenient"),
        ("EXAMPLEPAY_SIGNED_URL_FORM", "relative", "absolute or path"),
        ("EXAMPLEPAY_SANDBOX_READINGS", "A13=http-404", "A13 is one of http-200, http-400, not 'http-404'"),
        ("EXAMPLEPAY_SANDBOX_READINGS", "A99=x", "unknown reading 'A99'; known: A2, A8, A11, A13"),
        ("LOG_LEVEL", "loud", "DEBUG, INFO"),
        ("LOGIN_RATE_LIMIT", "often", "5 per minute"),
        ("PUBLIC_BASE_URL", "shop.example.com", "http:// or https:// URL"),
        ("SPARKPAY_BASE_URL", "ftp://gateway.example.com", "an https:// URL"),
        ("SPARKPAY_BASE_URL", "http://api.sparkpay.top", "plain http:// only to a loopback host"),
        ("EXAMPLEPAY_BASE_URL", "http://10.0.0.5:8080", "plain http:// only to a loopback host"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(
    tmp_path: Path, merchant_key: RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expects: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        create_app(_app_config(tmp_path, merchant_key), instance_path=str(tmp_path / "instance"))
    assert str(refused.value).startswith(f"{name} must be ")
    assert expects in str(refused.value) and repr(value) in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.sparkpay.top",
        "http://127.0.0.1:5001/sandbox",
        "http://127.8.9.10",
        "http://[::1]:9",
        "http://localhost:5001",
    ],
)
def test_a_gateway_is_reached_over_https_or_on_this_machine(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, url: str
) -> None:
    settings = _app_config(
        tmp_path,
        merchant_key,
        SPARKPAY_BASE_URL=url,
        SPARKPAY_APP_ID="APP1",
        SPARKPAY_MERCHANT_NO="M1",
        SPARKPAY_PLATFORM_PUBLIC_KEY=signing.public_key_pem(platform_key.public_key()).decode(),
        EXAMPLEPAY_BASE_URL=url,
        EXAMPLEPAY_APP_ID="0123456789abcdef0123456789abcdef",
        EXAMPLEPAY_APP_SECRET="not-a-real-secret",
    )
    app = create_app(settings, instance_path=str(tmp_path / "instance"))
    assert app.config["SPARKPAY_BASE_URL"] == app.config["EXAMPLEPAY_BASE_URL"] == url


def test_instance_config_py_values_are_checked_too(tmp_path: Path, merchant_key: RSAPrivateKey) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SPARKPAY_TIMEOUT = (2, 7)\nORDERS_PER_PAGE = 'many'\n")
    with pytest.raises(ConfigurationError, match="ORDERS_PER_PAGE must be a whole number"):
        create_app(_app_config(tmp_path, merchant_key), instance_path=str(instance))
    (instance / "config.py").write_text("SPARKPAY_TIMEOUT = (2, 7)\n")
    assert create_app(_app_config(tmp_path, merchant_key), instance_path=str(instance)).config["SPARKPAY_TIMEOUT"] == (
        2.0,
        7.0,
    )


START_COMMANDS = {
    "python app.py": [sys.executable, "app.py"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "--no-control-socket", "--bind", "127.0.0.1:0", "app:app"],
}


@pytest.mark.parametrize(
    ("server", "name", "value"),
    [
        ("python app.py", "SPARKPAY_TIMEOUT", "5s"),
        ("python app.py", "PORT", "http"),
        ("python app.py", "LOG_LEVEL", "verbose"),
        ("gunicorn", "SPARKPAY_TIMEOUT", "5s"),
    ],
)
def test_the_start_stops_with_one_line(tmp_path: Path, server: str, name: str, value: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKPAY_", "SANDBOX_"))}
    environment.update({"INSTANCE_PATH": str(tmp_path / "instance"), "PORT": str(free_port()), name: value})
    result = subprocess.run(
        START_COMMANDS[server], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0, "a bad setting stops the server (gunicorn too: no worker boot loop)"
    refusals = [line for line in result.stderr.splitlines() if "cannot start" in line]
    assert refusals and refusals[0].startswith(f"SparkPay Checkout cannot start: {name} must be ")
    assert repr(value) in refusals[0] and "Traceback" not in result.stderr
    if server == "python app.py":
        assert result.stderr.strip() == refusals[0], "one line, nothing else"


def test_the_settings_guide_names_every_setting() -> None:
    from shop.config import SETTINGS, TEXT_NAMES

    guide = (ROOT / "docs" / "settings.md").read_text()
    for name in (*SETTINGS, *TEXT_NAMES, "HOST", "PORT", "INSTANCE_PATH"):
        assert f"| `{name}` |" in guide, f"docs/settings.md does not describe {name}"
