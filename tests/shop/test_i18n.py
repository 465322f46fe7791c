"""English and Simplified Chinese: every page in both, chosen from the browser or the switch,
with amounts and dates written the reader's way, and a catalogue with nothing left out."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest
import requests
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from werkzeug.exceptions import HTTPException

from examplepay import readings as examplepay_readings
from shop.notes import Note, note, verbatim
from sparkpay.networks import CRYPTO_CURRENCIES, FIAT_CURRENCIES, Network
from tests.support import wait_for

from .conftest import Shop, csrf_token_in, deliver, sealed, statement
from .test_examplepay import create as create_examplepay
from .test_examplepay import examplepay

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "shop" / "translations" / "zh_Hans" / "LC_MESSAGES"
#: babel's reader of babel.cfg (babel carries no annotations): (method map, options map).
read_mapping: Callable[[IO[str]], tuple[list[tuple[str, str]], dict[str, dict[str, str]]]] = parse_mapping_cfg
#: The keywords of the README's extract command.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "note": None, "ValidationError": (2,), "AmountRefused": None}

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: Words a Chinese page may show as they are: names, codes and units that are not translated.
NAMES = {
    "SparkPay",
    "Spark",
    "Sparkpay",
    "UTC",
    "CSV",
    "Pro",
    "ID",
    "AppID",
    "AES",
    "CA",
    "Unix",
    "KiB",  # units and algorithms, written alike in Chinese
    "SHA",
    "MiB",
    "URL",
    "http",
    "https",
    "Authorization",
    "guest",
    *CRYPTO_CURRENCIES,
    *FIAT_CURRENCIES,
    *" ".join(network.label for network in Network).split(),
    "ExamplePay",
    "UPI",
    "PIX",
    *examplepay_readings.PAY_METHOD_BY_CURRENCY,
}
#: Text that is data, not interface: emails, request numbers and other identifiers, snake_case names.
DATA = re.compile(r"\S+@\S+|\b[A-Z0-9]*\d[A-Z0-9]{6,}\b|\b\w+_\w+\b|\{\w+\}")


class VisibleText(HTMLParser):
    """The words a reader meets: text and the attributes read aloud or shown, except what the
    page marks as another language (``lang``), as not to be translated, or as code."""

    ATTRIBUTES = (
        "title",
        "placeholder",
        "aria-label",
        "alt",
        "data-expired-label",
        "data-left-label",
        "data-copied-label",
    )
    VOID: ClassVar[set[str]] = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self, other_language: str) -> None:
        super().__init__()
        self.other_language = other_language
        self.skipping: list[bool] = []
        self.parts: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        skip = bool(self.skipping and self.skipping[-1]) or (
            tag in ("script", "style", "pre")
            or values.get("translate") == "no"
            or "mono" in (values.get("class") or "").split()
            or (tag != "html" and (values.get("lang") or "").startswith(self.other_language))
        )
        if not skip:
            self.parts.extend(values[name] or "" for name in self.ATTRIBUTES if name in values)
        if tag not in self.VOID:
            self.skipping.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.skipping:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not (self.skipping and self.skipping[-1]):
            self.parts.append(data)


def untranslated(html: str, language: str, shop_name: str) -> list[str]:
    """What on the page is not in ``language``: English words on a Chinese page, Chinese on an English one."""
    reader = VisibleText("en" if language == "zh_Hans" else "zh")
    reader.feed(html)
    text = DATA.sub(" ", " ".join(reader.parts).replace(shop_name, " "))
    if language == "zh_Hans":
        return sorted({word for word in re.findall(r"[A-Za-z]{2,}", text) if word not in NAMES})
    return sorted(set(CJK.findall(text)))


def test_the_reader_finds_words_in_the_other_language() -> None:
    page = '<html lang="zh-Hans"><title>订单</title><p title="Copy">复制 <span lang="en">Verbatim</span> Left</p><pre>{"a": 1}</pre></html>'
    assert untranslated(page, "zh_Hans", "Shop") == ["Copy", "Left"]
    page = '<html lang="en"><p>Order 订单 <button lang="zh-Hans">中文</button></p></html>'
    assert untranslated(page, "en", "Shop") == ["单", "订"]


class Pages:
    """Fetches pages in one language and keeps what each page was."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.adapter = shop.app.url_map.bind("localhost")
        self.seen: set[str] = set()

    def check(
        self,
        session: requests.Session,
        path: str,
        language: str,
        *,
        status: int = 200,
        method: str = "GET",
        **kwargs: Any,
    ) -> str:
        response = session.request(method, self.shop.url + path, cookies={"lang": language}, **kwargs)
        assert response.status_code == status, (path, response.status_code)
        final_path = response.url.removeprefix(self.shop.url)
        with contextlib.suppress(HTTPException):  # an error page has no endpoint of its own
            self.seen.add(self.adapter.match(final_path.split("?")[0], method="GET")[0])
        html = response.text
        if "<html" in html:
            assert f'<html lang="{language.replace("_", "-")}">' in html, path
        missing = untranslated(html, language, self.shop.app.config["SHOP_NAME"])
        assert not missing, f"{path} in {language}: {missing}"
        return html


