"""The console's pages: thin views (load → call the domain → commit → render).

Every change to a request goes through the same domain action as the staff API
(workflow.actions.perform, media.actions.hide_photo), with the signed-in staff
member as the actor; the queue is the staff API's query (workflow.queries.queue).
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from open311 import rate_limits
from open311.accounts import resets, signin
from open311.accounts import staff as staff_accounts
from open311.areas.queries import area_names
from open311.catalog import queries as catalog_queries
from open311.citations import actions as citation_actions
from open311.citations import forms as citation_forms
from open311.console import errors, extras, layout, pages
from open311.database import begin_write
from open311.errors import InvalidRequest, Open311Error, TooManyRequests
from open311.extensions import db
from open311.jurisdiction import Jurisdiction
from open311.media import actions as media_actions
from open311.media import queries as media_queries
from open311.models import PartyKind, Role, SignInOutcome, Staff, Stage
from open311.models.base import utcnow
from open311.notifications.subscriptions import LinkKeys
from open311.opendata.feeds import text_cell
from open311.pages import csrf
from open311.pages.i18n import _, ngettext
from open311.workflow import actions, dashboard, offers, permissions, queries, steps
from open311.workflow.actions import CLOSING_REASONS, Actor
from open311.workflow.permissions import Operation
from open311.workflow.transitions import Action

PREFIX = "/console"
bp = Blueprint("console", __name__, url_prefix=PREFIX)
errors.install(bp)
bp.context_processor(layout.page_context)

# Pages one may see without being signed in.
OPEN_ENDPOINTS = frozenset({"console.sign_in", "console.sign_in_post", "console.second_factor",
                            "console.second_factor_post", "console.reset_password",
                            "console.reset_password_post"})  # fmt: skip
ENROL_KEY = "console_totp_enrol"  # a secret being enrolled, in the signed session cookie
QUEUE_LISTS = ("stage", "service_code")
BULK_ACTIONS = (Action.ACKNOWLEDGE, Action.ASSIGN)


def jurisdiction() -> Jurisdiction:
    return current_app.extensions["open311.jurisdiction"]  # type: ignore[no-any-return]


def viewer() -> Staff:
    return g.console_staff  # type: ignore[no-any-return]


def _cookie() -> str:
    return str(current_app.config["CONSOLE_COOKIE_NAME"])


def _idle() -> timedelta:
    return timedelta(minutes=float(current_app.config["CONSOLE_IDLE_MINUTES"]))


@bp.context_processor
def _viewer() -> dict[str, Any]:
    staff = g.get("console_staff")
    return {
        "viewer": staff,
        "may_manage_staff": staff is not None
        and permissions.allowed(staff, Operation.MANAGE_STAFF),
        "may_read_dashboard": staff is not None and dashboard.may_read(staff),
        "may_manage_templates": staff is not None
        and permissions.allowed(staff, Operation.MANAGE_TEMPLATES),
    }


@bp.before_request
def _in_english() -> None:
    """The console speaks English for now (its strings are not in the Spanish catalogue):
    a page half in the resident's language, under lang="es", would be worse. Kept on g,
    the forced locale lasts as long as the request."""
    g.console_english = force_locale("en")
    g.console_english.__enter__()


@bp.before_request
def _check_form_then_session() -> BaseResponse | None:
    if request.method == "POST":
        csrf.check()  # before anything is read or written: a forged form changes nothing
    session_ = db.session()
    token = request.cookies.get(_cookie())
    now = utcnow()
    live = signin.find_session(session_, token, now, _idle())
    g.console_staff = None
    g.console_pending = None
    if live is not None and live.row.awaiting_second_factor:
        g.console_pending = live
    elif live is not None:
        g.console_staff = live.staff
        if live.stale and token:
            _write(lambda: signin.touch(session_, token, now))
    if g.console_staff is None and request.endpoint not in OPEN_ENDPOINTS:
        if token and live is None:
            _write(lambda: signin.end_session(session_, token))  # idle too long: gone
            flash(_("Your session has ended. Sign in again."), "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("console.sign_in", next=target), 303)
    return None


def _write(change: Any) -> None:
    """A small write of its own from a page that reads (the session's last use)."""
    session_ = db.session()
    if request.method == "GET":
        session_.commit()
        begin_write(session_)
    change()
    session_.commit()


def _set_cookie(response: BaseResponse, token: str) -> None:
    response.set_cookie(
        _cookie(),
        token,
        path=PREFIX,
        httponly=True,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        samesite="Lax",
    )


def _safe_next(target: str | None) -> str:
    """Only the console's own pages: never an open redirect."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/"):
        return url_for("console.queue")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _attempt(email: str) -> signin.Attempt:
    return signin.Attempt(signin.normalise_email(email), rate_limits.client_address(), utcnow())


# --- signing in and out ---------------------------------------------------------------------


@bp.get("/")
def home() -> BaseResponse:
    return redirect(url_for("console.queue"))


@bp.get("/sign-in")
def sign_in() -> str | BaseResponse:
    if g.console_staff is not None:
        return redirect(url_for("console.queue"))
    return render_template("console/sign_in.html", next=request.args.get("next", ""), error=None)


@bp.post("/sign-in")
def sign_in_post() -> tuple[str, int] | BaseResponse:
    form = request.form
    email, password = form.get("email", "")[:254], form.get("password", "")
    session_ = db.session()
    attempt = _attempt(email)
    try:
        outcome = signin.sign_in(session_, attempt, password)
    except TooManyRequests:
        signin.audit(session_, attempt, SignInOutcome.THROTTLED)  # not counted as a failure
        session_.commit()
        raise
    session_.commit()  # failures too: their audit rows are what the throttle counts
    if not outcome.ok:
        error = (
            _("This account is no longer active. Ask an administrator.")
            if outcome.outcome is SignInOutcome.INACTIVE
            else _("The email or the password is wrong.")
        )
        page = render_template(
            "console/sign_in.html", next=form.get("next", ""), error=error, email=email
        )
        return page, 401
    assert outcome.token is not None
    if outcome.needs_code:
        target = url_for("console.second_factor", next=form.get("next", ""))
    else:
        target = _safe_next(form.get("next"))
    response = redirect(target, 303)
    _set_cookie(response, outcome.token)
    return response


@bp.get("/sign-in/code")
def second_factor() -> str | BaseResponse:
    pending = g.console_pending
    if pending is None:
        return redirect(url_for("console.sign_in"), 303)
    return _code_page(pending, None, 200)  # type: ignore[return-value]


def _code_page(pending: signin.Live, error: str | None, status: int) -> tuple[str, int]:
    enrol = None
    if pending.staff.totp_secret is None:
        secret = session.get(ENROL_KEY) or signin.new_totp_secret()
        session[ENROL_KEY] = secret
        enrol = {
            "secret": secret,
            "uri": signin.totp_uri(secret, pending.staff.email, jurisdiction().name),
        }
    page = render_template(
        "console/second_factor.html",
        enrol=enrol,
        error=error,
        next=request.values.get("next", ""),
    )
    return page, status


@bp.post("/sign-in/code")
def second_factor_post() -> tuple[str, int] | BaseResponse:
    pending = g.console_pending
    if pending is None:
        return redirect(url_for("console.sign_in"), 303)
    session_ = db.session()
    attempt = _attempt(pending.staff.email)
    ok = signin.give_code(
        session_, attempt, pending.row, request.form.get("code", "")[:12], session.get(ENROL_KEY)
    )
    session_.commit()
    if not ok:
        return _code_page(pending, _("That code is wrong or has expired. Try the next one."), 401)
    session.pop(ENROL_KEY, None)
    return redirect(_safe_next(request.form.get("next")), 303)


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    session_ = db.session()
    staff = viewer()
    signin.end_session(session_, request.cookies.get(_cookie()))
    signin.audit(session_, _attempt(staff.email), SignInOutcome.SIGNED_OUT, staff)
    session_.commit()
    flash(_("You are signed out."), "success")
    response = redirect(url_for("console.sign_in"), 303)
    response.delete_cookie(_cookie(), path=PREFIX)
    return response


# --- the queue -----------------------------------------------------------------------------


def _queue_args() -> dict[str, Any]:
    args: MultiDict[str, str] = request.args
    found: dict[str, Any] = {k: v for k, v in args.to_dict().items() if k not in QUEUE_LISTS}
    for name in QUEUE_LISTS:
        found[name] = [v for v in args.getlist(name) if v.strip()]
    return found


def _queue_filter() -> queries.QueueFilter:
    staff = viewer()
    # Administrators (and call-takers, who answer callers about any request) see
    # every department's requests unless they pick one; the others see their own.
    own = None if offers.sees_every_department(staff) else staff.department
    args = _queue_args()
    args.setdefault("page_size", str(current_app.config["CONSOLE_PAGE_SIZE"]))
    where = steps.queue_filter(args, own)
    permissions.require(staff, Operation.VIEW, where.department)
    return where


def _shown(where: queries.QueueFilter, names: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:
    """The page's requests as cards (`names`: the services' names by code), and whether
    another page follows."""
    now = utcnow()
    session_ = db.session()
    rows = queries.queue(session_, replace(where, page_size=where.page_size + 1), now)
    time_zone = jurisdiction().time_zone
    cards = [pages.card(row, names, time_zone, now) for row in rows[: where.page_size]]
    for card in cards:  # the list's link and the map's point's
        card["url"] = url_for("console.request_page", number=card["number"])
    return cards, len(rows) > where.page_size


@bp.get("/queue")
def queue() -> str:
    return render_template("console/queue.html", **_queue_page(_queue_filter()))


def _queue_page(where: queries.QueueFilter) -> dict[str, Any]:
    """What the queue's template shows: the cards, the filter's choices, the links."""
    session_ = db.session()
    staff = viewer()
    names = catalog_queries.service_names(session_)  # the cards' and the filter's
    cards, more = _shown(where, names)
    view = "map" if request.args.get("view") == "map" else "list"
    sees_all = offers.sees_every_department(staff)

    def page_url(page: int) -> str:
        return _with_args("console.queue", page=str(page))

    points = [
        {"number": c["number"], "lat": c["lat"], "long": c["long"], "service": c["service"],
         "overdue": c["overdue"], "url": c["url"]}
        for c in cards
        if view == "map"
    ]  # fmt: skip
    return {
        "cards": cards,
        "pattern_flags": extras.queue_flags([c["number"] for c in cards]),
        "view": view,
        "where": where,
        "args": _queue_args(),
        "stages": [s.value for s in Stage if s is not Stage.CLOSED],
        "services": names,
        "areas": _area_choices(),
        # Only those who see every department choose one.
        "departments": sorted(actions.departments(session_)) if sees_all else [],
        "sees_all": sees_all,
        "bulk": [a.value for a in BULK_ACTIONS if permissions.allowed(staff, a, where.department)],
        "previous_url": page_url(where.page - 1) if where.page > 1 else None,
        "next_url": page_url(where.page + 1) if more else None,
        "csv_url": _with_args("console.queue_csv"),
        "list_url": _with_args("console.queue", view="list"),
        "map_url": _with_args("console.queue", view="map"),
        "points": json.dumps(points),
        "back": request.full_path,
        "tiles": current_app.config["MAP_TILES_URL"] or "",
        "attribution": current_app.config["MAP_TILES_ATTRIBUTION"],
    }


def _with_args(endpoint: str, **changes: str) -> str:
    """The endpoint's URL with this request's query, a few arguments changed."""
    args: dict[str, list[str]] = request.args.to_dict(flat=False)
    args.update({name: [value] for name, value in changes.items()})
    query = urlencode([(k, v) for k, values in args.items() for v in values])
    return url_for(endpoint) + (f"?{query}" if query else "")


def _area_choices() -> list[tuple[str, str]]:
    """The community areas of the queue's filter, read again every few minutes only:
    areas change when a city loads its boundaries, and the queue is the console's
    most read page."""
    kept: dict[str, Any] = current_app.extensions.setdefault(AREA_CHOICES, {})
    now = time.monotonic()
    if kept.get("until", 0.0) < now:
        kept["areas"] = area_names(db.session(), "community_area")
        kept["until"] = now + AREA_CHOICES_KEPT_SECONDS
    areas: list[tuple[str, str]] = kept["areas"]
    return areas


AREA_CHOICES: Final = "open311.console_area_choices"
AREA_CHOICES_KEPT_SECONDS: Final = 300.0


CSV_COLUMNS = ("number", "service", "stage", "department", "assignee", "address",
               "requested", "due", "overdue", "emergency", "community_area", "ward",
               "description")  # fmt: skip


@bp.get("/queue.csv")
def queue_csv() -> Response:
    """What the queue page shows, as CSV (cells a spreadsheet would run are made text)."""
    cards, _more = _shown(_queue_filter(), catalog_queries.service_names(db.session()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for card in cards:
        writer.writerow(
            [text_cell(str(card[c])) if isinstance(card[c], str) else card[c] for c in CSV_COLUMNS]
        )
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="queue.csv"'
    return response


@bp.post("/queue/bulk")
def bulk() -> BaseResponse:
    """Acknowledge or assign the ticked requests: each through the workflow's one action;
    all of them or none."""
    form = request.form
    numbers = [n for n in form.getlist("number") if n][:500]
    back = _safe_next(form.get("back"))
    if not numbers:
        flash(_("Tick at least one request."), "error")
        return redirect(back, 303)
    name = form.get("action", "")
    if name not in {a.value for a in BULK_ACTIONS}:
        raise InvalidRequest(_("Choose acknowledge or assign."))
    session_ = db.session()
    try:
        step = steps.step(name, {"assignee": form.get("assignee", "")})
        for number in numbers:
            actions.perform(
                session_,
                number,
                step,
                Actor.of_staff(viewer()),
                time_zone=jurisdiction().time_zone,
            )
    except InvalidRequest as error:
        session_.rollback()
        for description in error.descriptions:
            flash(description, "error")
        return redirect(back, 303)
    session_.commit()
    flash(
        ngettext("%(num)d request done.", "%(num)d requests done.", len(numbers)),
        "success",
    )
    return redirect(back, 303)


# --- the request page -----------------------------------------------------------------------


def _base_url() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"] or request.host_url)


@bp.get("/requests/<number>")
def request_page(number: str) -> str:
    session_ = db.session()
    service_request = queries.request_for_staff(session_, number)
    staff = viewer()
    permissions.require(staff, Operation.VIEW, service_request.agency_responsible)
    now = utcnow()
    time_zone = jurisdiction().time_zone
    names = catalog_queries.service_names(session_)
    events = queries.history(session_, service_request.id)
    who = staff_accounts.names_of(session_, {e.staff_id for e in events if e.staff_id})
    offered = offers.offered(staff, service_request)
    parents: list[dict[str, Any]] = []
    if Action.MARK_DUPLICATE in offered:
        default = queries.DuplicateRule(
            current_app.config["DUPLICATE_RADIUS_M"], current_app.config["DUPLICATE_WINDOW_DAYS"]
        )
        rule = queries.duplicate_rule(session_, service_request.service_code, default)
        parents = [
            {**pages.card(p.service_request, names, time_zone, now),
             "distance_m": round(p.distance_m)}
            for p in queries.likely_parents(session_, service_request, rule)
        ]  # fmt: skip
    questions = catalog_queries.questions(session_, service_request.service_code)
    item = pages.detail(service_request, names, time_zone, now, questions)
    points = [
        {"number": item["number"], "lat": item["lat"], "long": item["long"],
         "service": item["service"], "overdue": item["overdue"], "main": True},
        *({"number": p["number"], "lat": p["lat"], "long": p["long"], "service": p["service"],
           "overdue": p["overdue"], "url": url_for("console.request_page", number=p["number"])}
          for p in parents),
    ]  # fmt: skip
    return render_template(
        "console/request.html",
        item=item,
        history=pages.timeline(events, who, time_zone),
        photos=pages.photos(
            media_queries.photos_for_staff(session_, service_request.id), _base_url()
        ),
        offered=[a.value for a in offered],
        may_hide=offers.may(staff, Operation.HIDE_PHOTO, service_request),
        may_cite=offers.may(staff, Operation.CITE, service_request),
        party_kinds=[kind.value for kind in PartyKind],
        parents=parents,
        departments=sorted(
            d
            for d in actions.departments(session_)
            if d and d != service_request.agency_responsible
        ),
        reasons=sorted(r.value for r in CLOSING_REASONS),
        **extras.request_extras(staff, service_request),
        points=json.dumps(points),
        tiles=current_app.config["MAP_TILES_URL"] or "",
        attribution=current_app.config["MAP_TILES_ATTRIBUTION"],
    )


@bp.post("/requests/<number>/act/<action>")
def act(number: str, action: str) -> BaseResponse:
    """One workflow action from the request page; refused (403, 409) as the API refuses it."""
    session_ = db.session()
    back = url_for("console.request_page", number=number)
    try:
        step = steps.step(action, request.form)
        actions.perform(
            session_, number, step, Actor.of_staff(viewer()), time_zone=jurisdiction().time_zone
        )
    except InvalidRequest as error:
        return _back_with(error, back)
    session_.commit()
    flash(_("Done: %(action)s.", action=_action_label(step.action)), "success")
    return redirect(back, 303)


@bp.post("/requests/<number>/citations")
def cite(number: str) -> BaseResponse:
    """Record a citation: the staff API's form and domain action."""
    session_ = db.session()
    back = url_for("console.request_page", number=number) + "#form-cite"
    try:
        new = citation_forms.new_citation(request.form)
        citation_actions.cite(session_, number, new, viewer(), utcnow())
    except InvalidRequest as error:
        return _back_with(error, back)
    session_.commit()
    flash(_("Citation recorded."), "success")
    return redirect(url_for("console.request_page", number=number), 303)


