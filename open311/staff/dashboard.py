"""The dashboard's figures in the staff API: its query, and each figure as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, fields, validate

from open311.estimates.median_interval import MedianInterval
from open311.formats.w3c import format_w3c
from open311.workflow import dashboard
from open311.workflow.dashboard import (
    AGE_BANDS,
    DaysToClose,
    Figure,
    OpenByStage,
    OverdueByService,
    WeeklyFlow,
)
from open311.workflow.steps import NAME_LENGTH, load_form

INTERVAL_METHOD = "order-statistic (binomial ranks)"


class DashboardForm(Schema):
    class Meta:
        unknown = EXCLUDE

    department = fields.String(validate=NAME_LENGTH)
    weeks = fields.Integer(validate=validate.Range(min=1, max=dashboard.MAX_WEEKS))
    days = fields.Integer(validate=validate.Range(min=1, max=dashboard.MAX_DAYS))


def query(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(DashboardForm(), params)


def payload(name: str, figure: Figure, time_zone: ZoneInfo) -> dict[str, Any]:
    head = {
        "figure": name,
        "department": figure.department,
        "as_of": format_w3c(figure.as_of, time_zone),
    }
    return {**head, **_body(figure)}


def _body(figure: Figure) -> dict[str, Any]:
    if isinstance(figure, OpenByStage):
        return {
            "age_bands": [
                {"key": b.key, "from_days": b.from_days, "to_days": b.to_days} for b in AGE_BANDS
            ],
            "stages": [
                {"stage": row.stage.value, "by_age": list(row.by_band), "total": row.total}
                for row in figure.stages
            ],
            "total": figure.total,
        }
    if isinstance(figure, OverdueByService):
        return {
            "services": [
                {
                    "service_code": s.service_code,
                    "service_name": s.service_name,
                    "open": s.open,
                    "overdue": s.overdue,
                }
                for s in figure.services
            ]
        }
    if isinstance(figure, WeeklyFlow):
        return {
            "time_zone": figure.time_zone,
            "weeks": [
                {"week_of": w.starts_on.isoformat(), "filed": w.filed, "closed": w.closed}
                for w in figure.weeks
            ],
        }
    return _days_to_close(figure)


def _days_to_close(figure: DaysToClose) -> dict[str, Any]:
    return {
        "area_kind": figure.area_kind,
        "window_days": figure.window_days,
        "confidence": figure.confidence,
        "interval_method": INTERVAL_METHOD,
        "city": _median(figure.city),
        "areas": [
            {"code": a.code, "name": a.name, **_median(a.days), "compared": a.compared}
            for a in figure.areas
        ],
    }


def _median(found: MedianInterval) -> dict[str, Any]:
    def days(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "requests": found.requests,
        "median_days": days(found.median),
        "low_days": days(found.low),
        "high_days": days(found.high),
    }
