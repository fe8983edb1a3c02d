"""A synchronizer token on every form of the pages (not on the APIs, which use keys).

The token is a random value kept in Flask's signed session cookie; a POST must
send it back in `csrf_token`. Another site can make a browser send the cookie
but cannot read the page, so it cannot know the value. Ours rather than
Flask-WTF's CSRFProtect: that one guards every blueprint unless each API is
exempted, and this site needs nothing else from WTForms (the forms are
validated by the API's own schemas).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from flask import request, session
from werkzeug.exceptions import BadRequest

from open311.pages.i18n import _

FIELD: Final = "csrf_token"
_KEY: Final = "csrf"


def token() -> str:
    """This visitor's token, made on first use."""
    if _KEY not in session:
        session[_KEY] = secrets.token_urlsafe(32)
    value: str = session[_KEY]
    return value


def check() -> None:
    """Refuse a POST whose token is missing or not this visitor's."""
    expected = session.get(_KEY, "")
    given = request.form.get(FIELD, "")
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError: a 500).
    if not expected or not hmac.compare_digest(str(expected).encode(), given.encode()):
        raise BadRequest(_("This form has expired. Go back, reload the page and send it again."))


def renew() -> None:
    """A new token from the next page on: after signing in, a token seen before it
    (on a shared computer, say) no longer sends forms for the person signed in."""
    session.pop(_KEY, None)


def browser_id() -> str:
    """A random name for this browser, kept in the session (the form's device_id)."""
    if "browser" not in session:
        session["browser"] = "web-" + secrets.token_urlsafe(12)
    value: str = session["browser"]
    return value
