"""totp last step: the time step of a staff member's last accepted TOTP code

A code is refused once used (replay). Nullable: no code accepted yet, or none since
the upgrade; the next accepted code sets it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff", sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("staff", "totp_last_step")
