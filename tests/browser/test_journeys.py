"""The journeys staff and shoppers take, in Chromium, with htmx doing the live refresh."""

from __future__ import annotations

import re
from typing import Literal

from playwright.sync_api import Browser, Page, expect

from tests.shop.conftest import Shop


def create_order_in_ui(page: Page, shop: Shop, description: str = "Oolong tea, 100 g", amount: str = "18.5") -> str:
    page.goto(f"{shop.url}/orders/new")
    page.get_by_label("Description shown to the shopper").fill(description)
    page.get_by_label("Goods", exact=True).fill("1 x " + description)
    page.get_by_label("Amount", exact=True).fill(amount)
    page.get_by_label("Ethereum", exact=True).check()
    page.get_by_role("button", name="Create order").click()
    page.wait_for_url(re.compile(r"/orders/SP[0-9A-F]+$"))
    return page.url.rsplit("/", 1)[1]


def mark_page(page: Page) -> None:
    """Tag the loaded document; a reload would lose the tag."""
    page.evaluate("document.documentElement.dataset.testMark = 'loaded once'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("document.documentElement.dataset.testMark") == "loaded once"


def test_order_is_paid_and_both_sides_see_it_live(shop: Shop, staff_page: Page, shopper_page: Page) -> None:
    request_no = create_order_in_ui(staff_page, shop)
    expect(staff_page.get_by_text("Order created")).to_be_visible()
    staff_page.get_by_role("button", name="Copy").click()
    expect(staff_page.locator("#copy-status")).not_to_be_empty()
    link = staff_page.locator("#checkout-link").input_value()
    assert link == f"{shop.url}/pay/{request_no}"

    staff_page.goto(f"{shop.url}/orders")
    row = staff_page.locator(f"#order-{request_no}")
    expect(row).to_contain_text("Awaiting payment")
    mark_page(staff_page)
    staff_page.evaluate("document.getElementById('list-status').dataset.testMark = 'same region'")

    shopper_page.goto(link)
    expect(shopper_page.get_by_text("18.5")).to_be_visible()
    shopper_page.get_by_role("link", name="Continue to payment").click()
    shopper_page.wait_for_url(re.compile(r"/sandbox/cashier/"))
    shopper_page.get_by_label(re.compile("Ethereum")).check()
    shopper_page.get_by_role("button", name=re.compile(r"^Pay")).click()
    shopper_page.wait_for_url(re.compile(rf"/checkout/return/{request_no}"))
    expect(shopper_page.get_by_text("Payment received")).to_be_visible()

    expect(row).to_contain_text("Paid")
    expect(staff_page.locator("#list-status")).to_have_text(f"Order {request_no}: Paid.")
    assert staff_page.locator("#list-status").evaluate("el => el.dataset.testMark") == "same region", (
        "the live region is kept"
    )
    assert_not_reloaded(staff_page)


def test_an_order_left_unpaid_closes_on_both_sides(shop: Shop, staff_page: Page, shopper_page: Page) -> None:
    request_no = create_order_in_ui(staff_page, shop)
    staff_page.goto(f"{shop.url}/orders")
    mark_page(staff_page)

    shopper_page.goto(f"{shop.url}/pay/{request_no}")
    shopper_page.get_by_role("link", name="Continue to payment").click()
    shopper_page.get_by_role("link", name=re.compile("Cancel")).click()
    shopper_page.wait_for_url(re.compile(rf"/checkout/return/{request_no}"))
    expect(shopper_page.get_by_text("Waiting for your payment")).to_be_visible()
    mark_page(shopper_page)

    shop.sandbox("POST", f"/orders/{request_no}/expire")
    expect(shopper_page.get_by_text("Payment not completed")).to_be_visible()
    assert_not_reloaded(shopper_page)
    shop.app.test_cli_runner().invoke(args=["sparkpay", "reconcile"])
    expect(staff_page.locator(f"#order-{request_no}")).to_contain_text("Closed")
    assert_not_reloaded(staff_page)


def test_a_manager_closes_an_unpaid_order_from_its_page(shop: Shop, staff_page: Page) -> None:
    request_no = create_order_in_ui(staff_page, shop)
    staff_page.get_by_text("Close order…").click()
    staff_page.get_by_role("button", name="Yes, close this order").click()
    expect(staff_page.get_by_text("Order closed.")).to_be_visible()
    expect(staff_page.locator("#order-live .badge").first).to_have_text("Closed")
    assert shop.order(request_no).status == "CLOSED"


def test_a_dropped_notification_still_ends_right(shop: Shop, staff_page: Page, shopper_page: Page) -> None:
    request_no = create_order_in_ui(staff_page, shop)
    shop.sandbox("POST", "/faults", json={"notify_drop": -1})
    mark_page(staff_page)  # on the order's own page

    shopper_page.goto(f"{shop.url}/pay/{request_no}")
    shopper_page.get_by_role("link", name="Continue to payment").click()
    shopper_page.get_by_role("button", name=re.compile(r"^Pay")).click()
    expect(shopper_page.get_by_text("Payment received")).to_be_visible()  # the return page asked the gateway

    expect(staff_page.locator("#order-live .badge").first).to_have_text("Paid")
    assert_not_reloaded(staff_page)
    order = shop.order(request_no)
    assert order.notifications == [] and order.events[-1].source == "query"


def test_form_errors_sit_next_to_their_fields(shop: Shop, staff_page: Page) -> None:
    staff_page.goto(f"{shop.url}/orders/new")
    staff_page.get_by_label("Description shown to the shopper").fill("Tea")
    staff_page.get_by_label("Goods", exact=True).fill("Tea")
    staff_page.get_by_label("Amount", exact=True).fill("1.1234567")
    staff_page.get_by_role("button", name="Create order").click()
    amount = staff_page.get_by_label("Amount", exact=True)
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(staff_page.locator("#amount-error")).to_contain_text("more than 6 decimal places")
    expect(staff_page.get_by_role("alert")).to_contain_text("Please correct the fields marked below")


def test_a_signed_out_visit_lands_on_sign_in(shop: Shop, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{shop.url}/orders")
    expect(page).to_have_url(re.compile(r"/login\?next=/orders"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.context.close()


def test_a_chinese_reader_gets_chinese_and_can_switch(shop: Shop, browser: Browser, staff_page: Page) -> None:
    from .conftest import new_page, screenshot
    from .test_pages import check_page

    request_no = create_order_in_ui(staff_page, shop)
    shopper = new_page(browser, 375, 740, locale="zh-CN")
    shopper.goto(f"{shop.url}/pay/{request_no}")
    expect(shopper.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(shopper.get_by_role("heading", name="您的付款")).to_be_visible()
    expect(shopper.locator(".countdown")).to_have_text(re.compile(r"^剩余 \d\d:\d\d$"))
    check_page(shopper)
    screenshot(shopper, "phone-pay-zh")

    shopper.get_by_role("button", name="English").click()
    expect(shopper.get_by_role("heading", name="Your payment")).to_be_visible()
    expect(shopper.locator(".countdown")).to_have_text(re.compile(r"^\d\d:\d\d left$"))
    shopper.goto(f"{shop.url}/checkout/return/{request_no}")
    expect(shopper.locator("html")).to_have_attribute("lang", "en")
    expect(shopper.get_by_text("Waiting for your payment")).to_be_visible()
    shopper.context.close()

    # Staff switch too, and the live list speaks the chosen language.
    staff_page.goto(f"{shop.url}/orders")
    staff_page.get_by_role("button", name="简体中文").click()
    expect(staff_page.get_by_role("heading", name="订单", exact=True)).to_be_visible()
    row = staff_page.locator(f"#order-{request_no}")
    expect(row).to_contain_text("待支付")
    mark_page(staff_page)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    expect(row).to_contain_text("已支付")
    expect(staff_page.locator("#list-status")).to_contain_text("已支付")
    assert_not_reloaded(staff_page)
    screenshot(staff_page, "order-list-zh")
    phone = new_page(browser, 375, 740)
    phone.context.add_cookies(  # signed in, Chinese chosen
        [
            {
                "name": c["name"],
                "value": c["value"],
                "domain": c["domain"],
                "path": c["path"],
                "expires": c["expires"],
                "httpOnly": c["httpOnly"],
                "secure": c["secure"],
                "sameSite": c["sameSite"],
            }
            for c in staff_page.context.cookies()
        ]
    )
    for page in (staff_page, phone):
        for path in ("/", "/orders", "/orders/new", f"/orders/{request_no}", "/deliveries"):
            page.goto(shop.url + path)
            expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
            check_page(page)
    phone.context.close()


def test_the_lifecycle_is_redrawn_live_on_the_order_page(shop: Shop, staff_page: Page) -> None:
    request_no = create_order_in_ui(staff_page, shop)
    current = staff_page.locator(".lifecycle__node.is-current")
    expect(current).to_have_attribute("data-status", "UNPAID")
    mark_page(staff_page)
    staff_page.evaluate("document.getElementById('order-announcer').dataset.testMark = 'same region'")
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    expect(current).to_have_attribute("data-status", "COMPLETED")
    # Screen readers hear it: the live region keeps its element and gets the new status.
    announcer = staff_page.locator("#order-announcer")
    expect(announcer).to_have_text("Status: Paid.")
    expect(announcer).to_have_attribute("aria-live", "polite")
    assert announcer.evaluate("el => el.dataset.testMark") == "same region"
    expect(staff_page.locator(".lifecycle__steps li")).to_have_count(3)
    expect(staff_page.locator(".lifecycle__steps li").last).to_contain_text("notification #")
    assert_not_reloaded(staff_page)


def test_an_examplepay_order_is_paid_then_refunded(shop: Shop, staff_page: Page, shopper_page: Page) -> None:
    staff_page.goto(f"{shop.url}/orders/new")
    staff_page.get_by_role("link", name="ExamplePay (UPI or PIX)").click()
    staff_page.get_by_label("Description shown to the shopper").fill("Masala chai, 250 g")
    staff_page.get_by_label("Amount", exact=True).fill("499.00")
    staff_page.get_by_label("Shopper's name").fill("Asha Rao")
    staff_page.get_by_label("Shopper's email").fill("asha@example.com")
    staff_page.get_by_label("Shopper's phone").fill("9000000000")
    staff_page.get_by_role("button", name="Create order").click()
    staff_page.wait_for_url(re.compile(r"/orders/SP[0-9A-F]+$"))
    request_no = staff_page.url.rsplit("/", 1)[1]
    expect(staff_page.get_by_text("ExamplePay", exact=True)).to_be_visible()

    shopper_page.goto(f"{shop.url}/pay/{request_no}")
    shopper_page.get_by_role("link", name="Continue to payment").click()
    shopper_page.wait_for_url(re.compile(r"/examplepay-sandbox/pay/"))
    shopper_page.get_by_role("button", name="Pay 499.00 INR").click()
    shopper_page.wait_for_url(re.compile(rf"/checkout/return/{request_no}"))
    expect(shopper_page.get_by_text("Payment received")).to_be_visible()

    # The order page turns paid by itself, then a manager refunds part of it, with a confirmation.
    expect(staff_page.locator(".lifecycle__node.is-current")).to_have_attribute("data-status", "COMPLETED")
    staff_page.get_by_text("Refund…").click()
    staff_page.get_by_label("Amount to refund").fill("100.00")
    staff_page.get_by_label("Reason").fill("One pack damaged")
    staff_page.get_by_role("button", name="Yes, refund").click()
    expect(staff_page.get_by_text("Refund accepted by the gateway")).to_be_visible()
    refund_row = staff_page.locator("#refunds tbody tr")
    expect(refund_row).to_contain_text("One pack damaged")
    expect(refund_row).to_contain_text("Refunded")  # confirmed by the gateway's notification, live
    expect(staff_page.locator(".timeline")).to_contain_text("of 100.00 INR done")
    from .conftest import screenshot

    screenshot(staff_page, "refund")


def test_the_theme_follows_the_systems_dark_setting(shop: Shop, browser: Browser) -> None:
    def background(scheme: Literal["dark", "light"]) -> list[int]:
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{shop.url}/login")
        colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
        context.close()
        return [int(part) for part in re.findall(r"\d+", colour)[:3]]

    assert sum(background("dark")) < 3 * 60, "a dark background"
    assert sum(background("light")) > 3 * 200, "a light background"


def test_the_presenters_story_turns_the_list_green(shop: Shop, staff_page: Page) -> None:
    from .conftest import screenshot

    staff_page.goto(f"{shop.url}/demo")
    expect(staff_page.locator(".story__step.is-current")).to_contain_text("1. Staff create an order")
    screenshot(staff_page, "demo-story")
    staff_page.get_by_role("button", name="Create the order").click()
    expect(staff_page.locator(".story__step.is-current")).to_contain_text("2. The shopper pays")
    href = staff_page.get_by_role("link", name="Open the shopper's page").get_attribute("href")
    assert href is not None
    found = re.search(r"/pay/(SP[0-9A-F]+)", href)
    assert found is not None
    request_no = found.group(1)
    audience = staff_page.context.new_page()  # what the audience watches: the order list
    audience.goto(f"{shop.url}/orders")
    mark_page(audience)
    row = audience.locator(f"#order-{request_no}")
    expect(row).to_contain_text("Awaiting payment")
    staff_page.get_by_role("button", name="The shopper pays now").click()
    expect(staff_page.locator(".story__step.is-current")).to_contain_text("4. The list turns green")
    expect(staff_page.get_by_text("verified and applied")).to_be_visible()
    screenshot(staff_page, "demo-story-done")

    expect(row.locator(".badge--completed")).to_have_text("Paid")
    assert audience.evaluate("document.documentElement.dataset.testMark") == "loaded once", "no reload"

    # Hiding amounts for screen sharing.
    staff_page.get_by_role("button", name="Hide amounts").click()
    expect(staff_page.get_by_role("button", name="Hide amounts")).to_have_attribute("aria-pressed", "true")
    audience.reload()
    expect(audience.locator(f"#order-{request_no}")).to_contain_text("••• USDT")
    audience.close()


def test_a_month_of_orders_fills_the_overview(shop: Shop, staff_page: Page) -> None:
    from .conftest import screenshot

    staff_page.goto(f"{shop.url}/demo")
    staff_page.get_by_role("button", name="Fill the shop with a month of orders").click()
    expect(staff_page.get_by_text(re.compile(r"\d+ orders made over the last 30 days"))).to_be_visible()
    expect(staff_page.locator("h1")).to_have_text("Overview")
    assert staff_page.locator(".chart__bar").count() >= 30
    screenshot(staff_page, "overview-month")
    staff_page.goto(f"{shop.url}/orders")
    screenshot(staff_page, "order-list-month")
