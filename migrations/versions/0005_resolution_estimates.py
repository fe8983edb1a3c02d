"""resolution estimates: learned quantiles, and each request's range and basis

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolution_quantiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("service", "group", name="scope", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("scope_key", sa.String(length=100), nullable=False),
        sa.Column("segment_kind", sa.String(length=32), nullable=False),
        sa.Column("segment_value", sa.String(length=64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("p10", sa.Double(), nullable=False),
        sa.Column("p50", sa.Double(), nullable=False),
        sa.Column("p90", sa.Double(), nullable=False),
        sa.Column("lift", sa.Double(), nullable=True),
        sa.Column("usual_backlog", sa.Double(), nullable=True),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution_quantiles")),
        sa.UniqueConstraint(
            "scope", "scope_key", "segment_kind", "segment_value",
            name=op.f("uq_resolution_quantiles_scope"),
        ),
    )  # fmt: skip
    # Nullable columns added in place: batch mode would drop SpatiaLite's
    # registration of service_request.location.
    for name in ("expected_early_at", "expected_late_at"):
        op.add_column("service_request", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "service_request", sa.Column("expected_basis", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    # SQLite 3.35+ drops columns in place (ALTER TABLE … DROP COLUMN).
    for name in ("expected_basis", "expected_late_at", "expected_early_at"):
        op.drop_column("service_request", name)
    op.drop_table("resolution_quantiles")
