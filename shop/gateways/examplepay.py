"""ExamplePay's adapter (UPI and PIX, the V2_SHA256 scheme): its creation form, the shop's orders
and refunds as ExamplePay requests, and its answers and notifications as neutral statements."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from examplepay import (
    ApiError,
    AuthenticationError,
    ExamplePayClient,
    ExamplePayError,
    GatewayServerError,
    GatewayTimeout,
    Payer,
    Payment,
    PaymentNotFoundError,
    PaymentRequest,
    RefundRequest,
    SignatureVerificationError,
    TransportError,
    ValidationError,
    read_notification,
    readings,
)
from examplepay import Notification as GatewayNotification
from examplepay.models import format_amount

from ..models import Order, Refund
from ..notes import Literal, Note, note, verbatim
from ..vocabulary import Status
from . import checks, payment_pages, sandboxes
from .base import (
    Check,
    CreateAnswer,
    Delivery,
    DeliveryRefused,
    Edition,
    GatewayRefused,
    GatewayUnreachable,
    Headers,
    InvalidField,
    RefundStatement,
    Statement,
    unverified_answer,
)
from .forms import CreationForm, SelectChoice

NAME = "examplepay"
#: The gateway's payment statuses as the shop's order statuses (reading A7: others are pending).
STATUS_OF = {readings.PENDING: Status.UNPAID, readings.PAID: Status.COMPLETED, readings.CLOSED: Status.CLOSED}
#: The gateway sets no deadline of its own; the sandbox closes a payment left this long (reading).
PAYMENT_LIFETIME = timedelta(seconds=readings.PAYMENT_LIFETIME_SECONDS)
#: A stored delivery's signature stays good for a replay however old it is (it still proves who sent it).
STORED_SIGNATURES_KEEP = 100 * 365 * 24 * 3600 * 1000

#: SDK field names -> form field names, so a validation error lands next to its input.
FORM_FIELD_FOR = {
    "amount": "amount",
    "currency": "currency",
    "description": "description",
    "merchantTradeNo": "merchant_order_no",
    "payer.name": "payer_name",
    "payer.email": "payer_email",
    "payer.phone": "payer_phone",
    "payer.userId": "user_id",
    "merchantAttach": "merchant_order_no",
}


class PaymentForm(CreationForm):
    """The creation form's ExamplePay tab: a fiat price and the payer the gateway asks for."""

    description = StringField(_l("Description shown to the shopper"), validators=[DataRequired(), Length(max=80)])
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c, c) for c in readings.PAY_METHOD_BY_CURRENCY])
    payer_name = StringField(_l("Shopper's name"), validators=[DataRequired(), Length(max=80)])
    payer_email = EmailField(_l("Shopper's email"), validators=[DataRequired(), Length(max=80)])
    payer_phone = StringField(_l("Shopper's phone"), validators=[DataRequired(), Length(max=20)])

    def set_edition(self, edition: str) -> None:
        super().set_edition(NAME)  # its one tab


def _client() -> ExamplePayClient:
    built: ExamplePayClient | None = current_app.extensions.get("examplepay_client")
    if built is None:  # switched off while orders or refunds of it are still open
        raise GatewayUnreachable("ExamplePay is not configured (EXAMPLEPAY_BASE_URL)")
    return built


def _notify_url() -> str:
    base_url: str = current_app.config["PUBLIC_BASE_URL"]
    return f"{base_url}/webhooks/{NAME}"


def _invalid(error: ValidationError) -> InvalidField:
    return InvalidField(FORM_FIELD_FOR.get(error.field, "amount"), error.reason_template, error.values)


def _refused(error: ApiError) -> GatewayRefused:
    return GatewayRefused(error.code or "", error.meaning, error.message, hint=error.hint, verified=error.verified)


@contextmanager
def _answered(*, unsigned_refusals: bool = False) -> Iterator[None]:
    """ExamplePay's errors as the shop's: a 5xx or no answer is unreachable, any other code a
    refusal. An unsigned refusal is unreachable too, unless ``unsigned_refusals`` (a create: the
    order service shows it unverified and lets a signed query decide)."""
    try:
        yield
    except ApiError as error:
        if error.http_status is not None and error.http_status >= 500:
            raise GatewayUnreachable(error.message) from None
        if not error.verified and not unsigned_refusals:
            raise unverified_answer(error.code, error.message) from None
        raise _refused(error) from None
    except ExamplePayError as error:
        raise GatewayUnreachable(error.message) from None


