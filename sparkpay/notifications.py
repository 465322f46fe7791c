"""Open (and, for the sandbox and tests, seal) SparkPay asynchronous notifications.

Wire form (documented, section 4 of the API notes)::

    {"head": {"charset": "UTF-8", "aes_key": "<Base64 RSA-OAEP(aes key)>", "app_id": "...",
              "sign": "<Base64 SHA256withRSA over the decrypted JSON>"},
     "body": "<Base64 AES-256-CBC(JSON)>"}

The AES key is a 32-character string; its bytes are the key and its first 16 characters the
IV; padding is PKCS#7. The key is wrapped with RSA-OAEP, SHA-256 (MGF1 hash: see
``protocol.OAEP_MGF1_HASHES``). ``sign`` is verified with the platform public key over the
decrypted JSON exactly as decrypted (reading A13), and is read from ``head`` or the top level
(reading A11).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import protocol
from .errors import (
    MalformedDataError,
    NotificationDecryptionError,
    NotificationFormatError,
    NotificationSignatureError,
    SignatureVerificationError,
)
from .models import Notification, PaymentOrder
from .signing import sign, verify

AES_KEY_LENGTH = 32
_AES_KEY_ALPHABET = string.ascii_letters + string.digits
_HASHES = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}


def _oaep(mgf1_hash: str) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(_HASHES[mgf1_hash]()), algorithm=hashes.SHA256(), label=None)


def new_aes_key() -> str:
    """A fresh 32-character AES key string (letters and digits)."""
    return "".join(secrets.choice(_AES_KEY_ALPHABET) for _ in range(AES_KEY_LENGTH))


def _cipher(aes_key: str) -> Cipher[modes.CBC]:
    key = aes_key.encode("utf-8")
    if len(key) != AES_KEY_LENGTH:
        raise NotificationDecryptionError("the AES key is not 32 bytes")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def aes_encrypt(aes_key: str, plaintext: bytes) -> str:
    """AES-256-CBC, IV = first 16 characters of the key, PKCS#7; standard Base64."""
    padder = sym_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = _cipher(aes_key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def aes_decrypt(aes_key: str, ciphertext_b64: str) -> bytes:
    """Reverse of ``aes_encrypt``; raises NotificationDecryptionError on any failure."""
    try:
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise NotificationDecryptionError("body is not valid Base64") from None
    if not ciphertext or len(ciphertext) % 16:
        raise NotificationDecryptionError("body is not a whole number of AES blocks")
    decryptor = _cipher(aes_key).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise NotificationDecryptionError("body padding is invalid (wrong key?)") from None


def wrap_aes_key(merchant_public_key: rsa.RSAPublicKey, aes_key: str, mgf1_hash: str = "sha256") -> str:
    """RSA-OAEP(SHA-256, MGF1 ``mgf1_hash``) with the merchant public key; standard Base64."""
    wrapped = merchant_public_key.encrypt(aes_key.encode("utf-8"), _oaep(mgf1_hash))
    return base64.b64encode(wrapped).decode("ascii")


def unwrap_aes_key(merchant_private_key: rsa.RSAPrivateKey, wrapped_b64: str) -> tuple[str, str]:
    """Return ``(aes_key, mgf1_hash_used)``, trying each MGF1 hash of the protocol in turn."""
    try:
        wrapped = base64.b64decode(wrapped_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise NotificationDecryptionError("aes_key is not valid Base64") from None
    for mgf1_hash in protocol.OAEP_MGF1_HASHES:
        try:
            key_bytes = merchant_private_key.decrypt(wrapped, _oaep(mgf1_hash))
        except ValueError:
            continue
        try:
            aes_key = key_bytes.decode("utf-8")
        except UnicodeDecodeError:
            break
        if len(key_bytes) == AES_KEY_LENGTH:
            return aes_key, mgf1_hash
        break
    raise NotificationDecryptionError("aes_key could not be decrypted with the merchant private key")


def _envelope(raw_body: bytes) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    try:
        envelope = json.loads(raw_body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise NotificationFormatError("the notification is not JSON") from None
    if not isinstance(envelope, dict):
        raise NotificationFormatError("the notification is not a JSON object")
    head = envelope.get("head")
    if not isinstance(head, dict):
        raise NotificationFormatError("the notification has no 'head' object")
    for key, container in (("aes_key", head), ("body", envelope)):
        if not isinstance(container.get(key), str) or not container.get(key):
            raise NotificationFormatError(f"the notification has no '{key}' string")
    return envelope, head


def _signature_of(envelope: Mapping[str, Any], head: Mapping[str, Any]) -> str:
    for location in protocol.NOTIFICATION_SIGN_LOCATIONS:
        value = (head if location == "head" else envelope).get("sign")
        if isinstance(value, str) and value:
            return value
    raise NotificationSignatureError("the notification has no 'sign'")


def open_notification(
    raw_body: bytes,
    *,
    merchant_private_key: rsa.RSAPrivateKey,
    platform_public_key: rsa.RSAPublicKey,
) -> Notification:
    """Decrypt and verify a notification from the raw request body.

    Raises a NotificationError subclass for every failure: not JSON or fields missing
    (NotificationFormatError), key or body undecryptable (NotificationDecryptionError),
    signature missing or wrong (NotificationSignatureError).
    """
    envelope, head = _envelope(raw_body)
    signature = _signature_of(envelope, head)
    aes_key, mgf1_hash = unwrap_aes_key(merchant_private_key, head["aes_key"])
    payload = aes_decrypt(aes_key, envelope["body"])
    try:
        verify(platform_public_key, payload, signature)
    except SignatureVerificationError as exc:
        raise NotificationSignatureError(f"notification signature: {exc.message}") from None
    try:
        data = json.loads(payload, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise NotificationFormatError("the decrypted notification is not JSON") from None
    if not isinstance(data, dict) or not data.get("request_no") or not data.get("pay_status"):
        raise NotificationFormatError("the decrypted notification lacks request_no or pay_status")
    try:
        order = PaymentOrder.from_dict(data)
    except MalformedDataError as exc:
        raise NotificationFormatError(f"the notification's {exc.message}") from None
    app_id = head.get("app_id")
    return Notification(
        order=order,
        payload=payload,
        app_id=str(app_id) if app_id is not None else None,
        mgf1_hash=mgf1_hash,
    )


def seal_notification(
    payload: bytes,
    *,
    merchant_public_key: rsa.RSAPublicKey,
    platform_private_key: rsa.RSAPrivateKey,
    app_id: str,
    mgf1_hash: str = "sha256",
    aes_key: str | None = None,
    sign_location: str = "head",
) -> bytes:
    """Build a notification body as the gateway sends it (for the sandbox and tests).

    A fresh AES key is drawn unless one is given; ``sign`` sits in ``head`` or at the ``top``
    level (A11).
    """
    aes_key = aes_key or new_aes_key()
    head = {"charset": "UTF-8", "aes_key": wrap_aes_key(merchant_public_key, aes_key, mgf1_hash), "app_id": app_id}
    envelope: dict[str, Any] = {"head": head, "body": aes_encrypt(aes_key, payload)}
    (head if sign_location == "head" else envelope)["sign"] = sign(platform_private_key, payload)
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")
