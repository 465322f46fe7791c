"""Staff sign-in: Flask-Login sessions, roles, and the redirect rules for htmx requests."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import flask_login
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response as WerkzeugResponse

from ..extensions import db, htmx, limiter, login_manager
from ..models import Staff
from .forms import ActionForm, LoginForm

bp = Blueprint("auth", __name__)

#: A ``next=`` longer than this is not followed (no page of the shop has so long an address).
MAX_REDIRECT_LENGTH = 2048

P = ParamSpec("P")
R = TypeVar("R")


def _load_staff(staff_id: str) -> Staff | None:
    return db.session.get(Staff, int(staff_id)) if staff_id.isdigit() else None


def _unauthorized() -> WerkzeugResponse:
    target = url_for("auth.login", next=local_path(request.full_path))
    if htmx:
        # A poll from an expired session must move the whole page to sign-in, not swap a form in.
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


login_manager.user_loader(_load_staff)
login_manager.unauthorized_handler(_unauthorized)


def login_required(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
    """Flask-Login's ``login_required`` (it ships no types): a signed-out visitor gets
    ``_unauthorized``'s answer instead of the view's."""
    guarded: Callable[P, R | ResponseReturnValue] = flask_login.login_required(view)
    return guarded


def local_path(candidate: str | None) -> str | None:
    """``candidate`` if it is a path on this site, else None (no open redirects, and no control
    character: a line break would split the Location header)."""
    if not candidate or len(candidate) > MAX_REDIRECT_LENGTH:
        return None
    if any(unicodedata.category(character) == "Cc" for character in candidate):
        return None
    candidate = candidate.replace("\\", "/").strip()
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or not candidate.startswith("/") or candidate.startswith("//"):
        return None
    return candidate.rstrip("?") or None


def manager_required(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
    """Creating and closing orders is for managers; viewers get a 403 page."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
        if not current_user.is_authenticated:
            answer: ResponseReturnValue = login_manager.unauthorized()
            return answer
        if not current_user.can_manage:
            abort(403, gettext("Your role can view orders but not create or close them."))
        return view(*args, **kwargs)

    return wrapped


def _login_limit() -> str:
    limit: str = current_app.config["LOGIN_RATE_LIMIT"]
    return limit


def _login_limit_key() -> str:
    return (request.form.get("email") or "").strip().lower() or "anonymous"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_limit_key)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = local_path(request.args.get("next")) or ""
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        staff = db.session.scalar(select(Staff).where(func.lower(Staff.email) == email))
        if staff is not None and staff.check_password(form.password.data or ""):
            login_user(staff)
            return redirect(local_path(form.next.data) or url_for("dashboard.order_list"), 303)
        flash(gettext("Email or password is not right."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form), 422 if request.method == "POST" else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    form = ActionForm()
    if form.validate_on_submit():
        logout_user()
        flash(gettext("Signed out."), "info")
    return redirect(url_for("auth.login"), 303)
