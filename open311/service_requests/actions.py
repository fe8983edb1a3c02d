"""Writes for service requests. Callers own the transaction."""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.catalog import queries as catalog_queries
from open311.catalog.answers import Answer, check_answers
from open311.database import insert_unless_present
from open311.errors import Conflict, InvalidRequest, NotFound
from open311.estimates.actions import refresh_expected
from open311.geocoding import Place
from open311.jurisdiction import Jurisdiction
from open311.media import actions as media_actions
from open311.media.pipeline import Photo
from open311.models import (
    ApiKey,
    Base,
    CloseReason,
    Intake,
    ReplayGuard,
    Service,
    ServiceRequest,
    ServiceType,
    Staff,
    Stage,
    Status,
)
from open311.models.base import utcnow
from open311.notifications import outbox
from open311.service_requests import emergency, numbers
from open311.spatial import area_codes_at, point
from open311.workflow import actions as workflow_actions

MISSING_LOCATION = (
    "lat and long, or address_string, is required "
    "(address_id alone cannot be placed: this server has no address repository)."
)
# Who filed a request: stored, never shown in a public response.
PRIVATE_FIELDS = ("email", "phone", "first_name", "last_name", "device_id", "account_id")


@dataclass(frozen=True, kw_only=True)
class Submission:
    """A POST /requests after validation at the edge (service_requests/submissions.py)."""

    service_code: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # Photos sent in `media`, already cleaned (open311/media/pipeline.py).
    photos: tuple[Photo, ...] = ()


@dataclass(frozen=True)
class Filed:
    """What a POST reply needs: the request, and whether this POST was a replay."""

    service_request: ServiceRequest
    service: Service
    replayed: bool


def submit_request(
    session: Session,
    submission: Submission,
    *,
    jurisdiction: Jurisdiction,
    api_key: ApiKey | None,
    replay_window: timedelta,
    idempotency_key: str | None = None,
    filed_by: Staff | None = None,
    channel: str = "api",
    media: media_actions.Destination | None = None,
) -> Filed:
    """File a request, or return the one an earlier copy of this POST filed.

    A partner files with its `api_key` (channel api; retried copies are
    recognised); a call-taker files for a caller as `filed_by` (channel phone);
    the resident site files with its own key as channel web.
    Raises NotFound for an unknown service and InvalidRequest for bad input;
    nothing is written in either case. Photos go to `media`, their files written
    last (media/actions.py); a replayed POST stores none.
    """
    if submission.photos and media is None:
        raise ValueError("a submission with photos needs a media destination")
    service = catalog_queries.active_service(session, submission.service_code)
    place = _place(submission, jurisdiction)
    answers = check_answers(service.attributes, submission.attributes, jurisdiction.time_zone)
    fingerprint = _fingerprint(submission, answers)
    guards = _guard_names(fingerprint, idempotency_key)
    now = utcnow()
    earlier = (
        _earlier_copy(session, api_key, guards, fingerprint, now - replay_window)
        if api_key
        else None
    )
    if earlier is not None:
        return Filed(earlier, service, replayed=True)
    service_request = _new_request(session, service, submission, jurisdiction, now)
    service_request.channel = "phone" if filed_by is not None else channel
    service_request.filed_by_staff_id = filed_by.id if filed_by is not None else None
    if media is not None and submission.photos:
        service_request.media_url = media.url(submission.photos[0].name)
    _put(service_request, place, area_codes_at(session, place.lon, place.lat))
    service_request.attributes = answers
    service_request.api_key_id = api_key.id if api_key else None
    # Before the INSERT, so that it writes the estimate with everything else.
    refresh_expected(session, service_request, now, time_zone=jurisdiction.time_zone)
    session.add(service_request)
    session.flush()
    stored = _add_guards(session, api_key, guards, fingerprint, service_request, now)
    if api_key and len(stored) < len(guards):  # a concurrent copy won: answer with its request
        _withdraw(session, service_request, api_key, stored)
        winner = _earlier_copy(session, api_key, guards, fingerprint, now - replay_window)
        return Filed(_raced(winner), service, replayed=True)
    outbox.request_filed(session, service_request)  # the filer follows; areas are told
    if media is not None and submission.photos:
        media_actions.attach_photos(session, service_request, submission.photos, media, now)
    return Filed(service_request, service, replayed=False)


