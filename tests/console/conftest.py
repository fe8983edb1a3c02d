"""The console through Flask's test client: a browser's cookies, its CSRF token read
from each form, staff with passwords set by the same function as the CLI's."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311.accounts import signin
from open311.database import begin_write
from open311.extensions import db
from open311.models import Role
from tests.builders import make_staff

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
PASSWORD = "correct horse battery staple"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_staff(app: Flask, role: str, department: str, email: str) -> str:
    """A staff member who may sign in to the console with PASSWORD; their email."""
    make_staff(app, role, department, email=email)
    with app.app_context():
        begin_write(db.session())
        signin.set_password(db.session(), email, PASSWORD)
        db.session.commit()
    return email


def require_code(app: Flask, role: Role) -> None:
    with app.app_context():
        begin_write(db.session())
        signin.require_totp(db.session(), role, True)
        db.session.commit()


class Browser:
    """A test client that keeps the console's cookie and sends each form's token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        found = TOKEN_FIELD.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if not self.token:
            self.get("/console/sign-in")
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"email": email, "password": password}, **kwargs)

    def give_code(self, secret: str, steps_ahead: int = 0) -> Any:
        """The code of now, or of a later time step (a code is accepted once: a second
        sign-in in the same half-minute gives the next one, as the app would show)."""
        self.get("/console/sign-in/code")
        totp = pyotp.TOTP(secret)
        code = totp.at(time.time() + steps_ahead * totp.interval)
        return self.post("/console/sign-in/code", {"code": code})


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


@pytest.fixture
def other_browser(app: Flask) -> Browser:
    return Browser(app.test_client())
