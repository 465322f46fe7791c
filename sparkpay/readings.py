"""The readings of SparkPay's docs that a real gateway could take either way, as one table.

Each ``Reading`` is an ambiguity of ``shared/sparkpay-api.md`` section 10 with its plausible
alternatives, the first being the one that section recommends. The SDK reads the table to accept
every alternative it receives (the MGF1 hashes it tries, where it looks for a notification's
``sign``, the currency keys of a query); the sandbox reads it to behave as one alternative
(``SANDBOX_READINGS``, e.g. ``A5=success-only,A22=idempotent``), so that the shop can be shown
right under each.
"""

from __future__ import annotations

from gatewaykit.readings import Alternative, Reading, Readings

TABLE = Readings(
    Reading(
        "A5",
        "Which of the gateway's answers are signed?",
        (
            Alternative(
                "all-signed", "Every answer, errors included, carries Sparkpay-Signature / -Timestamp / -Nonce."
            ),
            Alternative("success-only", "Only successful answers are signed; error answers come unsigned."),
        ),
    ),
    Reading(
        "A8",
        "What shape is the closure's answer?",
        (
            Alternative("envelope", "{code, message, data: {request_no, merchant_no, merchant_order_no}}."),
            Alternative("flat", "The three fields alone, at the top level, with no code."),
        ),
    ),
    Reading(
        "A9",
        "What type is the envelope's code?",
        (
            Alternative("number", "A JSON number: 0 on success, 43005 and so on."),
            Alternative("string", 'A JSON string: "0" on success, "43005" and so on.'),
        ),
    ),
    Reading(
        "A11",
        "Where does a notification's sign sit?",
        (
            Alternative("head", "Inside head, beside aes_key."),
            Alternative("top", "At the top level, beside head and body."),
        ),
    ),
    Reading(
        "A12",
        "Which MGF1 hash wraps a notification's AES key (OAEP with SHA-256)?",
        (
            Alternative("sha256", "MGF1 with SHA-256, as most libraries pair it."),
            Alternative("sha1", "MGF1 with SHA-1, Java's default."),
        ),
    ),
    Reading(
        "A15",
        "Which statuses are notified?",
        (
            Alternative("completed-only", "Only a payment (COMPLETED) is notified."),
            Alternative("closed-too", "A close (CLOSED, by the merchant or at the deadline) is notified as well."),
        ),
    ),
    Reading(
        "A21",
        'What does "request_no is case-insensitive" mean?',
        (
            Alternative("fold", "abc and ABC are one request number."),
            Alternative("exact", "Request numbers are matched exactly as written."),
        ),
    ),
    Reading(
        "A22",
        "What does a second create with a request_no already used get?",
        (
            Alternative("refused", "Refused with 41023, whatever its content; never a second order."),
            Alternative("idempotent", "The same content gets the existing order again; other content 41023."),
        ),
    ),
    Reading(
        "A26",
        "Under which key does the normal edition's query give the currency?",
        (
            Alternative("merchant_order_currency", "merchant_order_currency, as in the create call."),
            Alternative("currency", "currency."),
            Alternative("omitted", "None: the answer names no currency."),
        ),
    ),
)

READINGS = TABLE.readings
BY_ID = TABLE.by_id
defaults = TABLE.defaults
choose = TABLE.choose
described = TABLE.described
