"""The sandbox's HTTP surface: the v4 API, the hosted cashier, the control endpoints and its home page."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

import segno
from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gatewaykit.sandbox_guard import FIELD, FormGuard

from .. import networks, protocol, readings
from ..errors import ERROR_CODES, SignatureVerificationError
from ..signing import SignedHeaders, sign_message, verify_message
from . import rules
from .core import COUNTED_FAULTS, Sandbox
from .rules import Refusal
from .store import StoredOrder

#: The sandbox's own pages: no inline code, its own files only; the cashier may send the
#: shopper's browser on to the merchant's redirect_url after a form post.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self' http: https:; frame-ancestors 'none'"
)

#: What this sandbox does where the docs are silent and no real gateway could differ in a way
#: the shop depends on (shown on its home page beside the switchable readings).
FIXED_READINGS = (
    ("A3", "A GET request signs an empty body: timestamp\\nnonce\\n\\n."),
    (
        "A14",
        "Retries follow 10 s, 1 min, 5 min, 10 min, 30 min, 1 h, 2 h as gaps between attempts, with a fresh AES key each time.",
    ),
    ("A16", "An unpaid order closes at its merchant_order_timeout."),
    ("A20", "An empty networks list in a Pro pair means every network that carries the currency."),
    ("4.4", "The notification payload is the query API's data object."),
    (
        "8",
        "HTTP status: 200 on success, 401 for 40000/40002/40007, 404 for 43005, 429 for 40011, 500 for 50000, 400 otherwise.",
    ),
    (
        "7.3",
        f"Service fee {rules.FEE_RATE * 100}% of the amount, at least {rules.MINIMUM_FEE_USD} USD; the amount must exceed the minimum fee (41028).",
    ),
)


#: The endpoints that pay, expire, notify, fault or reset on a person's or a script's word, not
#: a signed API call: refused to a browser request another site's page started (``guard``).
OWNER_ONLY = frozenset(
    f"sandbox.{name}"
    for name in ("cashier_pay", "control_pay", "control_expire", "control_notify", "control_faults", "control_reset")
)

P = ParamSpec("P")


class SandboxBlueprint(Blueprint):
    """The sandbox's blueprint, carrying its engine (``.sandbox``, whose ``stop()`` ends it)."""

    sandbox: Sandbox


def http_status(code: int) -> int:
    if code == 0:
        return 200
    return {40000: 401, 40002: 401, 40007: 401, 43005: 404, 40011: 429, 50000: 500}.get(code, 400)


