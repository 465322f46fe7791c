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
from sqlalchemy import Select, func, or_, select

import examplepay
from sparkpay import CurrencyNetworks, DivideDetail, OtherReceiver, ValidationError
from sparkpay.models import parse_amount

from . import audit, charts, examplepay_orders, exports, gateway, orders, webhook_health
from .auth import login_required, manager_required
from .extensions import db, htmx
from .forms import OTHER_RECEIVER_ROWS, ActionForm, ExamplePayOrderForm, OrderForm, RefundForm
from .lifecycle import lifecycle
from .models import DELIVERY_OUTCOMES, STATUS_LABELS, STATUSES, Notification, Order

bp = Blueprint("dashboard", __name__)

#: The order list's poller carries at most this many open rows (one page's worth).
MAX_POLLED_ROWS = 100

#: SDK field names -> form field names, so a validation error lands next to its input.
FORM_FIELD_FOR = {
    "total_amount": "amount",
    "pricing_amount": "amount",
    "amount": "amount",
    "merchant_order_currency": "currency",
    "pricing_currency": "currency",
    "currency": "currency",
    "merchant_order_desc": "description",
    "goods_info": "goods_info",
    "merchant_order_no": "merchant_order_no",
    "merchant_application_user_id": "user_id",
    "merchant_order_timeout": "timeout_minutes",
    "receive_network": "networks",
    "networks": "networks",
    "available_payment_currency_networks": "currency_networks",
    "divide_detail": "seller_amount",
    "divide_detail.seller_amount": "seller_amount",
    "divide_detail.seller_addr": "seller_addr",
    "divide_detail.merchant_amount": "merchant_amount",
    # ExamplePay's names.
    "payer.name": "payer_name",
    "payer.email": "payer_email",
    "payer.phone": "payer_phone",
    "payer.userId": "user_id",
    "merchantAttach": "merchant_order_no",
}


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
    if status in STATUSES:
        statement = statement.where(Order.status == status)
    if day_from:
        statement = statement.where(Order.created_at >= datetime.combine(day_from, time.min, UTC))
    if day_to:
        statement = statement.where(Order.created_at < datetime.combine(day_to + timedelta(days=1), time.min, UTC))
    if query:
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

    items: list[Row]
    page: int
    per_page: int
    has_next: bool
    counted: int

    @classmethod
    def fetch(cls, statement: Select[Row], page: int, per_page: int) -> ListPage[Row]:
        page = max(page, 1)
        rows = db.session.scalars(statement.limit(per_page + 1).offset((page - 1) * per_page)).all()
        entity = statement.column_descriptions[0]["entity"]
        capped = statement.order_by(None).with_only_columns(entity.id).limit(cls.COUNT_CAP + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(capped)) or 0
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


def _form_to_new_order(form: OrderForm) -> orders.NewOrder:
    edition = form.edition.data or "normal"
    timeout_minutes = form.timeout_minutes.data
    if timeout_minutes is None:  # InputRequired refuses an empty field first
        raise ValidationError("merchant_order_timeout", "is required")
    split = None
    if form.split.data:
        others: list[OtherReceiver] = []
        for index in range(1, OTHER_RECEIVER_ROWS + 1):
            addr = (getattr(form, f"other_addr_{index}").data or "").strip()
            amount = (getattr(form, f"other_amount_{index}").data or "").strip()
            if addr or amount:
                name = f"divide_detail.other_details[{len(others)}].amount"
                others.append(OtherReceiver(addr, parse_amount(amount, name)))
        split = DivideDetail(
            seller_amount=parse_amount((form.seller_amount.data or "").strip(), "divide_detail.seller_amount"),
            seller_addr=(form.seller_addr.data or "").strip(),
            merchant_amount=parse_amount((form.merchant_amount.data or "").strip(), "divide_detail.merchant_amount"),
            other_details=tuple(others),
        )
    pairs: dict[str, list[int]] = {}
    for value in form.currency_networks.data or []:
        currency, _, network = value.partition(":")
        pairs.setdefault(currency, []).append(int(network))
    return orders.NewOrder(
        edition=edition,
        amount=(form.amount.data or "").strip(),
        currency=form.currency.data,
        description=(form.description.data or "").strip(),
        goods_info=(form.goods_info.data or "").strip(),
        timeout_minutes=timeout_minutes,
        merchant_order_no=(form.merchant_order_no.data or "").strip(),
        user_id=(form.user_id.data or "").strip(),
        networks=tuple(int(n) for n in form.networks.data or []) if edition != "pro" else (),
        currency_networks=tuple(CurrencyNetworks(c, tuple(n)) for c, n in pairs.items()) if edition == "pro" else (),
        divide_detail=split,
        form_token=form.form_token.data or None,
    )


