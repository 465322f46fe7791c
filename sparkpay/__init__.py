"""SparkPay OpenAPI v4 SDK: signed requests, verified responses, sealed notifications.

    from sparkpay import SparkPayClient, OrderRequest
    client = SparkPayClient(app_id, merchant_no, "merchant_private.pem", "platform_public.pem")
    result = client.create_order(OrderRequest(...))
    redirect_shopper_to(result.cashier_url)

No Flask import here (the sandbox, ``sparkpay.sandbox``, is the one Flask part).
"""

__version__ = "0.1.0"

from .client import SparkPayClient
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    GatewayServerError,
    GatewayTimeout,
    InvalidRequestError,
    KeyFormatError,
    MalformedDataError,
    NotificationDecryptionError,
    NotificationError,
    NotificationFormatError,
    NotificationSignatureError,
    OrderAlreadyClosedError,
    OrderNotClosableError,
    OrderNotFoundError,
    RateLimitError,
    SignatureError,
    SignatureVerificationError,
    SparkPayError,
    TransportError,
    ValidationError,
)
from .models import (
    CloseOrderResult,
    CreateOrderResult,
    CurrencyNetworks,
    DivideDetail,
    Notification,
    OrderRequest,
    OtherReceiver,
    PaymentOrder,
    PayNetworkInfo,
    ProOrderRequest,
)
from .networks import Network
from .notifications import open_notification, seal_notification

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CloseOrderResult",
    "ConfigurationError",
    "CreateOrderResult",
    "CurrencyNetworks",
    "DivideDetail",
    "GatewayServerError",
    "GatewayTimeout",
    "InvalidRequestError",
    "KeyFormatError",
    "MalformedDataError",
    "Network",
    "Notification",
    "NotificationDecryptionError",
    "NotificationError",
    "NotificationFormatError",
    "NotificationSignatureError",
    "OrderAlreadyClosedError",
    "OrderNotClosableError",
    "OrderNotFoundError",
    "OrderRequest",
    "OtherReceiver",
    "PayNetworkInfo",
    "PaymentOrder",
    "ProOrderRequest",
    "RateLimitError",
    "SignatureError",
    "SignatureVerificationError",
    "SparkPayClient",
    "SparkPayError",
    "TransportError",
    "ValidationError",
    "__version__",
    "open_notification",
    "seal_notification",
]
