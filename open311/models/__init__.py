"""Every model, imported so that Base.metadata is complete."""

from open311.models.accounts import ApiKey
from open311.models.areas import AREA_KINDS, Area
from open311.models.base import Base
from open311.models.catalog import Service, ServiceType
from open311.models.citations import Citation, CitationStatus, PartyKind
from open311.models.estimates import ResolutionQuantiles, Scope
from open311.models.history import ActorKind, RequestEvent
from open311.models.knowledge import Article, ArticleService
from open311.models.media import RequestPhoto
from open311.models.notifications import (
    Channel,
    DeliveryState,
    Notification,
    NotificationKind,
    Subscription,
    Webhook,
)
from open311.models.reporters import Feedback, PartnerUpdate
from open311.models.residents import ResidentSession, SignInLink
from open311.models.service_requests import (
    CloseReason,
    Intake,
    ReplayGuard,
    RequestNumberCounter,
    ServiceRequest,
    Stage,
    Status,
)
from open311.models.sms import SmsConversation, SmsMessage
from open311.models.staff import (
    ConsoleSession,
    PasswordReset,
    Role,
    RoleSetting,
    SignInEvent,
    SignInOutcome,
    Staff,
    StaffToken,
)

__all__ = [
    "AREA_KINDS",
    "ActorKind",
    "ApiKey",
    "Area",
    "Article",
    "ArticleService",
    "Base",
    "Channel",
    "Citation",
    "CitationStatus",
    "CloseReason",
    "ConsoleSession",
    "DeliveryState",
    "Feedback",
    "Intake",
    "Notification",
    "NotificationKind",
    "PartnerUpdate",
    "PartyKind",
    "PasswordReset",
    "ReplayGuard",
    "RequestEvent",
    "RequestNumberCounter",
    "RequestPhoto",
    "ResidentSession",
    "ResolutionQuantiles",
    "Role",
    "RoleSetting",
    "Scope",
    "Service",
    "ServiceRequest",
    "ServiceType",
    "SignInEvent",
    "SignInLink",
    "SignInOutcome",
    "SmsConversation",
    "SmsMessage",
    "Staff",
    "StaffToken",
    "Stage",
    "Status",
    "Subscription",
    "Webhook",
]