@bp.post("/requests/<number>/photos/<int:position>/hide")
def hide_photo(number: str, position: int) -> BaseResponse:
    session_ = db.session()
    back = url_for("console.request_page", number=number) + "#photos"
    try:
        reason = steps.hide_photo_reason(request.form)
        media_actions.hide_photo(
            session_, number, position, reason, viewer(), _base_url(), utcnow()
        )
    except InvalidRequest as error:
        return _back_with(error, back)
    session_.commit()
    flash(_("The photo is hidden."), "success")
    return redirect(back, 303)


def _back_with(error: Open311Error, back: str) -> BaseResponse:
    """A form that needs a change: nothing is kept; the page says what to change."""
    db.session.rollback()
    for description in error.descriptions:
        flash(description, "error")
    return redirect(back, 303)


def _action_label(action: Action) -> str:
    labels = {
        Action.ACKNOWLEDGE: _("acknowledge"),
        Action.ASSIGN: _("assign"),
        Action.SCHEDULE: _("schedule"),
        Action.START: _("start work"),
        Action.ASK_REPORTER: _("ask the reporter"),
        Action.ANSWER: _("record the reporter's answer"),
        Action.TRANSFER: _("transfer"),
        Action.CLOSE: _("close"),
        Action.MARK_DUPLICATE: _("mark as a duplicate"),
        Action.REOPEN: _("reopen"),
        Action.NOTE: _("add a note"),
    }
    return labels.get(action, action.value)


