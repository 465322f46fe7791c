"""Every choice this SDK makes where ExamplePay's documents are silent, in one place.

The references (A2, A3, ...) are the ambiguities of ``shared/examplepay-api.md`` §13. Each value
here is the most plausible reading; change it here when the provider confirms otherwise.
"""

from __future__ import annotations

#: A2: which form of the request URL is the fourth line of the signing string. Only third-party
#: code shows it ("absolute": scheme, host and path); "path" is the WeChat-lineage alternative.
SIGNED_URL_FORMS = ("absolute", "path")
DEFAULT_SIGNED_URL_FORM = "absolute"

#: A3: a response is signed with the same seven lines as its request: the request's method and
#: URL, the response's own timestamp and nonce, the raw response body.
#: A4: a notification carries the same ``Authorization`` header; method POST, URL the order's
#: notifyUrl (in the same URL form), body the raw POST body.

#: §6.5: how far a signature's timestamp may be from our clock, in milliseconds.
TIMESTAMP_WINDOW_MS = 5 * 60 * 1000

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
PAY_METHOD_BY_CURRENCY = {"INR": "UPI", "BRL": "PIX"}

#: A8 for refunds: a refund sent again under the same ``merchantRefundNo`` with the same content
#: gets the same answer (the sandbox does so); a client may resend an unanswered refund.
REFUND_NUMBER_IDEMPOTENT = True

#: §9: the query parameters the browser brings back to returnUrl (names not documented).
RETURN_PARAMETERS = ("merchantTradeNo", "paymentNo", "status", "merchantAttach")

#: §11 was truncated: the code the sandbox answers for an unknown payment (not documented).
PAYMENT_NOT_FOUND = "Payment.Common.Not_Found"
#: Likewise for a refund the payment cannot take (not paid, or more than is left).
REFUND_REJECTED = "Refund.Common.Rejected"
