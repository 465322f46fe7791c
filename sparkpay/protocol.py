"""Every reading of the SparkPay protocol that the docs leave open, in one place.

The SparkPay docs (see ``shared/sparkpay-api.md``) are cut or silent on several points. Each
constant below is the reading this SDK (and the sandbox) builds on, with the ambiguity number
of that file's section 10. When the real gateway shows otherwise, change it here only.
"""

from __future__ import annotations

#: Production API base URL (documented).
PRODUCTION_BASE_URL = "https://api.sparkpay.top"

#: A3: a GET request has no body, so the body line of the string to sign is empty:
#: ``timestamp\nnonce\n\n``.
GET_SIGNED_BODY = b""

#: A5: the gateway signs its responses like requests, with these headers, over
#: ``timestamp\nnonce\nraw_body\n``, using the platform private key.
RESPONSE_SIGNATURE_HEADER = "Sparkpay-Signature"
RESPONSE_TIMESTAMP_HEADER = "Sparkpay-Timestamp"
RESPONSE_NONCE_HEADER = "Sparkpay-Nonce"

#: Request header names (documented).
APP_ID_HEADER = "Sparkpay-App-Id"
SIGNATURE_HEADER = "Sparkpay-Signature"
TIMESTAMP_HEADER = "Sparkpay-Timestamp"
NONCE_HEADER = "Sparkpay-Nonce"

#: Nonce length and alphabet are undocumented; 32 characters of ``[A-Z0-9]``.
NONCE_LENGTH = 32
NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

#: Clock-skew / replay window (undocumented): a signed message whose timestamp is further
#: than this many seconds from now, in either direction, is refused.
TIMESTAMP_TOLERANCE_SECONDS = 300

#: A12: the docs name SHA-256 as the OAEP hash but not the MGF1 hash. Java's default pairs it
#: with MGF1-SHA-1, most other libraries with MGF1-SHA-256; unwrap tries them in this order.
OAEP_MGF1_HASHES = ("sha256", "sha1")

#: A9: ``code`` is a number, ``0`` on success; an older page shows it as a string.
SUCCESS_CODES = (0, "0")

#: A26: the normal-edition query's currency key is cut from the docs; these are tried in order.
NORMAL_QUERY_CURRENCY_KEYS = ("merchant_order_currency", "currency")

#: A11: the notification's ``sign`` most plausibly sits in ``head``; top level is accepted too.
NOTIFICATION_SIGN_LOCATIONS = ("head", "top")

#: Documented acknowledgement of a notification: HTTP 200 with exactly this body.
NOTIFICATION_ACK_BODY = "SUCCESS"

#: A14: documented retry intervals, read as gaps between attempts (seconds).
NOTIFICATION_RETRY_INTERVALS = (10, 60, 300, 600, 1800, 3600, 7200)

#: A22: a second create with the same ``request_no`` and the same content returns the existing
#: order (the call is idempotent, so a client may retry it); with different content it is
#: refused with this code ("request number not valid").
DUPLICATE_REQUEST_NO_CODE = 41023

#: Documented amount precision: at most this many decimal places.
AMOUNT_DECIMAL_PLACES = 6

#: Documented ``request_no`` rule: at most 64 characters of ``[A-Za-z0-9_]``, case-insensitive.
REQUEST_NO_MAX_LENGTH = 64
REQUEST_NO_PATTERN = r"^[A-Za-z0-9_]{1,64}$"

#: Order statuses (documented). COMPLETED and CLOSED are final.
STATUS_UNPAID = "UNPAID"
STATUS_COMPLETED = "COMPLETED"
STATUS_CLOSED = "CLOSED"
PAY_STATUSES = (STATUS_UNPAID, STATUS_COMPLETED, STATUS_CLOSED)
FINAL_PAY_STATUSES = (STATUS_COMPLETED, STATUS_CLOSED)
