"""Keys, the string to sign, and SHA256withRSA signatures.

The string to sign is ``timestamp\\nnonce\\nbody\\n`` (documented), each line ending in ``\\n``,
the last one included. A GET request signs an empty body (``protocol.GET_SIGNED_BODY``).
Signatures are RSASSA-PKCS1-v1_5 with SHA-256, standard Base64 (readings A1, A2).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import protocol
from .errors import KeyFormatError, SignatureVerificationError

#: A key as text or a file: a path, PEM text, or bare Base64 (as ``str`` or ``bytes``).
KeySource: TypeAlias = str | bytes | os.PathLike[str]
#: What ``load_private_key`` (and ``SparkPayClient``) accept: a key source or an already loaded key.
PrivateKeySource: TypeAlias = KeySource | rsa.RSAPrivateKey
#: What ``load_public_key`` (and ``SparkPayClient``) accept: a key source or an already loaded key.
PublicKeySource: TypeAlias = KeySource | rsa.RSAPublicKey

_PEM_MARK = b"-----BEGIN"


def _read_source(source: KeySource, what: str) -> bytes:
    """Return the key bytes from a path, PEM text or bare Base64 (as text or bytes)."""
    if isinstance(source, os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise KeyFormatError(f"{what}: no such file: {path}")
        return path.read_bytes()
    data = source.encode() if isinstance(source, str) else bytes(source)
    stripped = data.strip()
    if not stripped:
        raise KeyFormatError(f"{what}: empty")
    if _PEM_MARK not in stripped and len(stripped) < 1024 and b"\n" not in stripped:
        # Short single-line text that is not PEM: a path, unless it is bare Base64 of a key.
        candidate = Path(stripped.decode(errors="replace"))
        try:
            if candidate.is_file():
                return candidate.read_bytes()
        except OSError:
            pass  # e.g. "file name too long": Base64 of a key, not a path
    return stripped


def _der_from_bare_base64(data: bytes, what: str) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"{what}: neither a PEM key, a readable file, nor Base64 of a DER key") from None


def load_private_key(source: PrivateKeySource, what: str = "private key") -> rsa.RSAPrivateKey:
    """Load an RSA private key from a PEM file path, PEM text, or bare Base64 PKCS#8.

    PEM may be PKCS#8 (``BEGIN PRIVATE KEY``) or PKCS#1 (``BEGIN RSA PRIVATE KEY``); bare Base64
    without the header lines is accepted as the docs ask.
    """
    if isinstance(source, rsa.RSAPrivateKey):
        return source
    data = _read_source(source, what)
    try:
        if _PEM_MARK in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(_der_from_bare_base64(data, what), password=None)
    except KeyFormatError:
        raise
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise KeyFormatError(f"{what}: not a readable unencrypted RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"{what}: not an RSA key")
    return key


def load_public_key(source: PublicKeySource, what: str = "public key") -> rsa.RSAPublicKey:
    """Load an RSA public key from a PEM file path, PEM text, or bare Base64 X.509 SPKI."""
    if isinstance(source, rsa.RSAPublicKey):
        return source
    data = _read_source(source, what)
    try:
        if _PEM_MARK in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(_der_from_bare_base64(data, what))
    except KeyFormatError:
        raise
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        raise KeyFormatError(f"{what}: not a readable RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"{what}: not an RSA key")
    return key


def generate_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key, the size the docs require."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (the form the merchant platform works with)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: rsa.RSAPublicKey) -> bytes:
    """X.509 SubjectPublicKeyInfo PEM (the form uploaded to the merchant platform)."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, lower-case hex in colon-separated pairs: what
    ``openssl pkey -pubin -outform DER | openssl dgst -sha256 -c`` prints for the same key."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    return digest.finalize().hex(":")


def secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """Read ``path``, first creating it from ``make()`` (mode 0600, never overwriting) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
    return path.read_bytes()


def message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The exact bytes to sign: ``timestamp\\nnonce\\nbody\\n``."""
    return timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body + b"\n"


def sign(private_key: rsa.RSAPrivateKey, data: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) over ``data``, standard Base64."""
    return base64.b64encode(private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, data: bytes, signature: str | bytes) -> None:
    """Raise SignatureVerificationError unless ``signature`` (Base64) signs ``data``."""
    if not signature:
        raise SignatureVerificationError("signature missing")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureVerificationError("signature is not valid Base64") from None
    try:
        public_key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureVerificationError("signature does not match") from None


def new_nonce() -> str:
    """A fresh random nonce: 32 characters of ``[A-Z0-9]``.

    Base32 of 20 random bytes: 160 bits, letters and digits 2-7 only, and ten times cheaper than
    drawing 32 characters one by one (it is on the path of every signed request).
    """
    return base64.b32encode(secrets.token_bytes(protocol.NONCE_LENGTH * 5 // 8)).decode("ascii")


@dataclass(frozen=True)
class SignedHeaders:
    """The three values that travel with a signed message."""

    timestamp: str
    nonce: str
    signature: str


def sign_message(
    private_key: rsa.RSAPrivateKey,
    body: bytes,
    *,
    clock: Callable[[], float] = time.time,
    nonce: str | None = None,
) -> SignedHeaders:
    """Sign ``body`` with a fresh timestamp and nonce, as a request or response is signed."""
    timestamp = str(int(clock()))
    nonce = nonce or new_nonce()
    return SignedHeaders(timestamp, nonce, sign(private_key, message(timestamp, nonce, body)))


def verify_message(
    public_key: rsa.RSAPublicKey,
    body: bytes,
    headers: SignedHeaders,
    *,
    clock: Callable[[], float] = time.time,
    tolerance: int = protocol.TIMESTAMP_TOLERANCE_SECONDS,
) -> None:
    """Verify a signed message over the raw bytes received; refuse a stale or future timestamp."""
    if not headers.timestamp or not headers.nonce or not headers.signature:
        raise SignatureVerificationError("signature headers missing")
    try:
        sent = int(headers.timestamp)
    except ValueError:
        raise SignatureVerificationError("timestamp is not a number of seconds") from None
    if abs(clock() - sent) > tolerance:
        raise SignatureVerificationError("timestamp outside the allowed window")
    try:
        signed = message(headers.timestamp, headers.nonce, body)
    except UnicodeEncodeError:
        raise SignatureVerificationError("timestamp or nonce is not ASCII") from None
    verify(public_key, signed, headers.signature)
