"""The shop as it runs: a real server on a free port, its sandbox mounted, a temporary SQLite file."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server

from shop import create_app, gateways
from shop.cli import add_staff
from shop.gateways import sparkpay
from shop.orders import service
from sparkpay import seal_notification, signing
from tests.support import database_url, running

if TYPE_CHECKING:
    from shop.models import Order

PASSWORD = "correct horse battery staple"


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Shop:
    """A running shop: its base URL, the Flask app (for reading the database) and helpers."""

    url: str
    app: Any

    def add_staff(self, email: str, role: str = "manager") -> None:
        with self.app.app_context():
            add_staff(email, PASSWORD, role)

    def sign_in(self, email: str = "manager@shop.test", role: str = "manager") -> requests.Session:
        """A browser-like session signed in as a new staff member of ``role``."""
        self.add_staff(email, role)
        session = requests.Session()
        page = session.get(f"{self.url}/login")
        response = session.post(
            f"{self.url}/login",
            data={"csrf_token": csrf_token_in(page.text), "email": email, "password": PASSWORD},
            allow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return session

    def post_order_form(self, session: requests.Session, edition: str = "normal", **fields: Any) -> requests.Response:
        """Fill and send /orders/new as a browser would (hidden fields from the page)."""
        page = session.get(f"{self.url}/orders/new", params={"edition": edition})
        token = re.search(r'name="form_token" type="hidden" value="([^"]*)"', page.text)
        data = {
            "csrf_token": csrf_token_in(page.text),
            "edition": edition,
            "form_token": token.group(1) if token else "",
            "description": "Green tea",
            "goods_info": "1 x green tea, 250 g",
            "amount": "12.5",
            "currency": "USDT",
            "timeout_minutes": "30",
            **fields,
        }
        return session.post(f"{self.url}/orders/new", data=data, allow_redirects=False)

    def create_order(self, session: requests.Session, edition: str = "normal", **fields: Any) -> str:
        """Create an order through the form; return its request number."""
        response = self.post_order_form(session, edition, **fields)
        assert response.status_code == 303, response.text
        return response.headers["Location"].rsplit("/", 1)[1]

    def sandbox(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the sandbox's control surface (what a demo's buttons do)."""
        response = requests.request(method, f"{self.url}/sandbox/control{path}", timeout=10, **kwargs)
        assert response.status_code < 400, response.text
        return response

    def sandbox_readings(self, gateway: str) -> list[dict[str, Any]]:
        """The readings the gateway's embedded sandbox lists (``GET …/readings``)."""
        prefix = "/sandbox" if gateway == "sparkpay" else "/examplepay-sandbox"
        response = requests.get(f"{self.url}{prefix}/readings", timeout=10)
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()
        return listed

    def order_numbers(self) -> list[str]:
        """Every stored request number, newest first."""
        from shop.extensions import db
        from shop.models import Order

        with self.app.app_context():
            return list(db.session.scalars(db.select(Order.request_no).order_by(Order.id.desc())))

    def order(self, request_no: str) -> Order:
        """The stored order, read fresh from the database."""
        from shop.extensions import db
        from shop.models import Order

        with self.app.app_context():
            order = db.session.query(Order).filter_by(request_no=request_no).one()
            _ = order.events, order.notifications, order.refunds  # load them before the session closes
            db.session.expunge_all()
            return order


def statement(shop: Shop, request_no: str, pay_status: str = "COMPLETED", **changes: Any) -> dict[str, Any]:
    """What the gateway says about an order in a notification (§6 of sparkpay-api.md)."""
    now = int(time.time())
    data = {
        "request_no": request_no,
        "merchant_customer_no": shop.app.config["SPARKPAY_MERCHANT_NO"],
        "app_id": shop.app.config["SPARKPAY_APP_ID"],
        "pay_status": pay_status,
        "payment_order_no": "PO" + request_no,
        "total_amount": "12.5",
        "merchant_order_currency": "USDT",
        "pay_time": now if pay_status == "COMPLETED" else 0,
        "completed_time": now if pay_status == "COMPLETED" else 0,
        "pay_network_info": {"pay_network": 2, "tx_hash": "0x" + "ab" * 32, "payer_addr": "0x" + "cd" * 20},
    }
    data.update(changes)
    return data


def sealed(shop: Shop, data: dict[str, Any], merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> bytes:
    return seal_notification(
        json.dumps(data).encode(),
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        app_id=shop.app.config["SPARKPAY_APP_ID"],
    )


def deliver(shop: Shop, body: bytes) -> requests.Response:
    return requests.post(
        f"{shop.url}/webhooks/sparkpay", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )


class _LateBoundApp:
    """A WSGI app set after the server is bound, so the app can be told its own port."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


def text_of(page: str) -> str:
    """A page's words as a reader sees them: tags gone, entities read, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def sparkpay_form(**fields: Any) -> Any:
    """SparkPay's creation form filled in as staff would (call inside a request context)."""
    data = {
        "edition": "normal",
        "description": "Green tea",
        "goods_info": "1 x green tea, 250 g",
        "amount": "12.5",
        "currency": "USDT",
        "timeout_minutes": "30",
        **fields,
    }
    return gateways.get(sparkpay.NAME).form(data["edition"], formdata=MultiDict(data))


def create_in_process(shop: Shop, **fields: Any) -> str:
    """An order created through the order service (as the form's view does), at SparkPay; its
    request number."""
    with shop.app.test_request_context():
        result = service.create_order(gateways.get(sparkpay.NAME), sparkpay_form(**fields), "staff@shop.test")
        return result.order.request_no


def start_shop(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, **overrides: Any
) -> Generator[Shop, None, None]:
    late = _LateBoundApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    config = {
        "PUBLIC_BASE_URL": url,
        "DATABASE_URL": database_url(tmp_path),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SPARKPAY_PRIVATE_KEY": signing.private_key_pem(merchant_key).decode(),
        "SANDBOX_PLATFORM_PRIVATE_KEY": signing.private_key_pem(platform_key).decode(),
        "RECONCILE_INTERVAL_SECONDS": 0,
        "RETURN_PAGE_QUERY_INTERVAL_SECONDS": 0,
        "SANDBOX_RETRY_SCALE": 0.01,
        "SPARKPAY_MAX_RETRIES": 1,
        "SPARKPAY_TIMEOUT": (2.0, 3.0),
        **overrides,
    }
    late.app = create_app(config, instance_path=str(tmp_path / "instance"))
    try:
        with running(server):
            yield Shop(url, late.app)
    finally:
        for name in ("sparkpay_sandbox", "examplepay_sandbox"):
            sandbox = late.app.extensions.get(name)
            if sandbox is not None:
                sandbox.stop()
        with late.app.app_context():
            from shop.extensions import db

            db.engine.dispose()


def marked_readings(request: pytest.FixtureRequest) -> str:
    """The SparkPay sandbox readings of the test's ``readings`` mark, as SANDBOX_READINGS says them."""
    marker = request.node.get_closest_marker("readings")
    return ",".join(f"{k}={v}" for k, v in marker.kwargs.items()) if marker else ""


@pytest.fixture
def shop(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    yield from start_shop(tmp_path, merchant_key, platform_key)


@pytest.fixture
def manager(shop: Shop) -> requests.Session:
    return shop.sign_in("manager@shop.test", "manager")


@pytest.fixture
def viewer(shop: Shop) -> requests.Session:
    return shop.sign_in("viewer@shop.test", "viewer")
