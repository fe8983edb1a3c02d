"""notifications: webhooks, subscriptions and the outbox of notifications

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-03 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHANNELS = ("email", "sms", "webhook", "account")
STATES = ("pending", "delivered", "parked", "cancelled")


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _channel() -> sa.Column:
    return sa.Column(
        "channel",
        sa.Enum(*CHANNELS, name="channel", native_enum=False, length=16),
        nullable=False,
    )


def _reference(column: str, table: str, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("accounts", sa.Boolean(), nullable=False),
        _when("created_at", nullable=False),
        _when("deleted_at"),
        _reference("api_key_id", "api_key", "webhook"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_index(op.f("ix_webhook_api_key_id"), "webhook", ["api_key_id"])
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        _channel(),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("service_request_id", sa.Integer(), nullable=True),
        sa.Column("service_code", sa.String(64), nullable=True),
        sa.Column("area_kind", sa.String(32), nullable=True),
        sa.Column("area_code", sa.String(64), nullable=True),
        sa.Column("center_lat", sa.Double(), nullable=True),
        sa.Column("center_long", sa.Double(), nullable=True),
        sa.Column("radius_meters", sa.Double(), nullable=True),
        _when("created_at", nullable=False),
        _when("cancelled_at"),
        _reference("webhook_id", "webhook", "subscription"),
        _reference("api_key_id", "api_key", "subscription"),
        _reference("service_request_id", "service_request", "subscription"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
    )
    op.create_index(op.f("ix_subscription_webhook_id"), "subscription", ["webhook_id"])
    op.create_index(
        op.f("ix_subscription_service_request_id"), "subscription", ["service_request_id"]
    )
    op.create_index(op.f("ix_subscription_service_code"), "subscription", ["service_code"])
    op.create_index(
        "ix_subscription_area_kind_area_code", "subscription", ["area_kind", "area_code"]
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        _channel(),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*STATES, name="deliverystate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at", nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        _when("lease_expires_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at", nullable=False),
        _when("delivered_at"),
        _reference("subscription_id", "subscription", "notification"),
        _reference("webhook_id", "webhook", "notification"),
        _reference("service_request_id", "service_request", "notification"),
        _reference("event_id", "request_event", "notification"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_key")),
    )
    op.create_index(
        op.f("ix_notification_subscription_id"), "notification", ["subscription_id"]
    )
    op.create_index(
        "ix_notification_state_next_attempt_at", "notification", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("notification")
    op.drop_table("subscription")
    op.drop_table("webhook")
