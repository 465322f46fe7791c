"""A sandbox's controls are for its owner: the person at its own pages, or a script. A page of
another site that person visits must not pay, expire, fault or reset anything.

Every form of the sandbox's pages carries a token that is also in a cookie only the sandbox's own
pages send back (``SameSite=Strict``; the double-submit pattern, so it holds across worker
processes without a shared secret). A request a browser says another site started is refused
whatever it carries (``Sec-Fetch-Site``; ``Origin`` from a browser that sends no
``Sec-Fetch-Site``). A script sends neither header, and JSON (which no other site's page can send
without the sandbox's consent) or no body at all: it passes.
Both sandboxes use it, each with its own cookie name.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, request, url_for

#: The hidden field of each form.
FIELD = "sandbox_token"
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43}")


class FormGuard:
    """The token of the sandbox's forms, kept in the cookie ``cookie`` under the pages of
    ``home_endpoint``."""

    def __init__(self, cookie: str, home_endpoint: str) -> None:
        self.cookie, self.home_endpoint = cookie, home_endpoint

    def protect(self, bp: Blueprint, owner_only: Collection[str]) -> None:
        """Guard the POSTs to the ``owner_only`` endpoints of ``bp``, and give its templates the
        token (``token_field``, ``sandbox_form_token()``). Call before ``bp``'s own
        ``after_request`` hooks are registered, so that the cookie is set on every answer."""
        bp.after_request(self.keep)

        @bp.context_processor
        def _form_token() -> dict[str, Any]:
            return {"token_field": FIELD, "sandbox_form_token": self.token}

        @bp.before_request
        def _owner_only() -> Response | None:
            if request.method != "POST" or request.endpoint not in owner_only:
                return None
            reason = self.refusal()
            if reason is None:
                return None
            return Response(json.dumps({"error": reason}), status=403, mimetype="application/json")

    def token(self) -> str:
        """This browser's token: its cookie's, or a new one that the response sets (``keep``)."""
        known = request.cookies.get(self.cookie, "")
        if _WELL_FORMED.fullmatch(known):
            return known
        new: str = g.setdefault(f"_{self.cookie}", secrets.token_urlsafe(32))
        return new

    def keep(self, response: Response) -> Response:
        """Set the cookie of a token made while answering (an ``after_request`` hook)."""
        new = g.pop(f"_{self.cookie}", None)
        if new is not None:
            response.set_cookie(
                self.cookie,
                new,
                path=url_for(self.home_endpoint),
                secure=request.is_secure,
                httponly=True,
                samesite="Strict",
            )
        return response

    def refusal(self) -> str | None:
        """Why this request may not use the controls, or None if it may."""
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if site is not None:  # a browser's own word, which no page can change (the Origin a proxy may)
            if site not in ("same-origin", "none"):
                return f"refused: the browser says another site's page sent this ({site})"
        elif origin is not None and urlsplit(origin).netloc != request.host:
            return f"refused: sent from another site's page ({origin[:100]})"
        if request.is_json or (not request.mimetype and not request.content_length):
            return None
        known = request.cookies.get(self.cookie, "")
        sent = request.form.get(FIELD, "")
        if not _WELL_FORMED.fullmatch(known) or not hmac.compare_digest(sent.encode(), known.encode()):
            return "refused: the form's token is missing or out of date; reload the sandbox's page and try again"
        return None
