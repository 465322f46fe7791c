"""The contract's commands: create-staff, sparkpay keygen, sparkpay reconcile, sparkpay doctor; and
sparkpay prune-deliveries."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from sparkpay import signing

from . import doctor, intake, leases
from .extensions import db
from .models import ROLES, Staff
from .orders import service

#: OWASP ASVS 2.1.1 minimum.
MIN_PASSWORD_LENGTH = 12

sparkpay_cli = AppGroup("sparkpay", help="SparkPay gateway commands.")


def add_staff(email: str, password: str, role: str) -> Staff:
    """Create a staff user; raises ValueError with a readable reason."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise ValueError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if db.session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower())) is not None:
        raise ValueError(f"{email} already exists")
    staff = Staff(email=email, role=role)
    staff.set_password(password)
    db.session.add(staff)
    db.session.commit()
    return staff


@click.command("create-staff")
@click.argument("email")
@with_appcontext
@click.option("--password", help="Read from standard input (or prompted) when not given.")
@click.option("--role", type=click.Choice(ROLES), default="manager", show_default=True)
def create_staff_command(email: str, password: str | None, role: str) -> None:
    """Add a staff user who can sign in to the dashboard."""
    if password is None:
        # sys.stdin is what Click's CliRunner replaces too (click.get_text_stream is deprecated in 8.5).
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\n")
    try:
        add_staff(email, password, role)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {role} {email}.")


@sparkpay_cli.command("keygen")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def keygen_command(directory: Path) -> None:
    """Write a fresh RSA-2048 pair (PKCS#8 private, X.509 public, PEM) to DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "merchant_private.pem", directory / "merchant_public.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise click.ClickException(f"{path} already exists; not overwriting a key")
    key = signing.generate_private_key()
    signing.secret_file(private_path, lambda: signing.private_key_pem(key))
    public_path.write_bytes(signing.public_key_pem(key.public_key()))
    click.echo(f"Private key: {private_path} (keep it secret; set SPARKPAY_PRIVATE_KEY to this path)")
    click.echo(f"Public key:  {public_path} (upload it on the merchant platform's Applications page)")


@sparkpay_cli.command("reconcile")
def reconcile_command() -> None:
    """Ask the gateway about every open order and apply what it says."""
    if not leases.acquire(service.RECONCILER_LEASE, 15 * 60):
        click.echo("Another instance is reconciling now; nothing done.")
        return
    try:
        summary = service.reconcile()
    finally:
        leases.release(service.RECONCILER_LEASE)
    click.echo(f"Checked {summary.checked} open orders: {summary.changed} changed, {summary.unreachable} unreachable.")
    if summary.unreachable:
        raise SystemExit(1)


@sparkpay_cli.command("prune-deliveries")
def prune_deliveries_command() -> None:
    """Delete refused webhook deliveries (and their rate-limit counters) older than
    REFUSED_DELIVERY_RETENTION_DAYS; verified deliveries are kept. The scheduler does the same."""
    pruned = intake.prune()
    click.echo(
        f"Removed {pruned.deliveries} refused deliveries and {pruned.windows} rate-limit counters "
        f"received before {pruned.before:%Y-%m-%d %H:%M:%S} UTC; verified deliveries are kept."
    )


@sparkpay_cli.command("doctor")
def doctor_command() -> None:
    """Check the settings against the gateways before going live: one line per check, PASS, FAIL
    (with the fix) or INFO; exit status 1 if any failed. Never prints a secret."""
    report = doctor.run("the command line")
    for line in doctor.lines(report):
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(create_staff_command)
    app.cli.add_command(sparkpay_cli)