# --- staff (administrators) -------------------------------------------------------------------


@bp.get("/staff")
def staff_list() -> str:
    permissions.require(viewer(), Operation.MANAGE_STAFF)
    session_ = db.session()
    return render_template(
        "console/staff.html",
        staff=[pages.staff_row(s) for s in staff_accounts.list_staff(session_)],
        roles=[r.value for r in Role],
        settings={r.value: v for r, v in signin.role_settings(session_).items()},
        departments=sorted(d for d in actions.departments(session_) if d),
    )


@bp.post("/staff")
def add_staff() -> BaseResponse:
    permissions.require(viewer(), Operation.MANAGE_STAFF)
    session_ = db.session()
    back = url_for("console.staff_list")
    form = request.form
    try:
        data = staff_accounts.new_staff_form(form)
        staff, _token = staff_accounts.create_staff(
            session_, **data, known=actions.departments(session_)
        )
        signin.set_password(session_, staff.email, form.get("password", ""))
    except InvalidRequest as error:
        return _back_with(error, back)
    session_.commit()
    flash(_("%(name)s can sign in now.", name=staff.name), "success")
    return redirect(back, 303)


@bp.post("/staff/<int:staff_id>/deactivate")
def deactivate_staff(staff_id: int) -> BaseResponse:
    permissions.require(viewer(), Operation.MANAGE_STAFF)
    session_ = db.session()
    staff = staff_accounts.deactivate(session_, staff_id)
    signin.end_sessions_of(session_, staff_id)
    session_.commit()
    flash(_("%(name)s can no longer sign in.", name=staff.name), "success")
    return redirect(url_for("console.staff_list"), 303)


