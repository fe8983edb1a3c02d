"""My requests: a resident signs in with a one-time link sent by email, sees every
request filed with that address, and signs out. Thin views over accounts/residents.py,
on the site's one blueprint (its CSRF check and error pages hold here too)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from open311 import rate_limits
from open311.accounts import residents
from open311.errors import Gone, InvalidRequest, NotFound, TooManyRequests
from open311.extensions import db
from open311.models.base import utcnow
from open311.notifications.subscriptions import LinkKeys
from open311.pages import csrf
from open311.web import i18n, pages
from open311.web.i18n import _
from open311.web.views import bp

SIGNED_IN = "resident"  # the session cookie's key for the sign-in token
PAGE_SIZE = 20
MAX_PAGE = 10_000  # past any resident's requests; a larger offset could overflow a bigint


def _rules() -> residents.Rules:
    return residents.Rules.from_config(current_app.config)


def _keys() -> LinkKeys:
    return LinkKeys.from_config(current_app.config)


def _private(body: str, status: int = 200) -> BaseResponse:
    """A page about one person: never kept by a shared cache or the browser's history."""
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/my-requests")
def my_requests() -> BaseResponse:
    session_ = db.session()
    resident = residents.signed_in(session_, session.get(SIGNED_IN))
    if resident is None:
        return _private(render_template("web/sign_in.html", values={}, errors={}))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows, more = residents.requests_of(session_, resident.email, page, PAGE_SIZE)
    return _private(
        render_template(
            "web/my_requests.html",
            email=resident.email,
            items=[pages.own_request(row) for row in rows],
            page=page,
            more=more,
        )
    )


@bp.post("/sign-in")
def ask_sign_in() -> BaseResponse:
    """Email a sign-in link; the answer is the same whether the address is known or not."""
    given = request.form.get("email", "")
    try:
        email = residents.email_address(given)
    except InvalidRequest:
        errors = {"email": _("Enter an email address, such as name@example.com.")}
        page = render_template("web/sign_in.html", values={"email": [given]}, errors=errors)
        return _private(page, 400)
    try:
        rate_limits.count_sign_in_link(email)
    except TooManyRequests as error:
        raise TooManyRequests(
            _("Too many sign-in links were asked for. Wait a while, then try again."),
            retry_after=error.retry_after,
        ) from None
    residents.ask_to_sign_in(db.session(), email, i18n.language(), _rules())
    db.session.commit()
    return redirect(url_for("web.sign_in_sent"), 303)


@bp.get("/sign-in/check-your-email")
def sign_in_sent() -> BaseResponse:
    minutes = int(_rules().link_valid_for.total_seconds() // 60)
    return _private(render_template("web/sign_in_sent.html", minutes=minutes))


@bp.get("/sign-in/<token>")
def sign_in_link(token: str) -> BaseResponse:
    """The emailed link opens a page with a button: opening it spends nothing, so a mail
    scanner that fetches every link in a message cannot use it up."""
    try:
        residents.link_to_use(db.session(), _keys(), token, utcnow())
    except (NotFound, Gone) as error:
        return _dead_link(error)
    return _private(render_template("web/sign_in_link.html", token=token))


@bp.post("/sign-in/<token>")
def use_sign_in_link(token: str) -> BaseResponse:
    try:
        _resident, plaintext = residents.use_link(db.session(), _keys(), token, _rules())
    except (NotFound, Gone) as error:
        db.session.rollback()
        return _dead_link(error)
    residents.sign_out(db.session(), session.get(SIGNED_IN))  # a session it replaces ends
    db.session.commit()
    csrf.renew()
    session[SIGNED_IN] = plaintext
    return redirect(url_for("web.my_requests"), 303)


def _dead_link(error: NotFound | Gone) -> BaseResponse:
    """The sign-in form again, saying why the link did not work."""
    problem = (
        _("This sign-in link is not valid. Ask for a new one below.")
        if isinstance(error, NotFound)
        else _("This sign-in link was used already or has expired. Ask for a new one below.")
    )
    page = render_template("web/sign_in.html", values={}, errors={}, problem=problem)
    return _private(page, error.code)


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    """Ends the session on the server too: the old cookie signs no one in any more."""
    residents.sign_out(db.session(), session.pop(SIGNED_IN, None))
    db.session.commit()
    flash(_("You are signed out."), "success")
    return redirect(url_for("web.my_requests"), 303)
