"""Staff accounts and their bearer tokens. Only a SHA-256 of a token is stored."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import Session

from open311.accounts.keys import hash_key
from open311.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from open311.models import Role, Staff, StaffToken
from open311.models.base import utcnow
from open311.routing import reading_primary
from open311.validation import load, without_control_characters


def create_staff(
    session: Session, *, name: str, email: str, role: Role, department: str, known: set[str]
) -> tuple[Staff, str]:
    """A new staff member and their first token (returned once, never stored)."""
    if department not in known:
        raise InvalidRequest(f"department: {department!r} is not a department of the catalogue.")
    if session.scalar(sa.select(Staff.id).where(Staff.email == email)) is not None:
        raise Conflict(f"email: staff member {email!r} already exists.")
    staff = Staff(name=name, email=email, role=role, department=department)
    session.add(staff)
    session.flush()
    return staff, issue_token(session, staff)


def issue_token(session: Session, staff: Staff) -> str:
    plaintext = "staff_" + secrets.token_urlsafe(32)
    session.add(StaffToken(staff_id=staff.id, token_hash=hash_key(plaintext)))
    session.flush()
    return plaintext


def list_staff(session: Session) -> Sequence[Staff]:
    return session.scalars(sa.select(Staff).order_by(Staff.id)).all()


def deactivate(session: Session, staff_id: int) -> Staff:
    """No more access for this person: the account stays, for the history it signed."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"No staff member with id {staff_id}.")
    staff.active = False
    for token in session.scalars(sa.select(StaffToken).where(StaffToken.staff_id == staff_id)):
        token.revoked_at = token.revoked_at or utcnow()
    return staff


def authenticate_staff(session: Session, plaintext: str | None) -> Staff:
    """The active staff member holding this live token; Unauthorized (401) otherwise."""
    if not plaintext:
        raise Unauthorized("A staff token is required (Authorization: Bearer <token>).")
    with reading_primary(session):  # a token issued or revoked a moment ago counts at once
        row = session.execute(
            sa.select(Staff, StaffToken.revoked_at)
            .join(StaffToken, StaffToken.staff_id == Staff.id)
            .where(StaffToken.token_hash == hash_key(plaintext))
        ).first()
    if row is None or row.revoked_at is not None or not row.Staff.active:
        raise Unauthorized("Invalid or revoked staff token.")
    staff: Staff = row.Staff
    return staff


def names_of(session: Session, staff_ids: set[int]) -> dict[int, str]:
    """Staff names by id, for a history that shows who did what."""
    if not staff_ids:
        return {}
    rows = session.execute(sa.select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))
    return {staff_id: name for staff_id, name in rows}


class StaffForm(Schema):
    """A new staff member, from any interface (the staff API, the console)."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Enum(Role, by_value=True, required=True)
    department = fields.String(required=True, validate=validate.Length(min=1, max=200))


def new_staff_form(params: Mapping[str, Any]) -> dict[str, Any]:
    fields_given = {k: without_control_characters(params.get(k)) for k in StaffForm().fields}
    return load(StaffForm(), {k: v for k, v in fields_given.items() if v not in ("", None)})


def summary(staff: Staff) -> dict[str, Any]:
    """Who a staff member is, as the staff API and the console's staff page show it."""
    return {
        "id": staff.id,
        "name": staff.name,
        "email": staff.email,
        "role": staff.role.value,
        "department": staff.department,
        "active": staff.active,
    }
