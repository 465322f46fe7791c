"""The SDK's one exception hierarchy and the gateway's error-code table.

::

    SparkPayError
    ├── ConfigurationError (also ValueError)      a missing setting
    │   └── KeyFormatError                         a key that cannot be loaded
    ├── ValidationError (also ValueError)          bad input, caught before any network call
    ├── MalformedDataError (also ValueError)       the gateway's (signed) data in the wrong shape
    ├── SignatureVerificationError                 a response or message failed verification
    ├── NotificationError                          a notification that cannot be opened
    │   ├── NotificationFormatError                not JSON / fields missing
    │   ├── NotificationDecryptionError            key not unwrappable / bad padding
    │   └── NotificationSignatureError             also a SignatureVerificationError
    ├── TransportError                             the gateway could not be reached
    │   └── GatewayTimeout
    └── ApiError (code, message, http_status)      the gateway answered with an error code
        ├── AuthenticationError                    40000 40002 40007 40008
        ├── InvalidRequestError (field)            40003 40009 41xxx
        ├── RateLimitError                         40011
        ├── OrderNotFoundError                     43005
        ├── OrderNotClosableError                  43006
        ├── OrderAlreadyClosedError                43007
        └── GatewayServerError                     50000 and unsigned 5xx

Messages never contain key material, signatures or request bodies.
"""

from __future__ import annotations

from typing import Any


class SparkPayError(Exception):
    """Base of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        request_no: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.request_no = request_no

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        for name in ("code", "http_status", "request_no"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ConfigurationError(SparkPayError, ValueError):
    """A setting the client needs is missing or unusable."""


class KeyFormatError(ConfigurationError):
    """A key could not be loaded (the message says which key, never its content)."""


class ValidationError(SparkPayError, ValueError):
    """A request field is invalid; raised before anything is sent. ``field`` names it."""

    def __init__(self, field: str, reason: str, **values: Any) -> None:
        """``reason`` may name ``values`` as ``%(name)s``; an app that shows reasons in another
        language translates ``reason_template`` and fills in ``values`` itself."""
        self.reason_template = reason
        self.values = values
        self.reason = reason % values if values else reason
        super().__init__(f"{field}: {self.reason}")
        self.field = field


class MalformedDataError(SparkPayError, ValueError):
    """Data from the gateway, authentic or not, whose field has the wrong type or an impossible
    value (a list for an amount, a timestamp past year 9999). ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class SignatureVerificationError(SparkPayError):
    """A signature is missing, stale, malformed or does not match."""


#: Short alias.
SignatureError = SignatureVerificationError


class NotificationError(SparkPayError):
    """An asynchronous notification could not be opened."""


class NotificationFormatError(NotificationError):
    """The notification is not the documented JSON shape."""


class NotificationDecryptionError(NotificationError):
    """The AES key could not be unwrapped or the body could not be decrypted."""


class NotificationSignatureError(NotificationError, SignatureVerificationError):
    """The decrypted notification's signature does not verify with the platform key."""


class TransportError(SparkPayError):
    """The gateway could not be reached or gave no usable answer."""


#: stripe-python's name for the same thing.
APIConnectionError = TransportError


class GatewayTimeout(TransportError):
    """No answer within the client's timeout; the request may or may not have been applied."""


class ApiError(SparkPayError):
    """The gateway answered with a non-zero ``code``."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        request_no: str | None = None,
        verified: bool = True,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, request_no=request_no)
        #: Whether the answer's signature verified. An unsigned error answer (reading A5,
        #: "success-only") is read for its code and words, but must not be trusted to change
        #: anything: only a signed answer settles an order.
        self.verified = verified

    @property
    def meaning(self) -> str:
        """The documented meaning of ``code``, in plain words."""
        return ERROR_CODES.get(self.code or 0, (UNKNOWN_CODE_MEANING, ""))[0]

    @property
    def hint(self) -> str:
        """What to do about it, where the docs say."""
        return ERROR_CODES.get(self.code or 0, ("", ""))[1]

    @property
    def field(self) -> str | None:
        """The request field the code points at, if any (for forms)."""
        return FIELD_BY_CODE.get(self.code or 0)


class AuthenticationError(ApiError):
    """Signature, AppID or merchant number refused."""


class InvalidRequestError(ApiError):
    """A parameter was refused; ``field`` names it when the code says which."""


class RateLimitError(ApiError):
    """The application's call limit was exceeded."""


class OrderNotFoundError(ApiError):
    """43005: the payment order does not exist."""


class OrderNotClosableError(ApiError):
    """43006: the order's status does not allow closing (e.g. already paid)."""


class OrderAlreadyClosedError(ApiError):
    """43007: the order is already closed; nothing to do."""


class GatewayServerError(ApiError):
    """50000 or an unsigned 5xx: retry with the same parameters."""


UNKNOWN_CODE_MEANING = "unknown error code"

