"""/deliveries: the webhook inspector, and replaying a stored delivery."""

from __future__ import annotations

import html
import re

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.extensions import db
from shop.models import Notification, Order, OrderEvent

from .conftest import Shop, csrf_token_in, deliver, sealed, statement


@pytest.fixture
def paid(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> tuple[str, int]:
    """An order paid by a genuine delivery: (request number, delivery id)."""
    request_no = shop.create_order(manager, networks=["2"])
    assert deliver(shop, sealed(shop, statement(shop, request_no), merchant_key, platform_key)).text == "SUCCESS"
    return request_no, _delivery_ids(shop)[-1]


def _delivery_ids(shop: Shop) -> list[int]:
    with shop.app.app_context():
        return list(db.session.scalars(db.select(Notification.id).order_by(Notification.id)))


def replay(shop: Shop, session: requests.Session, delivery_id: int) -> str:
    """Press "Replay" on the delivery's page; return the page it lands on."""
    page = session.get(f"{shop.url}/deliveries/{delivery_id}").text
    response = session.post(f"{shop.url}/deliveries/{delivery_id}/replay", data={"csrf_token": csrf_token_in(page)})
    assert response.status_code == 200, response.status_code
    return html.unescape(response.text)


def test_every_delivery_is_listed_with_its_verification_and_result(
    shop: Shop, manager: requests.Session, paid: tuple[str, int], merchant_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    request_no, _ = paid
    assert (
        deliver(shop, sealed(shop, statement(shop, request_no, "CLOSED"), merchant_key, other_key)).status_code == 400
    )
    page = manager.get(f"{shop.url}/deliveries").text
    rows = re.findall(r"<tr>\s*<td><a [^>]*>#(\d+)</a></td>.*?</tr>", page, re.S)
    assert len(rows) == 2
    assert "<td>Refused (not verified)</td>" in page and "<td>Applied</td>" in page
    refused_only = manager.get(f"{shop.url}/deliveries", params={"outcome": "rejected"}).text
    assert "<td>Refused (not verified)</td>" in refused_only and "<td>Applied</td>" not in refused_only


def test_a_delivery_shows_headers_body_payload_and_what_it_changed(
    shop: Shop, manager: requests.Session, paid: tuple[str, int]
) -> None:
    request_no, delivery_id = paid
    page = html.unescape(manager.get(f"{shop.url}/deliveries/{delivery_id}").text)
    assert "Yes: the platform key signed it" in page
    assert re.search(r'id="delivery-headers"[^>]*>[^<]*"Content-Type": "application/json"', page)
    assert re.search(r'id="delivery-body"[^>]*>\{"head":', page)
    assert re.search(r'id="delivery-payload"[^>]*>[^<]*"pay_status": "COMPLETED"', page)
    assert "Awaiting payment → Paid" in page and f"notification #{delivery_id}" in page
    assert f'href="/orders/{request_no}"' in page


def test_a_refused_delivery_shows_why_and_cannot_be_replayed(
    shop: Shop, manager: requests.Session, paid: tuple[str, int], merchant_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    request_no, _ = paid
    deliver(shop, sealed(shop, statement(shop, request_no), merchant_key, other_key))
    refused = _delivery_ids(shop)[-1]
    page = manager.get(f"{shop.url}/deliveries/{refused}").text
    assert "Refused:" in page and "signature" in page and "Replay" not in page
    assert "Only a verified delivery can be replayed" in replay(shop, manager, refused)


def test_replay_reapplies_a_lost_change_once_and_is_idempotent(
    shop: Shop, manager: requests.Session, paid: tuple[str, int]
) -> None:
    request_no, delivery_id = paid
    # An older backup is restored: the order no longer knows it was paid.
    with shop.app.app_context():
        order = db.session.scalar(db.select(Order).where(Order.request_no == request_no))
        db.session.execute(
            db.delete(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.to_status == "COMPLETED")
        )
        db.session.execute(
            db.update(Order)
            .where(Order.id == order.id)
            .values(status="UNPAID", tx_hash=None, revision=Order.revision + 1)
        )
        db.session.commit()

    assert "Applied again. Status: Paid." in replay(shop, manager, delivery_id)
    assert "Nothing to change. Status: Paid." in replay(shop, manager, delivery_id)

    order = shop.order(request_no)
    assert order.status == "COMPLETED" and order.tx_hash
    replays = [e for e in order.events if e.source == "replay"]
    assert [(e.from_status, e.to_status) for e in replays] == [("UNPAID", "COMPLETED"), ("COMPLETED", "COMPLETED")]
    assert all(
        e.actor == "manager@shop.test"
        and e.notification_id == delivery_id
        and f"notification #{delivery_id}" in str(e.detail)
        for e in replays
    )
    detail = html.unescape(manager.get(f"{shop.url}/deliveries/{delivery_id}").text)
    assert detail.count(f"Replay of notification #{delivery_id}") == 2


def test_a_viewer_may_inspect_but_not_replay(shop: Shop, viewer: requests.Session, paid: tuple[str, int]) -> None:
    _, delivery_id = paid
    page = viewer.get(f"{shop.url}/deliveries/{delivery_id}").text
    assert "Replay" not in page
    response = viewer.post(f"{shop.url}/deliveries/{delivery_id}/replay", data={"csrf_token": csrf_token_in(page)})
    assert response.status_code == 403


def test_an_unknown_delivery_is_a_404_page(shop: Shop, manager: requests.Session) -> None:
    response = manager.get(f"{shop.url}/deliveries/999")
    assert response.status_code == 404 and "There is no delivery #999." in response.text
