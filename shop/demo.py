"""Demo mode (on by default with the embedded sandbox): a story a presenter runs step by step
(create an order, the shopper pays, the notification arrives, the list turns green) and a
"hide amounts" switch for screen sharing. Every step goes through the real flow: the order is
created at the sandbox, paid there, and the sandbox's signed notification updates it.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from . import orders
from .auth import local_path, manager_required
from .forms import ActionForm
from .models import Order

bp = Blueprint("demo", __name__)

#: The cookie that hides amounts on this browser (demo mode only).
HIDE_AMOUNTS_COOKIE = "hide_amounts"
#: The order the story creates: priced and paid in USDT on Ethereum.
STORY_ORDER = orders.NewOrder(
    edition="normal", amount="18.5", currency="USDT", description="Oolong tea, 100 g",
    goods_info="1 x Oolong tea, 100 g", timeout_minutes=30, networks=(2,),
)


def amounts_hidden() -> bool:
    """Whether this browser asked to hide amounts (read by the money filter)."""
    return bool(current_app.config["DEMO_MODE"]) and request.cookies.get(HIDE_AMOUNTS_COOKIE) == "1"


@bp.before_request
@login_required
def _demo_only() -> None:
    """Staff only, and only in demo mode (the routes do not exist for anyone otherwise)."""
    if not current_app.config["DEMO_MODE"]:
        abort(404)


def _story_order() -> Order | None:
    request_no = session.get("demo_story")
    return orders.get_order(request_no) if request_no else None


def _step(order: Order | None) -> int:
    """1 create, 2 the shopper pays, 3 the notification is on its way, 4 the list is green."""
    if order is None:
        return 1
    if order.status == "COMPLETED":
        return 4
    return 3 if session.get("demo_story_paid") else 2


@bp.get("/demo")
def story() -> str:
    order = _story_order()
    return render_template("demo/story.html", order=order, step=_step(order), action_form=ActionForm())


@bp.get("/demo/story")
def story_live() -> Response | str:
    """The story's live part, polled while the notification is on its way."""
    order = _story_order()
    body = render_template("demo/_story.html", order=order, step=_step(order), action_form=ActionForm())
    return Response(body, status=286 if _step(order) != 3 else 200)


@bp.post("/demo/story/create")
@manager_required
def story_create() -> Response:
    result = orders.create_order(STORY_ORDER, current_user.email)
    session["demo_story"], session["demo_story_paid"] = result.order.request_no, False
    if result.error is not None or result.unknown:
        flash(gettext("The sandbox did not take the order; see it for why."), "error")
    return redirect(url_for("demo.story"), 303)


@bp.post("/demo/story/pay")
@manager_required
def story_pay() -> Response:
    """The shopper pays at the sandbox, as on its cashier page; its notification does the rest."""
    order = _story_order()
    sandbox = current_app.extensions.get("sparkpay_sandbox")
    if order is None or sandbox is None or order.status != "UNPAID":
        flash(gettext("There is no order awaiting payment in the story; start again."), "error")
        return redirect(url_for("demo.story"), 303)
    sandbox.pay(order.request_no, "USDT:2")
    session["demo_story_paid"] = True
    return redirect(url_for("demo.story"), 303)


@bp.post("/demo/story/reset")
def story_reset() -> Response:
    session.pop("demo_story", None)
    session.pop("demo_story_paid", None)
    return redirect(url_for("demo.story"), 303)


@bp.post("/demo/hide-amounts")
def hide_amounts() -> Response:
    """Switch amounts off or on in this browser, then go back where the presenter was."""
    hide = request.form.get("hide") == "1"
    response = redirect(local_path(request.form.get("next")) or url_for("demo.story"), 303)
    response.set_cookie(HIDE_AMOUNTS_COOKIE, "1" if hide else "0", httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    app.register_blueprint(bp)

    @app.context_processor
    def _demo() -> dict[str, object]:
        return {"amounts_hidden": amounts_hidden()}
