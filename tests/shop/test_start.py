"""The contract's one-command start: `python app.py` on a fresh machine."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sparkpay import signing

from .conftest import csrf_token_in

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Run `python app.py` until it prints its stop hint; return the process, its URL and its output."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKPAY_", "SANDBOX_"))}
    environment.update(PORT=str(port), INSTANCE_PATH=str(tmp_path / "instance"), PYTHONUNBUFFERED="1", **env)
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or "Press Ctrl+C" not in lines[-1]:
        line = process.stdout.readline()
        if not line:
            process.wait(10)
            raise AssertionError("app.py exited:\n" + "".join(lines))
        lines.append(line)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return process, url, lines


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(10)
    assert process.stdout is not None
    process.stdout.close()


def test_one_command_starts_a_complete_sandbox_shop(tmp_path: Path) -> None:
    process, url, lines = start(tmp_path)
    try:
        output = "".join(lines)
        password_match = re.search(r"as demo@sparkpay\.local with password (\S+)", output)
        assert password_match is not None
        password = password_match.group(1)
        assert requests.get(f"{url}/healthz").json() == {"status": "ok", "database": "ok", "disk": "ok"}
        session = requests.Session()
        token = csrf_token_in(session.get(f"{url}/login").text)
        signed_in = session.post(
            f"{url}/login", data={"csrf_token": token, "email": "demo@sparkpay.local", "password": password}
        )
        assert "Orders" in signed_in.text and signed_in.url == f"{url}/orders"
        assert session.get(f"{url}/sandbox/").status_code == 200
        for generated in ("merchant_private.pem", "sandbox_platform_private.pem", "secret_key", "shop.db"):
            assert (tmp_path / "instance" / generated).exists(), generated
        assert oct((tmp_path / "instance" / "merchant_private.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        stop(process)


def test_with_a_real_gateway_configured_no_demo_account_is_made(
    tmp_path: Path, merchant_key: RSAPrivateKey, platform_key: RSAPrivateKey
) -> None:
    process, url, lines = start(
        tmp_path,
        SPARKPAY_BASE_URL="https://api.sparkpay.invalid",
        SPARKPAY_APP_ID="APPREAL",
        SPARKPAY_MERCHANT_NO="MREAL",
        SPARKPAY_PRIVATE_KEY=signing.private_key_pem(merchant_key).decode(),
        SPARKPAY_PLATFORM_PUBLIC_KEY=signing.public_key_pem(platform_key.public_key()).decode(),
    )
    try:
        output = "".join(lines)
        assert "password" not in output and "demo@" not in output
        assert requests.get(f"{url}/sandbox/").status_code == 404, "no sandbox next to a real gateway"
        assert not (tmp_path / "instance" / "merchant_private.pem").exists()
    finally:
        stop(process)


def test_a_real_gateway_with_missing_settings_stops_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "INSTANCE_PATH": str(tmp_path),
            "SPARKPAY_BASE_URL": "https://api.sparkpay.invalid",
            "PORT": str(free_port()),
        },
    )
    assert result.returncode != 0
    assert (
        "also set SPARKPAY_APP_ID, SPARKPAY_MERCHANT_NO, SPARKPAY_PRIVATE_KEY, SPARKPAY_PLATFORM_PUBLIC_KEY"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
