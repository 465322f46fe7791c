"""The V2_SHA256 signing string, checked against an independent computation and the vectors
of shared/examplepay-api.md §6.2."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from examplepay.errors import ConfigurationError, SignatureVerificationError
from examplepay.signing import Authorization, authorize, sign, signed_url, signing_string, verify

APP_ID = "0123456789abcdef0123456789abcdef"
SECRET = "fedcba9876543210fedcba9876543210"
TIMESTAMP = "1715670758482"
NONCE = "CEAE7940ADEEE91C5A1207F1BB78BE7F"
BODY = b'{"merchantTradeNo":"T1"}'
ABSOLUTE = "https://gateway-sandbox.example.com/pg/v2/payment/query"


@pytest.mark.skipif(not shutil.which("sha256sum"), reason="coreutils' sha256sum")
@pytest.mark.parametrize("url", [ABSOLUTE, "/pg/v2/payment/query"])
def test_the_signature_is_sha256sum_of_the_seven_documented_lines(url: str) -> None:
    lines = f"{APP_ID}\n{SECRET}\nPOST\n{url}\n{TIMESTAMP}\n{NONCE}\n{BODY.decode()}\n"
    independent = (
        subprocess.run(["sha256sum"], input=lines.encode(), capture_output=True, check=True).stdout.split()[0].decode()
    )
    assert signing_string(APP_ID, SECRET, "POST", url, TIMESTAMP, NONCE, BODY) == lines.encode()
    assert sign(APP_ID, SECRET, "POST", url, TIMESTAMP, NONCE, BODY) == independent


def test_the_research_notes_vectors() -> None:
    assert (
        sign(APP_ID, SECRET, "POST", ABSOLUTE, TIMESTAMP, NONCE, BODY)
        == "24b8bf0068c79b08cb386d3ff43beb9ef6eca48ee7a9f86e6b0aca23d8e04d90"
    )
    assert (
        sign(APP_ID, SECRET, "POST", signed_url(ABSOLUTE, "path"), TIMESTAMP, NONCE, BODY)
        == "432624ffcb32b58fbb9b61ad36e20d95ebe3524e8c2bb805ce9e5faa49e26e8c"
    )


def test_the_header_round_trips_and_is_checked() -> None:
    def clock() -> float:
        return 1715670758.482

    signed = authorize(APP_ID, SECRET, "POST", ABSOLUTE, BODY, clock=clock)
    header = signed.header()
    assert (
        header.startswith(f"V2_SHA256 appId={APP_ID},sign=")
        and len(signed.nonce) == 32
        and signed.timestamp == TIMESTAMP
    )
    assert Authorization.parse(header) == signed
    assert verify(header, APP_ID, SECRET, "POST", ABSOLUTE, BODY, clock=clock) == signed
    cases: list[tuple[dict[str, Any], str]] = [
        (dict(body=BODY + b" "), "does not match"),
        (dict(url="/pg/v2/payment/query"), "does not match"),
        (dict(secret="0" * 32), "does not match"),
        (dict(app_id="f" * 32), "another appId"),
        (dict(clock=lambda: 1715670758.482 + 301), "window"),
        (dict(header=header.replace("V2_SHA256", "V1")), "malformed"),
        (dict(header=None), "missing"),
    ]
    for wrong, reason in cases:
        arguments: dict[str, Any] = {
            "header": header,
            "app_id": APP_ID,
            "secret": SECRET,
            "url": ABSOLUTE,
            "body": BODY,
            "clock": clock,
            **wrong,
        }
        with pytest.raises(SignatureVerificationError, match=reason):
            verify(
                arguments["header"],
                arguments["app_id"],
                arguments["secret"],
                "POST",
                arguments["url"],
                arguments["body"],
                clock=arguments["clock"],
            )
    with pytest.raises(ConfigurationError):
        signed_url(ABSOLUTE, "relative")
