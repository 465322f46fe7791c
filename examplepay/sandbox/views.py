"""The emulated gateway's HTTP face: the signed API under /pg/v2, the hosted payment page, its
home page and readings, and a small control surface (JSON) for demos and tests. Any other path or
method under it is answered in the gateway's envelope (404, 405), never an HTML page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from gatewaykit.sandbox_guard import FormGuard

from .. import readings
from ..errors import SignatureVerificationError
from ..signing import DOCUMENTED_NONCE, MALFORMED, authorize, signed_url, verify
from .engine import Gateway, Refusal

#: The endpoints that change a payment or a switch on a person's or a script's word, not a
#: signed API call: refused to a browser request another site's page started (``guard``).
OWNER_ONLY = frozenset(
    f"examplepay_sandbox.{name}"
    for name in ("page_action", "control_finish", "control_notifications", "control_faults")
)
#: The methods the catch-all route takes, to answer them in the envelope.
_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _auth_code(problem: str) -> str:
    """The §11 code for what ``verify`` found wrong with a request's Authorization header."""
    if problem.startswith(MALFORMED):
        return "Common.Auth.Invalid_Sign"
    return {
        "timestamp outside the allowed window": "Common.Auth.Sign_Timeout",
        "signed for another appId": "Common.Auth.AppId_Not_Found",
    }.get(problem, "Common.Auth.Sign_Failed")


class GatewayBlueprint(Blueprint):
    """The sandbox's blueprint, carrying its engine (``.gateway``, whose ``stop()`` ends it)."""

    gateway: Gateway