class ExamplePayGateway:
    """ExamplePay, through the ``examplepay`` SDK: it cannot close a payment (there is no such
    call; it closes one left unpaid by itself), and it takes refunds."""

    name = NAME
    label = "ExamplePay"
    can_close = False
    can_refund = True
    resend_creates = False  # readings A8/A15: merchant numbers are not promised unique; ask first
    editions: tuple[Edition, ...] = (
        Edition(
            NAME,
            _l("ExamplePay (UPI or PIX)"),
            _l(
                "Paid through ExamplePay: priced in rupees (UPI) or reais (PIX); the shopper pays on ExamplePay's page."
            ),
        ),
    )
    acknowledgement = (200, readings.NOTIFICATION_ACK.decode())
    rejection = (401, '{"code":"FAIL"}')
    webhook_mimetype = "application/json"
    verified_by = _l("Yes: signed with the shared app secret")

    def init_app(self, app: Flask) -> None:
        """Build the client when ExamplePay is configured, and mount its sandbox when it runs."""
        config = app.config
        if config["EXAMPLEPAY_ENABLED"]:
            app.extensions["examplepay_client"] = ExamplePayClient(
                config["EXAMPLEPAY_APP_ID"],
                config["EXAMPLEPAY_APP_SECRET"],
                base_url=config["EXAMPLEPAY_BASE_URL"],
                signed_url_form=config["EXAMPLEPAY_SIGNED_URL_FORM"],
                timeout=config["SPARKPAY_TIMEOUT"],
                max_retries=config["SPARKPAY_MAX_RETRIES"],
            )
        if config["EXAMPLEPAY_SANDBOX"]:
            sandboxes.mount_examplepay(app)

    def enabled(self) -> bool:
        return bool(current_app.config["EXAMPLEPAY_ENABLED"])

    def form(self, edition: str, formdata: Any = None) -> PaymentForm:
        form = PaymentForm() if formdata is None else PaymentForm(formdata=formdata)
        form.set_edition(edition)
        return form

    def form_field(self, request_field: str) -> str | None:
        return FORM_FIELD_FOR.get(request_field)  # its refusals name no field today; its checks do

    # --- creation --------------------------------------------------------------------------

    def new_order(self, form: Any, request_no: str, now: datetime, staff_email: str | None) -> Order:
        merchant_order_no = (form.merchant_order_no.data or "").strip()
        user_id = (form.user_id.data or "").strip()
        description = (form.description.data or "").strip()
        try:
            amount = Decimal(format_amount((form.amount.data or "").strip()))
            order = Order(
                request_no=request_no,
                gateway=NAME,
                edition="normal",
                amount=amount,
                currency=form.currency.data,
                merchant_order_no=merchant_order_no or request_no,
                user_id=user_id or "guest",
                description=description,
                goods_info=description,
                order_time=now,
                timeout_at=now + PAYMENT_LIFETIME,
                receive_network="",
                payer={
                    "name": (form.payer_name.data or "").strip(),
                    "email": (form.payer_email.data or "").strip(),
                    "phone": (form.payer_phone.data or "").strip(),
                },
                created_by=staff_email,
            )
            self._request_of(order).to_payload()  # every field checked before anything is saved
        except ValidationError as error:
            raise _invalid(error) from None
        return order

    def _request_of(self, order: Order) -> PaymentRequest:
        """The SDK request for a stored order (the same every time)."""
        payer = order.payer or {}
        return PaymentRequest(
            merchant_trade_no=order.request_no,
            amount=order.amount,
            currency=order.currency,
            description=order.description,
            payer=Payer(order.user_id, payer.get("name", ""), payer.get("email", ""), payer.get("phone", "")),
            notify_url=_notify_url(),
            return_url=f"{current_app.config['PUBLIC_BASE_URL']}/checkout/return/{order.request_no}",
            pay_method=readings.PAY_METHOD_BY_CURRENCY.get(order.currency, "UPI"),
            merchant_attach=order.merchant_order_no,
        )

    def send_create(self, order: Order) -> CreateAnswer:
        with _answered(unsigned_refusals=True):
            created = _client().create_payment(self._request_of(order))
        config = current_app.config
        link_problem = payment_pages.problem(
            created.action_url,
            config["EXAMPLEPAY_BASE_URL"],
            also_hosts=config["EXAMPLEPAY_PAYMENT_HOSTS"],
            sandboxed=self.sandboxed(),
        )
        return CreateAnswer(created.action_url, created.payment_no, link_problem)

    # --- what ExamplePay says ----------------------------------------------------------------

    def query(self, order: Order) -> Statement | None:
        try:
            payment = _client().query_payment(merchant_trade_no=order.request_no)
        except PaymentNotFoundError as error:
            if not error.verified:  # "no such payment" may send the create again: only if signed
                raise unverified_answer(error.code, error.message) from None
            return None
        except ExamplePayError as error:
            raise GatewayUnreachable(error.message) from None
        return _statement(payment)

    def close(self, order: Order) -> None:
        raise NotImplementedError("ExamplePay has no call to close a payment")  # can_close is False

    def refund_amount(self, text: str) -> Decimal:
        try:
            return Decimal(format_amount(text))
        except ValidationError as error:
            raise _invalid(error) from None

    def send_refund(self, refund: Refund) -> str:
        request = RefundRequest(
            refund.merchant_refund_no, refund.order.payment_order_no or "", refund.amount, refund.reason
        )
        with _answered():
            return _client().create_refund(request).refund_no

    # --- notifications -------------------------------------------------------------------------

    def kept_headers(self, headers: Headers) -> dict[str, str]:
        # The Authorization header is a signature, not a secret: kept so a replay can check it again.
        kept = ("content-type", "user-agent", "content-length", "authorization")
        return {k: v for k, v in headers.items() if k.lower() in kept}

    def open_delivery(self, raw_body: bytes, headers: Mapping[str, str], *, stored: bool = False) -> Delivery:
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        config = current_app.config
        try:
            notification: GatewayNotification = read_notification(
                raw_body,
                authorization,
                app_id=config["EXAMPLEPAY_APP_ID"],
                app_secret=config["EXAMPLEPAY_APP_SECRET"],
                notify_url=_notify_url(),
                signed_url_form=config["EXAMPLEPAY_SIGNED_URL_FORM"],
                window_ms=STORED_SIGNATURES_KEEP if stored else readings.TIMESTAMP_WINDOW_MS,
            )
        except ExamplePayError as error:
            raise DeliveryRefused(error.message) from None
        refund = notification.refund
        return Delivery(
            payload=raw_body.decode("utf-8", errors="replace"),
            statement=_statement(notification.payment),
            status_in_it=STATUS_OF.get(notification.payment.status),
            refund=None
            if refund is None
            else RefundStatement(refund.merchant_refund_no, refund.refund_no, refund.amount, refund.currency),
        )

    # --- the go-live self-test -------------------------------------------------------------------

    def sandboxed(self) -> bool:
        return bool(current_app.config["EXAMPLEPAY_SANDBOX"])

    def self_test(self) -> list[Check]:
        """Mode, address, one signed query of a payment that cannot exist (a verified
        PAYMENT_NOT_FOUND proves the app id, the secret and the URL form), and the notify URL."""
        base_url: str = current_app.config["EXAMPLEPAY_BASE_URL"]
        results = [checks.mode(self.label, self.sandboxed(), base_url)]
        if not self.sandboxed():
            results.append(checks.address(self.label, "EXAMPLEPAY_BASE_URL", base_url))
        results += _probe(self.label, self.sandboxed())
        results.append(checks.register(note("%(gateway)s notify URL", gateway=self.label), _notify_url()))
        return results


