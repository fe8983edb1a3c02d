"""The site's CSRF token: the pages' shared one (open311/pages/csrf.py)."""

from open311.pages.csrf import FIELD, browser_id, check, renew, token

__all__ = ["FIELD", "browser_id", "check", "renew", "token"]
