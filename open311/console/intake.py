"""The call-taker's intake: find the caller's service, ask its questions, place it, and
before filing show the open requests of that service nearby, so the caller can follow
one of them instead of filing a duplicate.

One code path with the other interfaces: the resident site's service search
(catalog.queries.matching_services over knowledge.search.words), its form checks
(pages.service_form, the API's validation), GET requests' query for the nearby ones
(service_requests.filters + queries), the double opt-in subscribe for following, and
the staff API's filing (submit_request with the call-taker as filed_by: channel phone).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Final

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from open311.accounts.keys import console_key, site_key
from open311.catalog import queries as catalog_queries
from open311.console.views import bp, jurisdiction, viewer
from open311.errors import Conflict, InvalidRequest, Open311Error
from open311.extensions import db
from open311.knowledge import search
from open311.models import Service
from open311.models.base import utcnow
from open311.notifications import confirmation, followers
from open311.notifications.subscriptions import Scope
from open311.pages import service_form
from open311.pages.i18n import _
from open311.service_requests import actions, filters, queries, signals
from open311.workflow import permissions
from open311.workflow import queries as workflow_queries
from open311.workflow.permissions import Operation

NEARBY_SHOWN: Final = "20"
FILE: Final = "file"  # the button shown once checked; any other step checks and looks near


def _may_file() -> None:
    permissions.require(viewer(), Operation.FILE)


@bp.get("/intake")
def intake() -> str:
    _may_file()
    text = request.args.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    words = search.words(text)
    session_ = db.session()
    services = catalog_queries.active_services(session_)
    found = catalog_queries.matching_services(services, words, {}) if words else []
    return render_template(
        "console/intake_search.html",
        q=text,
        searched=bool(words),
        services=[_service_card(s) for s in found[:20]],
    )


def _service_card(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "description": service.description,
        "group": service.group,
    }


@bp.get("/intake/<service_code>")
def intake_form(service_code: str) -> tuple[str, int]:
    _may_file()
    service = catalog_queries.active_service(db.session(), service_code)
    return _form(service, {}, {})


def _form(
    service: Service,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    nearby: list[dict[str, Any]] | None = None,
    place: tuple[str, str] | None = None,
) -> tuple[str, int]:
    config = current_app.config
    page = render_template(
        "console/intake_form.html",
        service=_service_card(service),
        questions=service_form.questions(service),
        notes=service_form.notes(service),
        values=values,
        # The report's own key, kept through the checks: filing the form twice (a double
        # click, a second tab) files once.
        form_key=values.get(service_form.IDEMPOTENCY_KEY, [None])[0] or secrets.token_urlsafe(16),
        errors=service_form.in_page_order(errors, service.attributes),
        nearby=nearby,
        place=place,
        tiles={"url": config["MAP_TILES_URL"], "attribution": config["MAP_TILES_ATTRIBUTION"]},
    )
    return page, status


@bp.post("/intake/<service_code>")
def intake_post(service_code: str) -> tuple[str, int] | BaseResponse:
    """Check the answers; then show the open requests nearby, or file (channel phone)."""
    _may_file()
    session_ = db.session()
    service = catalog_queries.active_service(session_, service_code)
    values = request.form.to_dict(flat=False)
    checked = service_form.check(
        service, service_form.params_of(service.code, request.form), jurisdiction().time_zone
    )
    if checked.submission is None:
        return _form(service, values, checked.errors, 400)
    if request.form.get("step") != FILE:
        try:
            place = _place(request.form)
            nearby = _nearby(service, place)
        except InvalidRequest as error:
            session_.rollback()
            return _form(service, values, service_form.errors_of(error.descriptions, []), 400)
        return _form(service, values, {}, 200, nearby, place)
    try:
        filed = actions.submit_request(
            session_,
            checked.submission,
            jurisdiction=jurisdiction(),
            api_key=console_key(session_),
            # Two callers may report the same thing in the same words: only the form's
            # key makes a second filing the same request.
            replay_window=timedelta(0),
            idempotency_key=service_form.idempotency_key(None, request.form),
            filed_by=viewer(),
        )
    except Conflict:
        session_.rollback()
        values.pop(service_form.IDEMPOTENCY_KEY, None)  # a new form: it may be filed
        message = _("This form was filed already with other answers: check them, then file it.")
        return _form(service, values, {service_form.FORM: message}, 409)
    except InvalidRequest as error:
        session_.rollback()
        return _form(
            service, values, service_form.errors_of(error.descriptions, service.attributes), 400
        )
    number = filed.service_request.number
    session_.commit()
    if filed.replayed:
        flash(_("Request %(number)s was filed already for this caller.", number=number), "info")
    else:
        signals.request_filed.send("console")
        flash(_("Request %(number)s filed for the caller.", number=number), "success")
    return redirect(url_for("console.request_page", number=number), 303)


def _place(form: MultiDict[str, str]) -> tuple[str, str]:
    """(lat, long) of the caller's place: the map's pin, else the address geocoded."""
    if form.get("lat", "").strip() and form.get("long", "").strip():
        return form["lat"].strip(), form["long"].strip()
    place = jurisdiction().geocoder.geocode(form.get("address_string", "").strip())
    if place is None:
        raise InvalidRequest("address_string: could not be placed.")
    return f"{place.lat:.6f}", f"{place.lon:.6f}"


def _nearby(service: Service, place: tuple[str, str]) -> list[dict[str, Any]]:
    """Open requests of this service around the caller's place, through GET requests'
    own filter and query."""
    lat, lon = place
    query = {
        "service_code": service.code,
        "status": "open",
        "lat": lat,
        "long": lon,
        "radius": str(_radius(service)),
        "page_size": NEARBY_SHOWN,
    }
    where = filters.request_filter(
        query, jurisdiction().time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"]
    )
    return [
        {
            "number": row.number,
            "address": row.address,
            "requested": row.requested_at.astimezone(jurisdiction().time_zone).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "description": row.description or "",
            "status_notes": row.status_notes,
            "lat": row.lat,
            "long": row.long,
        }
        for row in queries.search_requests(db.session(), where)
    ]


def _radius(service: Service) -> float:
    """As near as a likely parent of a duplicate: the service's own radius, else the city's."""
    config = current_app.config
    default = workflow_queries.DuplicateRule(
        config["DUPLICATE_RADIUS_M"], config["DUPLICATE_WINDOW_DAYS"]
    )
    return workflow_queries.duplicate_rule(db.session(), service.code, default).radius_m


@bp.post("/intake/follow/<number>")
def intake_follow(number: str) -> BaseResponse:
    """The caller follows an open request instead of filing a duplicate: the same double
    opt-in as the site's and the API's (they confirm from the message they get)."""
    _may_file()
    session_ = db.session()
    queries.get_request(session_, number)  # NotFound (404) for a number not public
    contact = {"email": request.form.get("email", "")}
    if not contact["email"].strip():
        contact = {"phone": request.form.get("phone", "")}
    back = url_for("console.intake")
    try:
        follower = followers.follower(MultiDict(contact))
        confirmation.subscribe(
            session_,
            Scope(service_request_id=number),
            follower,
            site_key(session_),
            jurisdiction(),
            confirmation.Rules.from_config(current_app.config),
        )
    except Open311Error as error:
        session_.rollback()
        for description in error.descriptions:
            flash(description, "error")
        return redirect(back, 303)
    session_.commit()
    flash(
        _(
            "The caller will follow request %(number)s once they confirm from the message "
            "we sent them.",
            number=number,
        ),
        "success",
    )
    return redirect(back, 303)


@bp.context_processor
def _intake_in_navigation() -> dict[str, Any]:
    staff = viewer() if hasattr(g, "console_staff") else None
    return {"may_file": staff is not None and permissions.allowed(staff, Operation.FILE)}