def create_blueprint(sandbox: Sandbox) -> SandboxBlueprint:
    bp = SandboxBlueprint(
        "sandbox", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
    )
    settings = sandbox.settings
    bp.sandbox = sandbox
    FormGuard("sparkpay_sandbox_token", "sandbox.home").protect(bp, OWNER_ONLY)

    @bp.after_request
    def _own_policy(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    # --- API -------------------------------------------------------------------------------------

    def signed(code: int, data: Any = None, message: str = "success", *, flat: bool = False) -> Response:
        """The answer: the envelope (or, ``flat``, ``data`` alone), signed as reading A5 says."""
        shown_code: int | str = str(code) if sandbox.readings["A9"] == "string" else code
        answer = data if flat else {"code": shown_code, "message": message, "data": data}
        body = json.dumps(answer, separators=(",", ":")).encode()
        response = Response(body, status=http_status(code), mimetype="application/json")
        if code != 0 and sandbox.readings["A5"] == "success-only":
            return response
        headers = sign_message(settings.platform_private_key, body)
        signature = headers.signature
        if sandbox.faults.take("api_bad_signature"):
            signature = signature[::-1]
        response.headers[protocol.RESPONSE_SIGNATURE_HEADER] = signature
        response.headers[protocol.RESPONSE_TIMESTAMP_HEADER] = headers.timestamp
        response.headers[protocol.RESPONSE_NONCE_HEADER] = headers.nonce
        return response

    def api(view: Callable[Concatenate[Any, P], object]) -> Callable[P, Response]:
        """Faults, authentication and the envelope around one API call (``view(body, **url_values)``)."""

        def wrapped(*args: P.args, **kwargs: P.kwargs) -> Response:
            if sandbox.faults.take("api_delay"):
                time.sleep(sandbox.faults.value("api_delay_seconds"))
            if sandbox.faults.take("api_http_500"):
                return signed(50000, None, ERROR_CODES[50000][0])
            try:
                body = authenticate()
                data = view(body, *args, **kwargs)
                if sandbox.faults.take("api_lost_answer"):
                    return Response("upstream timed out", status=502, mimetype="text/plain")
                return signed(0, data, flat=view.__name__ == "close" and sandbox.readings["A8"] == "flat")
            except Refusal as refusal:
                return signed(refusal.code, None, refusal.message)

        wrapped.__name__ = view.__name__
        return wrapped

    def authenticate() -> Any:
        """The checks the real gateway makes on every call; returns the parsed JSON body (POST)."""
        if not request.headers.get("User-Agent", "").strip():
            raise Refusal(40003, "the User-Agent header is required")
        raw = request.get_data(cache=True)
        headers = SignedHeaders(
            request.headers.get(protocol.TIMESTAMP_HEADER, ""),
            request.headers.get(protocol.NONCE_HEADER, ""),
            request.headers.get(protocol.SIGNATURE_HEADER, ""),
        )
        app_id = request.headers.get(protocol.APP_ID_HEADER, "")
        if not app_id:
            raise Refusal(40003, f"the {protocol.APP_ID_HEADER} header is required")
        if app_id != settings.app_id:
            raise Refusal(40002)
        try:
            verify_message(
                settings.merchant_public_key,
                b"" if request.method == "GET" else raw,
                headers,
                tolerance=settings.timestamp_tolerance,
            )
        except SignatureVerificationError as error:
            raise Refusal(40000, error.message) from None
        if not sandbox.store.use_nonce(headers.nonce, 2 * settings.timestamp_tolerance):
            raise Refusal(40000, "this nonce was already used")
        if request.method != "POST":
            return None
        if request.mimetype != "application/json":
            raise Refusal(40009, "Content-Type must be application/json")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise Refusal(40009, "the body is not JSON") from None

    def cashier_url(order: StoredOrder) -> str:
        if settings.public_url:
            return f"{settings.public_url.rstrip('/')}/cashier/{order['cashier_token']}"
        return url_for("sandbox.cashier", token=order["cashier_token"], _external=True)

    def created(body: Any, edition: str) -> dict[str, Any]:
        order = sandbox.create(body, edition)
        return {
            "cashier_url": cashier_url(order),
            "payment_order_no": order["payment_order_no"],
            "request_no": order["request_no"],
            "merchant_no": settings.merchant_no,
            "merchant_order_no": order["request"]["merchant_order_no"],
        }

    def queried(merchant_no: str, request_no: str, edition: str) -> dict[str, Any]:
        if merchant_no != settings.merchant_no:
            raise Refusal(40007 if merchant_no == rules.OTHER_MERCHANT_NO else 40008)
        order = sandbox.order(request_no)
        if order is None or order["edition"] != edition:
            raise Refusal(43005)
        return sandbox.statement(order)

    def create_normal(body: Any) -> dict[str, Any]:
        return created(body, "normal")

    def create_pro(body: Any) -> dict[str, Any]:
        return created(body, "pro")

    def query_normal(body: Any, merchant_no: str, request_no: str) -> dict[str, Any]:
        return queried(merchant_no, request_no, "normal")

    def query_pro(body: Any, merchant_no: str, request_no: str) -> dict[str, Any]:
        return queried(merchant_no, request_no, "pro")

    def close(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("request_no") or not body.get("merchant_no"):
            raise Refusal(40003, "request_no and merchant_no")
        if body["merchant_no"] != settings.merchant_no:
            raise Refusal(40008)
        order = sandbox.close(str(body["request_no"]))
        return {
            "request_no": order["request_no"],
            "merchant_no": settings.merchant_no,
            "merchant_order_no": order["request"]["merchant_order_no"],
        }

    bp.add_url_rule("/v4/pay/cashier", "create_order", api(create_normal), methods=["POST"])
    bp.add_url_rule("/v4/pro/pay/cashier", "create_pro_order", api(create_pro), methods=["POST"])
    bp.add_url_rule("/v4/pay/orders/<merchant_no>/<request_no>", "query_order", api(query_normal), methods=["GET"])
    bp.add_url_rule("/v4/pro/pay/orders/<merchant_no>/<request_no>", "query_pro_order", api(query_pro), methods=["GET"])
    bp.add_url_rule("/v4/pay/orders/close", "close_order", api(close), methods=["POST"])

    @bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def not_found(unknown: str) -> Response:
        """Any other path: the gateway's error envelope, as an API client expects, not a page."""
        return signed(43005 if unknown.startswith("v4/") else 40009, None, f"no such endpoint: /{unknown}")

    # --- the hosted cashier -----------------------------------------------------------------------

    def cashier_order(token: str) -> StoredOrder:
        order = sandbox.store.order_by_token(token)
        if order is None:
            abort(404)
        current = sandbox.order(order["request_no"])
        if current is None:  # reset in between
            abort(404)
        return current

    @bp.get("/cashier/<token>")
    def cashier(token: str) -> str:
        order = cashier_order(token)
        offers = [
            {
                "value": f"{currency}:{network}",
                "currency": currency,
                "network": network,
                "label": networks.network_label(network),
                "amount": amount,
                "address": rules.fake_address("deposit", order["payment_order_no"], currency, network),
            }
            for currency, network, amount in order["offered"]
        ]
        for offer in offers:
            offer["qr"] = qr_data_uri(offer["address"])
        return render_template(
            "sandbox/cashier.html",
            order=order,
            request=order["request"],
            offers=offers,
            return_url=order["request"].get("redirect_url"),
        )

    @bp.post("/cashier/<token>/pay")
    def cashier_pay(token: str) -> ResponseReturnValue:
        order = cashier_order(token)
        try:
            order = sandbox.pay(order["request_no"], request.form.get("offer"))
        except Refusal as refusal:
            return render_template(
                "sandbox/cashier.html",
                order=order,
                request=order["request"],
                offers=[],
                return_url=order["request"].get("redirect_url"),
                error=refusal.message,
            ), 409
        return_url = order["request"].get("redirect_url")
        return redirect(return_url or url_for("sandbox.cashier", token=token), 303)

    # --- control surface --------------------------------------------------------------------------

    def control(action: Callable[[], object]) -> ResponseReturnValue:
        """JSON for tests and scripts; a redirect back home for the home page's buttons."""
        try:
            result = action()
        except Refusal as refusal:
            if not request.is_json and request.method == "POST" and request.form:
                return redirect(url_for("sandbox.home", error=refusal.message), 303)
            return Response(
                json.dumps({"error": refusal.message, "code": refusal.code}), status=409, mimetype="application/json"
            )
        except ValueError as error:
            return Response(json.dumps({"error": str(error)}), status=400, mimetype="application/json")
        if request.method == "POST" and not request.is_json:
            return redirect(url_for("sandbox.home"), 303)
        return Response(json.dumps(result, default=str), mimetype="application/json")

    def json_body() -> dict[str, Any]:
        if request.is_json:
            try:  # not get_json(silent=True): it lets a RecursionError (deep nesting) through
                data = json.loads(request.get_data())
            except (ValueError, RecursionError):
                data = None
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return data
        return {name: value for name, value in request.form.items() if name != FIELD}

    def order_view(order: StoredOrder) -> dict[str, Any]:
        return sandbox.statement(order) | {"cashier_url": cashier_url(order)}

    def pay_choice() -> str | None:
        data = json_body()
        if data.get("offer"):
            return str(data["offer"])
        if data.get("network") not in (None, ""):
            return f"{data.get('currency', '')}:{data['network']}"
        return None

    @bp.post("/control/orders/<request_no>/pay")
    def control_pay(request_no: str) -> ResponseReturnValue:
        return control(lambda: order_view(sandbox.pay(request_no, pay_choice())))

    @bp.post("/control/orders/<request_no>/expire")
    def control_expire(request_no: str) -> ResponseReturnValue:
        return control(lambda: order_view(sandbox.expire(request_no)))

    @bp.post("/control/orders/<request_no>/notify")
    def control_notify(request_no: str) -> ResponseReturnValue:
        return control(lambda: {"delivery_id": sandbox.queue_notification(request_no)})

    @bp.get("/control/orders/<request_no>")
    def control_order(request_no: str) -> ResponseReturnValue:
        def found() -> dict[str, Any]:
            order = sandbox.order(request_no)
            if order is None:
                raise Refusal(43005)
            return order_view(order)

        return control(found)

    @bp.get("/control/deliveries")
    def control_deliveries() -> ResponseReturnValue:
        return control(lambda: {"deliveries": sandbox.store.deliveries(request.args.get("request_no"))})

    @bp.route("/control/faults", methods=["GET", "POST"])
    def control_faults() -> ResponseReturnValue:
        def apply() -> dict[str, Any]:
            if request.method == "POST":
                changes = {k: v for k, v in json_body().items() if v != ""}
                sandbox.faults.update(changes)
            return {"faults": sandbox.faults.snapshot()}

        return control(apply)

    @bp.post("/control/reset")
    def control_reset() -> ResponseReturnValue:
        def reset() -> dict[str, Any]:
            sandbox.reset()
            return {"reset": True}

        return control(reset)

    # --- the sandbox's own page ---------------------------------------------------------------

    @bp.get("/")
    def home() -> str:
        return render_template(
            "sandbox/home.html",
            orders=[(o, sandbox.statement(o)) for o in sandbox.store.orders()],
            deliveries=sandbox.store.deliveries(limit=30),
            faults=sandbox.faults.snapshot(),
            counted=COUNTED_FAULTS,
            readings=readings.described(sandbox.readings),
            fixed_readings=FIXED_READINGS,
            settings=settings,
            error=request.args.get("error"),
        )

    @bp.get("/readings")
    def readings_table() -> Response:
        """Every switchable reading, its alternatives and the one this sandbox takes."""
        return Response(json.dumps(readings.described(sandbox.readings)), mimetype="application/json")

    @bp.app_template_filter("sandbox_time")
    def sandbox_time(value: float | int | None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value)) if value else "—"

    return bp


def qr_data_uri(text: str) -> str:
    """The QR code of ``text`` as an inline SVG data URI (no request leaves the page)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=2, dark="#111827")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
