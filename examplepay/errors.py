"""The ExamplePay SDK's exception tree, in the style of ``sparkpay.errors``::

    ExamplePayError
    ├── ConfigurationError (also ValueError)     a missing or impossible setting
    ├── ValidationError (also ValueError)        bad input, caught before any network call
    ├── MalformedDataError (also ValueError)     the gateway's data in the wrong shape
    ├── SignatureVerificationError               a response or notification failed verification
    ├── TransportError                           the gateway could not be reached
    │   └── GatewayTimeout
    └── ApiError (code, http_status, verified)   the gateway answered with a code other than OK
        ├── AuthenticationError                  Common.Auth.*
        ├── InvalidRequestError                  Common.Request_Parameter_Error, Common.Http_Request_Error, Common.Illegal_Url
        ├── PaymentNotFoundError                 readings.PAYMENT_NOT_FOUND
        └── GatewayServerError                   HTTP 5xx

Messages never contain the app secret, signatures or request bodies.
"""

from __future__ import annotations

from typing import Any

from . import readings


class ExamplePayError(Exception):
    """Base of every error this SDK raises."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={getattr(self, name)!r}" for name in ("code", "http_status") if getattr(self, name) is not None
        )
        return f"{type(self).__name__}({self.message!r}{extras})"


class ConfigurationError(ExamplePayError, ValueError):
    """A setting is missing or impossible."""


class ValidationError(ExamplePayError, ValueError):
    """A request field is invalid; raised before anything is sent. ``field`` names it.

    ``reason`` may name ``values`` as ``%(name)s`` (for apps that translate reasons)."""

    def __init__(self, field: str, reason: str, **values: Any) -> None:
        self.reason_template = reason
        self.values = values
        self.reason = reason % values if values else reason
        super().__init__(f"{field}: {self.reason}")
        self.field = field


class MalformedDataError(ExamplePayError, ValueError):
    """Data from the gateway (signed or not) whose field has the wrong type or value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class SignatureVerificationError(ExamplePayError):
    """A response or a notification is not signed by someone holding the app secret."""


class TransportError(ExamplePayError):
    """The gateway could not be reached, or answered something that is not its envelope."""


class GatewayTimeout(TransportError):
    """No answer within the client's timeout; the request may or may not have been carried out."""


class ApiError(ExamplePayError):
    """The gateway answered with a ``code`` other than ``OK``."""

    def __init__(
        self, message: str, *, code: str | None = None, http_status: int | None = None, verified: bool = True
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        #: Whether the answer's signature verified. An error answer that carries no Authorization
        #: header at all is still read (a proxy's, or a gateway that does not sign its errors),
        #: as unverified: its words may be shown, but it must not change an order.
        self.verified = verified

    @property
    def meaning(self) -> str:
        """The documented meaning of ``code``, in plain words."""
        return ERROR_CODES.get(self.code or "", ("unknown error code", ""))[0]

    @property
    def hint(self) -> str:
        return ERROR_CODES.get(self.code or "", ("", ""))[1]


class AuthenticationError(ApiError):
    """The Authorization header was missing, malformed, stale or signed with the wrong secret."""


class InvalidRequestError(ApiError):
    """A field, the body or a URL was refused."""


class PaymentNotFoundError(ApiError):
    """The gateway holds no payment under that number."""


class GatewayServerError(ApiError):
    """HTTP 5xx: for a create call the outcome is unknown (query before trying again, A15)."""


#: §11, the "General" section (the rest was not legible), and the sandbox's readings.
ERROR_CODES: dict[str, tuple[str, str]] = {
    "Common.Auth.Authorization_Header_Not_Found": ("no Authorization header", "send the header"),
    "Common.Auth.Sign_Failed": (
        "the signature does not match",
        "check the method, the URL and the appId/appSecret pair",
    ),
    "Common.Auth.Sign_Timeout": ("the signature's timestamp has expired", "check the clock"),
    "Common.Auth.Invalid_Sign": ("the signature is malformed", "check the header's structure"),
    "Common.Auth.Auth_Failed": ("this appId may not call this API", "ask the platform"),
    "Common.Auth.AppId_Not_Found": ("unknown appId", "check the header's structure"),
    "Common.Auth.Invalid_AppId": ("invalid appId", "check the appId"),
    "Common.Http_Request_Error": ("the request body is badly formatted", "follow the field formats"),
    "Common.Request_Parameter_Error": ("a field value is invalid", "see the error message"),
    "Common.Illegal_Url": ("a URL failed validation", "fix its format or register its domain"),
    readings.PAYMENT_NOT_FOUND: ("the payment does not exist", "check the numbers"),
    readings.REFUND_REJECTED: ("the payment cannot take this refund", "refund a paid payment, at most what is left"),
    readings.ROUTE_NOT_FOUND: ("no such API path", "check the base URL (the part before /pg/v2)"),
    readings.METHOD_NOT_ALLOWED: ("the API path takes another method", "send POST"),
}

_CLASSES: tuple[tuple[str, type[ApiError]], ...] = (
    ("Common.Auth.", AuthenticationError),
    ("Common.Request_Parameter_Error", InvalidRequestError),
    ("Common.Http_Request_Error", InvalidRequestError),
    ("Common.Illegal_Url", InvalidRequestError),
    (readings.PAYMENT_NOT_FOUND, PaymentNotFoundError),
)


def error_from_response(code: str | None, message: str | None, *, http_status: int, verified: bool = True) -> ApiError:
    """The exception for an answer whose ``code`` is not ``OK`` (or whose HTTP status is not 200),
    whatever its HTTP status (reading A13: 200 or 400 for a business error)."""
    if http_status >= 500:
        return GatewayServerError(
            message or f"the gateway answered HTTP {http_status}", code=code, http_status=http_status, verified=verified
        )
    for prefix, cls in _CLASSES:
        if code and code.startswith(prefix):
            text = message or ERROR_CODES.get(code, (code, ""))[0]
            return cls(text, code=code, http_status=http_status, verified=verified)
    return ApiError(message or str(code), code=code, http_status=http_status, verified=verified)
