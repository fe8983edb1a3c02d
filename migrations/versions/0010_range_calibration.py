"""range calibration: each learned range's calibrated ends, and whose misses set them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns added in place (no batch mode): the table has no geometry,
    # but in place is what every earlier migration of ours does on SQLite.
    for name in ("calibrated_p10", "calibrated_p90"):
        op.add_column("resolution_quantiles", sa.Column(name, sa.Double(), nullable=True))
    op.add_column(
        "resolution_quantiles", sa.Column("calibrated_by", sa.String(length=16), nullable=True)
    )


def downgrade() -> None:
    # SQLite 3.35+ drops columns in place (ALTER TABLE … DROP COLUMN).
    for name in ("calibrated_by", "calibrated_p90", "calibrated_p10"):
        op.drop_column("resolution_quantiles", name)
