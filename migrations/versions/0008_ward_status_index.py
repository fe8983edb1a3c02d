"""ward_status_index: a ward's requests of one status, newest first, from the index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:10:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_service_request_ward_status_requested_at_id"


def upgrade() -> None:
    op.create_index(
        INDEX, "service_request", ["ward", "status", "requested_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="service_request")
