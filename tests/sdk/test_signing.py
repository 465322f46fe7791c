"""Keys, the string to sign, and SHA256withRSA signatures (checked against the openssl command line)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkpay import KeyFormatError, SignatureVerificationError, signing

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")


def bare_base64(pem: bytes) -> str:
    """The key as the merchant platform shows it: Base64 without the PEM header lines."""
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def test_keys_load_from_file_pem_text_bytes_and_bare_base64(tmp_path: Path, merchant_key: RSAPrivateKey) -> None:
    private_pem = signing.private_key_pem(merchant_key)
    public_pem = signing.public_key_pem(merchant_key.public_key())
    (tmp_path / "key.pem").write_bytes(private_pem)
    expected = merchant_key.private_numbers()
    for source in (
        tmp_path / "key.pem",
        str(tmp_path / "key.pem"),
        private_pem,
        private_pem.decode(),
        bare_base64(private_pem),
    ):
        assert signing.load_private_key(source).private_numbers() == expected
    for source in (public_pem, public_pem.decode(), bare_base64(public_pem)):
        assert signing.load_public_key(source).public_numbers() == merchant_key.public_key().public_numbers()


@pytest.mark.parametrize(
    "source", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "/no/such/file.pem"]
)
def test_a_malformed_key_names_which_key_and_never_its_content(source: str) -> None:
    with pytest.raises(KeyFormatError) as error:
        signing.load_private_key(source, "SPARKPAY_PRIVATE_KEY")
    assert "SPARKPAY_PRIVATE_KEY" in str(error.value)
    if len(source) > 12:
        assert source[12:] not in str(error.value)


def test_a_public_key_is_not_accepted_as_a_private_one(merchant_key: RSAPrivateKey) -> None:
    with pytest.raises(KeyFormatError):
        signing.load_private_key(signing.public_key_pem(merchant_key.public_key()), "merchant key")


def test_the_string_to_sign() -> None:
    assert signing.message("1735689600", "NONCE", b'{"a":1}') == b'1735689600\nNONCE\n{"a":1}\n'
    assert signing.message("1735689600", "NONCE", b"") == b"1735689600\nNONCE\n\n", "A3: a GET signs an empty body"


def test_nonces_are_32_upper_case_letters_and_digits_and_unique() -> None:
    nonces = {signing.new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    assert all(len(n) == 32 and n.isalnum() and n.upper() == n for n in nonces)


def test_sign_and_verify_a_message(merchant_key: RSAPrivateKey) -> None:
    body = b'{"request_no":"R1"}'
    headers = signing.sign_message(merchant_key, body)
    signing.verify_message(merchant_key.public_key(), body, headers)
    for tampered in (
        (b'{"request_no":"R2"}', headers),
        (body, signing.SignedHeaders(str(int(headers.timestamp) + 1), headers.nonce, headers.signature)),
        (body, signing.SignedHeaders(headers.timestamp, headers.nonce[::-1], headers.signature)),
        (body, signing.SignedHeaders(headers.timestamp, headers.nonce, "A" + headers.signature[1:])),
    ):
        with pytest.raises(SignatureVerificationError):
            signing.verify_message(merchant_key.public_key(), *tampered)


def test_a_signature_from_another_key_or_not_base64_is_refused(
    merchant_key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    with pytest.raises(SignatureVerificationError):
        signing.verify(merchant_key.public_key(), b"data", signing.sign(other_key, b"data"))
    with pytest.raises(SignatureVerificationError):
        signing.verify(merchant_key.public_key(), b"data", "%%% not base64 %%%")


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_stale_or_future_timestamp_is_refused(merchant_key: RSAPrivateKey, skew: int) -> None:
    headers = signing.sign_message(merchant_key, b"x", clock=lambda: time.time() + skew)
    with pytest.raises(SignatureVerificationError, match="window"):
        signing.verify_message(merchant_key.public_key(), b"x", headers)


@settings(max_examples=25, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=200),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_change_is_rejected(merchant_key: RSAPrivateKey, body: bytes, position: int, flip: int) -> None:
    signature = signing.sign(merchant_key, body)
    signing.verify(merchant_key.public_key(), body, signature)
    changed = bytearray(body)
    changed[position % len(body)] ^= flip
    with pytest.raises(SignatureVerificationError):
        signing.verify(merchant_key.public_key(), bytes(changed), signature)


@needs_openssl
def test_known_answer_the_sdk_signs_exactly_as_openssl(tmp_path: Path, merchant_key: RSAPrivateKey) -> None:
    (tmp_path / "key.pem").write_bytes(signing.private_key_pem(merchant_key))
    data = signing.message("1735689600", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", b'{"request_no":"R20250101001"}')
    (tmp_path / "message").write_bytes(data)
    openssl = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", "key.pem", "message"], cwd=tmp_path, capture_output=True, check=True
    )
    assert signing.sign(merchant_key, data) == base64.b64encode(openssl.stdout).decode()


@needs_openssl
def test_openssl_verifies_an_sdk_signature(tmp_path: Path, merchant_key: RSAPrivateKey) -> None:
    (tmp_path / "pub.pem").write_bytes(signing.public_key_pem(merchant_key.public_key()))
    (tmp_path / "message").write_bytes(b"1735689600\nNONCE\n{}\n")
    (tmp_path / "sig").write_bytes(base64.b64decode(signing.sign(merchant_key, b"1735689600\nNONCE\n{}\n")))
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "message"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "Verified OK" in result.stdout


@needs_openssl
def test_a_fingerprint_is_what_openssl_prints_for_the_der_public_key(
    tmp_path: Path, merchant_key: RSAPrivateKey
) -> None:
    (tmp_path / "public.pem").write_bytes(signing.public_key_pem(merchant_key.public_key()))
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(tmp_path / "public.pem"), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    printed = subprocess.run(["openssl", "dgst", "-sha256", "-c"], input=der, capture_output=True, check=True).stdout
    assert printed.decode().split("= ")[1].strip() == signing.fingerprint(merchant_key.public_key())
