"""The app's database settings, as its connections really get them."""

from __future__ import annotations

import gc
import weakref

import psycopg
import pytest
import sqlalchemy as sa
import sqlean
from sqlalchemy.engine import make_url

from open311.config import DEFAULTS
from open311.database import TIMEOUTS, allow_a_long_read, as_unavailable, timeouts_now
from open311.extensions import db
from open311.models.base import utcnow
from open311.workflow import dashboard as dashboard_module
from tests.conftest import BACKENDS, POSTGIS_URL, make_app


@pytest.mark.skipif(not POSTGIS_URL, reason="PostgreSQL's session options (.ci/run sets the URL)")
def test_postgresql_sessions_run_without_parallel_workers_and_keep_the_urls_own_options():
    """Served: our statement_timeout unless the URL gives its own. Outside a request
    (batch work), none; and the same pooled connection goes back and forth."""
    url = make_url(POSTGIS_URL).update_query_dict({"options": "-c statement_timeout=4321"})
    ours = f"{DEFAULTS['DATABASE_STATEMENT_TIMEOUT_SECONDS']}s"
    query = "SELECT current_setting('max_parallel_workers_per_gather'), current_setting('statement_timeout')"
    for database_url, served in (
        (POSTGIS_URL, ours),
        (url.render_as_string(hide_password=False), "4321ms"),
    ):
        app = make_app(database_url)
        seen = []
        for context in (app.test_request_context, app.app_context, app.test_request_context):
            with context():
                seen.append(tuple(db.session.execute(sa.text(query)).one()))
                db.session.remove()
        with app.app_context():
            assert db.engine.pool.checkedin() == 1  # one connection served all three
            db.engine.dispose()
        assert seen == [("0", served), ("0", "0"), ("0", served)]


# --- what counts as an outage (open311.database.as_unavailable) ----------------------------


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (psycopg.OperationalError("connection refused"), True),  # no SQLSTATE: the connection's
        (psycopg.errors.lookup("57014")("canceling statement due to statement timeout"), True),
        (psycopg.errors.lookup("55P03")("canceling statement due to lock timeout"), True),
        (psycopg.errors.lookup("53100")("could not extend file: No space left on device"), True),
        (
            psycopg.errors.lookup("57P01")("terminating connection due to administrator command"),
            True,
        ),
        (psycopg.errors.lookup("25006")("cannot execute INSERT in a read-only transaction"), True),
        (psycopg.errors.lookup("23505")("duplicate key value violates unique constraint"), False),
        (psycopg.errors.lookup("42P01")("relation does not exist"), False),
        (ValueError("a bug"), False),
    ],
)
def test_outages_are_told_apart_from_bugs(error: Exception, outage: bool) -> None:
    wrapped = sa.exc.OperationalError("SELECT 1", {}, error)
    for candidate in (error, wrapped):
        found = as_unavailable(candidate)
        assert (found is not None) == outage, candidate
        if found is not None:
            assert found.code == 503
            assert int(found.headers["Retry-After"]) >= 1


def test_sqlite_locked_and_full_are_outages_and_a_missing_table_is_not(tmp_path):
    path = str(tmp_path / "t.sqlite")
    holder = sqlean.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlean.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlean.OperationalError) as locked:
        waiter.execute("INSERT INTO t VALUES (1)")
    holder.execute("ROLLBACK")
    pages = holder.execute("PRAGMA page_count").fetchone()[0]
    holder.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(sqlean.OperationalError) as full:
        holder.execute("INSERT INTO t VALUES (?)", ("x" * 20_000,))
    with pytest.raises(sqlean.OperationalError) as missing:
        holder.execute("SELECT * FROM nope")
    assert as_unavailable(locked.value) is not None
    assert as_unavailable(full.value) is not None
    assert as_unavailable(missing.value) is None


def test_commands_run_without_the_served_time_limits_but_the_outbox_worker_keeps_them(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["open311", "list-keys"]).exit_code == 0
    with app.app_context():
        assert timeouts_now(app) == app.extensions[TIMEOUTS].for_batch_work()
        with app.test_request_context():
            assert timeouts_now(app) == app.extensions[TIMEOUTS]
    assert runner.invoke(args=["open311", "send-outbox", "--once"]).exit_code == 0
    with app.app_context():
        assert timeouts_now(app) == app.extensions[TIMEOUTS]
    batch = app.extensions[TIMEOUTS].for_batch_work()
    assert (batch.statement, batch.lock, batch.idle_in_transaction, batch.answer) == (0, 0, 0, 0)
    assert batch.connect == app.extensions[TIMEOUTS].connect  # connecting stays bounded


@pytest.mark.skipif(not POSTGIS_URL, reason="PostgreSQL's timeouts (.ci/run sets the URL)")
def test_a_report_may_read_longer_than_a_served_statement_until_its_transaction_ends(
    monkeypatch,
):
    """allow_a_long_read lifts both bounds, the server's and the reply's, for one
    transaction; the dashboard's figures ask for it (and only they)."""
    app = make_app(
        POSTGIS_URL,
        DATABASE_STATEMENT_TIMEOUT_SECONDS=0.2,
        DATABASE_ANSWER_TIMEOUT_SECONDS=0.4,
        DATABASE_REPORT_TIMEOUT_SECONDS=5,
    )
    sleep = sa.text("SELECT pg_sleep(0.6)")
    with app.test_request_context():
        with pytest.raises(Exception) as stopped:  # noqa: PT011 (the driver's, wrapped)
            db.session.execute(sleep)
        assert as_unavailable(stopped.value) is not None
        db.session.remove()
    with app.test_request_context():
        allow_a_long_read(db.session())
        db.session.execute(sleep)  # the server's bound and the reply's, both lifted
        db.session.remove()
    with app.test_request_context():  # the next transaction, on the same pooled connection
        with pytest.raises(Exception) as stopped:  # noqa: PT011
            db.session.execute(sleep)
        assert as_unavailable(stopped.value) is not None
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def test_the_dashboards_figures_read_as_reports(app, monkeypatch):
    asked: list[object] = []
    monkeypatch.setattr(dashboard_module, "allow_a_long_read", asked.append)
    with app.test_request_context():
        db.session.execute(sa.text("SELECT 1"))  # the page's transaction
        dashboard_module.open_by_stage(db.session(), None, utcnow())
        dashboard_module.overdue_by_service(db.session(), None, utcnow())
        assert len(asked) == 1  # figures sharing a transaction make it a report once
        db.session.commit()
        dashboard_module.open_by_stage(db.session(), None, utcnow())
        db.session.remove()
    assert len(asked) == 2  # and each transaction afresh


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_app_dropped_is_freed_with_its_engines(backend, tmp_path):
    """Flask-SQLAlchemy keeps each app's engines in a WeakKeyDictionary keyed by the app:
    an engine listener holding its app kept every app alive (the suite grew to gigabytes)."""
    url = f"sqlite:///{tmp_path / 'freed.sqlite'}" if backend == "spatialite" else POSTGIS_URL
    app = make_app(url)
    with app.test_request_context():
        db.session.execute(sa.text("SELECT 1"))  # a connection checked out and back
        db.session.remove()
    freed = weakref.ref(app)
    del app
    gc.collect()
    assert freed() is None
