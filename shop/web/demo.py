"""Demo mode (on by default with the embedded sandbox): a month of orders made in one click, a
story a presenter runs step by step (create an order, the shopper pays, the notification
arrives, the list turns green) and a "hide amounts" switch for screen sharing. Everything goes
through the real flow: each order is created at the sandbox, paid or closed there, and the
sandbox's signed notification updates it, so every order has a true history.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import gateways, models
from ..gateways import sparkpay
from ..models import Order
from ..orders import service
from ..orders.state import get_order
from ..templating import HIDE_AMOUNTS_COOKIE, amounts_hidden
from ..vocabulary import Source, Status
from .auth import local_path, login_required, manager_required
from .forms import ActionForm

bp = Blueprint("demo", __name__)

#: The order the story creates: priced and paid in USDT on Ethereum.
STORY_ORDER = {
    "edition": "normal",
    "amount": "18.5",
    "currency": "USDT",
    "description": "Oolong tea, 100 g",
    "goods_info": "1 x Oolong tea, 100 g",
    "timeout_minutes": "30",
    "networks": ["2"],
}


def _create(fields: dict[str, Any], staff_email: str | None) -> service.CreateResult:
    """Create an order at the embedded SparkPay sandbox as its creation form would (the demo is
    the sandbox's: it pays and expires orders there)."""
    gateway = gateways.get(sparkpay.NAME)
    form = gateway.form(fields["edition"], formdata=MultiDict(fields))
    return service.create_order(gateway, form, staff_email)


@bp.before_request
@login_required
def _demo_only() -> None:
    """Staff only, and only in demo mode (the routes do not exist for anyone otherwise)."""
    if not current_app.config["DEMO_MODE"]:
        abort(404)


def _story_order() -> Order | None:
    request_no = session.get("demo_story")
    return get_order(request_no) if request_no else None


def _step(order: Order | None) -> int:
    """1 create, 2 the shopper pays, 3 the notification is on its way, 4 the list is green."""
    if order is None:
        return 1
    if order.status == Status.COMPLETED:
        return 4
    return 3 if session.get("demo_story_paid") else 2


@bp.get("/demo")
def story() -> str:
    order = _story_order()
    return render_template("demo/story.html", order=order, step=_step(order), action_form=ActionForm())


@bp.get("/demo/story")
def story_live() -> ResponseReturnValue:
    """The story's live part, polled while the notification is on its way."""
    order = _story_order()
    body = render_template("demo/_story.html", order=order, step=_step(order), action_form=ActionForm())
    return Response(body, status=286 if _step(order) != 3 else 200)


@bp.post("/demo/story/create")
@manager_required
def story_create() -> ResponseReturnValue:
    result = _create(STORY_ORDER, current_user.email)
    session["demo_story"], session["demo_story_paid"] = result.order.request_no, False
    if result.refusal is not None or result.unknown:
        flash(gettext("The sandbox did not take the order; see it for why."), "error")
    return redirect(url_for("demo.story"), 303)


@bp.post("/demo/story/pay")
@manager_required
def story_pay() -> ResponseReturnValue:
    """The shopper pays at the sandbox, as on its cashier page; its notification does the rest."""
    order = _story_order()
    sandbox = current_app.extensions.get("sparkpay_sandbox")
    if order is None or sandbox is None or order.status != Status.UNPAID:
        flash(gettext("There is no order awaiting payment in the story; start again."), "error")
        return redirect(url_for("demo.story"), 303)
    sandbox.pay(order.request_no, "USDT:2")
    session["demo_story_paid"] = True
    return redirect(url_for("demo.story"), 303)


@bp.post("/demo/story/reset")
def story_reset() -> ResponseReturnValue:
    session.pop("demo_story", None)
    session.pop("demo_story_paid", None)
    return redirect(url_for("demo.story"), 303)


# --- a month of orders ----------------------------------------------------------------------

#: What the demo shop sells, with its prices (USDT-priced; some Pro orders are priced in USD).
PRODUCTS = (
    ("Oolong tea, 100 g", "18.5"),
    ("Jasmine green tea, 250 g", "24.9"),
    ("Tea set for two", "89"),
    ("Matcha, 30 g", "32"),
    ("Earl Grey, 200 g", "14.75"),
    ("Gift card", "50"),
    ("Pu-erh cake, 357 g", "120"),
)
#: The networks and stablecoins a demo shopper pays with.
PAY_WITH = (("USDT", 2), ("USDT", 3), ("USDT", 4), ("USDC", 2), ("USDC", 3))


@dataclass(frozen=True)
class PlannedOrder:
    at: datetime  # when staff create it
    outcome: str  # paid, expired, closed (by staff), failed (refused by the gateway) or open
    fields: dict[str, Any]  # what staff would type on the creation form
    pay_with: str  # the sandbox's offer, "USDT:4"


def demo_random(seed: int | str | None) -> random.Random:
    """The one generator of demo mode's choices: seeded, the same seed makes the same month."""
    return random.Random(seed)  # noqa: S311 - seeded: a reproducible demo month


def month_plan(now: datetime, rng: random.Random) -> list[PlannedOrder]:
    """A realistic month: 0-3 orders a day over 30 days, mostly paid, some left to expire or
    closed by staff, one refused by the gateway, and a few from the last hours still open."""
    plan = []
    for days_ago in range(29, -1, -1):
        day = datetime.combine((now - timedelta(days=days_ago)).date(), time.min, UTC)
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            at = day + timedelta(hours=rng.randint(8, 20), minutes=rng.randint(0, 59))
            if at > now - timedelta(hours=2):
                continue
            plan.append(_planned(rng, at, rng.choices(("paid", "expired", "closed"), weights=(8, 2, 1))[0]))
    plan.append(_planned(rng, now - timedelta(days=12, hours=3), "failed"))
    # Within the hour (WEBHOOK_SILENCE_MINUTES' default): waiting for shoppers, not for a webhook.
    plan += [_planned(rng, now - timedelta(minutes=minutes), "open") for minutes in (45, 25, 8)]
    return sorted(plan, key=lambda item: item.at)


def _planned(rng: random.Random, at: datetime, outcome: str) -> PlannedOrder:
    description, price = rng.choice(PRODUCTS)
    currency, network = rng.choice(PAY_WITH)
    fields: dict[str, Any] = {
        "edition": "normal",
        "amount": price,
        "currency": currency,
        "networks": [str(network)],
        "description": description,
        "goods_info": f"1 x {description}",
        "timeout_minutes": str(7 * 24 * 60 if outcome == "open" else 30),
    }
    if outcome == "failed":  # below the gateway's minimum service fee: it refuses (41028)
        fields["amount"] = "0.000001"
    elif rng.random() < 0.2:
        del fields["networks"]
        fields |= {"edition": "pro", "currency": "USD", "currency_networks": [f"{currency}:{network}"]}
    return PlannedOrder(at, outcome, fields, f"{currency}:{network}")


@contextmanager
def _test_clocks(sandbox: Any) -> Iterator[Callable[[datetime], None]]:
    """Yield ``move_to(moment)``, which sets the shop's clock and the sandbox's test clock to
    ``moment``; both are back on the wall clock after."""

    def move_to(moment: datetime) -> None:
        offset = moment - datetime.now(UTC)
        models.clock_offset, sandbox.clock_offset = offset, offset.total_seconds()

    try:
        yield move_to
    finally:
        models.clock_offset, sandbox.clock_offset = timedelta(0), 0.0


def fill_month(staff_email: str | None, seed: int | None = None) -> int:
    """Make a month of orders through the real flow; return how many the gateway answered.

    Each order is created with both clocks moved back to its day, paid (or left to expire, or
    closed by staff) at the sandbox a little later, and its notification delivered before the
    clocks move on, so the history, the charts and the delivery log read as a real month. The
    clocks stay moved for an order's whole life: the sandbox would otherwise expire it at once.
    """
    sandbox = current_app.extensions["sparkpay_sandbox"]
    made = 0
    with _test_clocks(sandbox) as move_to:
        for item in month_plan(datetime.now(UTC), demo_random(seed)):
            move_to(item.at)
            result = _create(item.fields, staff_email)
            if result.unknown:
                continue
            made += 1
            if result.refusal is not None:  # refused by the gateway: part of a real month too
                continue
            order = result.order
            request_no = order.request_no
            if item.outcome == "paid":
                move_to(item.at + timedelta(minutes=demo_random(request_no).randint(2, 25)))
                sandbox.pay(request_no, item.pay_with)
            elif item.outcome == "expired":
                move_to(item.at + timedelta(minutes=31 + demo_random(request_no).randint(0, 30)))
                sandbox.expire_due()  # its deadline has passed: the sandbox closes it, as the gateway would,
                service.refresh(order, source=Source.RECONCILE, actor="reconciler")  # and the reconciler sees it
            elif item.outcome == "closed":
                move_to(item.at + timedelta(minutes=demo_random(request_no).randint(5, 25)))
                service.close_order(order, staff_email)
            sandbox.deliver_due()
    return made


@bp.post("/demo/fill")
@manager_required
def fill() -> ResponseReturnValue:
    made = fill_month(current_user.email)
    flash(gettext("%(count)s orders made over the last 30 days, each through the sandbox.", count=made), "success")
    return redirect(url_for("dashboard.home"), 303)


@bp.post("/demo/hide-amounts")
def hide_amounts() -> ResponseReturnValue:
    """Switch amounts off or on in this browser, then go back where the presenter was."""
    hide = request.form.get("hide") == "1"
    response = redirect(local_path(request.form.get("next")) or url_for("demo.story"), 303)
    response.set_cookie(
        HIDE_AMOUNTS_COOKIE,
        "1" if hide else "0",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _demo() -> dict[str, object]:
        return {"amounts_hidden": amounts_hidden()}
