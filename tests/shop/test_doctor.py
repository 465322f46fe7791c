"""The go-live self-test: ``flask --app app sparkpay doctor`` and the managers' /settings page,
against the embedded sandboxes and against sandboxes served on their own (standing for a real
gateway), right and wrongly configured. Every check is one line; no secret ever shows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from flask import Flask

from examplepay import readings as examplepay_readings
from examplepay.sandbox import BASE_PATH as EXAMPLEPAY_PATH
from examplepay.sandbox import Settings as ExamplePaySettings
from examplepay.sandbox import create_blueprint as examplepay_blueprint
from sparkpay import signing
from sparkpay.sandbox import create_app as sparkpay_sandbox
from tests.support import serve

from .conftest import Shop, csrf_token_in, start_shop, text_of
from .test_start import free_port

if TYPE_CHECKING:
    pass

APP_ID = "APPDOCTORTEST0001"
MERCHANT_NO = "MDOCTOR0001"
EXAMPLEPAY_APP_ID = "0123456789abcdef0123456789abcdef"
EXAMPLEPAY_APP_SECRET = "fedcba9876543210fedcba9876543210"
#: A PUBLIC_BASE_URL a real gateway could reach, so that only the gateway's lines can fail.
PUBLIC = "https://shop.example.com"


def doctor(shop: Shop) -> tuple[int, list[str]]:
    """Run the command as an operator would; its exit status and its lines."""
    result = shop.app.test_cli_runner().invoke(args=["sparkpay", "doctor"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output.splitlines()


def line(lines: list[str], start: str) -> str:
    """The one line that starts with ``start``."""
    found = [text for text in lines if text.startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]


def failures(lines: list[str]) -> list[str]:
    return [text for text in lines if text.startswith("FAIL ")]


def secrets_of(shop: Shop, merchant_key: RSAPrivateKey) -> list[str]:
    """What must never be printed or rendered: the private key (whole, and a line of it), the
    session key and ExamplePay's app secret."""
    pem = signing.private_key_pem(merchant_key).decode()
    return [
        pem,
        pem.splitlines()[5],
        shop.app.config["SECRET_KEY"],
        shop.app.config.get("EXAMPLEPAY_APP_SECRET") or EXAMPLEPAY_APP_SECRET,
    ]


# --- the embedded sandboxes ------------------------------------------------------------------


