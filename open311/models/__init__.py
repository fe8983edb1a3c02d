"""Every model, imported so that Base.metadata is complete."""

from open311.models.accounts import ApiKey
from open311.models.areas import AREA_KINDS, Area
from open311.models.base import Base
from open311.models.catalog import Service, ServiceType
from open311.models.knowledge import Article, ArticleService
from open311.models.service_requests import (
    Intake,
    ReplayGuard,
    RequestNumberCounter,
    ServiceRequest,
    Status,
)

__all__ = [
    "AREA_KINDS",
    "ApiKey",
    "Area",
    "Article",
    "ArticleService",
    "Base",
    "Intake",
    "ReplayGuard",
    "RequestNumberCounter",
    "Service",
    "ServiceRequest",
    "ServiceType",
    "Status",
]
