"""Every table, imported here so Alembic's target_metadata sees them all."""

from signalhub.models.account_link import AccountLink, AccountLinkStatus, TradeMode
from signalhub.models.account_snapshot import (
    AccountInfo,
    AccountPosition,
    PositionType,
    SnapshotSource,
)
from signalhub.models.approval import Approval, ApprovalChannel, ApprovalStatus
from signalhub.models.audit_log import AuditLog
from signalhub.models.base import Base
from signalhub.models.broadcast import (
    Broadcast,
    BroadcastClick,
    BroadcastDelivery,
    BroadcastStatus,
    BroadcastTemplate,
    DeliveryStatus,
)
from signalhub.models.device import Device, DeviceNonce, DeviceStatus
from signalhub.models.ea_delivery import EaDelivery, EaDeliveryStatus
from signalhub.models.entitlement import Entitlement
from signalhub.models.idempotency_key import IdempotencyKey, IdempotencyStatus
from signalhub.models.knowledge_article import (
    KnowledgeArticle,
    KnowledgeArticleView,
    KnowledgeCategory,
    KnowledgeSearchMiss,
)
from signalhub.models.login_refusal import LoginRefusal, LoginRefusalSource
from signalhub.models.login_request import LoginRequest, LoginRequestStatus
from signalhub.models.outbox_message import OutboxMessage, OutboxStatus, Priority
from signalhub.models.payment import Payment, PaymentProvider, PaymentStatus
from signalhub.models.payment_request import (
    PaymentMethod,
    PaymentRequest,
    PaymentRequestStatus,
)
from signalhub.models.product import Product, Tier
from signalhub.models.refresh_token import RefreshToken
from signalhub.models.signal import OrderType, Signal, SignalSide, SignalStatus
from signalhub.models.stripe_event import StripeEvent, StripeEventStatus
from signalhub.models.user import Role, User

__all__ = [
    "AccountInfo",
    "AccountLink",
    "AccountLinkStatus",
    "AccountPosition",
    "Approval",
    "ApprovalChannel",
    "ApprovalStatus",
    "AuditLog",
    "Base",
    "Broadcast",
    "BroadcastClick",
    "BroadcastDelivery",
    "BroadcastStatus",
    "BroadcastTemplate",
    "DeliveryStatus",
    "Device",
    "DeviceNonce",
    "DeviceStatus",
    "EaDelivery",
    "EaDeliveryStatus",
    "Entitlement",
    "IdempotencyKey",
    "IdempotencyStatus",
    "KnowledgeArticle",
    "KnowledgeArticleView",
    "KnowledgeCategory",
    "KnowledgeSearchMiss",
    "LoginRefusal",
    "LoginRefusalSource",
    "LoginRequest",
    "LoginRequestStatus",
    "OrderType",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentMethod",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentRequestStatus",
    "PaymentStatus",
    "PositionType",
    "Priority",
    "Product",
    "RefreshToken",
    "Role",
    "Signal",
    "SignalSide",
    "SignalStatus",
    "SnapshotSource",
    "StripeEvent",
    "StripeEventStatus",
    "Tier",
    "TradeMode",
    "User",
]
