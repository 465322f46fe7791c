"""Every rule of the URL map, signed in as each role and signed out, with generated path values,
query strings, form bodies (with and without a valid CSRF token) and raw bodies, against a real
running shop with a month of demo data: no answer is a 5xx, and nothing logs an unhandled error
(a streamed page that fails half-way still answers 200, so the log is checked too)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.routing import Rule

from shop.extensions import db
from shop.models import Notification, Order
from tests.shop.conftest import PASSWORD, Shop, csrf_token_in, deliver, start_shop

from .test_fuzz import json_values

ROLES = ("manager", "viewer", "signed out")
EMAILS = {"manager": "manager@fuzz.test", "viewer": "viewer@fuzz.test"}
#: Left out of the walk, and why:
EXCLUDED = {
    # It reads nothing but its CSRF token, takes seconds (a month of orders made through the
    # sandbox, the shop's clock moved back meanwhile), and the fixture has already run it once.
    "demo.fill",
}
#: How many generated requests the walk sends: the whole file takes about 40 s on two cores.
EXAMPLES = 3000

#: Values people and scanners put in URLs and forms: edges of numbers and dates, redirect tricks,
#: control and bidi characters, markup, other scripts, encodings, and very long text.
EDGES = (
    "",
    "0",
    "-1",
    "1e30",
    "1" * 39,
    "999999999999999999999",
    "9" * 5000,
    "NaN",
    "Infinity",
    "1.0000001",
    "9999-12-31",
    "0000-01-01",
    "2026-02-30",
    "\x00",
    "\n",
    "\r\nSet-Cookie: x=1",
    "//evil.example",
    "https://evil.example/",
    "\\\\evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "%",
    "%00",
    "%ff%fe",
    "\u202eevil",
    "\u2028",
    "𝟙𝟚",
    "绿茶",
    "'\"<script>",
    "{{7*7}}",
    "../../etc/passwd",
    "a" * 3000,
    "USDT:4",
    "zh_Hans",
)
#: Numbers at the edges of what a database integer, an OFFSET or a date can hold.
NUMBERS = ("0", "-1", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808", "9" * 40, "1e3", "٣")
QUERY_KEYS = ("page", "q", "from", "to", "status", "outcome", "edition", "next", "v", "open", "error", "request_no")
FORM_KEYS = (
    "edition",
    "form_token",
    "amount",
    "currency",
    "description",
    "goods_info",
    "timeout_minutes",
    "networks",
    "currency_networks",
    "split",
    "seller_amount",
    "seller_addr",
    "merchant_amount",
    "other_addr_1",
    "other_amount_1",
    "payer_name",
    "payer_email",
    "payer_phone",
    "merchant_order_no",
    "user_id",
    "email",
    "password",
    "next",
    "language",
    "hide",
    "reason",
    "offer",
    "network",
    "action",
)
CONTENT_TYPES = (
    None,
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "application/json; charset=utf-16",
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)  # no lone surrogates: not UTF-8


@dataclass
class Walk:
    """The running shop, a session per role (None: signed out) with its CSRF token, the values
    that name real things (an order, a delivery, a cashier page), and the errors logged."""

    shop: Shop
    sessions: dict[str, requests.Session] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    known: dict[str, list[str]] = field(default_factory=dict)
    errors: list[logging.LogRecord] = field(default_factory=list)

    def sign_in(self, role: str) -> None:
        session = requests.Session()
        if role != "signed out":
            page = session.get(f"{self.shop.url}/login")
            answer = session.post(
                f"{self.shop.url}/login",
                data={"csrf_token": csrf_token_in(page.text), "email": EMAILS[role], "password": PASSWORD},
                allow_redirects=False,
            )
            assert answer.status_code == 303, answer.text
        page = session.get(f"{self.shop.url}/login" if role == "signed out" else f"{self.shop.url}/orders")
        self.sessions[role], self.tokens[role] = session, csrf_token_in(page.text)


class ErrorLog(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def walk(
    tmp_path_factory: pytest.TempPathFactory, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> Iterator[Walk]:
    # The sign-in limit would turn the walk's own re-sign-ins into 429s after its random posts to
    # /login; it is tested on its own (tests/shop/test_security.py).
    for shop in start_shop(
        tmp_path_factory.mktemp("url-map-fuzz"), merchant_key, platform_key, LOGIN_RATE_LIMIT="100000 per minute"
    ):
        for role, email in EMAILS.items():
            shop.add_staff(email, role)
        walk = Walk(shop)
        for role in ROLES:
            walk.sign_in(role)
        filled = walk.sessions["manager"].post(
            f"{shop.url}/demo/fill", data={"csrf_token": walk.tokens["manager"]}, allow_redirects=False
        )
        assert filled.status_code == 303, filled.text
        deliver(shop, b"[" * 20_000)  # a refused delivery too
        with shop.app.app_context():
            orders = db.session.scalars(select(Order).order_by(Order.id)).all()
            deliveries = db.session.execute(select(func.min(Notification.id), func.max(Notification.id))).one()
        cashier = [o.cashier_url.rsplit("/", 1)[1] for o in orders if o.cashier_url]
        walk.known = {
            "request_no": [orders[0].request_no, orders[-1].request_no, orders[-1].request_no.lower()],
            "int": [str(n) for n in deliveries],
            "token": cashier[:2],
            "gateway": ["sparkpay", "examplepay"],
            "switch": ["pause", "resume"],
            "action": ["pay", "close"],
            "merchant_no": [shop.app.config["SPARKPAY_MERCHANT_NO"]],
        }
        handler = ErrorLog(walk.errors)
        logging.getLogger().addHandler(handler)
        try:
            yield walk
        finally:
            logging.getLogger().removeHandler(handler)


def rules(walk: Walk) -> list[Rule]:
    return sorted((r for r in walk.shop.app.url_map.iter_rules() if r.endpoint not in EXCLUDED), key=lambda r: r.rule)


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each ``<converter:name>`` replaced by its (already encoded) value."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


def path_value(walk: Walk, converter: str, name: str) -> st.SearchStrategy[str]:
    """An encoded path segment: a real one, an edge, random text, raw percent-encoded bytes or
    (for ints) huge and negative numbers."""
    known = walk.known.get("int" if converter == "IntegerConverter" else name, [])
    safe = "/" if converter == "PathConverter" else ""
    choices = [
        st.sampled_from(known or ["SPX"]).map(lambda v: quote(v, safe="")),
        st.sampled_from(NUMBERS).map(lambda v: quote(v, safe="")),
        st.sampled_from(EDGES).map(lambda v: quote(v, safe=safe)),
        text.filter(lambda v: v.strip(".")).map(lambda v: quote(v, safe=safe)),
        st.binary(min_size=1, max_size=12).map(lambda b: "".join(f"%{x:02X}" for x in b)),
        st.integers(min_value=-(2**70), max_value=2**130).map(str),
    ]
    # An empty, "." or ".." segment is not the rule's any more (the URL is another one).
    return st.one_of(choices).filter(lambda v: v.strip("."))


values = st.one_of(
    st.sampled_from(EDGES), st.sampled_from(NUMBERS), text, st.integers(min_value=-(2**70), max_value=2**70).map(str)
)


@dataclass(frozen=True)
class Call:
    role: str
    method: str
    path: str
    query: str
    body: Any
    headers: dict[str, str]

    def __str__(self) -> str:
        body = self.body if not isinstance(self.body, bytes) or len(self.body) < 200 else self.body[:200] + b"..."
        return f"{self.method} {self.path}?{self.query[:300]} as {self.role}, body {body!r}, headers {self.headers}"


@st.composite
def calls(draw: st.DrawFn, walk: Walk) -> Call:
    rule = draw(st.sampled_from(rules(walk)))
    role = draw(st.sampled_from(ROLES))
    methods = sorted(rule.methods or {"GET"})
    # Mostly the methods the rule was written for; HEAD and OPTIONS (Flask's own) now and then.
    method = draw(
        st.sampled_from([m for m in methods if m not in ("HEAD", "OPTIONS")] or methods) | st.sampled_from(methods)
    )
    converters = {name: type(converter).__name__ for name, converter in rule._converters.items()}
    path = fill(rule, {name: draw(path_value(walk, kind, name)) for name, kind in converters.items()})
    key = st.sampled_from(QUERY_KEYS) | st.sampled_from(QUERY_KEYS) | text  # mostly the names the views read
    pairs = draw(st.lists(st.tuples(key, values), max_size=5))
    raw_query = draw(st.binary(max_size=40).map(lambda b: "".join(f"%{x:02X}" for x in b)))
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs) or raw_query
    token = draw(st.sampled_from(["valid", "none", "wrong"]))
    csrf = {"valid": walk.tokens[role], "none": None, "wrong": "IjEi.not-a-token"}[token]
    headers = {"X-CSRFToken": csrf} if csrf and draw(st.booleans()) else {}
    if draw(st.booleans()):
        headers["HX-Request"] = "true"
    kind = draw(st.sampled_from(["none", "form", "raw"]))
    body: Any = None
    if kind == "form":
        form = draw(st.lists(st.tuples(st.sampled_from(FORM_KEYS) | text, values), max_size=8))
        body = [("csrf_token", csrf), *form] if csrf else form
    elif kind == "raw":
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        if content_type:
            headers["Content-Type"] = content_type
        body = draw(
            st.one_of(
                st.binary(max_size=300),
                json_values.map(lambda v: json.dumps(v).encode()),
                st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n),
                st.sampled_from([b"\xff\xfe\x00", b'{"a": 1e999999}', b"--x\r\nContent-Disposition: form-data\r\n"]),
            )
        )
    return Call(role, method, path, query, body, headers)


def send(walk: Walk, call: Call) -> requests.Response:
    session = walk.sessions[call.role]
    url = f"{walk.shop.url}{call.path}" + (f"?{call.query}" if call.query else "")
    return session.request(call.method, url, data=call.body, headers=call.headers, allow_redirects=False, timeout=30)


def check(walk: Walk, call: Call) -> None:
    before = len(walk.errors)
    response = send(walk, call)
    assert response.status_code < 500, f"{response.status_code} from {call}: {response.text[-1500:]}"
    logged = [f"{r.name}: {r.getMessage()}" for r in walk.errors[before:] if r.name.startswith(("shop", "werkzeug"))]
    assert not logged, f"{call} logged {logged}"
    if call.path == "/logout" and call.role != "signed out":
        walk.sign_in(call.role)  # it may have signed the role out: the next call is that role's again


def test_every_rule_answers_every_role_and_method_without_a_5xx(walk: Walk) -> None:
    """The sweep: each rule once per role and method, with real path values, so none is missed."""
    for rule in rules(walk):
        arguments = {name: quote(walk.known.get(name, walk.known["int"])[0], safe="") for name in rule.arguments}
        path = fill(rule, arguments)
        for role in ROLES:
            for method in sorted(rule.methods or {"GET"}):
                form = [("csrf_token", walk.tokens[role])] if method == "POST" else None
                check(walk, Call(role, method, path, "", form, {}))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_generated_requests_to_every_rule_get_no_5xx(walk: Walk, data: st.DataObject) -> None:
    check(walk, data.draw(calls(walk)))
