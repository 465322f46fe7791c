"""The shop's two languages: which one a request gets, the switch between them, the catalogue.

Strings in code are marked with ``gettext``/``lazy_gettext`` (Flask-Babel) or ``notes.note``
(stored text); the SDK's error table is read by ``extract_gateway_codes``. ``babel.cfg`` and the
README's "Translations" section say how the catalogue is rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, current_app, has_request_context, redirect, request
from flask_babel import Babel, get_locale
from werkzeug.wrappers import Response

from .auth import local_path

#: Every language the shop speaks: its Babel locale and its name in itself (for the switch).
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}
DEFAULT_LANGUAGE = "en"
#: The cookie that keeps a visitor's choice from the switch; it wins over the browser's list.
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)
babel = Babel()


def _language_of(tag: str) -> str | None:
    """The shop language for a browser's language tag: "zh-CN", "zh-TW", "zh" -> Chinese."""
    primary = tag.replace("_", "-").split("-")[0].lower()
    return {"en": "en", "zh": "zh_Hans"}.get(primary)


def select_language() -> str:
    """The switch's choice if made, else the browser's most wanted language we have; outside a
    request (the CLI, the reconciler) the default."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for tag, quality in request.accept_languages:
        language = _language_of(tag)
        if language and quality > 0:
            return language
    return DEFAULT_LANGUAGE


@bp.post("/language")
def switch() -> Response:
    """The switch in every page's top bar: remember the choice and go back where the visitor was."""
    language = request.form.get("language", "")
    target = local_path(request.form.get("next")) or "/"
    response = redirect(target, 303)
    if language in LANGUAGES:
        response.set_cookie(
            COOKIE,
            language,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


# --- the catalogue ---------------------------------------------------------------------------


def extract_gateway_codes(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for ``sparkpay/errors.py``: each error code's meaning and hint.

    The SDK stays free of any translation machinery; the shop shows these words to staff.
    """
    from sparkpay.errors import ERROR_CODES, UNKNOWN_CODE_MEANING

    yield 0, "gettext", UNKNOWN_CODE_MEANING, ["SparkPay error code not in the table"]
    for code, (meaning, hint) in sorted(ERROR_CODES.items()):
        for text in (meaning, hint):
            if text:
                yield 0, "gettext", text, [f"SparkPay error code {code}"]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_language)
    app.register_blueprint(bp)

    @app.context_processor
    def _languages() -> dict[str, object]:
        language = str(get_locale() or DEFAULT_LANGUAGE)
        # html_lang is the language as an HTML lang value ("en", "zh-Hans").
        return {"languages": LANGUAGES, "current_language": language, "html_lang": language.replace("_", "-")}
