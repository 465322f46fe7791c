"""``ExamplePayClient``: one method per API call, every request signed, every answer verified."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from . import __version__, readings
from .errors import (
    ConfigurationError,
    ExamplePayError,
    GatewayServerError,
    GatewayTimeout,
    MalformedDataError,
    SignatureVerificationError,
    TransportError,
    error_from_response,
)
from .models import CreatedPayment, Payment, PaymentRequest, Refund, RefundRequest, query_payload
from .signing import authorize, signed_url, verify

log = logging.getLogger("examplepay")

USER_AGENT = f"examplepay-python/{__version__} (+requests/{requests.__version__})"
DEFAULT_TIMEOUT = (5.0, 15.0)
#: Draws the retry jitter (no secret, but the OS source leaves no seeded generator to reason about).
_jitter = random.SystemRandom()
API_PREFIX = "/pg/v2"


class ExamplePayClient:
    """A client for ExamplePay's payment and refund endpoints.

    Create calls are sent once: the gateway only "recommends" unique merchant numbers (A8), so
    a create without an answer is settled by ``query_payment``, never by sending it again (A15).
    Queries are retried on connection failures, timeouts and 5xx.

    ``signed_url_form`` is reading A2 ("absolute" or "path"). ``verify_responses``: "strict"
    (an unsigned or badly signed answer raises) or "lenient" (logged and read anyway, A3). In
    either mode an error answer that carries no Authorization header at all is raised as its
    ``ApiError`` with ``verified`` False; a business error is read under any HTTP status (A13).
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str,
        signed_url_form: str = readings.DEFAULT_SIGNED_URL_FORM,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        backoff: float = 0.5,
        verify_responses: str = "strict",
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("app_id", app_id), ("app_secret", app_secret), ("base_url", base_url)):
            if not value:
                raise ConfigurationError(f"ExamplePayClient needs {name}")
        if verify_responses not in ("strict", "lenient"):
            raise ConfigurationError("verify_responses must be 'strict' or 'lenient'")
        signed_url("https://x/", signed_url_form)  # refuses an unknown form now, not at the first call
        self.app_id = app_id
        self._app_secret = app_secret
        self.base_url = base_url.rstrip("/")
        self.signed_url_form = signed_url_form
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.verify_responses = verify_responses
        self._session = session or requests.Session()
        self._clock = clock

    def __repr__(self) -> str:  # never the secret
        return f"ExamplePayClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    # --- the endpoints ---------------------------------------------------------------------

    def create_payment(self, payment: PaymentRequest) -> CreatedPayment:
        """§7.1: returns the ``paymentNo`` and the URL to send the payer to."""
        return CreatedPayment.from_dict(self._call("/payment/create", payment.to_payload(), retries=0))

    def query_payment(self, *, merchant_trade_no: str = "", payment_no: str = "") -> Payment:
        """§7.2: by exactly one of the two numbers."""
        payload = query_payload(merchant_trade_no=merchant_trade_no, payment_no=payment_no)
        payment = Payment.from_dict(self._call("/payment/query", payload, retries=self.max_retries))
        if payment.merchant_trade_no != (merchant_trade_no or payment.merchant_trade_no) or payment.payment_no != (
            payment_no or payment.payment_no
        ):
            raise ExamplePayError("the gateway answered about another payment")
        return payment

    def create_refund(self, refund: RefundRequest) -> Refund:
        """§7.3: a refund of a paid payment (sent once, like every create)."""
        return Refund.from_dict(self._call("/refund/create", refund.to_payload(), retries=0))

    # --- plumbing --------------------------------------------------------------------------

    def _call(self, path: str, payload: Mapping[str, Any], *, retries: int) -> Mapping[str, Any]:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        url = self.base_url + API_PREFIX + path
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send_once(url, body)
            except (TransportError, GatewayServerError) as exc:
                if attempt > retries:
                    raise
                delay = min(self.backoff * 2 ** (attempt - 1), 5.0) * _jitter.uniform(0.5, 1.0)
                log.warning("examplepay POST %s failed (%s); retry %d in %.2fs", path, exc.message, attempt, delay)
                time.sleep(delay)

    def _send_once(self, url: str, body: bytes) -> Mapping[str, Any]:
        signed = signed_url(url, self.signed_url_form)
        authorization = authorize(self.app_id, self._app_secret, "POST", signed, body, clock=self._clock)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": authorization.header(),
        }
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            raise GatewayTimeout("the gateway did not answer in time") from None
        except requests.RequestException as exc:
            raise TransportError(f"could not reach the gateway: {type(exc).__name__}") from None
        return self._read(response, signed)

    def _read(self, response: requests.Response, signed: str) -> Mapping[str, Any]:
        raw, status = response.content, response.status_code
        header = response.headers.get("Authorization")
        if status >= 500 and not header:
            raise GatewayServerError(f"the gateway answered HTTP {status}", http_status=status)
        problem = ""
        try:
            verify(header, self.app_id, self._app_secret, "POST", signed, raw, clock=self._clock)
        except SignatureVerificationError as exc:
            problem = exc.message
            if header and self.verify_responses == "strict":
                raise SignatureVerificationError(f"response not trusted: {problem}", http_status=status) from None
        try:
            envelope = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            raise TransportError(f"the gateway's answer (HTTP {status}) is not JSON", http_status=status) from None
        if not isinstance(envelope, dict):
            raise TransportError("the gateway's answer is not a JSON object", http_status=status)
        code = envelope.get("code")
        if code == "OK" and status == 200:  # §4: both the HTTP status and the code decide
            if problem and self.verify_responses == "strict":
                raise SignatureVerificationError(f"response not trusted: {problem}", http_status=status)
            if problem:
                log.warning("examplepay response not verified (%s); lenient mode", problem)
            data = envelope.get("data")
            if not isinstance(data, dict):
                raise MalformedDataError("data", "is missing or not an object")
            return data
        if problem:
            # An error answer with no signature at all (a proxy's, or a gateway that signs only its
            # successes) is read even in strict mode, for its code and words, marked unverified.
            log.warning("examplepay error answer HTTP %d not verified (%s); read as unverified", status, problem)
        message = envelope.get("errorMessage")
        raise error_from_response(
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else None,
            http_status=status,
            verified=not problem,
        )
