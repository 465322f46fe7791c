"""The gateways' door: asynchronous notifications, protected by their signatures (no CSRF)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from . import examplepay_orders, orders

bp = Blueprint("webhooks", __name__)


def _receive(apply: Callable[[bytes, orders.Headers, str | None], orders.DeliveryResult], mimetype: str) -> Response:
    """Answer the gateway's acknowledgement only once the delivery is committed; otherwise it retries."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_BYTES"]
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return Response("too large", status=413, mimetype="text/plain")
    try:
        result = apply(raw, request.headers, request.remote_addr)
    except SQLAlchemyError:
        current_app.logger.exception("webhook delivery could not be stored; the gateway will retry")
        return Response("try again", status=503, mimetype="text/plain")
    return Response(result.body, status=result.http_status, mimetype=mimetype)


@bp.post("/webhooks/sparkpay")
def sparkpay_notification() -> Response:
    return _receive(orders.receive_notification, "text/plain")


@bp.post("/webhooks/examplepay")
def examplepay_notification() -> Response:
    if not current_app.config["EXAMPLEPAY_ENABLED"]:
        abort(404)
    return _receive(examplepay_orders.receive_notification, "application/json")
