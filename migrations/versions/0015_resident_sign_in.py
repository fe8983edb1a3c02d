"""resident_sign_in: residents sign in on the site by an emailed one-time link

Two new tables (the links, the signed-in browsers); a notification may carry a
sign-in link instead of a subscription; a subscription remembers the language of
its emails; and an index finds a resident's requests by their email in any case.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "resident_sign_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("used_at"),
        sa.PrimaryKeyConstraint("id", name="pk_resident_sign_in"),
    )
    op.create_table(
        "resident_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resident_session"),
        sa.UniqueConstraint("token_hash", name="uq_resident_session_token_hash"),
    )
    # A server default: no table copy on SQLite.
    op.add_column(
        "subscription",
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
    )
    # SQLite cannot drop a NOT NULL in place: batch mode copies the table (no spatial
    # column in it).
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("sign_in_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_notification_sign_in_id_resident_sign_in",
            "resident_sign_in",
            ["sign_in_id"],
            ["id"],
        )
    op.create_index("ix_service_request_email_lower", "service_request", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_service_request_email_lower", table_name="service_request")
    op.execute("DELETE FROM notification WHERE kind = 'sign_in'")
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint("fk_notification_sign_in_id_resident_sign_in", type_="foreignkey")
        batch.drop_column("sign_in_id")
        batch.alter_column("subscription_id", existing_type=sa.Integer(), nullable=False)
    op.drop_column("subscription", "language")
    op.drop_table("resident_session")
    op.drop_table("resident_sign_in")
