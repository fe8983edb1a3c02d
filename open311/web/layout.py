"""What the site's base layout needs on every page, its own pages and the error pages
the app answers for paths no route matched (which no blueprint's context reaches)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale

from open311.pages import csrf
from open311.web import i18n


def page_context() -> dict[str, Any]:
    return {
        "csrf_token": csrf.token,
        "lang": str(get_locale() or i18n.DEFAULT_LANGUAGE),
        "languages": i18n.LANGUAGES,
        "city": current_app.extensions["open311.jurisdiction"].name,
        "contact": current_app.config["CONTACT"],
    }
