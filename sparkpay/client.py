"""``SparkPayClient``: one method per API call, every request signed, every response verified."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from . import __version__, protocol
from .errors import (
    ConfigurationError,
    GatewayServerError,
    GatewayTimeout,
    SignatureVerificationError,
    SparkPayError,
    TransportError,
    error_from_response,
)
from .models import (
    CloseOrderResult,
    CreateOrderResult,
    OrderRequest,
    PaymentOrder,
    ProOrderRequest,
    validate_request_no,
)
from .signing import (
    PrivateKeySource,
    PublicKeySource,
    SignedHeaders,
    load_private_key,
    load_public_key,
    sign_message,
    verify_message,
)

log = logging.getLogger("sparkpay")

USER_AGENT = f"sparkpay-python/{__version__} (+requests/{requests.__version__})"

#: Draws the retry jitter (no secret, but the OS source leaves no seeded generator to reason about).
_jitter = random.SystemRandom()

#: Default (connect, read) timeouts in seconds.
DEFAULT_TIMEOUT = (5.0, 15.0)


class SparkPayClient:
    """A client for the SparkPay OpenAPI v4 payment endpoints.

    Every call signs the exact bytes it sends, retries connection failures, timeouts and 5xx
    with backoff (always with the same body, hence the same ``request_no``, a fresh nonce each
    time), and verifies the response signature with the platform public key before reading it.

    ``verify_responses``: ``"strict"`` (an unsigned or badly signed response raises
    ``SignatureVerificationError``) or ``"lenient"`` (it is logged and read anyway; reading A5
    is a guess, this lets an operator keep going while it is checked). In both modes an error
    answer that carries no signature at all is raised as its ``ApiError`` with ``verified``
    False (A5 "success-only"); one whose signature is wrong is not trusted in strict mode.
    """

    def __init__(
        self,
        app_id: str,
        merchant_no: str,
        private_key: PrivateKeySource,
        platform_public_key: PublicKeySource,
        *,
        base_url: str = protocol.PRODUCTION_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        backoff: float = 0.5,
        verify_responses: str = "strict",
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("app_id", app_id), ("merchant_no", merchant_no), ("base_url", base_url)):
            if not value:
                raise ConfigurationError(f"SparkPayClient needs {name}")
        if verify_responses not in ("strict", "lenient"):
            raise ConfigurationError("verify_responses must be 'strict' or 'lenient'")
        self.app_id = app_id
        self.merchant_no = merchant_no
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.verify_responses = verify_responses
        self._private_key = load_private_key(private_key, "merchant private key")
        self._platform_public_key = load_public_key(platform_public_key, "platform public key")
        self._session = session or requests.Session()
        self._clock = clock

    def __repr__(self) -> str:
        return f"SparkPayClient(app_id={self.app_id!r}, merchant_no={self.merchant_no!r}, base_url={self.base_url!r})"

    def __enter__(self) -> SparkPayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    # --- the five endpoints --------------------------------------------------------------

    def create_order(self, order: OrderRequest) -> CreateOrderResult:
        """Payment Order Creation (normal edition): returns the shopper's ``cashier_url``."""
        data = self._call("POST", "/v4/pay/cashier", order.to_payload(self.merchant_no), order.request_no)
        return self._created(data, order.request_no)

    def create_pro_order(self, order: ProOrderRequest) -> CreateOrderResult:
        """Payment Order Creation (Pro edition): fiat or crypto pricing, crypto payment."""
        data = self._call("POST", "/v4/pro/pay/cashier", order.to_payload(self.merchant_no), order.request_no)
        return self._created(data, order.request_no)

    def query_order(self, request_no: str) -> PaymentOrder:
        """Payment Order Query (normal edition)."""
        return self._query("/v4/pay/orders", request_no)

    def query_pro_order(self, request_no: str) -> PaymentOrder:
        """Payment Order Query (Pro edition)."""
        return self._query("/v4/pro/pay/orders", request_no)

    def close_order(self, request_no: str) -> CloseOrderResult:
        """Payment Order Closure (both editions).

        Raises ``OrderNotClosableError`` (43006, e.g. already paid) or
        ``OrderAlreadyClosedError`` (43007, which a caller may treat as success).
        """
        validate_request_no(request_no)
        payload = {"request_no": request_no, "merchant_no": self.merchant_no}
        return CloseOrderResult.from_dict(self._call("POST", "/v4/pay/orders/close", payload, request_no))

    # --- plumbing --------------------------------------------------------------------------

    def _created(self, data: Mapping[str, Any], request_no: str) -> CreateOrderResult:
        result = CreateOrderResult.from_dict(data)
        if not result.cashier_url:
            raise SparkPayError("the gateway's answer has no cashier_url", request_no=request_no)
        return result

    def _query(self, prefix: str, request_no: str) -> PaymentOrder:
        validate_request_no(request_no)
        path = f"{prefix}/{quote(self.merchant_no, safe='')}/{quote(request_no, safe='')}"
        order = PaymentOrder.from_dict(self._call("GET", path, None, request_no))
        if order.request_no.lower() != request_no.lower():
            raise SparkPayError("the gateway answered about another order", request_no=request_no)
        return order

    def _call(self, method: str, path: str, payload: Mapping[str, Any] | None, request_no: str) -> Mapping[str, Any]:
        """Send one call with retries; return the verified response's ``data``."""
        body = (
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            if payload is not None
            else protocol.GET_SIGNED_BODY
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send_once(method, path, body, request_no)
            except (TransportError, GatewayServerError) as exc:
                if attempt > self.max_retries:
                    raise
                delay = min(self.backoff * 2 ** (attempt - 1), 5.0) * _jitter.uniform(0.5, 1.0)
                log.warning(
                    "sparkpay %s %s for %s failed (%s); retry %d in %.2fs",
                    method,
                    path,
                    request_no,
                    exc.message,
                    attempt,
                    delay,
                )
                time.sleep(delay)

    def _send_once(self, method: str, path: str, body: bytes, request_no: str) -> Mapping[str, Any]:
        signed = sign_message(self._private_key, body, clock=self._clock)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            protocol.APP_ID_HEADER: self.app_id,
            protocol.TIMESTAMP_HEADER: signed.timestamp,
            protocol.NONCE_HEADER: signed.nonce,
            protocol.SIGNATURE_HEADER: signed.signature,
        }
        if method == "POST":
            headers["Content-Type"] = "application/json"
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                data=body if method == "POST" else None,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise GatewayTimeout("the gateway did not answer in time", request_no=request_no) from None
        except requests.RequestException as exc:
            raise TransportError(f"could not reach the gateway: {type(exc).__name__}", request_no=request_no) from None
        return self._read(response, request_no)

    def _read(self, response: requests.Response, request_no: str) -> Mapping[str, Any]:
        raw = response.content
        status = response.status_code
        response_headers = SignedHeaders(
            response.headers.get(protocol.RESPONSE_TIMESTAMP_HEADER, ""),
            response.headers.get(protocol.RESPONSE_NONCE_HEADER, ""),
            response.headers.get(protocol.RESPONSE_SIGNATURE_HEADER, ""),
        )
        unsigned = not response_headers.signature
        if status >= 500 and unsigned:
            # A proxy's or load balancer's 5xx carries no signature; it is a transport fault.
            raise GatewayServerError(f"the gateway answered HTTP {status}", http_status=status, request_no=request_no)
        verified = True
        try:
            verify_message(self._platform_public_key, raw, response_headers, clock=self._clock)
        except SignatureVerificationError as exc:
            verified = False
            if unsigned and status >= 400:
                # Reading A5 "success-only": an error answer may come unsigned. Its code and words
                # are read, marked unverified, and never trusted to change an order.
                log.warning("sparkpay answer HTTP %d for %s is not signed; read as unverified", status, request_no)
            elif self.verify_responses == "strict":
                raise SignatureVerificationError(
                    f"response not trusted: {exc.message}", http_status=status, request_no=request_no
                ) from None
            else:
                log.warning("sparkpay response for %s not verified (%s); lenient mode", request_no, exc.message)
        try:
            envelope = json.loads(raw, parse_float=Decimal)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise TransportError(
                f"the gateway's answer (HTTP {status}) is not JSON", http_status=status, request_no=request_no
            ) from None
        if not isinstance(envelope, dict):
            raise TransportError("the gateway's answer is not a JSON object", http_status=status, request_no=request_no)
        if "code" not in envelope and status == 200:
            return envelope  # reading A8 "flat": the answer's fields without the envelope
        code = envelope.get("code")
        if code in protocol.SUCCESS_CODES and status < 400:
            data = envelope.get("data")
            return data if isinstance(data, dict) else {}
        raise error_from_response(
            code, envelope.get("message"), http_status=status, request_no=request_no, verified=verified
        )
