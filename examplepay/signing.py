"""The ``V2_SHA256`` scheme: the seven-line signing string, the ``Authorization`` header, checks.

::

    appId \\n appSecret \\n METHOD \\n URL \\n timestamp \\n nonce \\n body \\n   ->  lowercase hex SHA-256

The secret is a line of the hashed text and never travels; the body is the exact bytes sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import readings
from .errors import ConfigurationError, SignatureVerificationError

SCHEME = "V2_SHA256"
#: How every complaint about the header's shape begins (the sandbox answers them Invalid_Sign).
MALFORMED = "Authorization header missing or malformed"
#: Each parameter's form. What is sent is the docs' (``appId=..,sign=..,timestamp=..,nonce=..``, no
#: spaces); what is read may have them in any order, with spaces after the commas or around ``=``
#: and a value in double quotes (RFC 9110 auth-params), the sign in either case, other parameters.
_PARAMETERS = {
    "appId": re.compile(r"[0-9A-Za-z_.\-]+"),
    "sign": re.compile(r"[0-9a-fA-F]{64}"),
    "timestamp": re.compile(r"\d{13}"),
    "nonce": re.compile(r"[0-9A-Za-z]{8,64}"),
}
_PARAMETER = re.compile(r'\s*(\w+)\s*=\s*(?:"([^"]*)"|([^\s,";=]*))\s*')
#: Reading A11 "upper-case": the nonce as the docs' examples write it (what ``authorize`` makes).
DOCUMENTED_NONCE = re.compile(r"[0-9A-F]{32}")


def signed_url(url: str, form: str = readings.DEFAULT_SIGNED_URL_FORM) -> str:
    """The URL as it appears in the signing string (reading A2): absolute, or its path only."""
    if form not in readings.SIGNED_URL_FORMS:
        raise ConfigurationError(f"signed URL form must be one of {readings.SIGNED_URL_FORMS}")
    return url if form == "absolute" else (urlsplit(url).path or "/")


def signing_string(
    app_id: str, app_secret: str, method: str, url: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    """The seven lines, each ending in LF (the last one too)."""
    head = "".join(f"{line}\n" for line in (app_id, app_secret, method.upper(), url, timestamp, nonce))
    return head.encode("utf-8") + body + b"\n"


def sign(app_id: str, app_secret: str, method: str, url: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hashlib.sha256(signing_string(app_id, app_secret, method, url, timestamp, nonce, body)).hexdigest()


@dataclass(frozen=True)
class Authorization:
    app_id: str
    sign: str
    timestamp: str
    nonce: str

    def header(self) -> str:
        return f"{SCHEME} appId={self.app_id},sign={self.sign},timestamp={self.timestamp},nonce={self.nonce}"

    @classmethod
    def parse(cls, header: str | None) -> Authorization:
        """Read a header; SignatureVerificationError ("... malformed: why") when it is missing, of
        another scheme, or has one of its parameters missing, twice or not in its form."""
        scheme, _, parameters = (header or "").strip().partition(" ")
        if scheme.upper() != SCHEME:  # a scheme is case-insensitive (RFC 9110 11.1)
            raise _malformed("not the V2_SHA256 scheme" if header else "missing")
        values: dict[str, str] = {}
        for part in parameters.split(","):
            found = _PARAMETER.fullmatch(part)
            if found is None:
                raise _malformed("a parameter is not name=value")
            name, value = found.group(1), found.group(2) if found.group(2) is not None else found.group(3)
            if name in values:
                raise _malformed(f"{name} given twice")
            form = _PARAMETERS.get(name)
            if form is not None and not form.fullmatch(value):  # one the scheme does not name is ignored
                raise _malformed(f"{name} is not in its form")
            values[name] = value
        missing = [name for name in _PARAMETERS if name not in values]
        if missing:
            raise _malformed(f"no {', '.join(missing)}")
        return cls(values["appId"], values["sign"].lower(), values["timestamp"], values["nonce"])


def _malformed(why: str) -> SignatureVerificationError:
    return SignatureVerificationError(f"{MALFORMED}: {why}")


def authorize(
    app_id: str, app_secret: str, method: str, url: str, body: bytes, *, clock: Callable[[], float] = time.time
) -> Authorization:
    """A fresh timestamp (milliseconds) and nonce, and the signature over them and ``body``."""
    timestamp = str(int(clock() * 1000))
    nonce = secrets.token_hex(16).upper()  # reading A11: 32 hex digits, upper case as in the docs
    return Authorization(app_id, sign(app_id, app_secret, method, url, timestamp, nonce, body), timestamp, nonce)


def verify(
    header: str | None,
    app_id: str,
    app_secret: str,
    method: str,
    url: str,
    body: bytes,
    *,
    clock: Callable[[], float] = time.time,
    window_ms: int = readings.TIMESTAMP_WINDOW_MS,
) -> Authorization:
    """Check an ``Authorization`` header over ``body``; return it, or raise SignatureVerificationError."""
    authorization = Authorization.parse(header)
    if authorization.app_id != app_id:
        raise SignatureVerificationError("signed for another appId")
    if abs(int(authorization.timestamp) - int(clock() * 1000)) > window_ms:
        raise SignatureVerificationError("timestamp outside the allowed window")
    expected = sign(app_id, app_secret, method, url, authorization.timestamp, authorization.nonce, body)
    if not hmac.compare_digest(expected, authorization.sign):
        raise SignatureVerificationError("signature does not match")
    return authorization
