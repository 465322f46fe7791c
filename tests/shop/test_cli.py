"""The contract's commands: create-staff and sparkpay keygen (reconcile is in test_dashboard)."""

from __future__ import annotations

import stat
from pathlib import Path

import requests

from sparkpay import signing

from .conftest import PASSWORD, Shop, csrf_token_in


def test_create_staff_with_a_password_option_or_from_stdin(shop: Shop) -> None:
    runner = shop.app.test_cli_runner()
    result = runner.invoke(args=["create-staff", "ann@shop.test", "--password", PASSWORD, "--role", "viewer"])
    assert result.exit_code == 0 and "Created viewer ann@shop.test" in result.output
    result = runner.invoke(args=["create-staff", "bob@shop.test"], input=PASSWORD + "\n")
    assert result.exit_code == 0 and "Created manager bob@shop.test" in result.output
    for email in ("ann@shop.test", "bob@shop.test"):  # both can now sign in
        session = requests.Session()
        token = csrf_token_in(session.get(f"{shop.url}/login").text)
        assert session.post(
            f"{shop.url}/login", data={"csrf_token": token, "email": email, "password": PASSWORD}
        ).url.endswith("/orders")


def test_create_staff_refuses_bad_input_with_a_reason(shop: Shop) -> None:
    runner = shop.app.test_cli_runner()
    assert "at least 12 characters" in runner.invoke(args=["create-staff", "a@shop.test", "--password", "short"]).output
    assert "not an email address" in runner.invoke(args=["create-staff", "nobody", "--password", PASSWORD]).output
    runner.invoke(args=["create-staff", "dup@shop.test", "--password", PASSWORD])
    again = runner.invoke(args=["create-staff", "DUP@shop.test", "--password", PASSWORD])
    assert again.exit_code != 0 and "already exists" in again.output
    assert "Traceback" not in again.output


def test_keygen_writes_a_usable_pair_and_never_overwrites(shop: Shop, tmp_path: Path) -> None:
    runner = shop.app.test_cli_runner()
    result = runner.invoke(args=["sparkpay", "keygen", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    private = signing.load_private_key(tmp_path / "keys" / "merchant_private.pem")
    public = signing.load_public_key(tmp_path / "keys" / "merchant_public.pem")
    signing.verify(public, b"x", signing.sign(private, b"x"))
    assert stat.S_IMODE((tmp_path / "keys" / "merchant_private.pem").stat().st_mode) == 0o600
    assert "BEGIN" not in result.output, "the key itself is never printed"
    again = runner.invoke(args=["sparkpay", "keygen", str(tmp_path / "keys")])
    assert again.exit_code != 0 and "not overwriting" in again.output
