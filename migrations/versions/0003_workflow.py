"""workflow: staff, tokens, the request history, and each request's stage

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STAGES = (
    "new", "acknowledged", "assigned", "scheduled", "in_progress", "awaiting_reporter",
    "reopened", "closed",
)  # fmt: skip
REASONS = (
    "completed", "duplicate", "not_city_responsibility", "unable_to_locate", "cancelled",
    "rejected",
)  # fmt: skip


def _stage(name: str = "stage", **kwargs: object) -> sa.Column:
    return sa.Column(
        name, sa.Enum(*STAGES, name="stage", native_enum=False, length=20), **kwargs
    )


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "call_taker", "agent", "supervisor", "administrator",
                name="role", native_enum=False, length=16,
            ),
            nullable=False,
        ),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_email")),
    )
    op.create_table(
        "staff_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_token_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_token_token_hash")),
    )
    op.create_index(op.f("ix_staff_token_staff_id"), "staff_token", ["staff_id"])
    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column(
            "actor_kind",
            sa.Enum("staff", "reporter", "system", name="actorkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        _stage("from_stage", nullable=True),
        _stage("to_stage", nullable=True),
        sa.Column("public_note", sa.Text(), nullable=True),
        sa.Column("internal_note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_request_id"],
            ["service_request.id"],
            name=op.f("fk_request_event_service_request_id_service_request"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_request_event_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_request_event_api_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    op.create_index(op.f("ix_request_event_at"), "request_event", ["at"])
    op.create_index(
        "ix_request_event_request_id_id", "request_event", ["service_request_id", "id"]
    )
    # Nullable columns, or one with a server default: no batch mode (no table copy)
    # on SQLite, which would lose SpatiaLite's registration of service_request.location.
    op.add_column("service_request", _stage(nullable=False, server_default="new"))
    op.add_column(
        "service_request",
        sa.Column(
            "close_reason",
            sa.Enum(*REASONS, name="closereason", native_enum=False, length=32),
            nullable=True,
        ),
    )
    op.add_column("service_request", sa.Column("assignee", sa.String(200), nullable=True))
    op.add_column("service_request", sa.Column("scheduled_for", sa.Date(), nullable=True))
    op.add_column(
        "service_request", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True)
    )
    _add_filed_by_staff()
    op.create_index(
        "ix_service_request_agency_stage_due",
        "service_request",
        ["agency_responsible", "stage", "due_at"],
    )
    _fill_existing_requests()


def _add_filed_by_staff() -> None:
    foreign_key = "fk_service_request_filed_by_staff_id_staff"
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in one statement; Alembic would
        # ask for batch mode (a table copy) to add the constraint separately.
        op.execute(
            "ALTER TABLE service_request ADD COLUMN filed_by_staff_id INTEGER "
            f"CONSTRAINT {foreign_key} REFERENCES staff (id)"
        )
        return
    op.add_column("service_request", sa.Column("filed_by_staff_id", sa.Integer(), nullable=True))
    op.create_foreign_key(foreign_key, "service_request", "staff", ["filed_by_staff_id"], ["id"])


def _fill_existing_requests() -> None:
    """Closed requests are at the closed stage; the due date follows the catalogue."""
    op.execute("UPDATE service_request SET stage = 'closed' WHERE status = 'closed'")
    op.execute(
        "UPDATE service_request SET close_reason = 'rejected' WHERE intake = 'rejected'"
    )
    if op.get_bind().dialect.name == "postgresql":
        due = "service_request.requested_at + s.target_days * interval '1 day'"
    else:
        due = "datetime(service_request.requested_at, '+' || (s.target_days * 86400) || ' seconds')"
    op.execute(
        f"UPDATE service_request SET due_at = (SELECT {due} FROM service AS s "
        "WHERE s.code = service_request.service_code AND s.target_days IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_index("ix_service_request_agency_stage_due", table_name="service_request")
    for name in (
        "filed_by_staff_id", "due_at", "scheduled_for", "assignee", "close_reason", "stage",
    ):  # fmt: skip
        op.drop_column("service_request", name)
    op.drop_index("ix_request_event_request_id_id", table_name="request_event")
    op.drop_index(op.f("ix_request_event_at"), table_name="request_event")
    op.drop_table("request_event")
    op.drop_index(op.f("ix_staff_token_staff_id"), table_name="staff_token")
    op.drop_table("staff_token")
    op.drop_table("staff")
