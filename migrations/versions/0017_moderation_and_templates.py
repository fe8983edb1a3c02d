"""moderation_and_templates: redactions of descriptions, departments' response templates

New tables only: nothing to copy on SQLite, nothing to rewrite on PostgreSQL.
The question emails (NotificationKind.QUESTION) need no change: the kind is a
VARCHAR without a CHECK constraint.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "description_redaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("redacted", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        _when("at"),
        sa.ForeignKeyConstraint(
            ["service_request_id"],
            ["service_request.id"],
            name=op.f("fk_description_redaction_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_description_redaction_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_description_redaction")),
    )
    op.create_index(
        op.f("ix_description_redaction_service_request_id"),
        "description_redaction",
        ["service_request_id"],
    )
    op.create_table(
        "response_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_template")),
        sa.UniqueConstraint("department", "title", name=op.f("uq_response_template_department")),
    )


def downgrade() -> None:
    op.drop_table("response_template")
    op.drop_index(
        op.f("ix_description_redaction_service_request_id"), table_name="description_redaction"
    )
    op.drop_table("description_redaction")
