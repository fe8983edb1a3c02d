"""lifecycle: duplicate rules per service, citations, feedback, FixMyStreet updates

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service", sa.Column("duplicate_radius_m", sa.Double(), nullable=True))
    op.add_column("service", sa.Column("duplicate_window_days", sa.Double(), nullable=True))
    _create_citation()
    _create_feedback()
    _create_partner_update()


def _create_citation() -> None:
    op.create_table(
        "citation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column(
            "party_kind",
            sa.Enum("business", "person", name="partykind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("party_name", sa.String(200), nullable=False),
        sa.Column("licence_number", sa.String(64), nullable=True),
        sa.Column("party_address", sa.String(500), nullable=True),
        sa.Column("party_key", sa.String(220), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("licence_key", sa.String(64), nullable=True),
        sa.Column("violation_code", sa.String(64), nullable=False),
        sa.Column("cited_on", sa.Date(), nullable=False),
        sa.Column("fine_amount", sa.Numeric(10, 2), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued", "paid", "contested", "dismissed",
                name="citationstatus", native_enum=False, length=16,
            ),
            nullable=False,
        ),
        sa.Column("recorded_by_staff_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_request_id"], ["service_request.id"],
            name=op.f("fk_citation_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_staff_id"], ["staff.id"],
            name=op.f("fk_citation_recorded_by_staff_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation")),
    )  # fmt: skip
    for column in ("service_request_id", "party_key", "name_key", "licence_key"):
        op.create_index(op.f(f"ix_citation_{column}"), "citation", [column])


def _create_feedback() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_request_id"], ["service_request.id"],
            name=op.f("fk_feedback_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_feedback_api_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "service_request_id", "api_key_id", name=op.f("uq_feedback_service_request_id")
        ),
    )  # fmt: skip


def _create_partner_update() -> None:
    op.create_table(
        "partner_update",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(40), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_partner_update_api_key_id_api_key")
        ),
        sa.ForeignKeyConstraint(
            ["service_request_id"], ["service_request.id"],
            name=op.f("fk_partner_update_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["request_event.id"],
            name=op.f("fk_partner_update_event_id_request_event"),
        ),
        sa.PrimaryKeyConstraint("api_key_id", "update_id", name=op.f("pk_partner_update")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("partner_update")
    op.drop_table("feedback")
    for column in ("licence_key", "name_key", "party_key", "service_request_id"):
        op.drop_index(op.f(f"ix_citation_{column}"), table_name="citation")
    op.drop_table("citation")
    op.drop_column("service", "duplicate_window_days")
    op.drop_column("service", "duplicate_radius_m")