def create_blueprint(gateway: Gateway) -> GatewayBlueprint:
    bp = GatewayBlueprint("examplepay_sandbox", __name__, template_folder="templates", static_folder="static")
    bp.gateway = gateway
    settings = gateway.settings
    FormGuard("examplepay_sandbox_token", "examplepay_sandbox.home").protect(bp, OWNER_ONLY)

    def answer(code: str, data: Any, message: str | None, http_status: int) -> Response:
        """The envelope of §3, signed for the request's method and URL (reading A3)."""
        body = json.dumps({"code": code, "errorMessage": message, "data": data}, separators=(",", ":")).encode()
        url = signed_url(request.base_url, gateway.readings["A2"])
        authorization = authorize(settings.app_id, settings.app_secret, request.method, url, body)
        return Response(
            body, status=http_status, mimetype="application/json", headers={"Authorization": authorization.header()}
        )

    def refused(refusal: Refusal) -> Response:
        return answer(refusal.code, None, refusal.message, gateway.status_of(refusal))

    def api(handler: Callable[[dict[str, Any]], object]) -> Callable[[], Response]:
        """Authentication and the envelope around one API call (``handler(body)``)."""

        def view() -> Response:
            raw = request.get_data()
            header = request.headers.get("Authorization")
            if not header:
                return answer("Common.Auth.Authorization_Header_Not_Found", None, "no Authorization header", 401)
            url = signed_url(request.base_url, gateway.readings["A2"])
            try:
                authorization = verify(header, settings.app_id, settings.app_secret, "POST", url, raw)
            except SignatureVerificationError as error:
                return answer(_auth_code(error.message), None, error.message, 401)
            if gateway.readings["A11"] == "upper-case" and not DOCUMENTED_NONCE.fullmatch(authorization.nonce):
                return answer("Common.Auth.Invalid_Sign", None, "the nonce is not 32 upper-case hex digits", 401)
            if not gateway.first_use(authorization.nonce, authorization.timestamp):
                return answer(readings.NONCE_REUSED, None, "the nonce was used already", 401)
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError
            except (ValueError, RecursionError):
                return refused(Refusal("Common.Http_Request_Error", "the body is not a JSON object"))
            try:
                return answer("OK", handler(body), None, 200)
            except Refusal as refusal:
                return refused(refusal)

        view.__name__ = handler.__name__
        return view

    @bp.post("/pg/v2/payment/create")
    @api
    def payment_create(body: dict[str, Any]) -> dict[str, Any]:
        return gateway.create_payment(body)

    @bp.post("/pg/v2/payment/query")
    @api
    def payment_query(body: dict[str, Any]) -> dict[str, Any]:
        return gateway.query(body)

    @bp.post("/pg/v2/refund/create")
    @api
    def refund_create(body: dict[str, Any]) -> dict[str, Any]:
        return gateway.create_refund(body)

    # --- the sandbox's own pages ------------------------------------------------------------

    @bp.get("/")
    def home() -> str:
        return render_template(
            "examplepay_sandbox/home.html",
            payments=len(gateway.payments()),
            readings=readings.described(gateway.readings),
        )

    @bp.get("/readings")
    def readings_table() -> Response:
        return Response(json.dumps(readings.described(gateway.readings)), mimetype="application/json")

    @bp.route("/<path:path>", methods=_ANY_METHOD)
    def unknown(path: str) -> Response:
        """Any other path, or a known one asked with another method, in the envelope."""
        adapter = current_app.url_map.bind_to_environ(request.environ)
        allowed = []
        for method in ("POST", "GET"):
            try:
                endpoint, _ = adapter.match(method=method)
            except HTTPException:
                continue
            if endpoint != request.endpoint:
                allowed.append(method)
        if allowed:
            response = answer(readings.METHOD_NOT_ALLOWED, None, f"{request.path} takes {' or '.join(allowed)}", 405)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return answer(readings.ROUTE_NOT_FOUND, None, f"no such path: {request.path}", 404)

    # --- the hosted payment page -------------------------------------------------------------

    @bp.get("/pay/<token>")
    def page(token: str) -> str:
        payment = gateway.by_token(token) or abort(404)
        return render_template("examplepay_sandbox/pay.html", payment=payment, token=token)

    @bp.post("/pay/<token>")
    def page_action(token: str) -> ResponseReturnValue:
        payment = gateway.by_token(token) or abort(404)
        status = readings.PAID if request.form.get("action") == "pay" else readings.CLOSED
        return redirect(gateway.return_url(gateway.finish(payment["paymentNo"], status)), 303)

    # --- control surface -------------------------------------------------------------------

    @bp.get("/control/payments")
    def control_payments() -> Response:
        return Response(json.dumps(gateway.payments()), mimetype="application/json")

    @bp.post("/control/payments/<merchant_trade_no>/<action>")
    def control_finish(merchant_trade_no: str, action: str) -> Response:
        if action not in ("pay", "close"):
            abort(404)
        try:
            payment = gateway.payment(merchant_trade_no=merchant_trade_no)
        except Refusal:
            abort(404)
        finished = gateway.finish(payment["paymentNo"], readings.PAID if action == "pay" else readings.CLOSED)
        return Response(json.dumps(finished), mimetype="application/json")

    @bp.post("/control/notifications/<switch>")
    def control_notifications(switch: str) -> Response:
        if switch not in ("pause", "resume"):
            abort(404)
        gateway.notifications_paused = switch == "pause"
        return Response(json.dumps({"paused": gateway.notifications_paused}), mimetype="application/json")

    @bp.post("/control/faults")
    def control_faults() -> Response:
        """{"failing_refunds": n}: the next n refund creates answer HTTP 500 (before doing anything).
        {"failing_creates": n}: the next n payment creates are stored but answered HTTP 500.
        A switch not named keeps its count; the answer gives both."""
        try:  # not get_json(silent=True): it lets a RecursionError (deep nesting) through
            changes = json.loads(request.get_data())
        except (ValueError, RecursionError):
            changes = None
        changes = changes if isinstance(changes, dict) else {}
        counts = {}
        for name in ("failing_refunds", "failing_creates"):
            if name in changes:
                try:
                    counts[name] = int(changes[name])
                except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
                    counts[name] = -1
                if counts[name] < 0:
                    return Response(
                        json.dumps({"error": f"{name} must be a count (0 or more)"}),
                        status=400,
                        mimetype="application/json",
                    )
        gateway.failing_refunds = counts.get("failing_refunds", gateway.failing_refunds)
        gateway.failing_creates = counts.get("failing_creates", gateway.failing_creates)
        return Response(
            json.dumps({"failing_refunds": gateway.failing_refunds, "failing_creates": gateway.failing_creates}),
            mimetype="application/json",
        )

    @bp.get("/control/deliveries")
    def control_deliveries() -> Response:
        return Response(json.dumps(gateway.deliveries()), mimetype="application/json")

    return bp