def _place(submission: Submission, jurisdiction: Jurisdiction) -> Place:
    """Where the request is, with an address and coordinates, or InvalidRequest."""
    place = _located(submission, jurisdiction)
    if place.lat == 0 and place.lon == 0:
        raise InvalidRequest("lat/long: 0,0 is not a location (a client sent no coordinates).")
    if not jurisdiction.boundary.contains(place.lon, place.lat):
        raise InvalidRequest(f"lat/long: {place.lat},{place.lon} is outside {jurisdiction.name}.")
    return place


def _located(submission: Submission, jurisdiction: Jurisdiction) -> Place:
    """Coordinates get an address, and an address gets coordinates (reference 4.14)."""
    if submission.lat is not None and submission.long is not None:
        if submission.address_string:
            return Place(submission.address_string, submission.long, submission.lat)
        return jurisdiction.geocoder.reverse(submission.long, submission.lat)
    if submission.address_string:
        place = jurisdiction.geocoder.geocode(submission.address_string)
        if place is None:
            raise InvalidRequest(
                f"address_string: {submission.address_string!r} could not be placed in "
                f"{jurisdiction.name}; check it, or send lat and long."
            )
        return place
    raise InvalidRequest(MISSING_LOCATION)


def _put(service_request: ServiceRequest, place: Place, area_codes: dict[str, str | None]) -> None:
    """Where the request is: its point, address and the areas containing it."""
    service_request.location = point(place.lon, place.lat)
    service_request.lat, service_request.long = place.lat, place.lon
    service_request.address, service_request.zipcode = place.address, place.zipcode
    for kind, code in area_codes.items():
        setattr(service_request, kind, code)


def _new_request(
    session: Session,
    service: Service,
    submission: Submission,
    jurisdiction: Jurisdiction,
    now: datetime,
) -> ServiceRequest:
    service_request = ServiceRequest(
        number=numbers.next_number(
            session, jurisdiction.number_prefix, now, jurisdiction.time_zone
        ),
        service_code=service.code,
        status=Status.OPEN,
        description=submission.description,
        agency_responsible=service.agency_responsible,
        # The 911 advice (when the description reads like an emergency), then the service's.
        service_notice=emergency.service_notice(submission.description, service.service_notice),
        requested_at=now,
        updated_at=now,
        due_at=now + timedelta(days=service.target_days) if service.target_days else None,
        address_id=submission.address_id,
        media_url=submission.media_url,
        channel="api",
        **{key: getattr(submission, key) for key in PRIVATE_FIELDS},
    )
    if service.type is ServiceType.BATCH:
        service_request.token = secrets.token_hex(16)
    if service.review:
        service_request.intake = Intake.PENDING_REVIEW
    return service_request


def _fingerprint(submission: Submission, answers: dict[str, Answer]) -> str:
    """A hash of what the resident said, so a retried POST can be recognised."""
    content = asdict(replace(submission, photos=()))
    content["attributes"] = answers
    del content["photos"]  # a POST without photos hashes as it did before photos existed
    if submission.photos:
        content["photos"] = [photo.digest for photo in submission.photos]
    for coordinate in ("lat", "long"):
        if content[coordinate] is not None:
            content[coordinate] = round(content[coordinate], 5)  # about a metre
    if content["description"]:
        content["description"] = " ".join(content["description"].split())
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _guard_names(fingerprint: str, idempotency_key: str | None) -> list[str]:
    guards = [fingerprint]
    if idempotency_key:
        guards.append(hashlib.sha256(f"Idempotency-Key:{idempotency_key}".encode()).hexdigest())
    return guards


# Built once: every POST with a key runs them. Rows, not objects: the ORM's loading
# cost more than the query, and nothing else in the filing reads guards as objects.
_GUARDS = Base.metadata.tables[ReplayGuard.__tablename__]
_OF_KEY = (
    _GUARDS.c.api_key_id == sa.bindparam("api_key_id", type_=sa.Integer),
    _GUARDS.c.guard.in_(sa.bindparam("guards", expanding=True)),
)
_GUARDS_OF_KEY = sa.select(_GUARDS).where(*_OF_KEY)
_DELETE_GUARDS_OF_KEY = sa.delete(_GUARDS).where(*_OF_KEY)


