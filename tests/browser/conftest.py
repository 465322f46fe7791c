"""A real Chromium (Debian's, headless) driving the real shop on a free port, via Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shop.conftest import PASSWORD, Shop, start_shop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def shop(tmp_path, merchant_key, platform_key) -> Iterator[Shop]:
    # Quick polls so a test sees the live refresh within a second or two.
    yield from start_shop(tmp_path, merchant_key, platform_key, POLL_INTERVAL_SECONDS=1, SHOP_NAME="Tea & Co.")


def new_page(browser, width: int = 1280, height: int = 860, locale: str = "en-GB"):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def staff_page(browser, shop: Shop):  # type: ignore[no-untyped-def]
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
def shopper_page(browser):  # type: ignore[no-untyped-def]
    page = new_page(browser, 390, 844)
    yield page
    page.context.close()


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Save a README picture of what the page shows now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
