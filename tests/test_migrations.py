"""The Alembic migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers

from open311.extensions import db
from open311.models import Base

# Made by migration 0004 on PostgreSQL only and absent from the models: the full-text
# index of articles is a generated tsvector column with a GIN index there (an FTS5
# table on SQLite, which include_name already leaves out as a table not in the models).
FULL_TEXT_INDEX = {("column", "search_vector"), ("index", "ix_article_search_vector")}
# Made by migration 0009 on PostgreSQL only: GiST over (location, requested_at).
PLACE_AND_TIME_INDEX = ("index", "ix_service_request_location_requested_at")


def include_object(obj, name, kind, reflected, compare_to):
    if (kind, name) in FULL_TEXT_INDEX or (kind, name) == PLACE_AND_TIME_INDEX:
        return False
    return alembic_helpers.include_object(obj, name, kind, reflected, compare_to)


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include_object,
                # Ours only: SpatiaLite and PostGIS keep their own tables beside ours.
                "include_name": lambda name, kind, _parent: kind != "table" or name in Base.metadata.tables,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_spatial_index_exists(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            indexes = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'service_request'"
            ).scalars().all()
            assert any("gist (location)" in index for index in indexes)
            assert any("gist (location, requested_at)" in index for index in indexes)
        else:
            enabled = connection.execute(
                sa.text("SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = 'service_request'")
            ).scalar_one()
            assert enabled == 1


def test_article_full_text_index_exists(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            indexes = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'article'"
            ).scalars().all()
            assert any("gin (search_vector)" in index for index in indexes)
        else:
            names = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE tbl_name IN ('article', 'article_search')"
            ).scalars().all()
            assert {"article_search", "article_search_insert", "article_search_delete", "article_search_update"} <= set(names)
