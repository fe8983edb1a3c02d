"""What the console's base layout needs on every page, error pages included."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_babel import get_locale

from open311.pages import csrf
from open311.pages.i18n import _


def page_context() -> dict[str, Any]:
    return {
        "csrf_token": csrf.token,
        "lang": str(get_locale() or "en"),
        "city": current_app.extensions["open311.jurisdiction"].name,
        "stage_names": stage_names,
    }


def stage_names() -> dict[str, str]:
    """Each stage's name in this page's language, translated once per page: a queue
    page names a stage on every row, and a dict built in the template was built again
    for each of them."""
    found: dict[str, str] | None = g.get("open311_stage_names")
    if found is None:
        found = g.open311_stage_names = {
            "new": _("New"),
            "acknowledged": _("Acknowledged"),
            "assigned": _("Assigned"),
            "scheduled": _("Scheduled"),
            "in_progress": _("In progress"),
            "awaiting_reporter": _("Awaiting the reporter"),
            "reopened": _("Reopened for review"),
            "closed": _("Closed"),
        }
    return found
