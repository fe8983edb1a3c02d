"""The app with one test-only page more: the dashboard partial rendered on its own.

    gunicorn 'tests.browser.dashboard_preview:create_preview()'

The console's pages sit behind its sign-in; this page lets a browser test draw every
figure of console/_dashboard.html under the app's real headers (CSP included) before
the console mounts it. Its figures are "as of" a moment of the demo
store (requests filed on the first two days of 2021, closed over the following weeks
and years) shows a full dashboard: they are "as of" 30 days after the first filing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, render_template, request
from sqlalchemy.orm import Session

from open311 import create_app
from open311.extensions import db
from open311.models import ServiceRequest
from open311.workflow import dashboard

preview = Blueprint("dashboard_preview", __name__, template_folder="templates")


@preview.get("/test-only/dashboard")
def show() -> str:
    session = db.session()
    now = as_of(session)
    department = request.args.get("department") or None
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    figures = {
        name: dashboard.compute(session, name, department, now, time_zone, weeks=8, days=30)
        for name in dashboard.FIGURES
    }
    csv = {name: f"/open311/staff/dashboard/{name}.csv" for name in dashboard.FIGURES}
    return render_template("dashboard_preview.html", figures=figures, csv=csv)


def as_of(session: Session) -> datetime:
    first = session.scalar(sa.select(sa.func.min(ServiceRequest.requested_at)))
    assert first is not None, "the preview needs the demo store (make demo-db)"
    return first + timedelta(days=30)


def create_preview() -> Flask:
    app = create_app()
    app.register_blueprint(preview)
    return app
