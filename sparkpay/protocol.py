"""The SparkPay protocol's constants: the documented ones, and what the SDK accepts where the
docs leave a choice open.

The SparkPay docs (see ``shared/sparkpay-api.md``) are cut or silent on several points, each
numbered in that file's section 10. Where a real gateway could take either reading, the
alternatives are in ``readings.READINGS`` and the SDK accepts every one of them (the constants
below derived from it); the few it must choose (what it signs, A3) are fixed here.
"""

from __future__ import annotations

from .readings import BY_ID

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

#: A12: the docs name SHA-256 as the OAEP hash but not the MGF1 hash; unwrap tries each in turn.
OAEP_MGF1_HASHES = BY_ID["A12"].names

#: A9: ``code`` is a number, ``0`` on success; an older page shows it as a string.
SUCCESS_CODES = (0, "0")

#: A26: the normal-edition query's currency key is cut from the docs; these are tried in order
#: (and an answer without any is read as naming no currency).
NORMAL_QUERY_CURRENCY_KEYS = tuple(name for name in BY_ID["A26"].names if name != "omitted")

#: A11: where a notification's ``sign`` may sit; each place is tried in turn.
NOTIFICATION_SIGN_LOCATIONS = BY_ID["A11"].names

#: Documented acknowledgement of a notification: HTTP 200 with exactly this body.
NOTIFICATION_ACK_BODY = "SUCCESS"

#: A14: documented retry intervals, read as gaps between attempts (seconds).
NOTIFICATION_RETRY_INTERVALS = (10, 60, 300, 600, 1800, 3600, 7200)

#: A22: what a gateway that refuses a second create under a used ``request_no`` answers ("request
#: number not valid"). Whether it refuses an identical re-send too is the reading's question, so
#: a client that re-sends a create must be ready to ask for the order instead.
DUPLICATE_REQUEST_NO_CODE = 41023

#: Documented amount precision: at most this many decimal places.
AMOUNT_DECIMAL_PLACES = 6
#: Undocumented (the docs bound only the decimals), so the SDK's own bound, for every currency:
#: at most this many digits before the point. With the decimals, 18 digits in all, well inside
#: ``Decimal``'s 28-digit precision, so sums and comparisons of amounts are exact.
AMOUNT_INTEGER_DIGITS = 12
#: What an amount read from the gateway may have at most in all (``Decimal``'s precision): more
#: cannot be stored or shown exactly, so it is read as malformed.
READ_AMOUNT_DIGITS = 28

#: Documented ``request_no`` rule: at most 64 characters of ``[A-Za-z0-9_]``, case-insensitive.
REQUEST_NO_MAX_LENGTH = 64
REQUEST_NO_PATTERN = r"^[A-Za-z0-9_]{1,64}$"

#: Order statuses (documented). COMPLETED and CLOSED are final.
STATUS_UNPAID = "UNPAID"
STATUS_COMPLETED = "COMPLETED"
STATUS_CLOSED = "CLOSED"
PAY_STATUSES = (STATUS_UNPAID, STATUS_COMPLETED, STATUS_CLOSED)
FINAL_PAY_STATUSES = (STATUS_COMPLETED, STATUS_CLOSED)
