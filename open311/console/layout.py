"""What the console's base layout needs on every page, error pages included."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale

from open311.pages import csrf


def page_context() -> dict[str, Any]:
    return {
        "csrf_token": csrf.token,
        "lang": str(get_locale() or "en"),
        "city": current_app.extensions["open311.jurisdiction"].name,
    }
