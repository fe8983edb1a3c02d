"""The app's database settings, as its connections really get them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from open311.config import DEFAULTS
from open311.extensions import db
from tests.conftest import POSTGIS_URL, make_app


@pytest.mark.skipif(not POSTGIS_URL, reason="PostgreSQL's session options (.ci/run sets the URL)")
def test_postgresql_sessions_run_without_parallel_workers_and_keep_the_urls_own_options():
    url = make_url(POSTGIS_URL).update_query_dict({"options": "-c statement_timeout=4321"})
    for database_url in (POSTGIS_URL, url.render_as_string(hide_password=False)):
        app = make_app(database_url)
        with app.app_context():
            settings = db.session.execute(
                sa.text("SELECT current_setting('max_parallel_workers_per_gather'), current_setting('statement_timeout')")
            ).one()
            db.session.remove()
            db.engine.dispose()
        # Ours (DATABASE_STATEMENT_TIMEOUT_SECONDS) unless the URL gives its own.
        ours = f"{DEFAULTS['DATABASE_STATEMENT_TIMEOUT_SECONDS']}s"
        expected_timeout = ours if database_url == POSTGIS_URL else "4321ms"
        assert tuple(settings) == ("0", expected_timeout)
