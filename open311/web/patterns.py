"""The public patterns page: how many requests are filed and closed each week, and how
long they take to close in each community area beside the city, from the same domain
figures as the supervisors' dashboard (open311/workflow/dashboard.py), each one also
as JSON and CSV."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template, request

from open311.areas.queries import area_names
from open311.catalog import queries as catalog_queries
from open311.extensions import db
from open311.formats.w3c import format_w3c
from open311.jurisdiction import Jurisdiction
from open311.models.base import utcnow
from open311.web import pages
from open311.web.i18n import _
from open311.web.views import bp
from open311.workflow import dashboard

FIGURES = ("weekly", "days-to-close")


def _jurisdiction() -> Jurisdiction:
    return current_app.extensions["open311.jurisdiction"]  # type: ignore[no-any-return]


def _choices() -> tuple[dict[str, str], dict[str, str]]:
    session = db.session()
    services = {s.code: s.name for s in catalog_queries.active_services(session)}
    return services, dict(area_names(session, "community_area"))


def _asked(
    services: dict[str, str], areas: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The service and community area asked for, and an error for each unknown one."""
    asked, errors = {}, {}
    service = request.args.get("service_code", "").strip()
    if service:
        if service in services:
            asked["service_code"] = service
        else:
            errors["service_code"] = _("Choose a service from the list.")
    area = request.args.get("community_area", "").strip()
    if area:
        if area in areas:
            asked["community_area"] = area
        else:
            errors["community_area"] = _("Choose a community area from the list.")
    return asked, errors


def _weekly(asked: dict[str, str]) -> dashboard.WeeklyFlow:
    return dashboard.weekly_flow(
        db.session(), None, utcnow(), _jurisdiction().time_zone,
        service_code=asked.get("service_code"),
        community_area=asked.get("community_area"),
    )  # fmt: skip


def _days_to_close() -> dashboard.DaysToClose:
    return dashboard.days_to_close(db.session(), None, utcnow(), "community_area")


@bp.get("/patterns")
def patterns_page() -> tuple[str, int]:
    services, areas = _choices()
    asked, errors = _asked(services, areas)
    weekly = _weekly({} if errors else asked)
    days = _days_to_close()
    return render_template(
        "web/patterns.html",
        args=request.args,
        asked=asked,
        errors=errors,
        services=[pages.service_card(s) for s in catalog_queries.active_services(db.session())],
        areas=sorted(areas.items(), key=lambda item: item[1]),
        service_name=services.get(asked.get("service_code", "")),
        area_name=areas.get(asked.get("community_area", "")),
        weekly=weekly,
        days=days,
        as_of=format_w3c(days.as_of, _jurisdiction().time_zone)[:10],
    ), 400 if errors else 200


@bp.get("/patterns/<any(weekly, 'days-to-close'):name>.<any(json, csv):fmt>")
def patterns_data(name: str, fmt: str) -> Response:
    """One figure of the page as JSON (its table: columns and rows) or CSV (the same)."""
    services, areas = _choices()
    asked, errors = _asked(services, areas)
    if errors:
        message = " ".join(errors.values())
        if fmt == "json":
            response = jsonify({"errors": errors})
        else:
            response = Response(message + "\n", mimetype="text/plain")
        response.status_code = 400
        return response
    figure: dashboard.Figure = _weekly(asked) if name == "weekly" else _days_to_close()
    table = dashboard.table(figure)
    if fmt == "csv":
        response = Response(dashboard.to_csv(table), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    document: dict[str, Any] = {
        "figure": name,
        "as_of": format_w3c(figure.as_of, _jurisdiction().time_zone),
        **asked,
        "columns": list(table.header),
        "rows": [list(row) for row in table.rows],
    }
    return jsonify(document)
