"""The Alembic migrations build exactly the schema the models describe, on each backend,
and what they do to data already there."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy.exc import IntegrityError

from open311.database import alembic_config
from open311.extensions import db
from open311.models import Base, DeliveryState, Notification, ServiceRequest, Subscription
from open311.models.base import utcnow
from tests.builders import make_request

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
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name in Base.metadata.tables
                ),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_spatial_index_exists(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            indexes = (
                connection.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = 'service_request'"
                )
                .scalars()
                .all()
            )
            assert any("gist (location)" in index for index in indexes)
            assert any("gist (location, requested_at)" in index for index in indexes)
        else:
            enabled = connection.execute(
                sa.text(
                    "SELECT spatial_index_enabled FROM geometry_columns WHERE f_table_name = 'service_request'"
                )
            ).scalar_one()
            assert enabled == 1


def test_article_full_text_index_exists(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            indexes = (
                connection.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = 'article'"
                )
                .scalars()
                .all()
            )
            assert any("gin (search_vector)" in index for index in indexes)
        else:
            names = (
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE tbl_name IN ('article', 'article_search')"
                )
                .scalars()
                .all()
            )
            assert {
                "article_search",
                "article_search_insert",
                "article_search_delete",
                "article_search_update",
            } <= set(names)


SCOPES = {  # one kind of scope each: what the unique index of that kind is over
    "request": {"service_request_id": None},  # filled in: a real request
    "service": {"service_code": "PHF"},
    "area": {"area_kind": "ward", "area_code": "42"},
    "circle": {"center_lat": 41.88, "center_long": -87.63, "radius_meters": 300.0},
}


def test_the_database_keeps_one_live_subscription_per_address_to_one_thing(app):
    """What migration 0012's partial unique indexes refuse, and what they let through."""
    table = Subscription.__table__
    make_request(app, "SR26-00000001", utcnow())
    with app.app_context(), db.engine.connect() as connection:
        request_id = connection.execute(sa.select(ServiceRequest.id)).scalar_one()
        for kind, scope in SCOPES.items():
            scope = {key: request_id if value is None else value for key, value in scope.items()}
            live = {"channel": "email", "address": f"{kind}@example.org", **scope}
            allowed = [
                live,
                {**live, "cancelled_at": utcnow()},  # a cancelled twin
                {**live, "channel": "sms"},  # the same text on another channel
                {**live, "address": f"other-{kind}@example.org"},
                {"channel": "webhook", "address": None, **scope},  # two webhooks' filters
                {"channel": "webhook", "address": None, **scope},
            ]
            for row in allowed:  # one by one: an executemany takes the first row's keys
                connection.execute(sa.insert(table).values(**row))
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(sa.insert(table), live)
        connection.rollback()


def test_migration_0012_cancels_duplicate_live_subscriptions_and_what_they_had_queued(app):
    table, queue = Subscription.__table__, Notification.__table__
    with app.app_context(), db.engine.connect() as connection:
        transaction = connection.begin()  # everything here, DDL included, is rolled back
        command.downgrade(alembic_config(connection), "0011")
        ward_42 = {
            "channel": "email",
            "address": "x@example.org",
            "area_kind": "ward",
            "area_code": "42",
        }
        phf = {"channel": "sms", "address": "3125550100", "service_code": "PHF"}
        ids = {
            name: connection.execute(
                sa.insert(table).values(**row).returning(table.c.id)
            ).scalar_one()
            for name, row in [
                ("oldest pending", ward_42),
                ("confirmed", {**ward_42, "confirmed_at": utcnow()}),  # kept: its owner said yes
                ("newer pending", ward_42),
                ("another ward", {**ward_42, "area_code": "43"}),
                ("cancelled", {**ward_42, "cancelled_at": utcnow()}),
                ("oldest of two", phf),  # kept: none is confirmed
                ("newer of two", phf),
                ("webhook filter", {**ward_42, "channel": "webhook", "address": None}),
                ("its twin", {**ward_42, "channel": "webhook", "address": None}),
            ]
        }
        queued = {
            name: connection.execute(
                sa.insert(queue).values(
                    key=name, subscription_id=ids[subscription], channel="email", payload={},
                    next_attempt_at=utcnow(), created_at=utcnow(), **state,
                ).returning(queue.c.id)
            ).scalar_one()
            for name, subscription, state in [
                ("ask the oldest", "oldest pending", {"state": "pending"}),
                ("sent to the oldest", "oldest pending", {"state": "delivered"}),
                ("in flight", "newer pending", {"state": "pending", "claimed_by": "worker-1"}),
                ("news", "confirmed", {"state": "pending"}),
                ("ask the newer of two", "newer of two", {"state": "pending"}),
            ]
        }  # fmt: skip
        command.upgrade(alembic_config(connection), "head")

        live = (
            connection.execute(sa.select(table.c.id).where(table.c.cancelled_at.is_(None)))
            .scalars()
            .all()
        )
        assert sorted(live) == sorted(
            ids[name]
            for name in ("confirmed", "another ward", "oldest of two", "webhook filter", "its twin")
        )
        cancelled_at = connection.execute(
            sa.select(table.c.cancelled_at).where(table.c.id == ids["oldest pending"])
        ).scalar_one()
        assert abs(utcnow() - cancelled_at) < timedelta(minutes=5)
        states = dict(connection.execute(sa.select(queue.c.key, queue.c.state)).all())
        assert (
            states
            == {
                "ask the oldest": DeliveryState.CANCELLED,
                "sent to the oldest": DeliveryState.DELIVERED,
                "in flight": DeliveryState.PENDING,  # a worker holds it: it checks the subscription itself
                "news": DeliveryState.PENDING,
                "ask the newer of two": DeliveryState.CANCELLED,
            }
        )
        assert set(queued) == set(states)
        transaction.rollback()
