"""patterns: repeat places and hotspots, recomputed by `flask open311 find-patterns`

New tables only.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "pattern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("label", sa.String(500), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("long", sa.Double(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        _when("first_requested_at"),
        _when("last_requested_at"),
        _when("computed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pattern")),
    )
    op.create_index("ix_pattern_department_kind", "pattern", ["department", "kind"])
    op.create_table(
        "pattern_request",
        sa.Column("pattern_id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pattern_id"],
            ["pattern.id"],
            name=op.f("fk_pattern_request_pattern_id_pattern"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_request_id"],
            ["service_request.id"],
            name=op.f("fk_pattern_request_service_request_id_service_request"),
        ),
        sa.PrimaryKeyConstraint(
            "pattern_id", "service_request_id", name=op.f("pk_pattern_request")
        ),
    )
    op.create_index(
        op.f("ix_pattern_request_service_request_id"), "pattern_request", ["service_request_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pattern_request_service_request_id"), table_name="pattern_request")
    op.drop_table("pattern_request")
    op.drop_index("ix_pattern_department_kind", table_name="pattern")
    op.drop_table("pattern")