#: Every documented code: (meaning, what to do). Codes marked "other product" belong to SPARK's
#: account-opening and OAuth APIs that share the table.
ERROR_CODES: dict[int, tuple[str, str]] = {
    0: ("success", ""),
    40000: (
        "the request signature did not verify",
        "the private key must match the public key uploaded on the merchant platform",
    ),
    40001: ("the AES key could not be decrypted", "encrypt the AES key with the platform public key (other product)"),
    40002: ("invalid AppID", "check Sparkpay-App-Id"),
    40003: ("a required parameter is missing", "send all required fields"),
    40004: ("unsupported identity-document type", "other product"),
    40005: ("phone number format not supported", "other product"),
    40006: ("document information incomplete", "other product"),
    40007: ("the AppID does not belong to this merchant", "check the AppID against the merchant number"),
    40008: ("the merchant number does not exist", "check merchant_no"),
    40009: ("parameter error: a value or type does not match", "follow the documented types"),
    40010: ("account opening not supported in this region", "other product"),
    40011: ("the application's call limit was exceeded", "slow down and retry later"),
    40012: ("e-mail format not supported", "other product"),
    40013: ("unauthorized: Authorization header missing", "other product"),
    40014: ("account already exists", "other product"),
    40015: ("user registered under another merchant's application", "other product"),
    40016: ("country or region outside the merchant's operating area", "other product"),
    40017: ("country code does not match the phone number", "other product"),
    40018: ("invalid country code", "other product"),
    41000: ("the return (redirect) URL is not valid", "check redirect_url"),
    41001: ("the notification URL is not valid", "check notify_url"),
    41002: ("the merchant is not activated", "contact Spark support"),
    41003: ("the payer has no account", "the payer must have an active account"),
    41005: ("split type not supported", ""),
    41006: ("split purpose not supported", ""),
    41007: (
        "the merchant's split amount must exceed the platform service fee",
        "fee = amount x rate, at least the minimum fee",
    ),
    41008: ("the split amounts do not add up to the order total", ""),
    41009: ("payment currency not supported", "use a listed currency"),
    41010: ("split account not opened", ""),
    41011: ("split account not activated", ""),
    41012: ("the order has already expired", "check merchant_order_timeout"),
    41013: ("the order total amount is not valid", ""),
    41014: ("a split amount is not valid", ""),
    41015: ("the split order lacks the main recipient", ""),
    41016: ("the split order has more than one main recipient", ""),
    41017: ("the fee merchant and the ordering merchant differ", ""),
    41018: ("the order total has too many decimal places", "at most 6 decimal places"),
    41019: ("a split amount has too many decimal places", "at most 6 decimal places"),
    41021: ("the payment deadline must be later than the order time", "merchant_order_timeout > merchant_order_time"),
    41022: ("payer and payee are the same", ""),
    41023: (
        "the request number is not valid",
        "at most 64 letters, digits or underscores, never reused for other content",
    ),
    41025: ("split type and purpose do not match", "wallet user takes the main amount; merchant takes fees"),
    41026: ("the split order lacks the merchant recipient", ""),
    41027: ("payment network not supported", "use a listed network"),
    41028: ("the order amount must exceed the minimum platform service fee", ""),
    41029: ("duplicate split party", ""),
    41030: ("the ordering merchant cannot be the payer", ""),
    41031: ("the network does not support this currency", ""),
    41032: ("a split payment address is not valid", ""),
    41033: ("duplicate split payment address", ""),
    41034: ("a split address equals the merchant's CA address", ""),
    41035: ("no external wallet is configured for this network", "configure it on the merchant platform"),
    41036: ("a currency appears twice in the allowed currency networks", ""),
    41037: ("a network appears twice for one currency", ""),
    41038: ("no offered network meets the minimum service fee", "raise the pricing amount or the seller amount"),
    41039: ("online payment is not enabled", "contact Spark support"),
    43000: ("the merchant balance is insufficient", "recharge"),
    43005: ("the payment order does not exist", "check the numbers"),
    43006: ("the order cannot be closed in its current status", ""),
    43007: ("the order is already closed", "nothing to do"),
    43008: ("the customer has no account", "other product"),
    43011: ("too many splits in one order", ""),
    44000: ("authorization code invalid or expired", "other product"),
    44001: ("redirect URL does not match the authorization code", "other product"),
    44002: ("invalid client_id", "other product"),
    44003: ("invalid grant type", "other product"),
    44004: ("refresh token expired", "other product"),
    50000: ("internal error at the gateway", "retry with the same parameters"),
}

#: The request field a code points at, so a form can show the error next to it.
FIELD_BY_CODE: dict[int, str] = {
    41000: "redirect_url",
    41001: "notify_url",
    41007: "divide_detail",
    41008: "divide_detail",
    41009: "currency",
    41012: "merchant_order_timeout",
    41013: "amount",
    41014: "divide_detail",
    41015: "divide_detail",
    41016: "divide_detail",
    41018: "amount",
    41019: "divide_detail",
    41021: "merchant_order_timeout",
    41023: "request_no",
    41026: "divide_detail",
    41027: "networks",
    41028: "amount",
    41029: "divide_detail",
    41031: "networks",
    41032: "divide_detail.seller_addr",
    41033: "divide_detail.seller_addr",
    41034: "divide_detail.seller_addr",
    41035: "networks",
    41036: "available_payment_currency_networks",
    41037: "available_payment_currency_networks",
    41038: "amount",
}

#: Code -> exception class; codes not listed fall back to the family of their range.
ERRORS_BY_CODE: dict[int, type[ApiError]] = {
    40000: AuthenticationError,
    40002: AuthenticationError,
    40007: AuthenticationError,
    40008: AuthenticationError,
    40011: RateLimitError,
    43005: OrderNotFoundError,
    43006: OrderNotClosableError,
    43007: OrderAlreadyClosedError,
    50000: GatewayServerError,
}


def error_from_response(
    code: Any, message: Any, *, http_status: int | None, request_no: str | None = None, verified: bool = True
) -> ApiError:
    """Build the most specific ApiError for a gateway ``code`` (unknown codes keep their number)."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        number = None
    cls: type[ApiError]
    if number in ERRORS_BY_CODE:
        cls = ERRORS_BY_CODE[number]
    elif number is not None and (40003 <= number <= 40009 or 41000 <= number < 42000):
        cls = InvalidRequestError
    elif number is not None and number >= 50000:
        cls = GatewayServerError
    else:
        cls = ApiError
    text = str(message) if message else ERROR_CODES.get(number or -1, ("gateway error", ""))[0]
    return cls(text, code=number, http_status=http_status, request_no=request_no, verified=verified)
