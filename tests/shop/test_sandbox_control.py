"""The embedded sandboxes' controls are for their owner (issue 18, item 5): a page of another site
that a staff member visits cannot pay, expire, fault or reset anything; the sandboxes' own forms
carry a token; scripts (JSON, or no body) still drive them; next to a real gateway there are none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import signing
from tests.support import sandbox_token

from .conftest import Shop, start_shop

#: What a browser adds to a form post that a page of another site started.
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


def sandbox_status(shop: Shop, request_no: str) -> str:
    status: str = shop.sandbox("GET", f"/orders/{request_no}").json()["pay_status"]
    return status


def faults(shop: Shop) -> dict[str, Any]:
    switches: dict[str, Any] = shop.sandbox("GET", "/faults").json()["faults"]
    return switches


@pytest.mark.parametrize(
    "browser",
    [
        CROSS_SITE,
        {"Origin": "https://evil.example"},  # a browser that sends no Sec-Fetch-* headers
        {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of this host
        {},  # no header at all, but a form without the token
    ],
    ids=["cross-site", "origin-only", "same-site", "no-token"],
)
def test_a_cross_site_form_post_cannot_pay_fault_expire_or_reset_the_sandbox(
    shop: Shop, manager: requests.Session, browser: dict[str, str]
) -> None:
    request_no = shop.create_order(manager, networks=["2"])
    cashier_url = shop.order(request_no).cashier_url
    assert cashier_url is not None
    before = faults(shop)
    attempts = [
        (f"/sandbox/control/orders/{request_no}/pay", {"go": "1"}),
        (f"/sandbox/control/orders/{request_no}/expire", {"go": "1"}),
        (f"/sandbox/control/orders/{request_no}/notify", {"go": "1"}),
        ("/sandbox/control/faults", {"notify_drop": "-1", "api_http_500": "-1"}),
        ("/sandbox/control/reset", {"go": "1"}),
        (cashier_url.removeprefix(shop.url) + "/pay", {"offer": "USDT:2"}),
    ]
    for path, form in attempts:
        response = requests.post(f"{shop.url}{path}", data=form, headers=browser, allow_redirects=False)
        assert response.status_code == 403, (path, response.status_code, response.text)
        assert "refused" in response.json()["error"], path
    assert sandbox_status(shop, request_no) == "UNPAID", "neither paid, expired nor reset"
    assert faults(shop) == before
    assert shop.order(request_no).status == "UNPAID"


def test_the_sandbox_pages_own_forms_carry_a_token_and_work(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, networks=["2"])
    owner = requests.Session()
    home = owner.get(f"{shop.url}/sandbox/")
    cookie = home.headers["Set-Cookie"]
    assert "sparkpay_sandbox_token=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/sandbox/" in cookie, "the shop's own pages never get it"
    same_origin = {"Origin": shop.url, "Sec-Fetch-Site": "same-origin"}
    token = sandbox_token(home.text)
    saved = owner.post(
        f"{shop.url}/sandbox/control/faults",
        data={"notify_drop": "0", "sandbox_token": token},
        headers=same_origin,
        allow_redirects=False,
    )
    assert saved.status_code == 303
    paid = owner.post(
        f"{shop.url}/sandbox/control/orders/{request_no}/pay",
        data={"go": "1", "sandbox_token": token},
        headers=same_origin,
        allow_redirects=False,
    )
    assert paid.status_code == 303 and sandbox_status(shop, request_no) == "COMPLETED"
    stranger = requests.post(
        f"{shop.url}/sandbox/control/orders/{request_no}/notify",
        data={"go": "1", "sandbox_token": token},  # the token without its cookie
        allow_redirects=False,
    )
    assert stranger.status_code == 403


def test_a_script_still_drives_the_control_api_but_a_cross_site_json_call_does_not(
    shop: Shop, manager: requests.Session
) -> None:
    request_no = shop.create_order(manager, networks=["2"])
    cross_site = requests.post(
        f"{shop.url}/sandbox/control/orders/{request_no}/pay", json={"network": 2}, headers=CROSS_SITE
    )
    assert cross_site.status_code == 403
    assert requests.post(f"{shop.url}/sandbox/control/faults", json={"notify_drop": 0}).status_code == 200
    assert requests.post(f"{shop.url}/sandbox/control/orders/{request_no}/expire").status_code == 200  # no body
    assert sandbox_status(shop, request_no) == "CLOSED"


def test_the_examplepay_sandbox_refuses_other_sites_too(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(
        manager,
        edition="examplepay",
        description="Masala chai, 250 g",
        amount="499.00",
        currency="INR",
        payer_name="Asha Rao",
        payer_email="asha@example.com",
        payer_phone="9000000000",
    )
    page_url = shop.order(request_no).cashier_url
    assert page_url is not None
    control = f"{shop.url}/examplepay-sandbox/control"

    def held() -> str:
        (payment,) = requests.get(f"{control}/payments").json()
        status: str = payment["status"]
        return status

    for url, form in (
        (f"{control}/payments/{request_no}/pay", {}),
        (f"{control}/notifications/pause", {}),
        (f"{control}/faults", {"failing_creates": "5"}),
        (page_url, {"action": "pay"}),
    ):
        response = requests.post(url, data=form or {"x": "1"}, headers=CROSS_SITE, allow_redirects=False)
        assert response.status_code == 403, (url, response.text)
    no_token = requests.post(page_url, data={"action": "pay"}, allow_redirects=False)
    assert no_token.status_code == 403
    assert held() == "PENDING"

    shopper = requests.Session()
    token = sandbox_token(shopper.get(page_url).text)
    paid = shopper.post(page_url, data={"action": "pay", "sandbox_token": token}, allow_redirects=False)
    assert paid.status_code == 303 and held() == "PAID"


def test_the_sandboxes_are_absent_next_to_a_real_gateway(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    real = {
        "SPARKPAY_BASE_URL": "https://api.sparkpay.invalid",
        "SPARKPAY_APP_ID": "APPREAL",
        "SPARKPAY_MERCHANT_NO": "MREAL",
        "SPARKPAY_PLATFORM_PUBLIC_KEY": signing.public_key_pem(platform_key.public_key()).decode(),
    }
    for shop in start_shop(tmp_path, merchant_key, platform_key, **real):
        assert "sparkpay_sandbox" not in shop.app.extensions and "examplepay_sandbox" not in shop.app.extensions
        for method, path in (
            ("GET", "/sandbox/"),
            ("POST", "/sandbox/control/reset"),
            ("POST", "/sandbox/control/faults"),
            ("GET", "/sandbox/control/deliveries"),
            ("POST", "/examplepay-sandbox/control/faults"),
            ("GET", "/examplepay-sandbox/control/payments"),
        ):
            assert requests.request(method, f"{shop.url}{path}", json={}).status_code == 404, path
