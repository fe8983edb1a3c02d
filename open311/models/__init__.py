"""Every model, imported so that Base.metadata is complete."""

from open311.models.accounts import ApiKey
from open311.models.base import Base
from open311.models.catalog import Service, ServiceType
from open311.models.service_requests import (
    Intake,
    ReplayGuard,
    RequestNumberCounter,
    ServiceRequest,
    Status,
)

__all__ = [
    "ApiKey",
    "Base",
    "Intake",
    "ReplayGuard",
    "RequestNumberCounter",
    "Service",
    "ServiceRequest",
    "ServiceType",
    "Status",
]
