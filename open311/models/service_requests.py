"""Service requests, their numbers, and the guards that make POST idempotent."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum


class Status(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Stage(enum.StrEnum):
    """Where a request is in its department's work (open311/workflow/transitions.py).

    Open311's `status` is `closed` at CLOSED and `open` at every other stage.
    """

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    AWAITING_REPORTER = "awaiting_reporter"  # the department asked the reporter for more
    REOPENED = "reopened"  # waiting for a supervisor's review
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    COMPLETED = "completed"
    DUPLICATE = "duplicate"
    NOT_CITY_RESPONSIBILITY = "not_city_responsibility"
    UNABLE_TO_LOCATE = "unable_to_locate"
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # the city did not accept it at intake review


class Intake(enum.StrEnum):
    """Whether the city has taken the request in; only accepted ones are public."""

    ACCEPTED = "accepted"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"


class ServiceRequest(Base):
    """A resident's report: one row per service_request_id."""

    __tablename__ = "service_request"
    __table_args__ = (
        # The default GET window: newest first within a date range.
        sa.Index("ix_service_request_requested_at_id", "requested_at", "id"),
        sa.Index("ix_service_request_updated_at_id", "updated_at", "id"),
        # "Ward 42 (or community area 8) within these dates" without a table scan.
        sa.Index("ix_service_request_ward_requested_at", "ward", "requested_at"),
        # "Open requests in ward 42", newest first: read in order, LIMIT stops early
        # (without it a ward's 90 days are all fetched, then filtered and sorted).
        sa.Index(
            "ix_service_request_ward_status_requested_at_id",
            "ward",
            "status",
            "requested_at",
            "id",
        ),
        sa.Index(
            "ix_service_request_community_area_requested_at", "community_area", "requested_at"
        ),
        # A department's queue: its requests at a stage, the most overdue first.
        sa.Index("ix_service_request_agency_stage_due", "agency_responsible", "stage", "due_at"),
        # A resident's own requests ("My requests"), by the email they gave in any case.
        sa.Index("ix_service_request_email_lower", sa.func.lower(sa.text("email"))),
    )

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    intake: Mapped[Intake] = mapped_column(str_enum(Intake, 16), default=Intake.ACCEPTED)
    service_code: Mapped[str] = mapped_column(sa.ForeignKey("service.code"), index=True)
    status: Mapped[Status] = mapped_column(str_enum(Status, 8), default=Status.OPEN)
    status_notes: Mapped[str | None] = mapped_column(sa.Text)
    # The workflow: every change to these is also a RequestEvent row (models/history.py).
    stage: Mapped[Stage] = mapped_column(
        str_enum(Stage, 20), default=Stage.NEW, server_default=Stage.NEW.value
    )
    close_reason: Mapped[CloseReason | None] = mapped_column(str_enum(CloseReason, 32))
    assignee: Mapped[str | None] = mapped_column(sa.String(200))  # a crew or a person
    scheduled_for: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(sa.Text)
    agency_responsible: Mapped[str | None] = mapped_column(sa.String(200))
    service_notice: Mapped[str | None] = mapped_column(sa.String(500))
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When it should be closed: the median of what similar requests took
    # (open311/estimates), with the 10th-90th percentile range and its basis.
    expected_at: Mapped[datetime | None]
    # requested_at + the service's target_days from the catalogue: "overdue" is past this.
    due_at: Mapped[datetime | None]
    expected_early_at: Mapped[datetime | None]
    expected_late_at: Mapped[datetime | None]
    expected_basis: Mapped[str | None] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(500))
    address_id: Mapped[str | None] = mapped_column(sa.String(64))
    zipcode: Mapped[str | None] = mapped_column(sa.String(10))
    lat: Mapped[float]
    long: Mapped[float]
    location: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    media_url: Mapped[str | None] = mapped_column(sa.String(2048))
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    channel: Mapped[str | None] = mapped_column(sa.String(40))
    # Who filed it. Private: never in a public response.
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id"))
    filed_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    device_id: Mapped[str | None] = mapped_column(sa.String(200))
    account_id: Mapped[str | None] = mapped_column(sa.String(200))
    duplicate_of: Mapped[str | None] = mapped_column(sa.String(32))
    # The codes of the areas that contain the location (Area.code of each kind),
    # looked up in the database at filing (spatial.area_codes_at); None outside
    # every area of a kind.
    ward: Mapped[str | None] = mapped_column(sa.String(16))
    community_area: Mapped[str | None] = mapped_column(sa.String(16))
    police_district: Mapped[str | None] = mapped_column(sa.String(16))
    neighborhood: Mapped[str | None] = mapped_column(sa.String(64))


class RequestNumberCounter(Base):
    """The last request number handed out in each year (SR26-00000001, …)."""

    __tablename__ = "request_number_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(default=0)


class ReplayGuard(Base):
    """One row per (api key, submission fingerprint or Idempotency-Key).

    The primary key makes two concurrent copies of one POST collide in the
    database, so exactly one request is filed and the other gets its id.
    """

    __tablename__ = "replay_guard"

    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"), primary_key=True)
    guard: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"))
    created_at: Mapped[datetime]
