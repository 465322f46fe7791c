"""Staff pages: the order list (live), the creation form, the order detail and its actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Select, false, func, or_, select

from .. import gateways
from ..extensions import db, htmx
from ..gateways.base import Gateway, InvalidField
from ..models import Notification, Order
from ..orders import refunds, service
from ..orders.state import get_order
from ..reports import audit, charts, exports, webhook_health
from ..reports.lifecycle import lifecycle
from ..vocabulary import DELIVERY_OUTCOMES, STATUS_LABELS, Outcome, Status
from .auth import login_required, manager_required
from .forms import ActionForm, RefundForm

bp = Blueprint("dashboard", __name__)

#: The order list's poller carries at most this many open rows (one page's worth).
MAX_POLLED_ROWS = 100
#: Row ids in URLs (deliveries) go up to PostgreSQL's INTEGER; a larger one is a 404, not a
#: number the database cannot take.
MAX_ID = 2**31 - 1
#: A search longer than the longest column it looks in (a description) cannot match anything.
MAX_SEARCH_LENGTH = 256


@bp.before_request
@login_required
def _staff_only() -> None:
    """Every dashboard URL, page or fragment, needs a signed-in staff member."""


@bp.context_processor
def _webhook_silence() -> dict[str, object]:
    """The banner of every staff page (not of the fragments htmx swaps in)."""
    return {"webhook_silence": None if htmx else webhook_health.silence()}


@bp.get("/")
def home() -> str:
    """The dashboard home: the last month at a glance."""
    return render_template("dashboard/home.html", charts=charts.dashboard_charts())


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filtered_orders() -> tuple[Select[Order], dict[str, str]]:
    """The order list's query for the filters in the URL (newest first), and those filters."""
    status = request.args.get("status", "")
    query = request.args.get("q", "").strip()
    day_from = _parse_day(request.args.get("from"))
    day_to = _parse_day(request.args.get("to"))
    statement = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if status in tuple(Status):
        statement = statement.where(Order.status == status)
    if day_from:
        statement = statement.where(Order.created_at >= datetime.combine(day_from, time.min, UTC))
    if day_to and day_to < date.max:  # to the last day a date can hold: no upper bound
        statement = statement.where(Order.created_at < datetime.combine(day_to + timedelta(days=1), time.min, UTC))
    if len(query) > MAX_SEARCH_LENGTH:
        statement = statement.where(false())
    elif query:
        like = f"%{query}%"
        statement = statement.where(
            or_(Order.request_no.ilike(like), Order.merchant_order_no.ilike(like), Order.description.ilike(like))
        )
    filters = {"status": status, "q": query, "from": request.args.get("from", ""), "to": request.args.get("to", "")}
    return statement, filters


@bp.get("/orders")
def order_list() -> str:
    statement, filters = _filtered_orders()
    page = ListPage.fetch(statement, request.args.get("page", 1, type=int), current_app.config["ORDERS_PER_PAGE"])
    return render_template(
        "dashboard/orders.html",
        page=page,
        filters=filters,
        statuses=STATUS_LABELS,
        poller=_poller_state(page.items),
    )


@bp.get("/orders.csv")
def order_export() -> Response:
    """Every order the list's filters match, as a CSV download streamed in batches."""
    statement, _ = _filtered_orders()
    name = f"orders-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(exports.orders_csv(statement)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


Row = TypeVar("Row", Order, Notification)


