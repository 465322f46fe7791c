"""Where the shop may send a shopper to pay: the gateway's own payment page, nowhere else.

A create answer's payment URL becomes the shopper's "Continue to payment" link. One on another
host (a proxy that rewrote the answer, a gateway account taken over) would send the shopper to
pay someone else, so the link must be https on the gateway's host (its base URL's, or one the
merchant lists in ``<GATEWAY>_PAYMENT_HOSTS``), or, while the embedded sandbox runs, under the
sandbox's own URL. Plain http only ever to this machine (a loopback sandbox).
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from ..config import is_loopback_host
from ..notes import Literal, Note, note

#: The longest payment URL kept (the order's ``cashier_url`` column).
MAX_LENGTH = 1024


def _port(scheme: str, port: int | None) -> int:
    return port if port is not None else 443 if scheme == "https" else 80


def problem(url: str, gateway_url: str, *, also_hosts: tuple[str, ...] = (), sandboxed: bool = False) -> Note | None:
    """Why ``url`` may not be shown to the shopper, or None. ``gateway_url`` is the gateway's base
    URL (the embedded sandbox's own, when ``sandboxed``)."""
    if not url or len(url) > MAX_LENGTH or not url.isascii() or any(c <= " " or c == "\x7f" for c in url):
        return note("it is not a well-formed web address")
    try:
        parts, gateway = urlsplit(url), urlsplit(gateway_url)
        port, gateway_port = _port(parts.scheme, parts.port), _port(gateway.scheme, gateway.port)
    except ValueError:  # a port that is not a number
        return note("it is not a well-formed web address")
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or parts.username is not None:
        return note("it is not a well-formed web address")
    if parts.scheme != "https" and not is_loopback_host(host):
        return note("it is plain http to %(host)s, which is not this machine", host=Literal(host))
    on_gateway = parts.scheme == gateway.scheme and host == (gateway.hostname or "").lower() and port == gateway_port
    if sandboxed:
        inside = posixpath.normpath(parts.path or "/").startswith(gateway.path.rstrip("/") + "/")
        if on_gateway and inside:
            return None
        return note("it is not on the sandbox's own address %(address)s", address=Literal(gateway_url))
    if on_gateway or (parts.scheme == "https" and port == 443 and host in also_hosts):
        return None
    return note(
        "it is on %(host)s, not on the gateway's host %(gateway)s",
        host=Literal(parts.netloc.lower()),
        gateway=Literal(gateway.netloc.lower()),
    )
