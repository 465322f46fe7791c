"""A notification storm: 2,000 deliveries for 200 orders from 20 concurrent senders, with
duplicates, reordering and 10 % forged or undecryptable bodies; and a second one in which a
further tenth are nested 20,000 deep, truncated, not UTF-8 or otherwise unreadable."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import func

from shop.extensions import db
from shop.models import Notification, Order
from tests.shop.conftest import Shop, sealed, statement

from .conftest import assert_legal_history, create_orders, send_concurrently

ORDERS = 200
DELIVERIES = 2000
SENDERS = 20
FORGED = DELIVERIES // 10
#: Each genuine statement is delivered this many times (duplicates).
COPIES = 5
#: Each order's genuine story, in the order the gateway lived it, and the status it must end in.
STORIES = (
    (("UNPAID", "COMPLETED"), "COMPLETED"),
    (("UNPAID", "COMPLETED"), "COMPLETED"),
    (("UNPAID", "CLOSED"), "CLOSED"),
    (("CLOSED", "COMPLETED"), "COMPLETED"),  # paid after the deadline: still paid
    (("UNPAID",), "UNPAID"),  # only forgeries claim this one was paid
)


@dataclass
class Delivery:
    request_no: str
    body: bytes
    genuine: bool
    answers: list[tuple[int, str]] = field(default_factory=list)


def tampered(body: bytes, rng: random.Random) -> bytes:
    """A genuine body with one character of its encrypted part changed."""
    envelope = json.loads(body)
    text = envelope["body"]
    position = rng.randrange(len(text) - 4)
    envelope["body"] = text[:position] + ("A" if text[position] != "A" else "B") + text[position + 1 :]
    return json.dumps(envelope).encode()


def plan(
    shop: Shop, numbers: list[str], keys: tuple[RSAPrivateKey, RSAPrivateKey, RSAPrivateKey], rng: random.Random
) -> tuple[list[Delivery], dict[str, str]]:
    merchant_key, platform_key, other_key = keys
    deliveries: list[Delivery] = []
    expected: dict[str, str] = {}
    for index, request_no in enumerate(numbers):
        story, final = STORIES[index % len(STORIES)]
        expected[request_no] = final
        for status in story:
            data = statement(
                shop, request_no, status, pay_network_info={"pay_network": 2, "tx_hash": f"0x{index:064x}"}
            )
            body = sealed(shop, data, merchant_key, platform_key)
            for copy in range(COPIES):
                # Half are byte-for-byte replays, half the same statement sealed afresh.
                fresh = copy % 2 and sealed(shop, data, merchant_key, platform_key)
                deliveries.append(Delivery(request_no, fresh or body, genuine=True))
    unpaid_or_closed = [n for n, final in expected.items() if final != "COMPLETED"]
    for number in range(FORGED):
        request_no = rng.choice(unpaid_or_closed if number % 2 else numbers)
        claim = statement(shop, request_no, rng.choice(("COMPLETED", "CLOSED")))
        forged = (
            sealed(shop, claim, merchant_key, other_key),  # signed by someone else
            sealed(shop, claim, other_key, platform_key),  # sealed for another merchant: undecryptable
            tampered(sealed(shop, claim, merchant_key, platform_key), rng),
            json.dumps({"head": {"aes_key": "x" * 20, "sign": "y"}, "body": claim["request_no"]}).encode(),
        )[number % 4]
        deliveries.append(Delivery(request_no, forged, genuine=False))
    rng.shuffle(deliveries)
    return deliveries, expected


def send_all(url: str, deliveries: list[Delivery]) -> None:
    """``SENDERS`` threads share the shuffled deliveries, resending like the gateway does."""

    def send(session: requests.Session, delivery: Delivery) -> None:
        # Like the gateway: a genuine delivery that was not acknowledged is sent again.
        for _ in range(3):
            response = session.post(f"{url}/webhooks/sparkpay", data=delivery.body, timeout=30)
            delivery.answers.append((response.status_code, response.text))
            if response.text == "SUCCESS" or not delivery.genuine:
                break

    send_concurrently(deliveries, SENDERS, send)


def test_a_storm_loses_nothing_applies_no_forgery_and_never_regresses(
    shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    numbers = create_orders(shop, ORDERS)
    deliveries, expected = plan(shop, numbers, (merchant_key, platform_key, other_key), random.Random(7))
    assert len(deliveries) == DELIVERIES

    send_all(shop.url, deliveries)

    answers = Counter(answer for d in deliveries for answer in d.answers)
    assert set(answers) <= {(200, "SUCCESS"), (400, "refused")}, answers
    assert all(d.answers == [(200, "SUCCESS")] for d in deliveries if d.genuine), (
        "a genuine delivery was not acknowledged at once"
    )
    assert all(d.answers == [(400, "refused")] for d in deliveries if not d.genuine), "a forgery was acknowledged"

    with shop.app.app_context():
        records = db.session.scalars(db.select(Notification)).all()
        assert len(records) == DELIVERIES, "every delivery is recorded"
        assert Counter(r.verified for r in records) == {True: DELIVERIES - FORGED, False: FORGED}
        assert {r.outcome for r in records if not r.verified} == {"rejected"}
        verified_ids = {r.id for r in records if r.verified}

        lost = {}
        for order in db.session.scalars(db.select(Order).where(Order.request_no.in_(numbers))):
            if order.status != expected[order.request_no]:
                lost[order.request_no] = (order.status, expected[order.request_no])
                continue
            assert_legal_history(order)
            into_final = [e for e in order.events if e.to_status == order.status and e.from_status != order.status]
            assert len(into_final) == 1, f"{order.request_no} entered {order.status} {len(into_final)} times"
            for event in order.events:
                if event.source == "webhook":
                    assert int(event.actor.removeprefix("notification #")) in verified_ids, (
                        "applied from an unverified delivery"
                    )
            if order.status == "COMPLETED":
                assert order.tx_hash == f"0x{numbers.index(order.request_no):064x}" and order.pay_time is not None
        assert lost == {}, f"{len(lost)} orders ended in the wrong status: {list(lost.items())[:5]}"


#: The second storm: fewer orders, and a tenth of all its deliveries nested or malformed.
MALFORMED_STORM_ORDERS = 100


def malformed(body: bytes, number: int) -> bytes:
    """A body no parser can read, of ``number % 8`` kinds (built from a genuine one where it can)."""
    kinds = (
        lambda: b"[" * 20_000,
        lambda: b'{"head": ' + b'{"a":' * 10_000,
        lambda: body[: len(body) // 2],  # truncated
        lambda: body.replace(b'"head"', b'"\xff\xfe"'),  # invalid UTF-8
        lambda: b'{"head": {"aes_key": 1e999999, "sign": 1e999999}, "body": 1e999999}',
        lambda: b"[" + b"9" * 5000 + b"]",
        lambda: b"\x00" * 64 + body,
        lambda: b"",
    )
    return kinds[number % len(kinds)]()


def test_a_storm_with_10_percent_nested_or_malformed_bodies_gets_no_5xx(
    shop: Shop, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    rng = random.Random(11)
    numbers = create_orders(shop, MALFORMED_STORM_ORDERS)
    deliveries, expected = plan(shop, numbers, (merchant_key, platform_key, other_key), rng)
    count = len(deliveries) // 9  # a tenth of the whole storm, once they are added
    genuine = [d for d in deliveries if d.genuine]
    broken = [
        Delivery(d.request_no, malformed(d.body, n), genuine=False) for n, d in enumerate(rng.choices(genuine, k=count))
    ]
    deliveries += broken
    rng.shuffle(deliveries)

    send_all(shop.url, deliveries)

    answers = Counter(answer[0] for d in deliveries for answer in d.answers)
    assert all(status < 500 for status in answers), answers
    assert all(d.answers == [(200, "SUCCESS")] for d in deliveries if d.genuine), "every genuine one taken at once"
    # 400 and recorded; past a limit on refusals from one address (if the shop has one), 429 and not.
    assert all(d.answers[0][0] in (400, 429) for d in deliveries if not d.genuine), answers
    refused = sum(d.answers[0][0] == 400 for d in deliveries if not d.genuine)
    with shop.app.app_context():
        rejected = db.session.scalar(db.select(func.count()).where(Notification.outcome == "rejected"))
        assert rejected == refused, "every delivery answered 400 is recorded as refused"
        for order in db.session.scalars(db.select(Order).where(Order.request_no.in_(numbers))):
            assert order.status == expected[order.request_no], order.request_no
            assert_legal_history(order)
    assert requests.get(f"{shop.url}/healthz", timeout=10).status_code == 200
