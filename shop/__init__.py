"""SparkPay Checkout: the shop's Flask app factory."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from . import cli, config, gateways, health, logs, schema, templating
from .extensions import csrf, db, htmx, limiter, login_manager, migrate
from .web import auth, checkout, dashboard, demo, i18n, settings, webhooks

log = logging.getLogger("shop")

#: Strict policy: no inline script or style anywhere (htmx is configured for it in base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested deeper than the parser goes is invalid JSON (so
    ``get_json`` answers 400, as Flask-WTF's forms do for a JSON post), not a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def create_app(overrides: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the shop. ``overrides`` win over instance/config.py and the environment.

    ``instance_path`` (default ``./instance``) holds the generated keys, secret and database.
    """
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.json = BoundedJSONProvider(app)
    config.load(app, overrides)
    logs.configure(app.config["LOG_LEVEL"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["PUBLIC_BASE_URL"].startswith("https://"),
        REMEMBER_COOKIE_SECURE=app.config["PUBLIC_BASE_URL"].startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session: staff keep the list open for hours
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )

    db.init_app(app)
    health.init_app(app)
    migrate.init_app(app, db, directory=schema.MIGRATIONS)
    htmx.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    templating.init_app(app)
    i18n.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see the dashboard.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(checkout.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(settings.bp)
    demo.init_app(app)
    csrf.exempt(webhooks.bp)  # protected by the notification's signature instead
    gateways.init_app(app)
    cli.init_app(app)

    app.add_url_rule("/healthz", "healthz", _healthz)
    app.before_request(_refuse_nul_characters)
    app.after_request(_security_headers)
    _register_error_pages(app)
    _start_reconciler_on_first_request(app)

    schema.upgrade(app)
    return app


def _healthz() -> ResponseReturnValue:
    """200 while the database takes writes and its disk has room; 503 and the reason otherwise."""
    now = health.current()
    if now.ok:
        return jsonify(status="ok", database="ok", disk="ok")
    return jsonify(status="error", database=now.database, disk=now.disk, reason=health.english(now.reason)), 503


#: The bodies ``request.form`` reads.
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse_nul_characters() -> None:
    """No real address or form holds a NUL character, and PostgreSQL text cannot: a request with
    one in its path, query or form is refused (400) before a view reads it. (The webhook reads its
    raw body itself, and keeps it with NUL replaced.)"""
    texts = [request.path, *(text for item in request.args.items(multi=True) for text in item)]
    if request.mimetype in FORM_MIMETYPES and request.blueprint != "webhooks":
        texts += [text for item in request.form.items(multi=True) for text in item]
    if any("\x00" in text for text in texts):
        abort(400)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))  # the page's language
    if "HX-Request" in request.headers or request.path.startswith(("/orders", "/checkout")):
        response.headers.add("Vary", "HX-Request")
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _register_error_pages(app: Flask) -> None:
    def page(error: HTTPException) -> tuple[str, int]:
        return render_template("errors/error.html", error=error), error.code or 500

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, page)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        error.description = gettext(
            "This form has expired or was not sent from this site. Go back, reload the page and try again."
        )
        return render_template("errors/error.html", error=error), 400

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> ResponseReturnValue:
        """The database cannot be opened, read or written now: 503, so browsers and gateways try
        again. Rendered without the context processors, which would read the database again."""
        db.session.rollback()
        log.error("%s %s: the database is unavailable (%s)", request.method, request.path, type(error.orig).__name__)
        language = str(get_locale() or "en").replace("_", "-")
        page = app.jinja_env.get_template("errors/unavailable.html").render(html_lang=language)
        return page, 503, {"Retry-After": "10", "Content-Type": "text/html; charset=utf-8"}

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        return render_template("errors/error.html", error=None), 500


def _start_reconciler_on_first_request(app: Flask) -> None:
    """Run ``orders.service.reconcile``, then ``intake.prune``, every RECONCILE_INTERVAL_SECONDS
    in a background thread.

    Started by the first request (so CLI commands and imports start no thread); 0 turns it off.
    """
    interval = app.config["RECONCILE_INTERVAL_SECONDS"]
    if interval <= 0:
        return
    started = threading.Event()

    def loop() -> None:
        from . import intake, leases
        from .orders import service

        while True:
            time.sleep(interval)
            with app.app_context():
                try:
                    # One instance runs the jobs while its lease lasts; the others skip their turn
                    # and take over only if it stops renewing (two runs would ask twice).
                    if not leases.acquire(service.RECONCILER_LEASE, 2 * interval + 60):
                        continue
                    service.reconcile()  # logs what it did
                except Exception:
                    log.exception("reconciler run failed")
                try:
                    intake.prune()  # logs what it removed, if anything
                except Exception:
                    log.exception("pruning refused deliveries failed")

    lock = threading.Lock()

    @app.before_request
    def start_once() -> None:
        if started.is_set():
            return
        with lock:
            if not started.is_set():
                started.set()
                threading.Thread(target=loop, name="reconciler", daemon=True).start()
