"""Alembic environment: runs on the connection open311.database.upgrade_schema hands it."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from open311.models import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=alembic_helpers.include_object,
    # Ours only: SpatiaLite and PostGIS keep their own tables beside ours.
    include_name=lambda name, kind, _parent: kind != "table" or name in Base.metadata.tables,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
)
with context.begin_transaction():
    context.run_migrations()
