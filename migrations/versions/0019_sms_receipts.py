"""sms receipts: the provider's message id and delivery receipt on outbox texts

Three nullable columns on notification; nothing to fill in for older rows.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification", sa.Column("provider_message_id", sa.String(64), nullable=True))
    op.add_column("notification", sa.Column("provider_status", sa.String(16), nullable=True))
    op.add_column("notification", sa.Column("provider_error", sa.String(64), nullable=True))
    op.create_index(
        op.f("ix_notification_provider_message_id"), "notification", ["provider_message_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_provider_message_id"), table_name="notification")
    # In place (SQLite 3.35+ drops columns without copying the table).
    for name in ("provider_error", "provider_status", "provider_message_id"):
        op.drop_column("notification", name)
