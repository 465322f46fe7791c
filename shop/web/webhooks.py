"""The gateways' door: asynchronous notifications at ``/webhooks/<gateway>``, protected by their
signatures (no CSRF). ``/webhooks/sparkpay`` and ``/webhooks/examplepay`` are the contract's."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from .. import gateways
from ..orders import service

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/<gateway>")
def notification(gateway: str) -> Response:
    """Answer the gateway's acknowledgement only once the delivery is committed; otherwise it retries."""
    adapter = gateways.enabled_or_404(gateway)
    request.max_content_length = current_app.config["WEBHOOK_MAX_BYTES"]
    unreadable = None
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return Response("too large", status=413, mimetype="text/plain")
    except Exception as error:  # noqa: BLE001 - the server's own error for a body it cannot read: werkzeug raises OSError for a malformed chunk, gunicorn its ParseException
        raw, unreadable = b"", f"the body could not be read ({type(error).__name__}: {error})"
    try:
        result = service.receive_delivery(adapter, raw, request.headers, request.remote_addr, unreadable=unreadable)
    except SQLAlchemyError:
        current_app.logger.exception("%s webhook delivery could not be stored; the gateway will retry", gateway)
        return Response("try again", status=503, mimetype="text/plain")
    if result.retry_after is not None:
        return Response(
            result.body,
            status=result.http_status,
            mimetype="text/plain",
            headers={"Retry-After": str(result.retry_after)},
        )
    return Response(result.body, status=result.http_status, mimetype=adapter.webhook_mimetype)
