"""The gateway's door: asynchronous notifications, protected by their signature (no CSRF)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from sqlalchemy.exc import SQLAlchemyError

from . import orders

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/sparkpay")
def sparkpay_notification() -> Response:
    """Answer 200 ``SUCCESS`` only once the delivery is committed; otherwise the gateway retries."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_BYTES"]
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return Response("too large", status=413, mimetype="text/plain")
    try:
        result = orders.receive_notification(raw, request.headers, request.remote_addr)
    except SQLAlchemyError:
        current_app.logger.exception("webhook delivery could not be stored; the gateway will retry")
        return Response("try again", status=503, mimetype="text/plain")
    return Response(result.body, status=result.http_status, mimetype="text/plain")
