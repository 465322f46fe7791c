"""Every choice this SDK makes where ExamplePay's documents are silent, in one place.

The references (A2, A3, ...) are the ambiguities of ``shared/examplepay-api.md`` §13. Those a real
gateway could take either way are one table, ``READINGS``: each ``Reading`` with its plausible
alternatives, the first being the one §13 finds most plausible. The SDK is right under every
alternative (it sends upper-case nonces, reads an error under any HTTP status, never re-sends a
create); the sandbox behaves as one alternative of each (``EXAMPLEPAY_SANDBOX_READINGS``, e.g.
``A13=http-400,A8=idempotent``), so that the shop can be shown right under each. The other values
here are single readings; change them when the provider confirms otherwise.
"""

from __future__ import annotations

from gatewaykit.readings import Alternative, Reading, Readings

TABLE = Readings(
    Reading(
        "A2",
        "Which form of the request URL is the fourth line of the signing string?",
        (
            Alternative("absolute", "The absolute URL as requested: scheme, host and path (third-party code)."),
            Alternative("path", "The path only, /pg/v2/... (the WeChat lineage)."),
        ),
    ),
    Reading(
        "A8",
        "What does a second create with a merchantTradeNo already used get?",
        (
            Alternative(
                "refused", "Refused (Common.Request_Parameter_Error), whatever its content; never a second payment."
            ),
            Alternative(
                "idempotent", "The same content gets the existing payment's answer again; other content is refused."
            ),
        ),
    ),
    Reading(
        "A11",
        "In which case may a request's nonce be written?",
        (
            Alternative(
                "any-case", "Any 8 to 64 letters and digits, in either case (a public client sends lower-case hex)."
            ),
            Alternative(
                "upper-case",
                "32 upper-case hex digits, as in the docs' examples; others are refused (Common.Auth.Invalid_Sign).",
            ),
        ),
    ),
    Reading(
        "A13",
        "Which HTTP status does a business error (a non-OK code other than Common.Auth.*) come with?",
        (
            Alternative(
                "http-200", "HTTP 200 with a code other than OK; only authentication errors are 401, system errors 5xx."
            ),
            Alternative("http-400", "HTTP 400 with the same envelope, signed the same way."),
        ),
    ),
)

READINGS = TABLE.readings
BY_ID = TABLE.by_id
defaults = TABLE.defaults
choose = TABLE.choose
described = TABLE.described


# --- single readings ------------------------------------------------------------------------

#: A2, as the table has it (the client's form is its own setting, to match the real gateway).
SIGNED_URL_FORMS = BY_ID["A2"].names
DEFAULT_SIGNED_URL_FORM = BY_ID["A2"].default

#: A3: a response is signed with the same seven lines as its request: the request's method and
#: URL, the response's own timestamp and nonce, the raw response body. The sandbox signs every
#: answer (errors, 404 and 405 included); a client reads an unsigned error as unverified.
#: A4: a notification carries the same ``Authorization`` header; method POST, URL the order's
#: notifyUrl (in the same URL form), body the raw POST body.

#: §6.5: how far a signature's timestamp may be from our clock, in milliseconds.
TIMESTAMP_WINDOW_MS = 5 * 60 * 1000
#: §6.5 states no nonce rule: the sandbox refuses a nonce it saw within the window, HTTP 401 with
#: this code (no replay code is documented; the request's signature is good, its use is not).
NONCE_REUSED = "Common.Auth.Sign_Failed"

#: A5: what a merchant answers to a notification it has stored.
NOTIFICATION_ACK = b'{"code":"OK"}'

#: A7: "PAID" is the only documented status; the others are what the sandbox uses. Any status
#: not listed is treated as still pending.
PAID = "PAID"
PENDING = "PENDING"
CLOSED = "CLOSED"
FINAL_STATUSES = frozenset({PAID, CLOSED})

#: §7.2 ``refundStatus`` (its table was not found): what the sandbox reports.
REFUND_NONE = "NONE"
REFUND_PARTIAL = "PARTIALLY_REFUNDED"
REFUND_FULL = "REFUNDED"

#: A6: when the sandbox re-sends an unacknowledged notification (seconds after the first try).
NOTIFICATION_RETRY_DELAYS = (2, 5, 15, 60, 300)

#: §7.7: no refund notification page was found. The sandbox tells the payment's notifyUrl, with
#: ``event`` "REFUND" and the refund's fields; a payment's own notification has ``event`` "PAYMENT".
PAYMENT_EVENT = "PAYMENT"
REFUND_EVENT = "REFUND"

#: No deadline field exists on create; the sandbox closes a payment left pending this long.
PAYMENT_LIFETIME_SECONDS = 30 * 60

#: §7.1 ``payMethod.type`` by currency: UPI for rupees, PIX for reais (the types the docs list).
#: §12: the currency table was not found; these two are the only currencies the sandbox takes.
PAY_METHOD_BY_CURRENCY = {"INR": "UPI", "BRL": "PIX"}
#: §7.1, the older Chinese page: the ``payMethod.type`` values. The sandbox takes a type whose
#: first word is its currency's (UPI_COLLECT for INR, not for BRL).
PAY_METHOD_TYPES = ("UPI", "UPI_COLLECT", "UPI_INTENT", "PIX", "PIX_QRCODE")

#: A8 for refunds: a refund sent again under the same ``merchantRefundNo`` with the same content
#: gets the same answer (the sandbox does so); a client may resend an unanswered refund.
REFUND_NUMBER_IDEMPOTENT = True

#: §9: the query parameters the browser brings back to returnUrl (names not documented).
RETURN_PARAMETERS = ("merchantTradeNo", "paymentNo", "status", "merchantAttach")

#: §11 was truncated: the code the sandbox answers for an unknown payment (not documented).
PAYMENT_NOT_FOUND = "Payment.Common.Not_Found"
#: Likewise for a refund the payment cannot take (not paid, or more than is left).
REFUND_REJECTED = "Refund.Common.Rejected"
#: Likewise for a path the sandbox does not serve (HTTP 404) and a known path asked with another
#: method (HTTP 405), answered in the envelope of §3 rather than an HTML page.
ROUTE_NOT_FOUND = "Common.Not_Found"
METHOD_NOT_ALLOWED = "Common.Method_Not_Allowed"
