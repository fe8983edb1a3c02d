"""subscription_confirmation: double opt-in for emails and phones subscribed through the API

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = ("change", "confirmation")


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    # Nullable columns, or one with a server default: no table copy on SQLite.
    op.add_column("subscription", _when("confirmed_at"))
    op.add_column("subscription", _when("confirmation_sent_at"))
    # Subscriptions made before confirmations existed were live: they stay so.
    op.execute("UPDATE subscription SET confirmed_at = created_at")
    op.add_column(
        "notification",
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=16),
            nullable=False,
            server_default="change",
        ),
    )
    # A confirmation is about a subscription, not a request. SQLite cannot drop a NOT
    # NULL in place: batch mode copies the table (notification has no spatial column).
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("service_request_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'confirmation'")
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("service_request_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("kind")
    # Pending subscriptions were never confirmed: without the columns they would be live.
    op.execute("UPDATE subscription SET cancelled_at = created_at WHERE confirmed_at IS NULL")
    op.drop_column("subscription", "confirmation_sent_at")
    op.drop_column("subscription", "confirmed_at")
