"""The self-test's lines every adapter's ``self_test`` shares: its mode, its address, a probe's
request number and what an unanswered probe means. Each adapter adds what its gateway's answers say."""

from __future__ import annotations

import secrets
from enum import Enum
from urllib.parse import urlsplit

from ..config import is_loopback_host
from ..notes import Literal, Note, note, verbatim
from .base import Check

#: Starts the number of the order a probe asks about: the shop's own orders start otherwise.
PROBE_PREFIX = "DOCTOR"


def probe_number() -> str:
    """A request number no order has (letters and digits only, as both gateways accept)."""
    return PROBE_PREFIX + secrets.token_hex(8).upper()


class NoAnswer(Enum):
    """Why a probe got no answer to read."""

    UNREACHABLE = "unreachable"  # no connection
    TIMEOUT = "timeout"
    NOT_THE_API = "not_the_api"  # an answer, but not the gateway's envelope (a web server's page)
    SERVER_ERROR = "server_error"  # 5xx
    TOO_MANY_CALLS = "too_many_calls"


def http(status: int | None) -> Literal:
    """An answer's HTTP status as a note shows it (``HTTP 404``)."""
    return Literal(f"HTTP {status or 200}")


def unanswered_because(timed_out: bool, http_status: int | None) -> NoAnswer:
    """Why an SDK's transport error left nothing to read: no answer in time, no connection, or an
    answer (with its HTTP status) that is not the gateway's envelope."""
    if timed_out:
        return NoAnswer.TIMEOUT
    return NoAnswer.UNREACHABLE if http_status is None else NoAnswer.NOT_THE_API


def mode(label: str, sandboxed: bool, url: str) -> Check:
    """Which gateway it talks to: the embedded sandbox or the real one."""
    if sandboxed:
        detail = note("the embedded sandbox at %(url)s: no real money moves", url=Literal(url))
    else:
        detail = note("the real gateway at %(url)s", url=Literal(url))
    return Check(note("%(gateway)s mode", gateway=label), None, detail)


def address(label: str, setting: str, url: str) -> Check:
    """A real gateway's base URL: https, or plain http to this machine (a local tunnel or sandbox)."""
    name = note("%(gateway)s address", gateway=label)
    parts = urlsplit(url)
    if parts.scheme == "https":
        return Check(name, True, note("%(url)s uses https", url=Literal(url)))
    if is_loopback_host(parts.hostname or ""):
        return Check(
            name,
            True,
            note("%(url)s is on this machine (plain http only to a loopback host)", url=Literal(url)),
        )
    return Check(
        name,
        False,
        note("%(url)s is not https", url=Literal(url)),
        note("set %(setting)s to the gateway's https:// address", setting=Literal(setting)),
    )


def answered(label: str, url: str, http_status: int | None) -> Check:
    return Check(
        note("%(gateway)s connection", gateway=label),
        True,
        note("%(url)s answered (%(status)s)", url=Literal(url), status=http(http_status)),
    )


def unanswered(
    label: str,
    setting: str,
    url: str,
    why: NoAnswer,
    *,
    sandboxed: bool,
    http_status: int | None = None,
    reason: str = "",
) -> Check:
    """The probe's failure to get an answer, with the fix (``reason``: the SDK's own words)."""
    values = {"url": Literal(url), "status": http(http_status), "reason": verbatim(reason)}
    fix = note(
        "check %(setting)s and that this machine can reach it (name lookup, firewall, proxy)", setting=Literal(setting)
    )
    if why is NoAnswer.UNREACHABLE:
        detail = note("the gateway is unreachable at %(url)s: no connection (refused or no route)", **values)
    elif why is NoAnswer.TIMEOUT:
        detail = note("the gateway is unreachable at %(url)s: no answer in time (timeout)", **values)
    elif why is NoAnswer.NOT_THE_API:
        detail = note("%(url)s answered (%(status)s), but not as the gateway does", **values)
        fix = note("check %(setting)s: it is the gateway's own address, not a web page", setting=Literal(setting))
    elif why is NoAnswer.SERVER_ERROR:
        detail = note("the gateway answered (%(status)s): %(reason)s", **values)
        fix = note("a fault at the gateway: run the checks again later")
    else:
        detail = note("the gateway refused the call: too many calls (%(reason)s)", **values)
        fix = note("run the checks again in a minute")
    if sandboxed and why in (NoAnswer.UNREACHABLE, NoAnswer.TIMEOUT):
        fix = note(
            "the embedded sandbox answers only while the shop runs at %(setting)s: start it (%(command)s) "
            "and run the checks again",
            setting=Literal("PUBLIC_BASE_URL"),
            command=Literal("python app.py"),
        )
    return Check(note("%(gateway)s connection", gateway=label), False, detail, fix)


def not_checked(name: Note, why: Note) -> Check:
    """A check the probe's outcome left unmade (not a failure of its own: another line says why)."""
    return Check(name, None, note("not checked: %(why)s", why=why))


def register(name: Note, url: str) -> Check:
    """A URL to register at the merchant platform."""
    return Check(name, None, note("register it at the merchant platform: %(url)s", url=Literal(url)))
