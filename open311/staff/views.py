"""The staff API at /open311/staff (JSON only): thin views over open311.workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BaseConverter

from open311 import parameters, rate_limits
from open311.accounts import staff as staff_accounts
from open311.citations import actions as citation_actions
from open311.citations import queries as citation_queries
from open311.edge.errors import install_error_handlers
from open311.extensions import db
from open311.formats import render
from open311.jurisdiction import Jurisdiction
from open311.media import actions as media_actions
from open311.models import Staff
from open311.models.base import utcnow
from open311.patterns import queries as pattern_queries
from open311.service_requests import actions as request_actions
from open311.service_requests import signals
from open311.service_requests.submissions import submission
from open311.staff import dashboard as dashboard_payloads
from open311.staff import payloads, schemas
from open311.workflow import actions, dashboard, moderation, permissions, queries, templates
from open311.workflow.permissions import Operation

PREFIX = "/open311/staff"


def render_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    """The staff API speaks JSON only; its errors are GeoReport's JSON array."""
    return render.errors(pairs, status, "json")


bp = Blueprint("staff", __name__, url_prefix=PREFIX)
install_error_handlers(bp, render_errors)
bp.before_request(parameters.one_value_each)


class WorkflowActionConverter(BaseConverter):
    """Any path segment but the nouns with routes of their own beside the actions,
    so that POST …/likely-parents is a 405 (it is read-only), not an unknown action."""

    regex = r"(?!(likely-parents|redact)$)[^/]+"


LIST_FIELDS = ("stage", "service_code")


def jurisdiction() -> Jurisdiction:
    return current_app.extensions["open311.jurisdiction"]  # type: ignore[no-any-return]


def current_staff() -> Staff:
    return g.staff  # type: ignore[no-any-return]


def body() -> dict[str, Any]:
    """A JSON object body, or form fields; either way a flat mapping."""
    if request.is_json:
        return parameters.json_object(request.get_data())
    return request.form.to_dict()


def filing() -> MultiDict[str, Any]:
    """POST /requests: GeoReport's fields, where attribute[CODE] may hold several values
    (a JSON list, or the form field repeated)."""
    if not request.is_json:
        return request.form
    return parameters.json_form(parameters.json_object(request.get_data()))


def query() -> dict[str, Any]:
    """Query arguments; list fields may repeat or be comma lists."""
    args: MultiDict[str, str] = request.args
    found: dict[str, Any] = args.to_dict()
    for name in LIST_FIELDS:
        values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
        found[name] = values
    return found


@bp.before_request
def _authenticate() -> None:
    bearer = request.headers.get("Authorization", "")
    token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
    with rate_limits.credential_attempt():
        g.staff = staff_accounts.authenticate_staff(db.session(), token)
    rate_limits.count_writes_of(f"staff:{g.staff.id}")


@bp.get("/me")
def me() -> Response:
    return render.document("staff", payloads.staff_member(current_staff()), "json")


@bp.post("/requests")
def file_for_caller() -> Response:
    """A call-taker files a request for a caller (channel phone)."""
    session = db.session()
    permissions.require(current_staff(), Operation.FILE)
    filed = request_actions.submit_request(
        session,
        submission(filing()),
        jurisdiction=jurisdiction(),
        api_key=None,
        replay_window=timedelta(0),
        filed_by=current_staff(),
    )
    reply = payloads.work_item(filed.service_request, jurisdiction().time_zone, utcnow())
    session.commit()
    if not filed.replayed:
        signals.request_filed.send("staff")
    return render.document("work_item", reply, "json", status=201)


@bp.get("/requests/<number>")
def show_request(number: str) -> Response:
    session = db.session()
    service_request = queries.request_for_staff(session, number)
    permissions.require(current_staff(), Operation.VIEW, service_request.agency_responsible)
    return render.document("work_item", _request_reply(service_request), "json")


def _request_reply(service_request: Any) -> dict[str, Any]:
    """The request with its history, and, for staff who may moderate, the originals
    of its redacted description."""
    session, time_zone = db.session(), jurisdiction().time_zone
    events = queries.history(session, service_request.id)
    reply = payloads.work_item_with_history(service_request, events, time_zone, utcnow())
    department = service_request.agency_responsible
    if permissions.allowed(current_staff(), Operation.MODERATE, department):
        found = moderation.redactions(session, service_request.id)
        reply = payloads.with_redactions(reply, found, time_zone)
    return reply


