"""sms: text-message conversations and the texts in and out (open311/sms)

New tables only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sms_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _when("stopped_at"),
        _when("created_at", nullable=False),
        _when("last_text_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_conversation")),
        sa.UniqueConstraint("phone", name=op.f("uq_sms_conversation_phone")),
    )
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        _when("created_at", nullable=False),
        _when("status_at"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["sms_conversation.id"],
            name=op.f("fk_sms_message_conversation_id_sms_conversation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_message")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_sms_message_provider_id")),
    )
    op.create_index(op.f("ix_sms_message_conversation_id"), "sms_message", ["conversation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_message_conversation_id"), table_name="sms_message")
    op.drop_table("sms_message")
    op.drop_table("sms_conversation")
