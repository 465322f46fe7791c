"""A real Chromium (Debian's, headless) driving the real shop on a free port, via Playwright."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from playwright.sync_api import Browser, Page, sync_playwright

from tests.shop.conftest import PASSWORD, Shop, start_shop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Where the pictures go: a temporary folder, so a test run changes no tracked file. The README's
#: pictures are refreshed on purpose with `SCREENSHOT_DIR=docs/screenshots ./test.sh tests/browser`.
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "sparkpay-checkout-screenshots")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def shop(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    # Quick polls so a test sees the live refresh within a second or two.
    yield from start_shop(tmp_path, merchant_key, platform_key, POLL_INTERVAL_SECONDS=1, SHOP_NAME="Tea & Co.")


def new_page(browser: Browser, width: int = 1280, height: int = 860, locale: str = "en-GB") -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def staff_page(browser: Browser, shop: Shop) -> Iterator[Page]:
    """A manager signed in through the login form."""
    shop.add_staff("manager@shop.test", "manager")
    page = new_page(browser)
    page.goto(f"{shop.url}/login")
    page.get_by_label("Email").fill("manager@shop.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{shop.url}/orders")
    yield page
    page.context.close()


@pytest.fixture
def shopper_page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, 390, 844)
    yield page
    page.context.close()


def screenshot(page: Page, name: str) -> None:
    """Save a README picture of what the page shows now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