@bp.get("/requests/<number>/likely-parents")
def likely_parents(number: str) -> Response:
    """Open requests this one may duplicate: same service, near, recent; nearest first."""
    session = db.session()
    child = queries.request_for_staff(session, number)
    permissions.require(current_staff(), Operation.VIEW, child.agency_responsible)
    default = queries.DuplicateRule(
        current_app.config["DUPLICATE_RADIUS_M"], current_app.config["DUPLICATE_WINDOW_DAYS"]
    )
    rule = queries.duplicate_rule(session, child.service_code, default)
    found = queries.likely_parents(session, child, rule)
    reply = payloads.likely_parents(child, rule, found, jurisdiction().time_zone, utcnow())
    return render.document("likely_parents", reply, "json")


@bp.post("/requests/<number>/citations")
def cite(number: str) -> Response:
    """Record a citation (CITE) on a request of the staff member's department."""
    session = db.session()
    new = schemas.new_citation(body())
    citation = citation_actions.cite(session, number, new, current_staff(), utcnow())
    reply = payloads.citation(citation, number, jurisdiction().time_zone)
    session.commit()
    return render.document("citation", reply, "json", status=201)


@bp.post("/citations/<int:citation_id>/status")
def change_citation_status(citation_id: int) -> Response:
    session = db.session()
    change = schemas.citation_status(body())
    citation = citation_actions.change_status(
        session, citation_id, change["status"], current_staff(), utcnow(),
        change.get("internal_note"),
    )  # fmt: skip
    number = queries.number_of(session, citation.service_request_id)
    reply = payloads.citation(citation, number, jurisdiction().time_zone)
    session.commit()
    return render.document("citation", reply, "json")


@bp.get("/citations")
def citations_of_party() -> Response:
    """A party's citations in a department (default: one's own), by name or licence."""
    asked = schemas.party_query(request.args)
    department = asked.get("department", current_staff().department)
    permissions.require(current_staff(), Operation.CITE, department)
    found = citation_queries.of_party(db.session(), asked["party"], department)
    reply = payloads.party_citations(asked["party"], department, found, jurisdiction().time_zone)
    return render.document("citations", reply, "json")


@bp.get("/citations/parties")
def repeat_parties() -> Response:
    """The parties with at least `min` citations and complaints together in a department
    (default 2), the most first."""
    asked = schemas.repeat_parties_query(request.args)
    department = asked.get("department", current_staff().department)
    permissions.require(current_staff(), Operation.CITE, department)
    found = citation_queries.repeat_parties(db.session(), department, asked.get("min", 2))
    return render.document("parties", payloads.repeat_parties(department, found), "json")


@bp.get("/patterns")
@bp.get("/patterns.<any(csv):format>")
def patterns(format: str = "json") -> Response:
    """A department's repeat places and hotspots (`flask open311 find-patterns`), as JSON
    or CSV; ?kind=repeat|hotspot keeps one kind."""
    asked = schemas.patterns_query(request.args)
    department = asked.get("department", current_staff().department)
    permissions.require(current_staff(), Operation.VIEW, department)
    session = db.session()
    found = pattern_queries.of_department(session, department, asked.get("kind"))
    document = payloads.patterns(
        department,
        pattern_queries.with_numbers(session, found),
        pattern_queries.last_computed_at(session),
        jurisdiction().time_zone,
    )
    if format == "csv":
        return Response(payloads.patterns_csv(document), mimetype="text/csv")
    return render.document("patterns", document, "json")


@bp.post("/requests/<number>/<workflow_action:action>")
def act(number: str, action: str) -> Response:
    session = db.session()
    step = schemas.step(action, body())
    service_request = actions.perform(
        session,
        number,
        step,
        actions.Actor.of_staff(current_staff()),
        time_zone=jurisdiction().time_zone,
    )
    reply = _request_reply(service_request)
    session.commit()
    return render.document("work_item", reply, "json")