def _auth_fix(error: ApiError) -> Note:
    """What to do about a refusal of the request's Authorization header that the gateway signed."""
    if error.code in ("Common.Auth.AppId_Not_Found", "Common.Auth.Invalid_AppId"):
        return note("check %(setting)s against the merchant platform", setting=Literal("EXAMPLEPAY_APP_ID"))
    if error.code == "Common.Auth.Sign_Failed":
        return note(
            "check %(secret)s; %(code)s may also mean the gateway signs another URL form (%(form)s)",
            secret=Literal("EXAMPLEPAY_APP_SECRET"),
            code=Literal(error.code),
            form=Literal("EXAMPLEPAY_SIGNED_URL_FORM"),
        )
    if error.code == "Common.Auth.Sign_Timeout":
        return note("set this machine's clock right")
    return verbatim(error.hint)


def _ask_for_nothing(signed_url_form: str, merchant_trade_no: str) -> None:
    """Query a payment no one made, once, verifying the answer strictly; raises what the SDK says."""
    config = current_app.config
    client = ExamplePayClient(
        config["EXAMPLEPAY_APP_ID"],
        config["EXAMPLEPAY_APP_SECRET"],
        base_url=config["EXAMPLEPAY_BASE_URL"],
        signed_url_form=signed_url_form,
        timeout=config["SPARKPAY_TIMEOUT"],
        max_retries=0,
        verify_responses="strict",
    )
    try:
        client.query_payment(merchant_trade_no=merchant_trade_no)
    finally:
        client.close()


