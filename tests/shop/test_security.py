"""Only staff reach the dashboard, only signed notifications move orders, and the browser is told so."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import signing

from .conftest import PASSWORD, Shop, csrf_token_in

#: Endpoints anyone may reach. Every other endpoint must send a signed-out visitor to sign in,
#: so a new dashboard route cannot be left open by mistake.
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "i18n.switch", "static", "healthz"}
PUBLIC_BLUEPRINTS = ("checkout.", "webhooks.", "sandbox.", "examplepay_sandbox.")


def staff_urls(shop: Shop) -> list[tuple[str, str]]:
    """(method, path) of every protected route in the URL map, with sample arguments."""
    urls = []
    for rule in shop.app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(PUBLIC_BLUEPRINTS):
            continue
        path = re.sub(r"<int[:(][^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "SPSAMPLE", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_every_staff_url_sends_a_signed_out_visitor_to_sign_in(shop: Shop) -> None:
    urls = staff_urls(shop)
    assert ("GET", "/orders") in urls and ("POST", "/orders/SPSAMPLE/close") in urls
    visitor = requests.Session()
    token = csrf_token_in(visitor.get(f"{shop.url}/login").text)
    for method, path in urls:
        response = visitor.request(method, shop.url + path, data={"csrf_token": token}, allow_redirects=False)
        assert response.status_code == 302, (method, path, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, path)


def test_an_htmx_poll_from_an_expired_session_redirects_the_whole_page(shop: Shop) -> None:
    response = requests.get(
        f"{shop.url}/orders/poll?open=SPX&v=1", headers={"HX-Request": "true"}, allow_redirects=False
    )
    assert response.status_code == 204, "nothing is swapped into the table"
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_a_viewer_can_read_but_not_create_or_close(
    shop: Shop, manager: requests.Session, viewer: requests.Session
) -> None:
    request_no = shop.create_order(manager)
    detail = viewer.get(f"{shop.url}/orders/{request_no}")
    assert detail.status_code == 200
    assert "Close order" not in detail.text and "New order" not in viewer.get(f"{shop.url}/orders").text
    assert viewer.get(f"{shop.url}/orders/new").status_code == 403
    token = csrf_token_in(detail.text)
    refused_create = viewer.post(f"{shop.url}/orders/new", data={"csrf_token": token, "description": "x"})
    refused_close = viewer.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": token})
    assert refused_create.status_code == refused_close.status_code == 403
    assert "can view orders but not create or close them" in refused_close.text
    assert shop.order(request_no).status == "UNPAID"


def test_a_post_without_csrf_token_is_refused(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    without = manager.post(f"{shop.url}/orders/{request_no}/close", data={})
    assert without.status_code == 400 and "form has expired" in without.text
    htmx_without = manager.post(f"{shop.url}/orders/{request_no}/close", headers={"HX-Request": "true"})
    assert htmx_without.status_code == 400
    forged = manager.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert shop.order(request_no).status == "UNPAID"
    with_header = manager.post(
        f"{shop.url}/orders/{request_no}/close",
        headers={"X-CSRFToken": csrf_token_in(manager.get(f"{shop.url}/orders").text)},
    )
    assert "Order closed" in with_header.text


def test_security_headers_and_cookie_flags(shop: Shop) -> None:
    response = requests.get(f"{shop.url}/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
    assert '"allowEval":false' in response.text and '"includeIndicatorStyles":false' in response.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), "no inline script"
    assert " style=" not in response.text, "no inline style"


def test_the_session_cookie_is_secure_behind_https(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    from .conftest import start_shop

    for shop in start_shop(tmp_path, merchant_key, platform_key, PUBLIC_BASE_URL="https://shop.example"):
        cookie = requests.get(f"{shop.url}/login").headers["Set-Cookie"]
        assert "Secure" in cookie


def test_sign_in_is_throttled(shop: Shop) -> None:
    shop.add_staff("target@shop.test")
    visitor = requests.Session()
    token = csrf_token_in(visitor.get(f"{shop.url}/login").text)
    codes = [
        visitor.post(
            f"{shop.url}/login", data={"csrf_token": token, "email": "target@shop.test", "password": f"guess {i}"}
        ).status_code
        for i in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    right = visitor.post(
        f"{shop.url}/login",
        data={"csrf_token": token, "email": "target@shop.test", "password": PASSWORD},
        allow_redirects=False,
    )
    assert right.status_code == 429, "the limit holds even for the right password"


@pytest.mark.parametrize(
    "target", ["https://evil.example/orders", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_never_leaves_the_site(shop: Shop, target: str) -> None:
    shop.add_staff("staff@shop.test")
    visitor = requests.Session()
    page = visitor.get(f"{shop.url}/login", params={"next": target})
    assert re.search(r'<input id="next" name="next" type="hidden" value="">', page.text), "the sign-in form drops it"
    assert not re.search(r'(href|action)="[^"]*evil', page.text)
    response = visitor.post(
        f"{shop.url}/login",
        data={"csrf_token": csrf_token_in(page.text), "email": "staff@shop.test", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/orders"


def test_next_to_a_local_page_is_kept(shop: Shop) -> None:
    shop.add_staff("staff@shop.test")
    visitor = requests.Session()
    first = visitor.get(f"{shop.url}/orders/new?edition=pro")
    assert "next=" in first.url
    response = visitor.post(
        first.url,
        data={
            "csrf_token": csrf_token_in(first.text),
            "email": "staff@shop.test",
            "password": PASSWORD,
            "next": "/orders/new?edition=pro",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/orders/new?edition=pro"


def test_no_secret_reaches_a_page_or_a_log(
    shop: Shop,
    manager: requests.Session,
    merchant_key: RSAPrivateKey,
    platform_key: RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    pages = [
        manager.get(f"{shop.url}{path}").text
        for path in ("/orders", f"/orders/{request_no}", "/orders/new", "/sandbox/")
    ]
    pages.append(requests.get(f"{shop.url}/pay/{request_no}").text)
    secrets = [
        signing.private_key_pem(merchant_key).decode().splitlines()[5],
        signing.private_key_pem(platform_key).decode().splitlines()[5],
        shop.app.config["SECRET_KEY"],
        PASSWORD,
    ]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert all(secret not in page for page in pages)
        assert secret not in logged