def test_the_doctor_passes_against_the_embedded_sandboxes(
    shop: Shop, merchant_key: RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shop.doctor"):
        status, lines = doctor(shop)
    assert status == 0, lines
    assert failures(lines) == []
    for name in ("SparkPay connection", "SparkPay credentials", "SparkPay platform key"):
        assert line(lines, f"PASS {name}: ")
    for name in ("ExamplePay connection", "ExamplePay credentials"):
        assert line(lines, f"PASS {name}: ")
    assert "verifies the gateway's signed answer" in line(lines, "PASS SparkPay platform key")
    assert "the gateway has no order DOCTOR" in line(lines, "PASS SparkPay credentials")
    assert "fine for the sandbox; change it before going live" in line(lines, "INFO Public address: ")
    assert line(lines, "INFO SparkPay mode: the embedded sandbox at ").endswith(
        f"{shop.url}/sandbox: no real money moves"
    )
    assert line(lines, "INFO SparkPay notify URL: ").endswith(f": {shop.url}/webhooks/sparkpay")
    assert line(lines, "INFO SparkPay redirect URL: ").endswith(f": {shop.url}/checkout/return/<request_no>")
    assert line(lines, "INFO ExamplePay notify URL: ").endswith(f": {shop.url}/webhooks/examplepay")

    public = merchant_key.public_key()
    assert signing.fingerprint(public) in line(lines, "INFO SparkPay merchant public key: ")
    assert signing.public_key_pem(public).decode().strip() in "\n".join(lines), "the PEM to upload"
    for secret in secrets_of(shop, merchant_key):
        assert secret not in "\n".join(lines)
    assert lines[-1].endswith(" passed, 0 failed, 7 for information.")
    assert [r.getMessage() for r in caplog.records if r.name == "shop.doctor"] == [
        "doctor run by the command line: 6 passed, 0 failed, 7 for information"
    ]


# --- a gateway of its own (the SparkPay sandbox served alone) ----------------------------------


@contextmanager
def sparkpay_gateway(
    folder: Path,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    readings: str = "",
    public_url: str = "",
) -> Iterator[str]:
    """The SparkPay sandbox on a port of its own, knowing ``merchant_key``'s public half and taking
    ``readings`` (its cashier links on ``public_url`` if given); its API base URL."""
    app = sparkpay_sandbox(
        {
            "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
            "SANDBOX_MERCHANT_PUBLIC_KEY": signing.public_key_pem(merchant_key.public_key()).decode(),
            "SANDBOX_APP_ID": APP_ID,
            "SANDBOX_MERCHANT_NO": MERCHANT_NO,
            "SANDBOX_RETRY_SCALE": 0.01,
            "SANDBOX_READINGS": readings,
            "SANDBOX_PUBLIC_URL": public_url,
        },
        instance_path=str(folder),
    )
    try:
        with serve(app) as url:
            yield url + "/sandbox"
    finally:
        app.extensions["sparkpay_sandbox"].stop()


@contextmanager
def shop_against(
    tmp_path: Path, shop_key: RSAPrivateKey, platform_key: RSAPrivateKey, base_url: str, **overrides: Any
) -> Iterator[Shop]:
    """A shop in real mode, at the gateway ``base_url``, signing with ``shop_key``."""
    settings = {
        "SPARKPAY_BASE_URL": base_url,
        "SPARKPAY_APP_ID": APP_ID,
        "SPARKPAY_MERCHANT_NO": MERCHANT_NO,
        "SPARKPAY_PLATFORM_PUBLIC_KEY": signing.public_key_pem(platform_key.public_key()).decode(),
        "PUBLIC_BASE_URL": PUBLIC,
        **overrides,
    }
    shops = start_shop(tmp_path, shop_key, platform_key, **settings)
    try:
        yield next(shops)
    finally:
        shops.close()


def test_a_right_configuration_passes_against_a_gateway_of_its_own(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    with (
        sparkpay_gateway(tmp_path / "gateway", merchant_key, platform_key) as gateway,
        shop_against(tmp_path, merchant_key, platform_key, gateway) as shop,
    ):
        status, lines = doctor(shop)
    assert status == 0, lines
    assert line(lines, "INFO SparkPay mode: ") == f"INFO SparkPay mode: the real gateway at {gateway}"
    assert line(lines, "PASS SparkPay address: ") == (
        f"PASS SparkPay address: {gateway} is on this machine (plain http only to a loopback host)"
    )
    assert (
        line(lines, "PASS Public address: ")
        == f"PASS Public address: PUBLIC_BASE_URL is {PUBLIC}: https, beyond this machine"
    )
    assert line(lines, "PASS SparkPay credentials: ").startswith(
        f"PASS SparkPay credentials: the app id {APP_ID}, the merchant number {MERCHANT_NO} and the merchant key are accepted"
    )
    assert line(lines, "INFO SparkPay notify URL: ").endswith(f"{PUBLIC}/webhooks/sparkpay")
    assert line(lines, "INFO ExamplePay mode: ") == "INFO ExamplePay mode: not configured, so staff cannot choose it"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "wrong app id",
            "FAIL SparkPay credentials: the gateway refused SPARKPAY_APP_ID APPNOSUCHAPP (40002: invalid AppID)"
            " -- check SPARKPAY_APP_ID against the merchant platform",
        ),
        (
            "wrong merchant number",
            "FAIL SparkPay credentials: the gateway refused SPARKPAY_MERCHANT_NO MNOSUCHMERCHANT"
            " (40008: the merchant number does not exist) -- check SPARKPAY_MERCHANT_NO against the merchant platform",
        ),
        (
            "foreign merchant key",
            "FAIL SparkPay credentials: the gateway refused the request's signature (40000): ",
        ),
        (
            "wrong platform key",
            "FAIL SparkPay platform key: the gateway's answer (HTTP 404) does not verify with"
            " SPARKPAY_PLATFORM_PUBLIC_KEY (SHA-256 ",
        ),
    ],
)
def test_a_wrong_setting_fails_with_its_one_line_reason(
    tmp_path: Path,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    other_key: RSAPrivateKey,
    case: str,
    expected: str,
) -> None:
    shop_key = other_key if case == "foreign merchant key" else merchant_key
    overrides: dict[str, Any] = {
        "wrong app id": {"SPARKPAY_APP_ID": "APPNOSUCHAPP"},
        "wrong merchant number": {"SPARKPAY_MERCHANT_NO": "MNOSUCHMERCHANT"},
        "foreign merchant key": {},
        # The platform key pair's other half is what the gateway signs with; the shop holds another.
        "wrong platform key": {"SPARKPAY_PLATFORM_PUBLIC_KEY": signing.public_key_pem(other_key.public_key()).decode()},
    }[case]
    with (
        sparkpay_gateway(tmp_path / "gateway", merchant_key, platform_key) as gateway,
        shop_against(tmp_path, shop_key, platform_key, gateway, **overrides) as shop,
    ):
        status, lines = doctor(shop)
    assert status == 1
    assert failures(lines) == [line(lines, expected)], lines
    if case == "foreign merchant key":
        assert line(lines, "FAIL SparkPay credentials: ").endswith(
            " -- the merchant key (SPARKPAY_PRIVATE_KEY) does not match the public key uploaded at the merchant"
            " platform: upload the merchant public key below, or set the private key of the one uploaded"
        )
        assert signing.fingerprint(shop_key.public_key()) in line(lines, "INFO SparkPay merchant public key: ")
    if case == "wrong platform key":
        assert signing.fingerprint(other_key.public_key()) in failures(lines)[0]
        assert line(lines, "FAIL SparkPay platform key: ").endswith(
            " -- set SPARKPAY_PLATFORM_PUBLIC_KEY to the platform public key the merchant platform shows"
        )
        assert line(lines, "INFO SparkPay credentials: ") == (
            "INFO SparkPay credentials: not checked: the gateway's answer could not be trusted"
        )
    else:
        assert line(lines, "PASS SparkPay platform key: ")
    for secret in secrets_of(shop, shop_key):
        assert secret not in "\n".join(lines)


