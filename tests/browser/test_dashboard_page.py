"""The dashboard partial in real Chromium: every chart drawn from its table under the
app's CSP, axe-clean at phone and desktop width, screenshots to look at.

Served by gunicorn from tests/browser/dashboard_preview.py (the app plus a test-only
page) on the demo store the resident site's tests use.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from open311.config import PROJECT_DIR
from open311.extensions import db
from open311.workflow import dashboard
from tests import servers
from tests.browser import dashboard_preview
from tests.browser.conftest import DESKTOP, PHONE, START_TIMEOUT, new_page, wait_until
from tests.conftest import make_app

pytestmark = pytest.mark.slow
PAGE = "/test-only/dashboard"


@pytest.fixture(scope="module")
def preview(site_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("preview") / "stderr.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_")}
    env.update(
        OPEN311_DATABASE_URL=site_database,
        OPEN311_MAP_TILES_URL="",
        OPEN311_SECRET_KEY=secrets.token_urlsafe(32),
        SPATIALITE_LIBRARY_PATH="mod_spatialite",
    )
    process = servers.start(
        env, log, "--workers", "1", "tests.browser.dashboard_preview:create_preview()"
    )
    try:
        yield servers.wait_until_serving(process, log, PAGE, START_TIMEOUT, poll=0.2)
    finally:
        servers.stop(process)
    servers.fail_on_errors(log, "the dashboard preview")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    wanted = os.environ.get("OPEN311_SCREENSHOTS")
    folder = PROJECT_DIR / wanted if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def expected(site_database: str) -> dict[str, dashboard.Figure]:
    app = make_app(site_database)
    with app.app_context():
        session = db.session()
        now = dashboard_preview.as_of(session)
        zone = app.extensions["open311.jurisdiction"].time_zone
        found = {
            name: dashboard.compute(session, name, None, now, zone, weeks=8, days=30)
            for name in dashboard.FIGURES
        }
        db.engine.dispose()
    return found


CHART_DATA = """
Array.from(document.querySelectorAll("canvas[data-dashboard-chart]")).map(c => ({
  table: c.dataset.table,
  drawn: c.dataset.drawn === "true",
  labels: c.chart.data.labels,
  data: c.chart.data.datasets.map(d => d.data),
}))
"""


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_dashboard_draws_each_figure_from_its_table(
    browser, preview, site_database, axe, errors_on_page, shots, size, viewport
):
    figures = expected(site_database)
    page = new_page(browser, errors_on_page, viewport=viewport)
    response = page.goto(preview + PAGE)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length === 5")
    charts = {chart["table"]: chart for chart in page.evaluate(CHART_DATA)}

    stages = figures["open-by-stage"]
    assert stages.total > 0  # the demo store has open requests to show
    by_stage = charts["open-by-stage-table"]
    assert len(by_stage["labels"]) == len(dashboard.STAGE_ORDER)
    assert by_stage["data"] == [
        [row.by_band[band] for row in stages.stages] for band in range(len(dashboard.AGE_BANDS))
    ]
    overdue = figures["overdue-by-service"]
    assert charts["overdue-by-service-table"]["data"] == [
        [s.open for s in overdue.services],
        [s.overdue for s in overdue.services],
    ]
    weekly = figures["weekly"]
    assert charts["weekly-table"]["data"] == [
        [w.filed for w in weekly.weeks],
        [w.closed for w in weekly.weeks],
    ]
    areas = figures["days-to-close-by-community-area"]
    shown = [a for a in areas.areas if a.days.low is not None]
    assert shown  # areas with an interval are drawn
    assert charts["days-to-close-community_area-table"]["labels"] == [a.name for a in shown]
    assert charts["days-to-close-community_area-table"]["data"] == [
        [[pytest.approx(a.days.low), pytest.approx(a.days.high)] for a in shown]
    ]
    wards = [a for a in figures["days-to-close-by-ward"].areas if a.days.low is not None]
    assert charts["days-to-close-ward-table"]["labels"] == [f"Ward {a.code}" for a in wards]
    # Every number is also in a table, and each chart has its CSV.
    assert page.locator("table.usa-table").count() == 5
    assert page.locator("a[download][href$='.csv']").count() == 5

    axe.check(page)
    assert errors_on_page == []
    page.screenshot(path=str(shots / f"dashboard-partial-{size}.png"), full_page=True)