@dataclass
class ListPage(Generic[Row]):
    """One page of a list (orders, deliveries). Counting stops at COUNT_CAP, so a page costs the
    same at a thousand rows or a million (an exact count of a large table grows with the table)."""

    COUNT_CAP: ClassVar[int] = 10_000
    #: A page number past this is read as this: the database's OFFSET stays in range.
    MAX_PAGE: ClassVar[int] = 1_000_000

    items: list[Row]
    page: int
    per_page: int
    has_next: bool
    counted: int

    @classmethod
    def fetch(cls, statement: Select[Row], page: int, per_page: int) -> ListPage[Row]:
        """Page ``page`` (1 for less; the last page for one past the end, when the count is exact)."""
        entity = statement.column_descriptions[0]["entity"]
        capped = statement.order_by(None).with_only_columns(entity.id).limit(cls.COUNT_CAP + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(capped)) or 0
        page = min(max(page, 1), cls.MAX_PAGE)
        if counted <= cls.COUNT_CAP:
            page = min(page, max(1, -(-counted // per_page)))
        rows = db.session.scalars(statement.limit(per_page + 1).offset((page - 1) * per_page)).all()
        return cls(list(rows[:per_page]), page, per_page, len(rows) > per_page, counted)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def total(self) -> str:
        return f"{self.COUNT_CAP:,}+" if self.counted > self.COUNT_CAP else f"{self.counted:,}"

    @property
    def pages(self) -> str:
        if self.counted > self.COUNT_CAP:
            return "many"
        return f"{max(1, -(-self.counted // self.per_page)):,}"

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _poller_state(rows: Sequence[Order]) -> dict[str, Any] | None:
    """What the list's single poller asks about: the open rows and their combined revision."""
    open_rows = [o for o in rows if o.is_open][:MAX_POLLED_ROWS]
    if not open_rows:
        return None
    return {"open": ",".join(o.request_no for o in open_rows), "version": sum(o.revision for o in open_rows)}


@bp.get("/orders/poll")
def order_list_poll() -> ResponseReturnValue:
    """One request per open list: 204 when nothing changed, else the changed rows (out of band)."""
    wanted = [n for n in request.args.get("open", "").split(",") if n][:MAX_POLLED_ROWS]
    version = request.args.get("v", type=int)
    rows = db.session.execute(
        select(Order.request_no, Order.revision, Order.status).where(Order.request_no.in_(wanted))
    ).all()
    if sum(r.revision for r in rows) == version and len(rows) == len(wanted):
        return Response(status=204)
    # Re-send every watched row: cheaper to render than to work out which ones moved.
    watched = db.session.scalars(select(Order).where(Order.request_no.in_([r.request_no for r in rows]))).all()
    return render_template("dashboard/_order_poll.html", rows=watched, poller=_poller_state(watched))


def _edition_of(key: str | None) -> tuple[Gateway, str]:
    """The offered gateway and edition a creation-form tab names (the first one when it names none)."""
    offered = gateways.offered()
    for gateway in offered:
        for edition in gateway.editions:
            if edition.key == key:
                return gateway, edition.key
    return offered[0], offered[0].editions[0].key


def _field_error(form: Any, field_name: str | None, reason: str) -> None:
    field = getattr(form, field_name or "", None) or form.amount
    field.errors = [*field.errors, reason]


@bp.route("/orders/new", methods=["GET", "POST"])
@manager_required
def order_new() -> ResponseReturnValue:
    key = request.form.get("edition") if request.method == "POST" else request.args.get("edition")
    gateway, edition = _edition_of(key)
    form = gateway.form(edition)
    refusal = None
    if form.validate_on_submit():
        try:
            result = service.create_order(gateway, form, current_user.email)
        except InvalidField as error:
            _field_error(form, error.field, gettext(error.reason_template, **error.values))
        else:
            if result.existing:
                flash(gettext("This form was already submitted: here is the order it created."), "info")
                return redirect(url_for("dashboard.order_detail", request_no=result.order.request_no), 303)
            if result.refusal is not None:
                refusal = result.refusal
                if refusal.field:
                    _field_error(
                        form,
                        gateway.form_field(refusal.field),
                        gettext(
                            "%(meaning)s (gateway code %(code)s)", meaning=gettext(refusal.meaning), code=refusal.code
                        ),
                    )
                form.form_token.data = ""
                form.set_edition(edition)
            else:
                if result.unverified is not None and result.unknown:
                    flash(
                        gettext(
                            "The gateway refused the order, but its answer was not signed, so it is not trusted: "
                            "%(code)s %(meaning)s. The order is saved and will be checked with the gateway.",
                            code=result.unverified.code,
                            meaning=gettext(result.unverified.meaning),
                        ),
                        "error",
                    )
                elif result.unknown:
                    flash(
                        gettext(
                            "The gateway did not answer in time. The order is saved and will be checked automatically."
                        ),
                        "error",
                    )
                elif result.refused_link is not None:
                    flash(
                        gettext(
                            "The gateway holds this order, but its payment link is not shown to the shopper: "
                            "%(problem)s. See the order's warning.",
                            problem=str(result.refused_link),
                        ),
                        "error",
                    )
                elif not result.order.cashier_url:
                    flash(
                        gettext(
                            "The gateway holds this order, but its answer with the payment link was lost: "
                            "create a new order for the shopper."
                        ),
                        "error",
                    )
                else:
                    flash(gettext("Order created. Send the checkout link to the shopper."), "success")
                return redirect(url_for("dashboard.order_detail", request_no=result.order.request_no), 303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "dashboard/order_new.html", form=form, gateway=gateway, edition=edition, refusal=refusal
    ), status


def _get_order_or_404(request_no: str) -> Order:
    """The order, or a 404 page."""
    order = get_order(request_no)
    if order is None:
        abort(404, gettext("There is no order %(request_no)s.", request_no=request_no))
    return order


@bp.get("/orders/<request_no>")
def order_detail(request_no: str) -> str:
    order = _get_order_or_404(request_no)
    return render_template("dashboard/order_detail.html", **_detail(order))


@bp.get("/orders/<request_no>/live")
def order_detail_live(request_no: str) -> ResponseReturnValue:
    """The detail page's live part: 204 while the revision is unchanged, 286 once final."""
    order = _get_order_or_404(request_no)
    if request.args.get("v", type=int) == order.revision:
        return Response(status=204)
    body = render_template("dashboard/_order_live.html", **_detail(order))
    return Response(body, status=286 if not order.is_live else 200)


def _detail(order: Order) -> dict[str, object]:
    """What the order page and its live part show."""
    refund_form = RefundForm(formdata=None, amount=str(order.refundable), reason="")
    return {
        "order": order,
        "diagram": lifecycle(order),
        "trail": audit.trail(order),
        "action_form": ActionForm(),
        "refund_form": refund_form,
    }


@bp.post("/orders/<request_no>/close")
@manager_required
def order_close(request_no: str) -> ResponseReturnValue:
    order = _get_order_or_404(request_no)
    result = service.close_order(order, current_user.email)
    flash(result.message, "success" if result.closed else "error")
    return redirect(url_for("dashboard.order_detail", request_no=order.request_no), 303)


@bp.post("/orders/<request_no>/refund")
@manager_required
def order_refund(request_no: str) -> ResponseReturnValue:
    """Refund (part of) a paid order at a gateway that takes refunds; the form confirms first."""
    order = _get_order_or_404(request_no)
    form = RefundForm()
    if not form.validate():
        flash(gettext("Give the amount to refund and a reason."), "error")
    else:
        accepted, message = refunds.refund(order, form.amount.data or "", form.reason.data or "", current_user.email)
        flash(message, "success" if accepted else "error")
    return redirect(url_for("dashboard.order_detail", request_no=order.request_no), 303)


@bp.post("/orders/<request_no>/refresh")
def order_refresh(request_no: str) -> ResponseReturnValue:
    order = _get_order_or_404(request_no)
    outcome = service.check_now(order, current_user.email)
    messages = {
        Outcome.APPLIED: (gettext("Status updated from the gateway."), "success"),
        Outcome.DUPLICATE: (gettext("The gateway confirms the status shown."), "info"),
        Outcome.STALE: (gettext("The gateway confirms the status shown."), "info"),
        Outcome.MISMATCH: (gettext("The gateway's data does not match this order; it is flagged for review."), "error"),
        Outcome.NOT_FOUND: (gettext("The gateway does not know this order."), "error"),
        Outcome.UNREACHABLE: (gettext("Could not reach the gateway; try again in a moment."), "error"),
    }
    flash(*messages[outcome])
    return redirect(url_for("dashboard.order_detail", request_no=order.request_no), 303)


# --- the webhook inspector -----------------------------------------------------------------


@bp.get("/deliveries")
def delivery_list() -> str:
    """Every webhook delivery received, newest first, by outcome or request number."""
    outcome = request.args.get("outcome", "")
    request_no = request.args.get("q", "").strip()
    statement = select(Notification).order_by(Notification.id.desc())
    if outcome in DELIVERY_OUTCOMES:
        statement = statement.where(Notification.outcome == outcome)
    if len(request_no) > MAX_SEARCH_LENGTH:
        statement = statement.where(false())
    elif request_no:
        statement = statement.where(Notification.request_no.ilike(f"%{request_no}%"))
    page = ListPage.fetch(statement, request.args.get("page", 1, type=int), current_app.config["ORDERS_PER_PAGE"])
    filters = {"outcome": outcome, "q": request_no}
    return render_template(
        "dashboard/deliveries.html",
        page=page,
        filters=filters,
        outcomes=DELIVERY_OUTCOMES,
        health=webhook_health.panel(),
    )


def _get_delivery_or_404(delivery_id: int) -> Notification:
    return db.get_or_404(
        Notification, delivery_id, description=gettext("There is no delivery #%(id)s.", id=delivery_id)
    )


@bp.get(f"/deliveries/<int(max={MAX_ID}):delivery_id>")
def delivery_detail(delivery_id: int) -> str:
    record = _get_delivery_or_404(delivery_id)
    return render_template(
        "dashboard/delivery_detail.html",
        record=record,
        changes=service.events_of_delivery(record),
        action_form=ActionForm(),
    )


@bp.post(f"/deliveries/<int(max={MAX_ID}):delivery_id>/replay")
@manager_required
def delivery_replay(delivery_id: int) -> ResponseReturnValue:
    record = _get_delivery_or_404(delivery_id)
    applied, message = service.replay(record, current_user.email)
    flash(message, "success" if applied else "info")
    return redirect(url_for("dashboard.delivery_detail", delivery_id=record.id), 303)
