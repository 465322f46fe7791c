"""The order page draws the order's lifecycle with the path it took, step by step."""

from __future__ import annotations

import html
import re

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shop.reports.lifecycle import EDGES, NODES
from shop.vocabulary import TRANSITIONS, Status
from tests.support import wait_for

from .conftest import Shop, csrf_token_in, deliver, sealed, statement


def test_the_drawing_has_every_allowed_move_and_no_other() -> None:
    allowed = {(None, Status.CREATING)} | {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert set(EDGES) == allowed
    assert set(NODES) == set(TRANSITIONS)


def taken_moves(page: str) -> set[tuple[str | None, str]]:
    by_path = {path: move for move, (path, _label) in EDGES.items()}
    return {by_path[d] for d in re.findall(r'<path class="lifecycle__edge lifecycle__edge--taken" d="([^"]+)"', page)}


def node_classes(page: str) -> dict[str, str]:
    return {
        status: classes
        for classes, status in re.findall(r'<g class="lifecycle__node([^"]*)" data-status="(\w+)">', page)
    }


def steps(page: str) -> list[str]:
    listed_match = re.search(r'<ol class="lifecycle__steps">(.*?)</ol>', page, re.S)
    assert listed_match is not None
    listed = listed_match.group(1)
    return [
        re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", item))).strip()
        for item in re.findall(r"<li[^>]*>(.*?)</li>", listed, re.S)
    ]


def test_a_paid_order_shows_its_path_with_time_and_source(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    shop.sandbox("POST", f"/orders/{request_no}/pay", json={"network": 2})
    wait_for(lambda: shop.order(request_no).status == "COMPLETED", what="the payment")
    page = manager.get(f"{shop.url}/orders/{request_no}").text

    assert taken_moves(page) == {(None, "CREATING"), ("CREATING", "UNPAID"), ("UNPAID", "COMPLETED")}
    nodes = node_classes(page)
    assert "is-current" in nodes["COMPLETED"] and "is-visited" in nodes["UNPAID"]
    assert "is-visited" not in nodes["CLOSED"] and "is-visited" not in nodes["FAILED"]
    listed = steps(page)
    assert len(listed) == 3
    assert listed[0].endswith("staff · manager@shop.test") and listed[1].endswith("creation")
    assert re.search(r"UTC notification #\d+$", listed[2])
    assert '<title id="lifecycle-summary">Path: new → Creating → Awaiting payment → Paid</title>' in page


def test_a_payment_after_the_close_is_drawn_as_such(
    shop: Shop, manager: requests.Session, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    request_no = shop.create_order(manager)
    detail = manager.get(f"{shop.url}/orders/{request_no}")
    manager.post(f"{shop.url}/orders/{request_no}/close", data={"csrf_token": csrf_token_in(detail.text)})
    deliver(shop, sealed(shop, statement(shop, request_no), merchant_key, platform_key))
    page = manager.get(f"{shop.url}/orders/{request_no}").text
    assert taken_moves(page) == {
        (None, "CREATING"),
        ("CREATING", "UNPAID"),
        ("UNPAID", "CLOSED"),
        ("CLOSED", "COMPLETED"),
    }
    assert steps(page)[2].endswith("close · manager@shop.test")


def test_the_live_part_redraws_it(shop: Shop, manager: requests.Session) -> None:
    request_no = shop.create_order(manager)
    before = manager.get(f"{shop.url}/orders/{request_no}/live?v=0").text
    assert "is-current" in node_classes(before)["UNPAID"]
    shop.sandbox("POST", f"/orders/{request_no}/expire")
    manager.post(
        f"{shop.url}/orders/{request_no}/refresh",
        data={"csrf_token": csrf_token_in(manager.get(f"{shop.url}/orders").text)},
    )
    after = manager.get(f"{shop.url}/orders/{request_no}/live?v=0").text
    assert "is-current" in node_classes(after)["CLOSED"]
    assert ("UNPAID", "CLOSED") in taken_moves(after)
