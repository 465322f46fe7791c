"""Shopper pages: the checkout redirect and the return (landing) page with its live status."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import gettext

from ..models import Order
from ..orders.service import query_if_due
from ..orders.state import get_order
from ..vocabulary import Status

bp = Blueprint("checkout", __name__)


def _get_order_or_404(request_no: str) -> Order:
    """The order, or a friendly 404 page."""
    order = get_order(request_no)
    if order is None:
        abort(404, gettext("We could not find this payment. Please check the link you were given."))
    return order


@bp.get("/pay/<request_no>")
def pay(request_no: str) -> str:
    """What the shopper is about to pay, then on to the gateway's cashier (if still payable)."""
    order = _get_order_or_404(request_no)
    query_if_due(order)  # closed or expired at the gateway: say so rather than send the shopper on
    return render_template("checkout/pay.html", order=order)


@bp.get("/checkout/return/<request_no>")
def return_page(request_no: str) -> str:
    """Where the gateway sends the shopper back. The query string is never read."""
    order = _get_order_or_404(request_no)
    query_if_due(order)
    return render_template(
        "checkout/return.html", order=order, poll_seconds=current_app.config["POLL_INTERVAL_SECONDS"]
    )


@bp.get("/checkout/return/<request_no>/status")
def return_status(request_no: str) -> Response:
    """The return page's status fragment; answered with 286 (htmx: stop polling) once final."""
    order = _get_order_or_404(request_no)
    query_if_due(order)
    body = render_template(
        "checkout/_return_status.html", order=order, poll_seconds=current_app.config["POLL_INTERVAL_SECONDS"]
    )
    return Response(body, status=286 if order.is_final or order.status == Status.FAILED else 200)
