"""Opening and sealing asynchronous notifications (section 4 of the spec), also against openssl."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import (
    NotificationDecryptionError,
    NotificationFormatError,
    NotificationSignatureError,
    open_notification,
    seal_notification,
    signing,
)
from sparkpay.notifications import aes_decrypt, aes_encrypt

PAYLOAD = (
    b'{"request_no":"R20250101001","pay_status":"COMPLETED","total_amount":"12.5","merchant_order_currency":"USDT"}'
)


def test_the_aes_test_vector_of_section_4_3() -> None:
    key = "0123456789abcdefghijklmnopqrstuv"
    plaintext = b'{"request_no":"R20250101001","pay_status":"COMPLETED"}'
    expected = "CjIl8309AjdGx6SvOdXQ5JCX3da4i5PdMjZ+SckA0O0FGqsDbDm4XnuLgBae10mzS8kNVp0TXcS1GipZ7m5BOg=="
    assert aes_encrypt(key, plaintext) == expected
    assert aes_decrypt(key, expected) == plaintext


@pytest.mark.parametrize("mgf1", ["sha256", "sha1"])
def test_seal_then_open_with_either_mgf1_hash(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, mgf1: str
) -> None:
    sealed = seal_notification(
        PAYLOAD,
        merchant_public_key=merchant_key.public_key(),
        platform_private_key=platform_key,
        app_id="APP1",
        mgf1_hash=mgf1,
    )
    opened = open_notification(sealed, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())
    assert opened.payload == PAYLOAD and opened.mgf1_hash == mgf1 and opened.app_id == "APP1"
    assert (opened.order.request_no, opened.order.pay_status, str(opened.order.amount)) == (
        "R20250101001",
        "COMPLETED",
        "12.5",
    )


def test_sign_at_the_top_level_is_accepted(merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey) -> None:
    envelope = json.loads(
        seal_notification(
            PAYLOAD, merchant_public_key=merchant_key.public_key(), platform_private_key=platform_key, app_id="A"
        )
    )
    envelope["sign"] = envelope["head"].pop("sign")
    opened = open_notification(
        json.dumps(envelope).encode(), merchant_private_key=merchant_key, platform_public_key=platform_key.public_key()
    )
    assert opened.order.request_no == "R20250101001"


def test_failures_are_clear_exceptions(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    good = json.loads(
        seal_notification(
            PAYLOAD, merchant_public_key=merchant_key.public_key(), platform_private_key=platform_key, app_id="A"
        )
    )
    wrong_signer = seal_notification(
        PAYLOAD, merchant_public_key=merchant_key.public_key(), platform_private_key=other_key, app_id="A"
    )
    wrong_merchant = seal_notification(
        PAYLOAD, merchant_public_key=other_key.public_key(), platform_private_key=platform_key, app_id="A"
    )
    tampered = dict(good, body=base64.b64encode(b"x" * 32).decode())
    cases = [
        (b"not json", NotificationFormatError),
        (b"[]", NotificationFormatError),
        (json.dumps({"head": {}}).encode(), NotificationFormatError),
        (wrong_signer, NotificationSignatureError),
        (wrong_merchant, NotificationDecryptionError),
        (json.dumps(tampered).encode(), NotificationDecryptionError),
        (json.dumps(dict(good, head=dict(good["head"], sign="AAAA"))).encode(), NotificationSignatureError),
    ]
    for raw, expected in cases:
        with pytest.raises(expected):
            open_notification(raw, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 20_000,
        b'{"head": ' + b'{"a":' * 20_000,
        b'{"head": {"aes_key": "\xff\xfe"}}',
        b'{"head": {"aes_key": 1e999999}, "body": 1e999999}',
        b"[" + b"9" * 5000 + b"]",
        b'{"head": {"aes_key": "x", "sign": "y"}, "body": "z',
    ],
    ids=["nested arrays", "nested objects", "invalid UTF-8", "huge numbers", "digits past the int limit", "truncated"],
)
def test_a_body_of_20000_nested_brackets_is_a_format_error(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey, raw: bytes
) -> None:
    with pytest.raises(NotificationFormatError):
        open_notification(raw, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())


def test_a_genuinely_sealed_payload_nested_too_deep_is_a_format_error(
    merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    raw = seal_notification(
        b"[" * 20_000, merchant_public_key=merchant_key.public_key(), platform_private_key=platform_key, app_id="A"
    )
    with pytest.raises(NotificationFormatError, match="not JSON"):
        open_notification(raw, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")
def test_a_notification_sealed_with_openssl_opens_in_the_sdk(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    aes_key = "abcdefghijklmnopqrstuvwxyz012345"
    (tmp_path / "merchant_pub.pem").write_bytes(signing.public_key_pem(merchant_key.public_key()))
    (tmp_path / "platform.pem").write_bytes(signing.private_key_pem(platform_key))
    (tmp_path / "payload.json").write_bytes(PAYLOAD)
    (tmp_path / "aes_key").write_text(aes_key)

    def run(*args: str) -> bytes:
        return subprocess.run(args, cwd=tmp_path, capture_output=True, check=True).stdout

    body = run(
        "openssl",
        "enc",
        "-aes-256-cbc",
        "-K",
        aes_key.encode().hex(),
        "-iv",
        aes_key[:16].encode().hex(),
        "-in",
        "payload.json",
        "-base64",
        "-A",
    )
    wrapped = run(
        "openssl",
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        "merchant_pub.pem",
        "-in",
        "aes_key",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    )
    signature = run("openssl", "dgst", "-sha256", "-sign", "platform.pem", "payload.json")
    raw = json.dumps(
        {
            "head": {
                "charset": "UTF-8",
                "aes_key": base64.b64encode(wrapped).decode(),
                "app_id": "APP1",
                "sign": base64.b64encode(signature).decode(),
            },
            "body": body.decode(),
        }
    ).encode()
    opened = open_notification(raw, merchant_private_key=merchant_key, platform_public_key=platform_key.public_key())
    assert opened.payload == PAYLOAD
