"""The reliability suite: the shop on a bad day. Every test is bounded in count and time and
sends traffic only to loopback servers it starts itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.models import Order
from shop.vocabulary import TRANSITIONS, Status
from tests.shop.conftest import Shop, create_in_process, start_shop

#: Every sender of these tests is 127.0.0.1, so the limit on refused deliveries per address
#: (tests/shop/test_intake.py) would answer the forgeries they count 429 instead of storing them.
UNLIMITED_REFUSALS = "1000000 per minute"


@pytest.fixture
def shop(tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> Iterator[Shop]:
    yield from start_shop(tmp_path, merchant_key, platform_key, REFUSED_DELIVERY_RATE_LIMIT=UNLIMITED_REFUSALS)


Item = TypeVar("Item")


def send_concurrently(items: Iterable[Item], senders: int, send: Callable[[requests.Session, Item], None]) -> None:
    """``senders`` threads, each with a connection of its own, share one queue of ``items``."""
    queue = iter(items)
    lock = threading.Lock()

    def sender() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                send(session, item)

    with ThreadPoolExecutor(senders) as pool:
        for future in [pool.submit(sender) for _ in range(senders)]:
            future.result()


def create_orders(shop: Shop, count: int, amount: str = "12.5") -> list[str]:
    """``count`` normal-edition orders created through the order service against the sandbox."""
    return [
        create_in_process(
            shop,
            amount=amount,
            description=f"Order {index}",
            goods_info="1 x tea",
            merchant_order_no=f"INV-{index}",
            networks=["2"],
        )
        for index in range(count)
    ]


def assert_legal_history(order: Order) -> None:
    """The order's events form one chain of allowed transitions that ends in its status."""
    changes = [e for e in order.events if e.from_status != e.to_status]
    assert changes and changes[0].from_status is None and changes[0].to_status == "CREATING", order.request_no
    for before, after in pairwise(changes):
        assert after.from_status == before.to_status, f"{order.request_no}: history breaks at event {after.id}"
        assert after.from_status is not None, f"{order.request_no}: history restarts at event {after.id}"
        assert after.to_status in TRANSITIONS[Status(after.from_status)], (
            f"{order.request_no}: illegal {after.from_status} -> {after.to_status}"
        )
    assert changes[-1].to_status == order.status, order.request_no
