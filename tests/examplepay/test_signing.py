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


SIGN = "24b8bf0068c79b08cb386d3ff43beb9ef6eca48ee7a9f86e6b0aca23d8e04d90"
EXPECTED = Authorization(APP_ID, SIGN, TIMESTAMP, NONCE)


@pytest.mark.parametrize(
    "header",
    [
        f"V2_SHA256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}",
        f"V2_SHA256 nonce={NONCE}, appId={APP_ID}, sign={SIGN}, timestamp={TIMESTAMP}",
        f"V2_SHA256 timestamp = {TIMESTAMP} ,nonce={NONCE},sign={SIGN.upper()},appId={APP_ID}",
        f'V2_SHA256 appId="{APP_ID}", sign="{SIGN}", timestamp="{TIMESTAMP}", nonce="{NONCE}"',
        f"v2_sha256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE},version=2",
        f"  V2_SHA256   appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}  ",
    ],
    ids=["documented", "reordered-spaced", "spaces-around-equals-upper-hex", "quoted", "scheme-case-extra", "padded"],
)
def test_the_header_is_read_as_a_real_server_may_write_it(header: str) -> None:
    assert Authorization.parse(header) == EXPECTED
    assert verify(header, APP_ID, SECRET, "POST", ABSOLUTE, BODY, clock=lambda: 1715670758.482) == EXPECTED


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP}", "no nonce"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},nonce={NONCE}", "no timestamp"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}", "sign given twice"),
        (
            f"V2_SHA256 appId={APP_ID},appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}",
            "appId given twice",
        ),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN[:-1]}g,timestamp={TIMESTAMP},nonce={NONCE}", "sign is not in its form"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN[:-2]},timestamp={TIMESTAMP},nonce={NONCE}", "sign is not in its form"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},timestamp=1715670758,nonce={NONCE}", "timestamp is not in its form"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce=AB-CD-EF-01", "nonce is not in its form"),
        (f"HMAC-SHA256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}", "not the V2_SHA256 scheme"),
        (f"V2_SHA256appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE}", "not the V2_SHA256 scheme"),
        (f"V2_SHA256 appId={APP_ID};sign={SIGN};timestamp={TIMESTAMP};nonce={NONCE}", "a parameter is not name=value"),
        (f"V2_SHA256 appId={APP_ID},sign={SIGN},timestamp={TIMESTAMP},nonce={NONCE},", "a parameter is not name=value"),
        ("V2_SHA256", "a parameter is not name=value"),
        ("", "missing"),
    ],
)
def test_a_header_missing_a_parameter_or_with_one_twice_or_malformed_is_refused(header: str, why: str) -> None:
    with pytest.raises(SignatureVerificationError, match=f"malformed: {why}"):
        Authorization.parse(header)
