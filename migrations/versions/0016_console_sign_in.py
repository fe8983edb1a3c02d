"""console_sign_in: staff passwords and second factors, console sessions, the sign-in audit,
password resets by emailed link

Two nullable columns on staff (no rewrite on either backend) and four new tables. A
password reset's notification is about no subscription: 0015 already made
notification.subscription_id nullable, for the residents' sign-in links.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("staff", sa.Column("password_hash", sa.String(200), nullable=True))
    op.add_column("staff", sa.Column("totp_secret", sa.String(64), nullable=True))
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _when("created_at", nullable=False),
        _when("last_seen_at", nullable=False),
        sa.Column("awaiting_second_factor", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_console_session_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_session_token_hash")),
    )
    op.create_index(op.f("ix_console_session_staff_id"), "console_session", ["staff_id"])
    op.create_table(
        "sign_in_event",
        sa.Column("id", sa.Integer(), nullable=False),
        _when("at", nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_sign_in_event_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_event")),
    )
    op.create_index("ix_sign_in_event_email_at", "sign_in_event", ["email", "at"])
    op.create_index("ix_sign_in_event_address_at", "sign_in_event", ["address", "at"])
    op.create_table(
        "role_setting",
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("totp_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_role_setting")),
    )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("used_at"),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_password_reset_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
    )
    op.create_index(op.f("ix_password_reset_staff_id"), "password_reset", ["staff_id"])


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'password_reset'")
    op.drop_index(op.f("ix_password_reset_staff_id"), table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_table("role_setting")
    op.drop_index("ix_sign_in_event_address_at", table_name="sign_in_event")
    op.drop_index("ix_sign_in_event_email_at", table_name="sign_in_event")
    op.drop_table("sign_in_event")
    op.drop_index(op.f("ix_console_session_staff_id"), table_name="console_session")
    op.drop_table("console_session")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("totp_secret")
        batch.drop_column("password_hash")
