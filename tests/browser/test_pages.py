"""Accessibility basics at phone and desktop width, and the README's screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.shop.conftest import Shop

from .conftest import SCREENSHOTS, new_page, screenshot
from .test_journeys import create_order_in_ui

#: Every visible form control must have an accessible name from a label (or aria-label).
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id)"""

#: A status badge must say its status in words, not only in colour.
WORDLESS_BADGES = """() => [...document.querySelectorAll('.badge')].filter(el => !el.textContent.trim()).length"""

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def check_page(page: Page) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == [], page.url
    assert page.evaluate(WORDLESS_BADGES) == 0, page.url
    viewport = page.viewport_size
    assert viewport is not None, page.url
    assert page.evaluate(OVERFLOW) <= 0, f"{page.url} scrolls sideways at {viewport['width']} px"


@pytest.fixture
def demo_orders(shop: Shop, staff_page: Page) -> dict[str, str]:
    """A small, realistic day: one paid, one closed, one awaiting payment."""
    orders = {
        "paid": create_order_in_ui(staff_page, shop, "Jasmine green tea, 250 g", "24.9"),
        "closed": create_order_in_ui(staff_page, shop, "Tea set for two", "89"),
        "open": create_order_in_ui(staff_page, shop, "Oolong tea, 100 g", "18.5"),
    }
    shop.sandbox("POST", f"/orders/{orders['paid']}/pay", json={"network": 2})
    shop.sandbox("POST", f"/orders/{orders['closed']}/expire")
    shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    return orders


@pytest.mark.parametrize("width", [375, 1280])
def test_pages_are_labelled_and_fit_the_screen(
    shop: Shop, browser: Browser, demo_orders: dict[str, str], width: int
) -> None:
    from tests.shop.conftest import PASSWORD

    page = new_page(browser, width, 800)
    page.goto(f"{shop.url}/login")
    check_page(page)
    page.get_by_label("Email").fill("manager@shop.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for path in (
        "/",
        "/orders",
        "/orders/new",
        "/orders/new?edition=pro",
        f"/orders/{demo_orders['paid']}",
        f"/orders/{demo_orders['open']}",
        "/deliveries",
        "/deliveries/1",
        "/demo",
    ):
        page.goto(shop.url + path)
        check_page(page)
    page.goto(f"{shop.url}/settings")
    page.get_by_role("button", name="Run the checks").click()
    expect(page.locator("#self-test")).to_contain_text("No check failed.")
    check_page(page)  # long URLs and the key wrap at 375 px
    for path in (
        f"/pay/{demo_orders['open']}",
        f"/checkout/return/{demo_orders['paid']}",
        f"/checkout/return/{demo_orders['closed']}",
    ):
        page.goto(shop.url + path)
        check_page(page)
    page.goto(f"{shop.url}/pay/{demo_orders['open']}")
    page.get_by_role("link", name="Continue to payment").click()
    page.wait_for_url(re.compile("/sandbox/cashier/"))
    check_page(page)
    page.context.close()


def test_screenshots_for_the_readme(
    shop: Shop, browser: Browser, staff_page: Page, demo_orders: dict[str, str]
) -> None:
    staff_page.goto(f"{shop.url}/orders")
    expect(staff_page.locator(f"#order-{demo_orders['paid']}")).to_contain_text("Paid")
    screenshot(staff_page, "order-list")
    staff_page.goto(f"{shop.url}/orders/new")
    screenshot(staff_page, "new-order")
    staff_page.goto(f"{shop.url}/orders/{demo_orders['paid']}")
    screenshot(staff_page, "order-detail")
    expect(staff_page.locator('.lifecycle__node[data-status="COMPLETED"]')).to_have_class(re.compile("is-current"))
    staff_page.locator(".lifecycle").screenshot(path=str(SCREENSHOTS / "lifecycle.png"))
    staff_page.goto(f"{shop.url}/orders/{demo_orders['closed']}")
    staff_page.locator(".lifecycle").screenshot(path=str(SCREENSHOTS / "lifecycle-closed.png"))
    staff_page.goto(f"{shop.url}/")
    expect(staff_page.get_by_text("Paid orders by network")).to_be_visible()
    screenshot(staff_page, "overview")
    staff_page.goto(f"{shop.url}/deliveries")
    staff_page.locator("#webhook-health").screenshot(path=str(SCREENSHOTS / "webhook-health.png"))
    staff_page.goto(f"{shop.url}/deliveries/1")
    expect(staff_page.get_by_text("What it changed")).to_be_visible()
    screenshot(staff_page, "delivery")

    phone = new_page(browser, 375, 740)
    phone.goto(f"{shop.url}/pay/{demo_orders['open']}")
    screenshot(phone, "phone-pay")
    phone.get_by_role("link", name="Continue to payment").click()
    phone.wait_for_url(re.compile("/sandbox/cashier/"))
    screenshot(phone, "phone-cashier")
    phone.context.close()

    shopper = new_page(browser, 1280, 860)
    shopper.goto(f"{shop.url}/pay/{demo_orders['open']}")
    shopper.get_by_role("link", name="Continue to payment").click()
    shopper.wait_for_url(re.compile("/sandbox/cashier/"))
    screenshot(shopper, "cashier")
    shopper.goto(f"{shop.url}/checkout/return/{demo_orders['paid']}")
    expect(shopper.get_by_text("Payment received")).to_be_visible()
    screenshot(shopper, "return-paid")
    shopper.context.close()
