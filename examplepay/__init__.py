"""ExamplePay SDK (the "V2_SHA256" gateway of the Basic Guidelines): signed requests, verified
answers and notifications, typed models. No Flask import here; ``examplepay.sandbox`` emulates
the gateway. Where the gateway's documents are silent, ``examplepay.readings`` holds the choice.

    from examplepay import ExamplePayClient, PaymentRequest, Payer
    client = ExamplePayClient(app_id, app_secret, base_url="https://gateway.example")
    created = client.create_payment(PaymentRequest(...))
    redirect_payer_to(created.action_url)
"""

__version__ = "0.1.0"

from . import readings
from .client import ExamplePayClient
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ExamplePayError,
    GatewayServerError,
    GatewayTimeout,
    InvalidRequestError,
    MalformedDataError,
    PaymentNotFoundError,
    SignatureVerificationError,
    TransportError,
    ValidationError,
)
from .models import CreatedPayment, Payer, Payment, PaymentRequest, Refund, RefundRequest
from .notifications import Notification, read_notification, sign_notification

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "CreatedPayment",
    "ExamplePayClient",
    "ExamplePayError",
    "GatewayServerError",
    "GatewayTimeout",
    "InvalidRequestError",
    "MalformedDataError",
    "Notification",
    "Payer",
    "Payment",
    "PaymentNotFoundError",
    "PaymentRequest",
    "Refund",
    "RefundRequest",
    "SignatureVerificationError",
    "TransportError",
    "ValidationError",
    "read_notification",
    "readings",
    "sign_notification",
]