def _probe(label: str, sandboxed: bool) -> list[Check]:
    """The connection and credentials lines: one query of a payment that cannot exist, and, if its
    answer does not verify, one in the other URL form (reading A2) to tell which setting is wrong."""
    config = current_app.config
    base_url: str = config["EXAMPLEPAY_BASE_URL"]
    app_id: str = config["EXAMPLEPAY_APP_ID"]
    configured: str = config["EXAMPLEPAY_SIGNED_URL_FORM"]
    credentials = note("%(gateway)s credentials", gateway=label)
    settings = {
        "app_id": Literal("EXAMPLEPAY_APP_ID"),
        "secret": Literal("EXAMPLEPAY_APP_SECRET"),
        "form": Literal("EXAMPLEPAY_SIGNED_URL_FORM"),
    }
    request_no = checks.probe_number()
    try:
        _ask_for_nothing(configured, request_no)
    except PaymentNotFoundError as error:
        return [
            checks.answered(label, base_url, error.http_status),
            Check(
                credentials,
                True,
                note(
                    "the app id %(app_id)s and the app secret are accepted, and the gateway's answer verifies "
                    "with the secret: it has no payment %(request_no)s, as expected",
                    app_id=Literal(app_id),
                    request_no=Literal(request_no),
                ),
            ),
        ]
    except GatewayServerError as error:
        return [
            checks.unanswered(
                label,
                "EXAMPLEPAY_BASE_URL",
                base_url,
                checks.NoAnswer.SERVER_ERROR,
                sandboxed=sandboxed,
                http_status=error.http_status,
                reason=error.message,
            ),
            checks.not_checked(credentials, note("the gateway did not take the query")),
        ]
    except ApiError as error:
        said = {"code": Literal(error.code or ""), "words": verbatim(error.message)}
        if isinstance(error, AuthenticationError):
            detail = note("the gateway refused the request (%(code)s): %(words)s", **said)
            fix = _auth_fix(error)
        else:
            detail = note("an unexpected answer (%(code)s): %(words)s", **said)
            fix = note(
                "a query of an unknown payment is answered %(code)s; see the gateway's error table",
                code=Literal(readings.PAYMENT_NOT_FOUND),
            )
        return [checks.answered(label, base_url, error.http_status), Check(credentials, False, detail, fix)]
    except SignatureVerificationError as error:
        other = next(form for form in readings.SIGNED_URL_FORMS if form != configured)
        try:
            _ask_for_nothing(other, checks.probe_number())
        except PaymentNotFoundError:
            detail = note(
                "the gateway signs the %(other)s form of the URL, not the %(configured)s one",
                other=Literal(other),
                configured=Literal(configured),
            )
            fix = note("set %(form)s to %(other)s", form=settings["form"], other=Literal(other))
        except ExamplePayError:
            values = {"status": checks.http(error.http_status), "reason": verbatim(error.message)}
            if error.http_status == 401:
                detail = note(
                    "the gateway refused the request (%(status)s), and its answer does not verify with "
                    "the app secret: %(reason)s",
                    **values,
                )
            else:
                detail = note(
                    "the gateway's answer (%(status)s) does not verify with the app secret: %(reason)s",
                    **values,
                )
            fix = note(
                "check %(app_id)s and %(secret)s against the merchant platform, and %(form)s "
                "(%(code)s may mean the gateway signs another URL form)",
                code=Literal("Common.Auth.Sign_Failed"),
                **settings,
            )
        return [checks.answered(label, base_url, error.http_status), Check(credentials, False, detail, fix)]
    except TransportError as error:
        why = checks.unanswered_because(isinstance(error, GatewayTimeout), error.http_status)
        return [
            checks.unanswered(
                label, "EXAMPLEPAY_BASE_URL", base_url, why, sandboxed=sandboxed, http_status=error.http_status
            ),
            checks.not_checked(credentials, note("no answer from the gateway")),
        ]
    except ExamplePayError as error:  # an answer that cannot be read
        detail = note("the gateway's answer cannot be read: %(reason)s", reason=verbatim(error.message))
    else:
        detail = note(
            "the gateway says it holds a payment %(request_no)s, which this shop never made",
            request_no=Literal(request_no),
        )
    fix = note("check %(setting)s: it is ExamplePay's address", setting=Literal("EXAMPLEPAY_BASE_URL"))
    return [checks.answered(label, base_url, 200), Check(credentials, False, detail, fix)]


def _statement(payment: Payment) -> Statement:
    status = STATUS_OF.get(payment.status)
    paid = status == Status.COMPLETED
    return Statement(
        request_no=payment.merchant_trade_no,
        status=status,
        amount=payment.amount,
        currency=payment.currency,
        details={
            "payment_order_no": payment.payment_no,
            **({"pay_time": payment.paid_time, "completed_time": payment.paid_time} if paid else {}),
        },
    )
