"""areas: the area table and the area codes of each request

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:08:33.961898
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TAG_COLUMNS = (
    ("ward", 16),
    ("community_area", 16),
    ("police_district", 16),
    ("neighborhood", 64),
)
# The ward and community-area screens filter by area, then by date.
TAG_INDEXES = (
    ("ix_service_request_ward_requested_at", "ward"),
    ("ix_service_request_community_area_requested_at", "community_area"),
)


def upgrade() -> None:
    op.create_geospatial_table(
        "area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geometry",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
        sa.UniqueConstraint("kind", "code", name="uq_area_kind_code"),
    )
    op.create_geospatial_index(
        "idx_area_geometry",
        "area",
        ["geometry"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    # Nullable columns and plain indexes need no batch mode (no table copy) on SQLite,
    # which would lose SpatiaLite's registration of service_request.location.
    for name, length in TAG_COLUMNS:
        op.add_column("service_request", sa.Column(name, sa.String(length), nullable=True))
    for index, column in TAG_INDEXES:
        op.create_index(index, "service_request", [column, "requested_at"], unique=False)


def downgrade() -> None:
    for index, _column in TAG_INDEXES:
        op.drop_index(index, table_name="service_request")
    # SQLite 3.35+ drops columns in place (ALTER TABLE … DROP COLUMN).
    for name, _length in reversed(TAG_COLUMNS):
        op.drop_column("service_request", name)
    op.drop_geospatial_index(
        "idx_area_geometry", table_name="area", postgresql_using="gist", column_name="geometry"
    )
    op.drop_geospatial_table("area")
