"""Managers' page: the go-live self-test (``shop.doctor``) and what to register at the merchant
platform. Staff who are not managers get a 403; the gateways are asked only when a manager
presses "Run the checks" (a POST with the CSRF token), never by showing the page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from .. import doctor
from ..extensions import login_manager

bp = Blueprint("settings", __name__)


@bp.before_request
def _managers_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        answer: ResponseReturnValue = login_manager.unauthorized()
        return answer
    if not current_user.can_manage:
        abort(403, gettext("Only managers can see the settings and run the self-test."))
    return None


@bp.get("/settings")
def page() -> ResponseReturnValue:
    return render_template("settings/settings.html", report=None), {"Cache-Control": "no-store"}


@bp.post("/settings")
def run() -> ResponseReturnValue:
    report = doctor.run(current_user.email)
    return render_template("settings/settings.html", report=report), {"Cache-Control": "no-store"}