def delivery_ids(shop: Shop) -> list[int]:
    from shop.extensions import db
    from shop.models import Notification

    with shop.app.app_context():
        return list(db.session.scalars(db.select(Notification.id).order_by(Notification.id)))


@pytest.fixture
def every_kind_of_order(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> dict[str, str]:
    """Orders in every status and state a page can show, made through the shop and the sandbox."""
    data = {"description": "№ 1001", "goods_info": "2 × 500"}
    orders = {
        "unpaid": shop.create_order(manager, **data),
        "split": shop.create_order(
            manager, split="y", seller_amount="10", seller_addr="0x" + "ab" * 20, merchant_amount="2.5", **data
        ),
        "pro": shop.create_order(manager, edition="pro", currency="USD", currency_networks=["USDT:4"], **data),
        "paid": shop.create_order(manager, **data),
        "closed": shop.create_order(manager, **data),
        "flagged": shop.create_order(manager, **data),
    }
    shop.sandbox("POST", f"/orders/{orders['paid']}/pay", json={"network": 4})
    wait_for(lambda: shop.order(orders["paid"]).status == "COMPLETED", what="the payment")
    close = manager.get(f"{shop.url}/orders/{orders['closed']}")
    manager.post(f"{shop.url}/orders/{orders['closed']}/close", data={"csrf_token": csrf_token_in(close.text)})
    deliver(shop, sealed(shop, statement(shop, orders["flagged"], total_amount="99"), merchant_key, platform_key))
    deliver(shop, b'{"not": "signed"}')
    refused = shop.post_order_form(manager, amount="0.000001", **data)  # the gateway's minimum fee: FAILED
    assert refused.status_code == 422
    orders["failed"] = shop.order_numbers()[0]
    shop.sandbox("POST", "/faults", json={"api_http_500": -1})
    orders["creating"] = shop.create_order(manager, **data)
    shop.sandbox("POST", "/faults", json={"api_http_500": 0})
    orders["examplepay"] = create_examplepay(shop, manager, description="№ 1002", payer_name="№ 9")
    orders["examplepay_paid"] = create_examplepay(shop, manager, description="№ 1003", payer_name="№ 9")
    examplepay(shop, f"/payments/{orders['examplepay_paid']}/pay")
    wait_for(lambda: shop.order(orders["examplepay_paid"]).status == "COMPLETED", what="the ExamplePay payment")
    page = manager.get(f"{shop.url}/orders/{orders['examplepay_paid']}").text
    manager.post(
        f"{shop.url}/orders/{orders['examplepay_paid']}/refund",
        data={"csrf_token": csrf_token_in(page), "amount": "1.00", "reason": "№ 7"},
    )
    wait_for(
        lambda: [r.status for r in shop.order(orders["examplepay_paid"]).refunds] == ["REFUNDED"], what="the refund"
    )
    assert {shop.order(no).status for no in orders.values()} == {"UNPAID", "COMPLETED", "CLOSED", "FAILED", "CREATING"}
    manager.get(f"{shop.url}/orders")  # shows (and so clears) the messages of the actions above
    return orders


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_every_page_is_wholly_in_the_chosen_language(
    shop: Shop, manager: requests.Session, viewer: requests.Session, every_kind_of_order: dict[str, str], language: str
) -> None:
    pages = Pages(shop)
    orders = every_kind_of_order
    for path in (
        "/",
        "/orders",
        "/orders?status=COMPLETED",
        "/orders?q=nothing-matches",
        "/orders?page=2",
        "/orders/new",
        "/orders/new?edition=pro",
        "/orders/new?edition=examplepay",
        "/deliveries",
        "/deliveries?outcome=rejected",
        "/deliveries?q=nothing-matches",
        "/demo",
        "/settings",
    ):
        pages.check(manager, path, language)
    pages.check(manager, "/demo/story", language, status=286)
    open_orders = ",".join(orders[name] for name in ("unpaid", "split", "pro"))
    pages.check(manager, f"/orders/poll?open={open_orders}&v=0", language)
    for request_no in orders.values():
        pages.check(manager, f"/orders/{request_no}", language)
        pages.check(
            manager, f"/orders/{request_no}/live?v=-1", language, status=200 if shop.order(request_no).is_open else 286
        )
        pages.check(requests.Session(), f"/pay/{request_no}", language)
        pages.check(requests.Session(), f"/checkout/return/{request_no}", language)
        pages.check(
            requests.Session(),
            f"/checkout/return/{request_no}/status",
            language,
            status=200 if shop.order(request_no).is_open else 286,
        )
    for delivery_id in delivery_ids(shop):  # verified and applied, verified but not matching, refused
        pages.check(manager, f"/deliveries/{delivery_id}", language)

    # Forms with errors, messages after actions, and the error pages.
    form = manager.get(f"{shop.url}/orders/new").text
    pages.check(
        manager,
        "/orders/new",
        language,
        status=422,
        method="POST",
        data={
            "csrf_token": csrf_token_in(form),
            "edition": "normal",
            "amount": "1,5",
            "currency": "USDT",
            "timeout_minutes": "0",
        },
    )
    token = csrf_token_in(manager.get(f"{shop.url}/orders").text)
    pages.check(manager, f"/orders/{orders['unpaid']}/refresh", language, method="POST", data={"csrf_token": token})
    pages.check(manager, f"/orders/{orders['paid']}/close", language, method="POST", data={"csrf_token": token})
    pages.check(
        manager, f"/deliveries/{delivery_ids(shop)[0]}/replay", language, method="POST", data={"csrf_token": token}
    )
    pages.check(manager, "/orders/SP404404404404", language, status=404)
    pages.check(requests.Session(), "/pay/SP404404404404", language, status=404)
    pages.check(requests.Session(), "/no/such/page", language, status=404)
    pages.check(viewer, "/orders/new", language, status=403)
    pages.check(viewer, "/settings", language, status=403)
    pages.check(manager, "/settings", language, method="POST", data={"csrf_token": token})  # the self-test's lines
    pages.check(manager, f"/orders/{orders['unpaid']}/close", language, status=400, method="POST", data={})
    signed_out = requests.Session()
    pages.check(signed_out, "/orders", language)  # the sign-in page, with its "please sign in"
    pages.check(
        signed_out,
        "/login",
        language,
        method="POST",
        data={
            "csrf_token": csrf_token_in(signed_out.get(f"{shop.url}/login").text),
            "email": "x@shop.test",
            "password": "wrong",
        },
        status=401,
    )

    examplepay_form = manager.get(f"{shop.url}/orders/new?edition=examplepay").text
    pages.check(
        manager,
        "/orders/new",
        language,
        status=422,
        method="POST",
        data={
            "csrf_token": csrf_token_in(examplepay_form),
            "edition": "examplepay",
            "amount": "1.005",
            "currency": "INR",
        },
    )
    pages.check(
        manager,
        f"/orders/{orders['examplepay_paid']}/refund",
        language,
        method="POST",
        data={"csrf_token": token, "amount": "99999.00", "reason": "№ 8"},
    )

    # Nothing left out: every page of the shop (not the sandboxes', the gateways' own) was read.
    pages_of_the_shop = {
        rule.endpoint
        for rule in shop.app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.endpoint.startswith(("sandbox.", "examplepay_sandbox.", "static"))
        and rule.endpoint not in ("healthz", "dashboard.order_export")
    }
    assert pages_of_the_shop <= pages.seen, pages_of_the_shop - pages.seen


def test_the_language_comes_from_the_browser_and_the_switch_wins(shop: Shop) -> None:
    def language_of(session: requests.Session, accept: str | None = None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        found = re.search(r'<html lang="([^"]+)">', session.get(f"{shop.url}/login", headers=headers).text)
        assert found is not None
        return found.group(1)

    visitor = requests.Session()
    assert language_of(visitor) == "en"
    assert language_of(visitor, "zh-CN,zh;q=0.9,en;q=0.8") == "zh-Hans"
    assert language_of(visitor, "zh-TW") == "zh-Hans", "the only Chinese the shop has"
    assert language_of(visitor, "fr-FR,fr;q=0.9,en;q=0.5") == "en"
    assert language_of(visitor, "fr-FR,de;q=0.9") == "en", "the default"

    page = visitor.get(f"{shop.url}/login", headers={"Accept-Language": "en"})
    assert (
        '<button class="btn btn--ghost btn--small" type="submit" name="language" value="zh_Hans" lang="zh-Hans">简体中文</button>'
        in page.text
    )
    assert 'value="en"' not in page.text, "only the other language is offered"
    switched = visitor.post(
        f"{shop.url}/language",
        data={"csrf_token": csrf_token_in(page.text), "language": "zh_Hans", "next": "/login?next=%2Forders"},
        allow_redirects=False,
    )
    assert (switched.status_code, switched.headers["Location"]) == (303, "/login?next=%2Forders")
    assert "HttpOnly" in switched.headers["Set-Cookie"] and "SameSite=Lax" in switched.headers["Set-Cookie"]
    assert language_of(visitor, "en-US") == "zh-Hans", "the switch wins over the browser"
    assert "登录" in visitor.get(f"{shop.url}/login").text

    offsite = visitor.post(
        f"{shop.url}/language",
        data={"csrf_token": csrf_token_in(page.text), "language": "en", "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert offsite.headers["Location"] == "/"
    unknown = visitor.post(
        f"{shop.url}/language", data={"csrf_token": csrf_token_in(page.text), "language": "xx"}, allow_redirects=False
    )
    assert unknown.status_code == 303 and "Set-Cookie" not in unknown.headers
    assert language_of(visitor) == "en"
    assert visitor.post(f"{shop.url}/language", data={"language": "en"}).status_code == 400, "CSRF-protected"


def test_amounts_and_dates_are_written_the_readers_way(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager, amount="1234567.123456")
    created = shop.order(request_no).created_at

    english = manager.get(f"{shop.url}/orders/{request_no}", cookies={"lang": "en"}).text
    chinese = manager.get(f"{shop.url}/orders/{request_no}", cookies={"lang": "zh_Hans"}).text
    for page in (english, chinese):
        assert '<span class="amount">1,234,567.123456</span>' in page, "every decimal kept, grouped"
    assert f"{created:%b} {created.day}, {created.year}" in english
    assert f"{created.year}年{created.month}月{created.day}日" in chinese
    assert (
        "Vary" in (response := manager.get(f"{shop.url}/orders")).headers
        and "Accept-Language" in response.headers["Vary"]
    )


def test_stored_words_are_shown_in_the_readers_language_and_escaped(shop: Shop) -> None:
    stored = note(
        "Gateway data does not match: %(problem)s.",
        problem=note("currency %(currency)s differs from the stored %(stored)s", currency="<b>X</b>", stored="USDT"),
    )
    assert Note.from_stored(stored.to_json()) == stored
    assert Note.from_stored("Written before notes existed.") == verbatim("Written before notes existed.")
    assert not Note.from_stored("")
    with shop.app.test_request_context(headers={"Cookie": "lang=zh_Hans"}):
        assert str(stored) == "网关数据不符：币种 <b>X</b> 与记录的 USDT 不同。"
        assert stored.__html__() == "网关数据不符：币种 &lt;b&gt;X&lt;/b&gt; 与记录的 USDT 不同。"
        assert verbatim("<script>").__html__() == '<span lang="en">&lt;script&gt;</span>'
    with shop.app.test_request_context():
        assert str(stored) == "Gateway data does not match: currency <b>X</b> differs from the stored USDT."


def test_the_catalogue_holds_every_marked_string_translated_and_compiled() -> None:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = read_mapping(config)
    marked = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    with open(CATALOGUE / "messages.po", "rb") as po:
        catalogue = read_po(po)
    entries = {entry.id: entry for entry in catalogue if entry.id}
    assert marked - entries.keys() == set(), "marked in the code but not in the catalogue: run the README's update"
    assert entries.keys() - marked == set(), "in the catalogue but no longer used"
    assert [
        entry.id
        for entry in entries.values()
        if not entry.string
        or entry.fuzzy
        or not all(entry.string if isinstance(entry.string, tuple) else [entry.string])
    ] == []
    assert [(entry.id, errors) for entry, errors in catalogue.check()] == [], "placeholders must match"

    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    with open(CATALOGUE / "messages.mo", "rb") as mo:
        shipped = read_mo(mo)
    fresh = read_mo(compiled)

    def translations(catalogue: Catalog) -> dict[str, str]:
        return {str(m.id): str(m.string) for m in catalogue if m.id}

    assert translations(shipped) == translations(fresh), "compile the catalogue (README)"
