"""gettext, typed, for the pages' Python code (the catalogues are the app's, set up by
the resident site's i18n.init_app: one Flask-Babel for the app)."""

from __future__ import annotations

from typing import Any

import flask_babel
from flask_babel import gettext


def _(text: str, **variables: Any) -> str:
    """Flask-Babel's returns Any. `pybabel extract` finds `_(…)` calls."""
    return str(gettext(text, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return str(flask_babel.ngettext(singular, plural, num, **variables))
