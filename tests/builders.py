"""Plain functions that build test input, with defaults a test can override."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from open311.extensions import db
from open311.models import ReplayGuard, ServiceRequest

# 121 N LaSalle St, Chicago City Hall.
CITY_HALL = {"lat": "41.883637", "long": "-87.630231"}


def pothole_form(api_key: str, **overrides: Any) -> dict[str, Any]:
    """A valid POST for the test catalogue's pothole service."""
    form = {
        "api_key": api_key,
        "service_code": "PHF",
        **CITY_HALL,
        "description": "Deep pothole in the right lane",
        "attribute[WHEREIST]": "TRAFFIC",
        "email": "resident@example.org",
        "first_name": "Jo",
        "last_name": "Resident",
        "phone": "3125550100",
        "device_id": "device-1",
        "account_id": "account-1",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def stored_requests(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) or 0


def stored_guards(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ReplayGuard)) or 0


def stored_request(app: Flask, number: str) -> ServiceRequest:
    with app.app_context():
        service_request = db.session.scalar(
            sa.select(ServiceRequest).where(ServiceRequest.number == number)
        )
        assert service_request is not None
        db.session.expunge(service_request)
        return service_request


def make_request(app: Flask, number: str, requested_at: Any, **overrides: Any) -> None:
    """Insert a public request directly, for tests of the read side."""
    from open311.database import begin_write
    from open311.models import Status
    from open311.spatial import point

    values: dict[str, Any] = {
        "number": number,
        "service_code": "GRAF",
        "status": Status.OPEN,
        "description": f"Request {number}",
        "requested_at": requested_at,
        "updated_at": requested_at,
        "address": "121 N LASALLE ST, CHICAGO, IL, 60602",
        "lat": 41.883637,
        "long": -87.630231,
        "agency_responsible": "Streets and Sanitation",
    }
    values.update(overrides)
    values["location"] = point(values["long"], values["lat"])
    with app.app_context():
        begin_write(db.session())
        db.session.add(ServiceRequest(**values))
        db.session.commit()


def make_staff(app: Flask, role: str, department: str, email: str | None = None) -> str:
    """A staff member's token, for the staff API's Authorization header."""
    from open311.accounts.staff import create_staff
    from open311.database import begin_write
    from open311.models import Role
    from open311.workflow.actions import departments

    with app.app_context():
        session = db.session()
        begin_write(session)
        _, token = create_staff(
            session,
            name=f"{role.title()} of {department}",
            email=email or f"{role}.{len(department)}.{department[:4].lower()}@city.example",
            role=Role(role),
            department=department,
            known=departments(session),
        )
        session.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