def _earlier_copy(
    session: Session,
    api_key: ApiKey,
    guards: list[str],
    fingerprint: str,
    window_start: datetime,
) -> ServiceRequest | None:
    """The request an earlier copy of this POST filed, if any is still guarded."""
    connection = session.connection()
    rows = connection.execute(_GUARDS_OF_KEY, {"api_key_id": api_key.id, "guards": guards}).all()
    for guard in rows:
        if guard.guard != fingerprint and guard.fingerprint != fingerprint:
            raise Conflict("Idempotency-Key was already used for a different request.")
    live = [g for g in rows if g.guard != fingerprint or g.created_at > window_start]
    expired = [guard.guard for guard in rows if guard not in live]
    if expired:  # an old fingerprint: this is a new report
        connection.execute(_DELETE_GUARDS_OF_KEY, {"api_key_id": api_key.id, "guards": expired})
    if not live:
        return None
    return session.get(ServiceRequest, live[0].service_request_id)


def _add_guards(
    session: Session,
    api_key: ApiKey | None,
    guards: list[str],
    fingerprint: str,
    service_request: ServiceRequest,
    now: datetime,
) -> list[str]:
    """Store the request's guards (a POST with a key has them) and return those stored:
    fewer than `guards` when a concurrent copy of this POST stored one of them first
    (it committed after _earlier_copy looked).

    Rows, not objects: one INSERT. It skips a guard already there instead of failing,
    so the filing needs no SAVEPOINT (two round trips each time) to survive the race.
    """
    if api_key is None:
        return []
    rows = [
        {
            "api_key_id": api_key.id,
            "guard": guard,
            "fingerprint": fingerprint,
            "service_request_id": service_request.id,
            "created_at": now,
        }
        for guard in guards
    ]
    connection = session.connection()
    statement = _insert_guards(connection.dialect.name)
    return list(connection.execute(statement, rows).scalars())


@functools.cache
def _insert_guards(dialect: str) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING guard, built once per backend: every
    POST with a key runs it, and one statement for all its rows (insertmanyvalues)
    stays in SQLAlchemy's compiled cache, where one with the rows in VALUES did not."""
    statement: sa.Insert = insert_unless_present(dialect, ReplayGuard)
    return statement.returning(_GUARDS.c.guard)


def _withdraw(
    session: Session, service_request: ServiceRequest, api_key: ApiKey, guards: list[str]
) -> None:
    """Undo the INSERTs of a request that lost the race: its `guards` stored, then the
    request itself (nothing else refers to it yet)."""
    if guards:
        connection = session.connection()
        connection.execute(_DELETE_GUARDS_OF_KEY, {"api_key_id": api_key.id, "guards": guards})
    session.execute(
        sa.delete(ServiceRequest).where(ServiceRequest.id == service_request.id),
        execution_options={"synchronize_session": False},
    )
    session.expunge(service_request)


def _raced(winner: ServiceRequest | None) -> ServiceRequest:
    """The request of the copy that won the race. Its guard can only be gone already
    when the replay window is shorter than the race (it expired at once)."""
    if winner is None:
        raise Conflict("A copy of this request was being filed at the same moment: send it again.")
    return winner


def review_request(
    session: Session, number: str, *, accept: bool, note: str | None = None
) -> ServiceRequest:
    """The city accepts or rejects a request that waits for review."""
    service_request = session.scalar(
        sa.select(ServiceRequest).where(ServiceRequest.number == number)
    )
    if service_request is None or service_request.intake is not Intake.PENDING_REVIEW:
        raise NotFound(f"No request {number!r} is waiting for review.")
    now = utcnow()
    service_request.intake = Intake.ACCEPTED if accept else Intake.REJECTED
    service_request.updated_at = now
    if note:
        service_request.status_notes = note
    if not accept:
        service_request.status = Status.CLOSED
        service_request.stage = Stage.CLOSED
        service_request.close_reason = CloseReason.REJECTED
    workflow_actions.record(
        session,
        service_request,
        "accept" if accept else "reject",
        workflow_actions.SYSTEM,
        now,
        from_stage=Stage.NEW,
        public_note=note,
    )
    return service_request
