"""console/_dashboard.html renders every figure, empty ones included, in each language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template_string
from flask_babel import force_locale

from open311.extensions import db
from open311.workflow import dashboard
from tests.builders import make_request

PAGE = """{% import "console/_dashboard.html" as d %}
{{ d.open_by_stage(f["open-by-stage"], "/a.csv") }}
{{ d.overdue_by_service(f["overdue-by-service"], "/b.csv") }}
{{ d.weekly(f["weekly"], "/c.csv") }}
{{ d.days_to_close(f["days-to-close-by-community-area"], "/d.csv") }}
{{ d.days_to_close(f["days-to-close-by-ward"], "/e.csv") }}"""
NOW = datetime(2026, 12, 9, 18, tzinfo=UTC)


def rendered(app, language):
    with app.test_request_context("/"), force_locale(language):
        zone = app.extensions["open311.jurisdiction"].time_zone
        figures = {
            name: dashboard.compute(db.session(), name, None, NOW, zone, weeks=3)
            for name in dashboard.FIGURES
        }
        return render_template_string(PAGE, f=figures)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["No open requests.", "Ward 42", "Too few to tell", "Download the numbers of"]),
        (
            "es",
            ["No hay solicitudes abiertas.", "Distrito 42", "Muy pocas para saber", "Descargar"],
        ),
    ],
)
def test_every_figure_renders(app, language, words):
    make_request(app, "W1", NOW - timedelta(days=3), stage="closed", status="closed",
                 updated_at=NOW - timedelta(days=1), ward="42")  # fmt: skip
    page = rendered(app, language)
    for word in words:
        assert word in page
    assert page.count("<table") == 5
    assert page.count('data-dashboard-chart="') == 5
    for csv in ("/a.csv", "/b.csv", "/c.csv", "/d.csv", "/e.csv"):
        assert f'href="{csv}" download' in page
    assert "style=" not in page  # CSP: no inline style
    assert "<script>" not in page