def test_an_unreachable_gateway_fails_naming_its_address(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/sandbox"  # nothing listens there
    with shop_against(tmp_path, merchant_key, platform_key, closed) as shop:
        status, lines = doctor(shop)
    assert status == 1
    assert failures(lines) == [
        f"FAIL SparkPay connection: the gateway is unreachable at {closed}: no connection (refused or no route)"
        " -- check SPARKPAY_BASE_URL and that this machine can reach it (name lookup, firewall, proxy)"
    ]
    assert (
        line(lines, "INFO SparkPay credentials: ")
        == "INFO SparkPay credentials: not checked: no answer from the gateway"
    )


def test_unsigned_error_answers_leave_the_platform_key_unchecked_but_pass(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    with (
        sparkpay_gateway(tmp_path / "gateway", merchant_key, platform_key, "A5=success-only") as gateway,
        shop_against(tmp_path, merchant_key, platform_key, gateway) as shop,
    ):
        status, lines = doctor(shop)
    assert status == 0, lines
    assert line(lines, "PASS SparkPay credentials: ")
    assert line(lines, "INFO SparkPay platform key: ") == (
        "INFO SparkPay platform key: not checked: the gateway's error answers are unsigned (reading"
        " A5=success-only), so a query of an unknown order cannot check the key"
        f" (SHA-256 {signing.fingerprint(platform_key.public_key())})"
        " -- compare the fingerprint with the platform key the merchant platform shows"
    )


def test_a_loopback_public_address_fails_with_a_real_gateway(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    with (
        sparkpay_gateway(tmp_path / "gateway", merchant_key, platform_key) as gateway,
        shop_against(tmp_path, merchant_key, platform_key, gateway, PUBLIC_BASE_URL="http://localhost:5000") as shop,
    ):
        status, lines = doctor(shop)
    assert status == 1
    assert failures(lines) == [
        "FAIL Public address: PUBLIC_BASE_URL is http://localhost:5000, on this machine: no gateway can reach it"
        " -- set PUBLIC_BASE_URL to the shop's public https:// address"
    ]


def test_no_gateway_and_no_sandbox_fails_saying_so(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    for shop in start_shop(tmp_path, merchant_key, platform_key, SANDBOX_ENABLED="0"):
        status, lines = doctor(shop)
    assert status == 1
    assert line(lines, "FAIL SparkPay mode: ") == (
        f"FAIL SparkPay mode: no SPARKPAY_BASE_URL, and the embedded sandbox is off: nothing answers at"
        f" {shop.url}/sandbox -- set SPARKPAY_BASE_URL to the gateway's address, or SANDBOX_ENABLED to 1"
    )
    assert line(lines, "FAIL SparkPay connection: ").startswith(
        f"FAIL SparkPay connection: {shop.url}/sandbox answered (HTTP 404), but not as the gateway does"
    )


# --- ExamplePay served alone -------------------------------------------------------------------


@contextmanager
def examplepay_gateway(folder: Path, signed_url_form: str = "absolute") -> Iterator[str]:
    app = Flask("examplepay-gateway")
    with serve(app) as site:
        blueprint = examplepay_blueprint(
            ExamplePaySettings(
                EXAMPLEPAY_APP_ID,
                EXAMPLEPAY_APP_SECRET,
                str(folder / "examplepay.db"),
                site + EXAMPLEPAY_PATH,
                retry_scale=0.01,
                readings=examplepay_readings.choose({"A2": signed_url_form}),
            )
        )
        app.register_blueprint(blueprint, url_prefix=EXAMPLEPAY_PATH)
        try:
            yield site + EXAMPLEPAY_PATH
        finally:
            blueprint.gateway.stop()


@pytest.mark.parametrize(
    ("gateway_form", "secret", "expected"),
    [
        ("absolute", EXAMPLEPAY_APP_SECRET, None),
        (
            "path",
            EXAMPLEPAY_APP_SECRET,
            "FAIL ExamplePay credentials: the gateway signs the path form of the URL, not the absolute one"
            " -- set EXAMPLEPAY_SIGNED_URL_FORM to path",
        ),
        (
            "absolute",
            "0" * 32,
            "FAIL ExamplePay credentials: the gateway refused the request (HTTP 401), and its answer does not verify"
            " with the app secret: response not trusted: signature does not match -- check EXAMPLEPAY_APP_ID and"
            " EXAMPLEPAY_APP_SECRET against the merchant platform, and EXAMPLEPAY_SIGNED_URL_FORM"
            " (Common.Auth.Sign_Failed may mean the gateway signs another URL form)",
        ),
    ],
)
def test_examplepay_is_checked_too(
    tmp_path: Path,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    gateway_form: str,
    secret: str,
    expected: str | None,
) -> None:
    with examplepay_gateway(tmp_path, gateway_form) as gateway:
        shops = start_shop(
            tmp_path,
            merchant_key,
            platform_key,
            EXAMPLEPAY_BASE_URL=gateway,
            EXAMPLEPAY_APP_ID=EXAMPLEPAY_APP_ID,
            EXAMPLEPAY_APP_SECRET=secret,
        )
        try:
            shop = next(shops)
            status, lines = doctor(shop)
        finally:
            shops.close()
    assert line(lines, "INFO ExamplePay mode: ") == f"INFO ExamplePay mode: the real gateway at {gateway}"
    assert secret not in "\n".join(lines) and EXAMPLEPAY_APP_SECRET not in "\n".join(lines)
    if expected is None:
        assert line(lines, "PASS ExamplePay credentials: ").startswith(
            f"PASS ExamplePay credentials: the app id {EXAMPLEPAY_APP_ID} and the app secret are accepted"
        )
    else:
        assert line(lines, "FAIL ExamplePay credentials: ") == expected
    # The SparkPay sandbox runs beside a real ExamplePay: the doctor says it must go before going live.
    assert status == 1
    assert line(lines, "FAIL Settings: the sandbox is mounted at /sandbox beside a real gateway")


# --- the page ------------------------------------------------------------------------------------


def test_a_manager_runs_the_checks_on_the_settings_page(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey
) -> None:
    page = manager.get(f"{shop.url}/settings")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert 'href="/settings"' in manager.get(f"{shop.url}/orders").text, "linked from the staff navigation"
    assert "Run the checks" in page.text and "SparkPay credentials" not in page.text, "not run by showing the page"

    assert manager.post(f"{shop.url}/settings", data={}).status_code == 400, "the button's POST carries its CSRF token"
    answer = manager.post(f"{shop.url}/settings", data={"csrf_token": csrf_token_in(page.text)})
    assert answer.status_code == 200
    words = text_of(answer.text)
    assert "No check failed." in words
    for name in ("SparkPay connection", "SparkPay credentials", "SparkPay platform key", "ExamplePay credentials"):
        assert f"Passed {name}" in words
    assert f"{shop.url}/webhooks/sparkpay" in words
    assert signing.public_key_pem(merchant_key.public_key()).decode().strip() in answer.text
    for secret in secrets_of(shop, merchant_key):
        assert secret not in answer.text


def test_the_settings_page_is_for_managers_only(shop: Shop, viewer: requests.Session) -> None:
    page = viewer.get(f"{shop.url}/settings")
    assert page.status_code == 403
    assert "Only managers can see the settings" in text_of(page.text)
    token = csrf_token_in(viewer.get(f"{shop.url}/orders").text)
    assert viewer.post(f"{shop.url}/settings", data={"csrf_token": token}).status_code == 403
    assert 'href="/settings"' not in viewer.get(f"{shop.url}/orders").text

    signed_out = requests.get(f"{shop.url}/settings", allow_redirects=False, timeout=10)
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].endswith("/login?next=/settings")
