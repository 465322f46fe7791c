"""SDK signing and verifying next to raw `cryptography` on the same key, in the same run.
From the repository root:

    python3 -m bench.sign_verify [--seconds 3]

The SDK adds the string to sign, Base64 and the timestamp check around one RSA operation; the
ratio to raw `cryptography` is that overhead (goal: under 10 %).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sparkpay import open_notification, seal_notification, signing


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation`` over about ``seconds`` (after one warm-up call)."""
    operation()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        operation()
        count += 1
    return count / elapsed


def paired(
    sdk: Callable[[], object], raw: Callable[[], object], seconds: float, rounds: int = 6
) -> tuple[float, float]:
    """Best rate of each over alternating short rounds, so machine noise hits both alike."""
    sdk_best = raw_best = 0.0
    for _ in range(rounds):
        sdk_best = max(sdk_best, rate(sdk, seconds / rounds))
        raw_best = max(raw_best, rate(raw, seconds / rounds))
    return sdk_best, raw_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    key, platform_key = signing.generate_private_key(), signing.generate_private_key()
    public = key.public_key()
    body = b'{"request_no":"R1","total_amount":"12.5"}' * 24  # about 1 KB
    headers = signing.sign_message(key, body)
    data = signing.message(headers.timestamp, headers.nonce, body)
    raw_signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    payload = b'{"request_no":"R1","pay_status":"COMPLETED","goods_info":"' + b"x" * 900 + b'"}'
    sealed = seal_notification(payload, merchant_public_key=public, platform_private_key=platform_key, app_id="A")

    figures = [
        (
            "sign",
            *paired(
                lambda: signing.sign_message(key, body),
                lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
                seconds,
            ),
        ),
        (
            "verify",
            *paired(
                lambda: signing.verify_message(public, body, headers),
                lambda: public.verify(raw_signature, data, padding.PKCS1v15(), hashes.SHA256()),
                seconds,
            ),
        ),
        (
            "open notification",
            rate(
                lambda: open_notification(
                    sealed, merchant_private_key=key, platform_public_key=platform_key.public_key()
                ),
                seconds,
            ),
            None,
        ),
    ]
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, RSA-2048, 1 KB body"
    )
    for name, sdk, raw in figures:
        line = f"{name:>18}: SDK {sdk:8,.0f}/s"
        if raw:
            line += f"   raw cryptography {raw:8,.0f}/s   SDK overhead {100 * (raw / sdk - 1):5.1f} %"
        print(line)


if __name__ == "__main__":
    main()
