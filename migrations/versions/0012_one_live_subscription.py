"""one_live_subscription: at most one live subscription per address to one thing

Two identical subscription requests at the same moment could both find no live
subscription and both insert one: the address was then told everything twice.
Unique partial indexes (one per kind of scope, over the live rows only) now refuse
the second INSERT, on PostgreSQL and SQLite alike. On the account channel the
partner is part of the address (its index has api_key_id for channel): an
account_id is the partner's own name for its user.

Duplicates made before are cancelled, not deleted (notifications refer to them),
and what was queued for them and not yet sent is cancelled too: the one kept was
told the same. The one kept is a confirmed one if any (its owner said yes, and the
news went there), else the oldest. Downgrading drops the indexes; the duplicates
stay cancelled.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-11 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Each index: its name and the columns naming what is followed (the first is set
# exactly when the subscription is of that kind).
SCOPES = {
    "uq_subscription_live_request": ("service_request_id",),
    "uq_subscription_live_service": ("service_code",),
    "uq_subscription_live_area": ("area_kind", "area_code"),
    "uq_subscription_live_circle": ("radius_meters", "center_lat", "center_long"),
}
SAME_SUBSCRIPTION = (
    "channel", "address", "service_request_id", "service_code", "area_kind", "area_code",
    "center_lat", "center_long", "radius_meters",
    # An account_id is a partner's name for its user: two partners' "7" are two people.
    "CASE WHEN channel = 'account' THEN api_key_id END",
)  # fmt: skip

# Live subscriptions of an address that another live one of the same address to the
# same thing makes redundant. PARTITION BY puts nulls together, as wanted here.
DUPLICATES = f"""
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (
            PARTITION BY {", ".join(SAME_SUBSCRIPTION)}
            ORDER BY CASE WHEN confirmed_at IS NULL THEN 1 ELSE 0 END, id
        ) AS nth
        FROM subscription
        WHERE cancelled_at IS NULL AND address IS NOT NULL
    ) AS ranked
    WHERE nth > 1
"""


def upgrade() -> None:
    op.execute(
        "UPDATE notification SET state = 'cancelled' "
        f"WHERE state = 'pending' AND claimed_by IS NULL AND subscription_id IN ({DUPLICATES})"
    )
    # An aware UTC datetime: timestamptz on PostgreSQL, UTC text on SQLite (as the models).
    now = sa.bindparam("now", datetime.now(UTC), type_=sa.DateTime(timezone=True))
    op.execute(
        sa.text(
            f"UPDATE subscription SET cancelled_at = :now WHERE id IN ({DUPLICATES})"
        ).bindparams(now)
    )
    for name, scope in SCOPES.items():
        live = f"cancelled_at IS NULL AND {scope[0]} IS NOT NULL"
        for index, first, only in (
            (name, "channel", f"{live} AND channel <> 'account'"),
            (f"{name}_account", "api_key_id", f"{live} AND channel = 'account'"),
        ):
            op.create_index(
                index,
                "subscription",
                [first, "address", *scope],
                unique=True,
                postgresql_where=sa.text(only),
                sqlite_where=sa.text(only),
            )


def downgrade() -> None:
    for name in SCOPES:
        op.drop_index(f"{name}_account", table_name="subscription")
        op.drop_index(name, table_name="subscription")