@bp.post("/requests/<number>/photos/<int:position>/hide")
def hide_photo(number: str, position: int) -> Response:
    """Hide a resident's photo (a face, a licence plate) with a reason: its URLs answer 404."""
    session = db.session()
    reason = schemas.hide_photo_reason(body())
    base_url = current_app.config["PUBLIC_BASE_URL"] or request.host_url
    media_actions.hide_photo(session, number, position, reason, current_staff(), base_url, utcnow())
    reply = _request_reply(queries.request_for_staff(session, number))
    session.commit()
    return render.document("work_item", reply, "json")


@bp.get("/queue")
@parameters.repeatable(*LIST_FIELDS)
def queue() -> Response:
    where = schemas.queue_filter(query(), current_staff().department)
    permissions.require(current_staff(), Operation.VIEW, where.department)
    now = utcnow()
    rows = queries.queue(db.session(), where, now)
    time_zone = jurisdiction().time_zone
    return render.document(
        "queue", [payloads.work_item(row, time_zone, now) for row in rows], "json"
    )


DASHBOARD_FIGURE = f"<any({', '.join(map(repr, dashboard.FIGURES))}):figure>"


@bp.get(f"/dashboard/{DASHBOARD_FIGURE}")
@bp.get(f"/dashboard/{DASHBOARD_FIGURE}.csv", defaults={"as_csv": True})
def dashboard_figure(figure: str, as_csv: bool = False) -> Response:
    """One figure of the supervisor's dashboard: a department's, or the city's."""
    session = db.session()
    asked = dashboard_payloads.query(request.args)
    department = dashboard.scope_for(
        current_staff(), asked.get("department"), actions.departments(session)
    )
    found = dashboard.compute(
        session, figure, department, utcnow(), jurisdiction().time_zone,
        weeks=asked.get("weeks", dashboard.DEFAULT_WEEKS),
        days=asked.get("days", dashboard.DEFAULT_DAYS),
    )  # fmt: skip
    if as_csv:
        return Response(
            dashboard.to_csv(dashboard.table(found)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{figure}.csv"'},
        )
    reply = dashboard_payloads.payload(figure, found, jurisdiction().time_zone)
    return render.document("dashboard", reply, "json")


@bp.post("/staff")
def create_staff() -> Response:
    session = db.session()
    permissions.require(current_staff(), Operation.MANAGE_STAFF)
    staff, token = staff_accounts.create_staff(
        session, **schemas.new_staff(body()), known=actions.departments(session)
    )
    reply = {**payloads.staff_member(staff), "token": token}
    session.commit()
    return render.document("staff", reply, "json", status=201)


@bp.post("/requests/<number>/redact")
def redact_description(number: str) -> Response:
    """Replace the description the public reads, with a reason; the original stays
    for staff who may moderate."""
    session = db.session()
    asked = schemas.redaction(body())
    moderation.redact_description(
        session, number, asked.get("description"), asked["reason"], current_staff(), utcnow()
    )
    reply = _request_reply(queries.request_for_staff(session, number))
    session.commit()
    return render.document("work_item", reply, "json")


@bp.get("/templates")
def list_templates() -> Response:
    """A department's response templates (default: one's own)."""
    department = schemas.templates_query(request.args, current_staff().department)
    permissions.require(current_staff(), Operation.VIEW, department)
    found = templates.of_department(db.session(), department)
    time_zone = jurisdiction().time_zone
    reply = [payloads.response_template(row, time_zone) for row in found]
    return render.document("templates", reply, "json")


@bp.post("/templates")
def create_template() -> Response:
    session = db.session()
    department, fields = schemas.new_template(body(), current_staff().department)
    template = templates.create(
        session, current_staff(), department, fields, actions.departments(session), utcnow()
    )
    reply = payloads.response_template(template, jurisdiction().time_zone)
    session.commit()
    return render.document("template", reply, "json", status=201)


@bp.put("/templates/<int:template_id>")
def update_template(template_id: int) -> Response:
    session = db.session()
    fields = schemas.template_fields(body())
    template = templates.update(session, current_staff(), template_id, fields, utcnow())
    reply = payloads.response_template(template, jurisdiction().time_zone)
    session.commit()
    return render.document("template", reply, "json")


@bp.delete("/templates/<int:template_id>")
def delete_template(template_id: int) -> Response:
    session = db.session()
    templates.delete(session, current_staff(), template_id)
    session.commit()
    return Response(status=204)