def _field_error(form: OrderForm | ExamplePayOrderForm, sdk_field: str, reason: str) -> None:
    name = FORM_FIELD_FOR.get(sdk_field)
    if name is None and sdk_field.startswith("divide_detail.other_details["):
        index = int(sdk_field.split("[")[1].split("]")[0]) + 1
        name = f"other_addr_{index}" if sdk_field.endswith("receiver_addr") else f"other_amount_{index}"
    field = getattr(form, name or "", None) or form.amount
    field.errors = [*field.errors, reason]


@bp.route("/orders/new", methods=["GET", "POST"])
@manager_required
def order_new() -> ResponseReturnValue:
    edition = request.form.get("edition") if request.method == "POST" else request.args.get("edition", "normal")
    chosen_examplepay = edition == "examplepay" and "examplepay" in gateway.offered()
    form: OrderForm | ExamplePayOrderForm = ExamplePayOrderForm() if chosen_examplepay else OrderForm()
    form.set_edition("pro" if edition == "pro" else "normal")
    gateway_error = None
    if form.validate_on_submit():
        try:
            if isinstance(form, ExamplePayOrderForm):
                result = examplepay_orders.create_order(_form_to_new_payment(form), current_user.email)
            else:
                result = orders.create_order(_form_to_new_order(form), current_user.email)
        except (ValidationError, examplepay.ValidationError) as error:
            _field_error(form, error.field, gettext(error.reason_template, **error.values))
        else:
            if result.existing:
                flash(gettext("This form was already submitted: here is the order it created."), "info")
                return redirect(url_for("dashboard.order_detail", request_no=result.order.request_no), 303)
            if result.error is not None:
                gateway_error = result.error
                error_field = getattr(result.error, "field", None)  # SparkPay's errors may name one
                if error_field:
                    _field_error(
                        form,
                        error_field,
                        gettext(
                            "%(meaning)s (gateway code %(code)s)",
                            meaning=gettext(result.error.meaning),
                            code=result.error.code,
                        ),
                    )
                form.form_token.data = ""
                form.set_edition(form.edition.data or "normal")
            else:
                if result.unknown:
                    flash(
                        gettext(
                            "The gateway did not answer in time. The order is saved and will be checked automatically."
                        ),
                        "error",
                    )
                else:
                    flash(gettext("Order created. Send the checkout link to the shopper."), "success")
                return redirect(url_for("dashboard.order_detail", request_no=result.order.request_no), 303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "dashboard/order_new.html",
        form=form,
        gateway_error=gateway_error,
        other_rows=OTHER_RECEIVER_ROWS,
        offered_gateways=gateway.offered(),
    ), status


def _form_to_new_payment(form: ExamplePayOrderForm) -> examplepay_orders.NewPayment:
    return examplepay_orders.NewPayment(
        amount=(form.amount.data or "").strip(),
        currency=form.currency.data,
        description=(form.description.data or "").strip(),
        payer_name=(form.payer_name.data or "").strip(),
        payer_email=(form.payer_email.data or "").strip(),
        payer_phone=(form.payer_phone.data or "").strip(),
        merchant_order_no=(form.merchant_order_no.data or "").strip(),
        user_id=(form.user_id.data or "").strip(),
        form_token=form.form_token.data or None,
    )


def _get_order_or_404(request_no: str) -> Order:
    """The order, or a 404 page."""
    order = orders.get_order(request_no)
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
    result = orders.close_order(order, current_user.email)
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
        accepted, message = examplepay_orders.refund(
            order, form.amount.data or "", form.reason.data or "", current_user.email
        )
        flash(message, "success" if accepted else "error")
    return redirect(url_for("dashboard.order_detail", request_no=order.request_no), 303)


@bp.post("/orders/<request_no>/refresh")
def order_refresh(request_no: str) -> ResponseReturnValue:
    order = _get_order_or_404(request_no)
    outcome = orders.refresh_from_gateway(order, source="query", actor=current_user.email)
    orders.record_check(order, current_user.email, outcome)
    messages = {
        "applied": (gettext("Status updated from the gateway."), "success"),
        "duplicate": (gettext("The gateway confirms the status shown."), "info"),
        "stale": (gettext("The gateway confirms the status shown."), "info"),
        "mismatch": (gettext("The gateway's data does not match this order; it is flagged for review."), "error"),
        "not_found": (gettext("The gateway does not know this order."), "error"),
        "unreachable": (gettext("Could not reach the gateway; try again in a moment."), "error"),
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
    if request_no:
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


@bp.get("/deliveries/<int:delivery_id>")
def delivery_detail(delivery_id: int) -> str:
    record = _get_delivery_or_404(delivery_id)
    return render_template(
        "dashboard/delivery_detail.html",
        record=record,
        changes=orders.events_of_delivery(record),
        action_form=ActionForm(),
    )


@bp.post("/deliveries/<int:delivery_id>/replay")
@manager_required
def delivery_replay(delivery_id: int) -> ResponseReturnValue:
    record = _get_delivery_or_404(delivery_id)
    applied, message = orders.replay_notification(record, current_user.email)
    flash(message, "success" if applied else "info")
    return redirect(url_for("dashboard.delivery_detail", delivery_id=record.id), 303)
