"""SparkPay's adapter: its creation form, the shop's orders as SparkPay requests, and SparkPay's
answers and notifications as the shop's neutral statements. Nothing of the SDK leaves this module."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from sparkpay import (
    ApiError,
    CurrencyNetworks,
    DivideDetail,
    GatewayServerError,
    GatewayTimeout,
    OrderAlreadyClosedError,
    OrderNotClosableError,
    OrderNotFoundError,
    OrderRequest,
    OtherReceiver,
    PaymentOrder,
    ProOrderRequest,
    RateLimitError,
    SignatureVerificationError,
    SparkPayClient,
    SparkPayError,
    TransportError,
    ValidationError,
    signing,
)
from sparkpay.models import parse_amount, to_datetime
from sparkpay.networks import (
    CRYPTO_CURRENCIES,
    FIAT_CURRENCIES,
    TOKENS,
    Network,
    format_receive_network,
    parse_receive_network,
)
from sparkpay.notifications import open_notification
from sparkpay.protocol import DUPLICATE_REQUEST_NO_CODE, STATUS_CLOSED, STATUS_COMPLETED, STATUS_UNPAID

from ..models import Order, Refund
from ..notes import Literal, note, verbatim
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
    Refusal,
    Statement,
    unverified_answer,
)
from .forms import CreationForm, SelectChoice

NAME = "sparkpay"
#: SparkPay's statuses as the shop's (the others, if it ever sends any, are not tracked).
STATUS_OF = {STATUS_UNPAID: Status.UNPAID, STATUS_COMPLETED: Status.COMPLETED, STATUS_CLOSED: Status.CLOSED}
#: How many extra split receivers the form offers.
OTHER_RECEIVER_ROWS = 3

#: SDK field names -> form field names, so a validation error lands next to its input.
FORM_FIELD_FOR = {
    "amount": "amount",
    "currency": "currency",
    "networks": "networks",
    "total_amount": "amount",
    "pricing_amount": "amount",
    "merchant_order_currency": "currency",
    "pricing_currency": "currency",
    "merchant_order_desc": "description",
    "goods_info": "goods_info",
    "merchant_order_no": "merchant_order_no",
    "merchant_application_user_id": "user_id",
    "merchant_order_timeout": "timeout_minutes",
    "receive_network": "networks",
    "available_payment_currency_networks": "currency_networks",
    "divide_detail": "seller_amount",
    "divide_detail.seller_amount": "seller_amount",
    "divide_detail.seller_addr": "seller_addr",
    "divide_detail.merchant_amount": "merchant_amount",
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def network_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n.value), n.label) for n in Network]


def currency_network_choices() -> list[SelectChoice]:
    """Every payable (currency, network) pair, as ``"USDT:4"`` -> ``"USDT on Polygon"``."""
    return [
        SelectChoice(
            f"{currency}:{network.value}",
            gettext("%(currency)s on %(network)s", currency=currency, network=network.label),
        )
        for currency in CRYPTO_CURRENCIES
        for network in Network
        if currency in TOKENS[network]
    ]


class OrderForm(CreationForm):
    """Both editions; ``edition`` picks which amount and network fields apply."""

    other_rows = OTHER_RECEIVER_ROWS
    description = StringField(_l("Description shown to the shopper"), validators=[DataRequired(), Length(max=256)])
    goods_info = TextAreaField(_l("Goods"), validators=[DataRequired(), Length(max=512)])
    currency = SelectField(_l("Currency"))
    timeout_minutes = IntegerField(
        _l("Shopper has (minutes) to pay"),
        default=30,
        validators=[InputRequired(), NumberRange(min=1, max=7 * 24 * 60)],
    )
    networks = MultiCheckboxField(
        _l("Accepted networks (none ticked: all that carry the currency)"), choices=network_choices()
    )
    currency_networks = MultiCheckboxField(_l("Currencies and networks the shopper may pay with (none ticked: all)"))
    split = BooleanField(_l("Split the revenue"))
    seller_amount = StringField(_l("Seller amount"), validators=[Optional(), Length(max=40)])
    seller_addr = StringField(_l("Seller wallet address"), validators=[Optional(), Length(max=128)])
    merchant_amount = StringField(_l("Merchant fee"), validators=[Optional(), Length(max=40)])
    other_addr_1 = StringField(_l("Other receiver 1 address"), validators=[Optional(), Length(max=128)])
    other_amount_1 = StringField(_l("Other receiver 1 amount"), validators=[Optional(), Length(max=40)])
    other_addr_2 = StringField(_l("Other receiver 2 address"), validators=[Optional(), Length(max=128)])
    other_amount_2 = StringField(_l("Other receiver 2 amount"), validators=[Optional(), Length(max=40)])
    other_addr_3 = StringField(_l("Other receiver 3 address"), validators=[Optional(), Length(max=128)])
    other_amount_3 = StringField(_l("Other receiver 3 amount"), validators=[Optional(), Length(max=40)])

    def set_edition(self, edition: str) -> None:
        """Fix the edition and offer the currencies it accepts."""
        super().set_edition(edition)
        pricing = list(FIAT_CURRENCIES) + list(CRYPTO_CURRENCIES) if edition == "pro" else list(CRYPTO_CURRENCIES)
        self.currency.choices = [SelectChoice(c, c) for c in pricing]
        self.currency_networks.choices = currency_network_choices()  # labels in the reader's language


def _client() -> SparkPayClient:
    built: SparkPayClient = current_app.extensions["sparkpay_client"]
    return built


def _notification_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
    """(merchant private key, platform public key), loaded once at start."""
    keys: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey] = current_app.extensions["sparkpay_keys"]
    return keys


def _urls(request_no: str) -> dict[str, str]:
    base_url = current_app.config["PUBLIC_BASE_URL"]
    return {"notify_url": f"{base_url}/webhooks/{NAME}", "redirect_url": f"{base_url}/checkout/return/{request_no}"}


def _invalid(error: ValidationError) -> InvalidField:
    field = FORM_FIELD_FOR.get(error.field)
    if field is None and error.field.startswith("divide_detail.other_details["):
        index = int(error.field.split("[")[1].split("]")[0]) + 1
        field = f"other_addr_{index}" if error.field.endswith("receiver_addr") else f"other_amount_{index}"
    return InvalidField(field or "amount", error.reason_template, error.values)


def _refused(error: ApiError, kind: Refusal | None = None) -> GatewayRefused:
    return GatewayRefused(
        error.code,
        error.meaning,
        error.message,
        field=getattr(error, "field", None),  # some of SparkPay's codes name the field
        kind=kind,
        hint=error.hint,
        verified=error.verified,
    )


class SparkPayGateway:
    """SparkPay (crypto: USDT and USDC on several chains), through the ``sparkpay`` SDK."""

    name = NAME
    label = "SparkPay"
    can_close = True
    can_refund = False
    # Reading A22: an identical re-send gets the same order (with its payment link) where the
    # gateway answers it idempotently; where it refuses it (41023), the order is asked for.
    resend_creates = True
    editions: tuple[Edition, ...] = (
        Edition("normal", _l("Crypto price"), _l("Priced and paid in one crypto currency.")),
        Edition(
            "pro",
            _l("Fiat or crypto price (Pro)"),
            _l(
                "Priced in USD, HKD or a crypto currency; the shopper pays in the crypto currency and network they pick."
            ),
        ),
    )
    acknowledgement = (200, "SUCCESS")
    rejection = (400, "refused")
    webhook_mimetype = "text/plain"
    verified_by = _l("Yes: the platform key signed it")

    def init_app(self, app: Flask) -> None:
        """Load the keys once, build the client, and mount the sandbox when it is enabled."""
        config = app.config
        merchant_key = signing.load_private_key(config["SPARKPAY_PRIVATE_KEY"], "SPARKPAY_PRIVATE_KEY")
        platform_public = signing.load_public_key(
            config["SPARKPAY_PLATFORM_PUBLIC_KEY"], "SPARKPAY_PLATFORM_PUBLIC_KEY"
        )
        app.extensions["sparkpay_keys"] = (merchant_key, platform_public)
        app.extensions["sparkpay_client"] = SparkPayClient(
            config["SPARKPAY_APP_ID"],
            config["SPARKPAY_MERCHANT_NO"],
            merchant_key,
            platform_public,
            base_url=config["SPARKPAY_BASE_URL"],
            timeout=config["SPARKPAY_TIMEOUT"],
            max_retries=config["SPARKPAY_MAX_RETRIES"],
            verify_responses=config["SPARKPAY_VERIFY_RESPONSES"],
        )
        if config["SANDBOX_ENABLED"]:
            sandboxes.mount_sparkpay(app, merchant_key)

    def enabled(self) -> bool:
        return True

    def form(self, edition: str, formdata: Any = None) -> OrderForm:
        form = OrderForm() if formdata is None else OrderForm(formdata=formdata)
        form.set_edition("pro" if edition == "pro" else "normal")
        return form

    def form_field(self, request_field: str) -> str | None:
        return FORM_FIELD_FOR.get(request_field)

    # --- creation --------------------------------------------------------------------------

    def new_order(self, form: Any, request_no: str, now: datetime, staff_email: str | None) -> Order:
        try:
            request = self._request_of_form(form, request_no, now)
        except ValidationError as error:
            raise _invalid(error) from None
        currency_networks: list[dict[str, Any]] | None
        if isinstance(request, ProOrderRequest):
            edition, amount, currency = "pro", request.pricing_amount, request.pricing_currency
            receive_network = ""
            currency_networks = [p.to_dict() for p in request.available_payment_currency_networks]
        else:
            edition, amount, currency = "normal", request.total_amount, request.merchant_order_currency
            receive_network = format_receive_network(request.receive_network)
            currency_networks = None
        return Order(
            request_no=request.request_no,
            gateway=NAME,
            edition=edition,
            amount=amount,
            currency=currency,
            merchant_order_no=request.merchant_order_no,
            user_id=request.merchant_application_user_id,
            description=request.merchant_order_desc,
            goods_info=request.goods_info,
            order_time=now,
            timeout_at=datetime.fromtimestamp(request.merchant_order_timeout, tz=UTC),
            receive_network=receive_network,
            currency_networks=currency_networks,
            divide_detail=request.divide_detail.to_dict() if request.divide_detail else None,
            created_by=staff_email,
        )

    def _request_of_form(self, form: Any, request_no: str, now: datetime) -> OrderRequest | ProOrderRequest:
        """The SDK request the form describes; raises sparkpay.ValidationError naming the bad field."""
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
                merchant_amount=parse_amount(
                    (form.merchant_amount.data or "").strip(), "divide_detail.merchant_amount"
                ),
                other_details=tuple(others),
            )
        order_time = int(now.timestamp())
        common: dict[str, Any] = dict(
            request_no=request_no,
            merchant_order_no=(form.merchant_order_no.data or "").strip() or request_no,
            merchant_application_user_id=(form.user_id.data or "").strip() or "guest",
            merchant_order_time=order_time,
            merchant_order_timeout=order_time + timeout_minutes * 60,
            merchant_order_desc=(form.description.data or "").strip(),
            goods_info=(form.goods_info.data or "").strip(),
            divide_detail=split,
            **_urls(request_no),
        )
        amount = (form.amount.data or "").strip()
        if edition == "pro":
            pairs: dict[str, list[int]] = {}
            for value in form.currency_networks.data or []:
                currency, _, network = value.partition(":")
                pairs.setdefault(currency, []).append(int(network))
            return ProOrderRequest(
                pricing_amount=parse_amount(amount, "pricing_amount"),
                pricing_currency=form.currency.data,
                available_payment_currency_networks=tuple(CurrencyNetworks(c, tuple(n)) for c, n in pairs.items()),
                **common,
            )
        return OrderRequest(
            total_amount=parse_amount(amount, "total_amount"),
            merchant_order_currency=form.currency.data,
            receive_network=tuple(int(n) for n in form.networks.data or []),
            **common,
        )

    def _request_of(self, order: Order) -> OrderRequest | ProOrderRequest:
        """The SDK request for a stored order: the same content every time, so a re-send is idempotent."""
        common: dict[str, Any] = dict(
            request_no=order.request_no,
            merchant_order_no=order.merchant_order_no,
            merchant_application_user_id=order.user_id,
            merchant_order_time=int(order.order_time.timestamp()),
            merchant_order_timeout=int(order.timeout_at.timestamp()),
            merchant_order_desc=order.description,
            goods_info=order.goods_info,
            divide_detail=DivideDetail.from_dict(order.divide_detail),
            **_urls(order.request_no),
        )
        if order.is_pro:
            return ProOrderRequest(
                pricing_amount=order.amount,
                pricing_currency=order.currency,
                available_payment_currency_networks=tuple(
                    CurrencyNetworks.from_dict(p) for p in order.currency_networks or ()
                ),
                **common,
            )
        return OrderRequest(
            total_amount=order.amount,
            merchant_order_currency=order.currency,
            receive_network=parse_receive_network(order.receive_network),
            **common,
        )

    def send_create(self, order: Order) -> CreateAnswer:
        try:
            request = self._request_of(order)
            if isinstance(request, ProOrderRequest):  # the request follows the order's edition
                result = _client().create_pro_order(request)
            else:
                result = _client().create_order(request)
        except (GatewayServerError, RateLimitError, TransportError, SignatureVerificationError) as error:
            # No usable answer: the gateway may hold the order; a re-send is answered idempotently.
            raise GatewayUnreachable(error.message) from None
        except ApiError as error:
            taken = error.code == DUPLICATE_REQUEST_NO_CODE
            raise _refused(error, Refusal.ALREADY_EXISTS if taken else None) from None
        except SparkPayError as error:
            # An answer that cannot be read (no cashier_url, malformed), or a stored order the SDK
            # refuses to send (saved before its rules were tightened): nothing was sent or settled.
            raise GatewayUnreachable(error.message) from None
        config = current_app.config
        link_problem = payment_pages.problem(
            result.cashier_url,
            config["SPARKPAY_BASE_URL"],
            also_hosts=config["SPARKPAY_PAYMENT_HOSTS"],
            sandboxed=self.sandboxed(),
        )
        return CreateAnswer(result.cashier_url, result.payment_order_no, link_problem)

    # --- what SparkPay says ------------------------------------------------------------------

    def query(self, order: Order) -> Statement | None:
        client = _client()
        try:
            info = client.query_pro_order(order.request_no) if order.is_pro else client.query_order(order.request_no)
        except OrderNotFoundError as error:
            if error.verified:
                return None
            raise unverified_answer(error.code, error.message) from None
        except SparkPayError as error:
            raise GatewayUnreachable(error.message) from None
        return statement_of(info)

    def close(self, order: Order) -> None:
        try:
            _client().close_order(order.request_no)
        except (GatewayServerError, RateLimitError) as error:  # answered, but not with a decision
            raise GatewayUnreachable(error.message) from None
        except OrderAlreadyClosedError as error:
            raise _refused(error, Refusal.ALREADY_CLOSED) from None
        except OrderNotClosableError as error:
            raise _refused(error, Refusal.NOT_CLOSABLE) from None
        except OrderNotFoundError as error:
            raise _refused(error, Refusal.NOT_FOUND) from None
        except ApiError as error:
            raise _refused(error) from None
        except SparkPayError as error:
            raise GatewayUnreachable(error.message) from None

    def refund_amount(self, text: str) -> Decimal:
        raise NotImplementedError("SparkPay takes no refunds through its API")  # can_refund is False

    def send_refund(self, refund: Refund) -> str:
        raise NotImplementedError("SparkPay takes no refunds through its API")

    # --- notifications -------------------------------------------------------------------------

    def kept_headers(self, headers: Headers) -> dict[str, str]:
        return {k: v for k, v in headers.items() if k.lower() in ("content-type", "user-agent", "content-length")}

    def open_delivery(self, raw_body: bytes, headers: Mapping[str, str], *, stored: bool = False) -> Delivery:
        merchant_key, platform_public = _notification_keys()
        try:
            notification = open_notification(
                raw_body, merchant_private_key=merchant_key, platform_public_key=platform_public
            )
        except SparkPayError as error:
            raise DeliveryRefused(error.message) from None
        statement = statement_of(notification.order)
        return Delivery(
            payload=notification.payload.decode("utf-8", errors="replace"),
            statement=statement,
            status_in_it=notification.order.pay_status or None,
        )

    # --- the go-live self-test -------------------------------------------------------------------

    def sandboxed(self) -> bool:
        return bool(current_app.config["SANDBOX_MODE"])

    def self_test(self) -> list[Check]:
        """Mode, address, one signed query of an order that cannot exist (its answer, 43005
        signed, proves the app id, the merchant number and both keys), and what to register."""
        config = current_app.config
        base_url: str = config["SPARKPAY_BASE_URL"]
        merchant_key, _ = _notification_keys()
        results = [checks.mode(self.label, self.sandboxed(), base_url)]
        if not self.sandboxed():
            results.append(checks.address(self.label, "SPARKPAY_BASE_URL", base_url))
        elif not config["SANDBOX_ENABLED"]:  # the start allows it; nothing answers there then
            results[0] = Check(
                results[0].name,
                False,
                note(
                    "no %(setting)s, and the embedded sandbox is off: nothing answers at %(url)s",
                    setting=Literal("SPARKPAY_BASE_URL"),
                    url=Literal(base_url),
                ),
                note(
                    "set %(setting)s to the gateway's address, or %(sandbox)s to 1",
                    setting=Literal("SPARKPAY_BASE_URL"),
                    sandbox=Literal("SANDBOX_ENABLED"),
                ),
            )
        results += _probe(self.label, self.sandboxed())
        urls = _urls("<request_no>")
        results += [
            checks.register(note("%(gateway)s notify URL", gateway=self.label), urls["notify_url"]),
            checks.register(note("%(gateway)s redirect URL", gateway=self.label), urls["redirect_url"]),
            Check(
                note("%(gateway)s merchant public key", gateway=self.label),
                None,
                note(
                    "upload it at the merchant platform; its fingerprint, %(method)s: %(fingerprint)s",
                    method=Literal(FINGERPRINT_METHOD),
                    fingerprint=Literal(signing.fingerprint(merchant_key.public_key())),
                ),
                block=signing.public_key_pem(merchant_key.public_key()).decode(),
            ),
        ]
        return results


#: How the self-test's fingerprints are made (``sparkpay.signing.fingerprint``), as it says.
FINGERPRINT_METHOD = "SHA-256 of the DER SubjectPublicKeyInfo"
#: What to check when the gateway refuses the app id or the merchant number: code -> setting.
_REFUSED_SETTING = {40002: "SPARKPAY_APP_ID", 40007: "SPARKPAY_MERCHANT_NO", 40008: "SPARKPAY_MERCHANT_NO"}


def _probe(label: str, sandboxed: bool) -> list[Check]:
    """Query an order that cannot exist, once (no retries), verifying strictly whatever
    SPARKPAY_VERIFY_RESPONSES says: the connection, credentials and platform key lines."""
    config = current_app.config
    base_url: str = config["SPARKPAY_BASE_URL"]
    merchant_key, platform_public = _notification_keys()
    app_id, merchant_no = config["SPARKPAY_APP_ID"], config["SPARKPAY_MERCHANT_NO"]
    credentials = note("%(gateway)s credentials", gateway=label)
    platform_key = note("%(gateway)s platform key", gateway=label)
    platform = Literal(f"SHA-256 {signing.fingerprint(platform_public)}")
    request_no = checks.probe_number()
    client = SparkPayClient(
        app_id,
        merchant_no,
        merchant_key,
        platform_public,
        base_url=base_url,
        timeout=config["SPARKPAY_TIMEOUT"],
        max_retries=0,
        verify_responses="strict",
    )
    try:
        client.query_order(request_no)
    except ApiError as error:
        return _read_answer(label, sandboxed, error, request_no)
    except SignatureVerificationError as error:
        return [
            checks.answered(label, base_url, error.http_status),
            checks.not_checked(credentials, note("the gateway's answer could not be trusted")),
            Check(
                platform_key,
                False,
                note(
                    "the gateway's answer (%(status)s) does not verify with %(setting)s (%(fingerprint)s): %(reason)s",
                    status=checks.http(error.http_status),
                    setting=Literal("SPARKPAY_PLATFORM_PUBLIC_KEY"),
                    fingerprint=platform,
                    reason=verbatim(error.message),
                ),
                note(
                    "set %(setting)s to the platform public key the merchant platform shows",
                    setting=Literal("SPARKPAY_PLATFORM_PUBLIC_KEY"),
                ),
            ),
        ]
    except TransportError as error:
        why = checks.unanswered_because(isinstance(error, GatewayTimeout), error.http_status)
        no_answer = note("no answer from the gateway")
        return [
            checks.unanswered(
                label, "SPARKPAY_BASE_URL", base_url, why, sandboxed=sandboxed, http_status=error.http_status
            ),
            checks.not_checked(credentials, no_answer),
            checks.not_checked(platform_key, no_answer),
        ]
    except SparkPayError as error:  # an answer that cannot be read
        return [
            checks.answered(label, base_url, error.http_status),
            Check(
                credentials,
                False,
                note("the gateway's answer cannot be read: %(reason)s", reason=verbatim(error.message)),
                note("check %(setting)s: it is SparkPay's address", setting=Literal("SPARKPAY_BASE_URL")),
            ),
            checks.not_checked(platform_key, note("the gateway's answer could not be read")),
        ]
    else:
        return [
            checks.answered(label, base_url, 200),
            Check(
                credentials,
                False,
                note(
                    "the gateway says it holds an order %(request_no)s, which this shop never made",
                    request_no=Literal(request_no),
                ),
                note("check %(setting)s: it is SparkPay's address", setting=Literal("SPARKPAY_BASE_URL")),
            ),
            checks.not_checked(platform_key, note("the gateway's answer could not be read")),
        ]
    finally:
        client.close()


def _read_answer(label: str, sandboxed: bool, answer: ApiError, request_no: str) -> list[Check]:
    """The probe's lines for the gateway's answer with an error code (43005 is the one hoped for)."""
    config = current_app.config
    base_url: str = config["SPARKPAY_BASE_URL"]
    app_id, merchant_no = config["SPARKPAY_APP_ID"], config["SPARKPAY_MERCHANT_NO"]
    credentials = note("%(gateway)s credentials", gateway=label)
    platform_key = note("%(gateway)s platform key", gateway=label)
    platform = Literal(f"SHA-256 {signing.fingerprint(_notification_keys()[1])}")
    if isinstance(answer, GatewayServerError | RateLimitError):
        why = checks.NoAnswer.SERVER_ERROR if isinstance(answer, GatewayServerError) else checks.NoAnswer.TOO_MANY_CALLS
        busy = note("the gateway did not take the query")
        return [
            checks.unanswered(
                label,
                "SPARKPAY_BASE_URL",
                base_url,
                why,
                sandboxed=sandboxed,
                http_status=answer.http_status,
                reason=answer.message if answer.code is None else f"{answer.code} {answer.message}",
            ),
            checks.not_checked(credentials, busy),
            checks.not_checked(platform_key, busy),
        ]
    said = {"code": answer.code or "", "meaning": note(answer.meaning), "words": verbatim(answer.message)}
    if isinstance(answer, OrderNotFoundError):
        accepted = Check(
            credentials,
            True,
            note(
                "the app id %(app_id)s, the merchant number %(merchant_no)s and the merchant key are accepted: "
                "the gateway has no order %(request_no)s, as expected",
                app_id=Literal(app_id),
                merchant_no=Literal(merchant_no),
                request_no=Literal(request_no),
            ),
        )
    elif answer.code in _REFUSED_SETTING:
        setting = _REFUSED_SETTING[answer.code]
        value = app_id if setting == "SPARKPAY_APP_ID" else merchant_no
        accepted = Check(
            credentials,
            False,
            note(
                "the gateway refused %(setting)s %(value)s (%(code)s: %(meaning)s)",
                setting=Literal(setting),
                value=Literal(value),
                **said,
            ),
            note("check %(setting)s against the merchant platform", setting=Literal(setting)),
        )
    elif answer.code == 40000:
        accepted = Check(
            credentials,
            False,
            note(
                "the gateway refused the request's signature (%(code)s): %(words)s",
                code=said["code"],
                words=said["words"],
            ),
            note(
                "the merchant key (%(setting)s) does not match the public key uploaded at the merchant platform: "
                "upload the merchant public key below, or set the private key of the one uploaded",
                setting=Literal("SPARKPAY_PRIVATE_KEY"),
            ),
        )
    else:
        accepted = Check(
            credentials,
            False,
            note("an unexpected answer (%(code)s: %(meaning)s): %(words)s", **said),
            note("a query of an unknown order is answered 43005; see the gateway's error table"),
        )
    if answer.verified:
        verifies = Check(
            platform_key,
            True,
            note(
                "%(setting)s (%(fingerprint)s) verifies the gateway's signed answer",
                setting=Literal("SPARKPAY_PLATFORM_PUBLIC_KEY"),
                fingerprint=platform,
            ),
        )
    else:
        # Reading A5 "success-only": only an order's creation or a found order would be signed, and
        # the self-test creates nothing. Not a failure: nothing here can fix it.
        verifies = Check(
            platform_key,
            None,
            note(
                "not checked: the gateway's error answers are unsigned (reading %(reading)s), so a query "
                "of an unknown order cannot check the key (%(fingerprint)s)",
                reading=Literal("A5=success-only"),
                fingerprint=platform,
            ),
            note("compare the fingerprint with the platform key the merchant platform shows"),
        )
    return [checks.answered(label, base_url, answer.http_status), accepted, verifies]


def statement_of(info: PaymentOrder) -> Statement:
    """What a SparkPay order (a query's answer, a notification's) says, in the shop's words."""
    config = current_app.config
    problem = None
    if not info.merchant_customer_no:
        problem = note("it leaves out the merchant")
    elif info.merchant_customer_no != config["SPARKPAY_MERCHANT_NO"]:
        problem = note("merchant %(merchant)s is not this shop's", merchant=info.merchant_customer_no)
    elif info.app_id and info.app_id != config["SPARKPAY_APP_ID"]:
        problem = note("app id %(app_id)s is not this shop's", app_id=info.app_id)
    details: dict[str, Any] = {
        "payment_order_no": info.payment_order_no,
        "pay_time": to_datetime(info.pay_time),
        "completed_time": to_datetime(info.completed_time),
        "closed_time": to_datetime(info.closed_time),
        "real_pay_amount": info.real_pay_amount,
    }
    paid = info.pay_network_info
    if paid is not None:
        details |= {
            "pay_network": paid.pay_network,
            "tx_hash": paid.tx_hash,
            "payer_addr": paid.payer_addr,
            "merchant_ca_addr": paid.merchant_ca_addr,
            "merchant_recv_account": paid.merchant_recv_account,
        }
        if paid.payment_divide_detail is not None:
            details["payment_divide_detail"] = paid.payment_divide_detail.to_dict()
    return Statement(
        request_no=info.request_no,
        status=STATUS_OF.get(info.pay_status),
        amount=info.amount,
        currency=info.currency or None,
        edition=("pro" if info.is_pro else "normal") if info.amount is not None else None,
        paid_amount=info.real_pay_amount,
        problem=problem,
        details={k: v for k, v in details.items() if v not in (None, "")},
        # Reading A26 "omitted": the normal edition's answer may have no currency key; its amount
        # and edition still must fit, and the order is in the currency the shop created it with.
        currency_implied=info.names_no_currency_key,
    )