@bp.post("/staff/<int:staff_id>/reset")
def send_password_link(staff_id: int) -> BaseResponse:
    """Email the person a one-time link to choose a new password (through the outbox)."""
    permissions.require(viewer(), Operation.MANAGE_STAFF)
    session_ = db.session()
    valid_for = timedelta(hours=float(current_app.config["CONSOLE_RESET_VALID_HOURS"]))
    resets.send_reset(session_, staff_id, utcnow(), valid_for, jurisdiction().name)
    session_.commit()
    flash(_("A link to choose a new password is on its way by email."), "success")
    return redirect(url_for("console.staff_list"), 303)


def _link_keys() -> LinkKeys:
    return LinkKeys.from_config(current_app.config)


@bp.get("/reset/<token>")
def reset_password(token: str) -> Response:
    resets.usable_reset(db.session(), _link_keys(), token, utcnow())
    return _reset_page(token, None, 200)


def _reset_page(token: str, error: str | None, status: int) -> Response:
    response = make_response(
        render_template("console/reset.html", token=token, error=error), status
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL holds the link's token
    return response


@bp.post("/reset/<token>")
def reset_password_post(token: str) -> Response | BaseResponse:
    session_ = db.session()
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return _reset_page(token, _("The two passwords differ. Type the same one twice."), 400)
    try:
        staff = resets.use_reset(session_, _link_keys(), token, password, utcnow())
    except InvalidRequest as error:
        db.session.rollback()
        return _reset_page(token, " ".join(error.descriptions), 400)
    signin.audit(session_, _attempt(staff.email), SignInOutcome.PASSWORD_SET, staff)
    session_.commit()
    flash(_("Your new password is set. Sign in with it."), "success")
    return redirect(url_for("console.sign_in"), 303)


@bp.post("/staff/second-factor")
def second_factor_setting() -> BaseResponse:
    permissions.require(viewer(), Operation.MANAGE_STAFF)
    session_ = db.session()
    required = set(request.form.getlist("role"))
    for role in Role:
        signin.require_totp(session_, role, role.value in required)
    session_.commit()
    flash(_("Saved: who gives a code when signing in."), "success")
    return redirect(url_for("console.staff_list"), 303)


__all__ = ["PREFIX", "bp"]
