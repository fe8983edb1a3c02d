"""request_photos: photos filed with a request, by content hash, and who hid one and why

A new table only: nothing to copy on SQLite, nothing to rewrite on PostgreSQL.
The files themselves live in the media storage (MEDIA_STORAGE), not here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "request_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("ext", sa.String(8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumbnail_width", sa.Integer(), nullable=False),
        sa.Column("thumbnail_height", sa.Integer(), nullable=False),
        _when("created_at", nullable=False),
        _when("hidden_at"),
        sa.Column("hidden_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_request_id"],
            ["service_request.id"],
            name=op.f("fk_request_photo_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_request_photo_hidden_by_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photo")),
        sa.UniqueConstraint(
            "service_request_id", "position", name=op.f("uq_request_photo_service_request_id")
        ),
    )
    op.create_index(op.f("ix_request_photo_digest"), "request_photo", ["digest"])


def downgrade() -> None:
    op.drop_index(op.f("ix_request_photo_digest"), table_name="request_photo")
    op.drop_table("request_photo")
