"""The go-live self-test, behind ``flask --app app sparkpay doctor`` and the managers' /settings page:
the shop's own checks, then each offered gateway's (``Gateway.self_test``), one log line per run.

Nothing here prints or returns a secret: the checks name settings, never their values, except the
ids and URLs that travel in the clear anyway and the merchant's public key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from . import gateways
from .config import is_loopback_host
from .gateways.base import Check
from .notes import Literal, note

log = logging.getLogger("shop.doctor")


@dataclass(frozen=True)
class Report:
    """A run's checks, in the order they were made."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> int:
        return sum(check.passed is True for check in self.checks)

    @property
    def failed(self) -> int:
        return sum(check.passed is False for check in self.checks)

    @property
    def informative(self) -> int:
        return sum(check.passed is None for check in self.checks)

    @property
    def ok(self) -> bool:
        """No check failed (the command's exit status 0)."""
        return self.failed == 0


def run(by: str) -> Report:
    """Every check, the live ones included (each gateway is asked once); ``by`` is who asked, for the log."""
    offered = [gateway for gateway in gateways.REGISTRY.values() if gateway.enabled()]
    live = any(not gateway.sandboxed() for gateway in offered)
    checks = [*_settings(live), _public_address(live)]
    for gateway in gateways.REGISTRY.values():
        if gateway in offered:
            checks += gateway.self_test()
        else:
            checks.append(
                Check(
                    note("%(gateway)s mode", gateway=gateway.label),
                    None,
                    note("not configured, so staff cannot choose it"),
                )
            )
    report = Report(tuple(checks))
    log.info(
        "doctor run by %s: %d passed, %d failed, %d for information",
        by,
        report.passed,
        report.failed,
        report.informative,
    )
    return report


def lines(report: Report) -> Iterator[str]:
    """The command's output: ``PASS name: detail``, ``FAIL name: detail -- fix``, ``INFO ...``, a
    check's block (a public key) below its line, and a count at the end."""
    for check in report.checks:
        fix = f" -- {check.fix}" if check.fix else ""
        yield f"{check.verdict} {check.name}: {check.detail}{fix}"
        if check.block:
            yield check.block.rstrip("\n")
    yield f"{report.passed} passed, {report.failed} failed, {report.informative} for information."


def _settings(live: bool) -> list[Check]:
    """Every setting was read at start (a missing or malformed one stops it); with a real gateway,
    the sandbox's helpers must be off."""
    name = note("Settings")
    checks = [Check(name, True, note("every setting is present and well-formed (the start checks each one)"))]
    if not live:
        return checks
    config = current_app.config
    if config["SANDBOX_ENABLED"]:
        checks.append(
            Check(
                name,
                False,
                note(
                    "the sandbox is mounted at %(path)s beside a real gateway: anyone can use it",
                    path=Literal("/sandbox"),
                ),
                note("set %(setting)s to 0", setting=Literal("SANDBOX_ENABLED")),
            )
        )
    if config["DEMO_MODE"]:
        checks.append(
            Check(
                name,
                False,
                note("demo mode is on with a real gateway: its page makes orders for show"),
                note("set %(setting)s to 0", setting=Literal("DEMO_MODE")),
            )
        )
    if config["SPARKPAY_VERIFY_RESPONSES"] != "strict":
        checks.append(
            Check(
                name,
                None,
                note(
                    "%(setting)s is %(value)s: an answer that does not verify is logged and read anyway",
                    setting=Literal("SPARKPAY_VERIFY_RESPONSES"),
                    value=Literal(config["SPARKPAY_VERIFY_RESPONSES"]),
                ),
                note("set it to %(value)s once the platform key check passes", value=Literal("strict")),
            )
        )
    return checks


def _public_address(live: bool) -> Check:
    """PUBLIC_BASE_URL: what the gateways send notifications to and send shoppers back to."""
    name = note("Public address")
    url = current_app.config["PUBLIC_BASE_URL"]
    parts = urlsplit(url)
    values = {"setting": Literal("PUBLIC_BASE_URL"), "url": Literal(url)}
    fix = note("set %(setting)s to the shop's public https:// address", **values)
    if is_loopback_host(parts.hostname or ""):
        problem = note("%(setting)s is %(url)s, on this machine: no gateway can reach it", **values)
    elif parts.scheme != "https":
        problem = note("%(setting)s is %(url)s, not https", **values)
    else:
        return Check(name, True, note("%(setting)s is %(url)s: https, beyond this machine", **values))
    if not live:
        return Check(
            name,
            None,
            note("%(setting)s is %(url)s: fine for the sandbox; change it before going live", **values),
            fix,
        )
    return Check(name, False, problem, fix)
