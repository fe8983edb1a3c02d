"""place_and_time_index: requests near a place in a time window, from one index (PostgreSQL)

A neighbourhood query (within 500 m, the last 90 days) used to AND two bitmaps:
the location GiST index (every request ever filed near the place) and the
requested_at B-tree (every request of the window, citywide: 800,000 entries
with ten million stored), and the second took 130 ms. One GiST index over
both columns (btree_gist gives timestamps a GiST operator class) finds the
~1,500 candidates in 3-7 ms (bench/neighbourhoods.py). SpatiaLite reads its
R*Tree itself (spatial.in_box) and gets no such index.

Made here and absent from the models, as the articles' full-text index is:
the model's metadata cannot say "PostgreSQL only". On a large table the
CREATE INDEX takes minutes (four for ten million requests) and blocks writes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:10:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEX = "ix_service_request_location_requested_at"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # A trusted extension since PostgreSQL 13: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(f"CREATE INDEX {INDEX} ON service_request USING gist (location, requested_at)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {INDEX}")
