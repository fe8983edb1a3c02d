"""Subscriptions, partners' webhooks, unsubscribe and confirmation links, under /open311
(thin views)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, Response, current_app
from markupsafe import escape

from open311 import parameters
from open311.edge.errors import install_error_handlers
from open311.errors import Gone, NotFound
from open311.extensions import db
from open311.formats import render
from open311.georeport import notify_schemas, payloads
from open311.georeport.errors import render_errors
from open311.georeport.views import FMT, caller_key, jurisdiction, merged_params
from open311.models import Subscription, Webhook
from open311.notifications import confirmation, followers, subscriptions
from open311.notifications.destinations import Destinations
from open311.notifications.subscriptions import Scope

bp = Blueprint("notify", __name__, url_prefix="/open311")
install_error_handlers(bp, render_errors)
bp.before_request(parameters.one_value_each)

UNSUBSCRIBED = "You are unsubscribed"
NO_MORE_MESSAGES = "You will get no more messages from this subscription."
CONFIRMED = "Subscription confirmed"


@bp.post(f"/v2/requests/<service_request_id>/subscriptions.{FMT}")
def follow_request(service_request_id: str, fmt: str) -> Response:
    """A resident (email, phone or the partner's account_id) follows one request."""
    session = db.session()
    api_key = caller_key(session)
    params = merged_params()
    follower = followers.follower(params)
    language = notify_schemas.language(params)
    scope = Scope(service_request_id=service_request_id)
    entry = confirmation.subscribe(
        session, scope, follower, api_key, jurisdiction(), _rules(), language
    )
    return _created_subscription(entry, fmt)


@bp.post(f"/v2/subscriptions.{FMT}")
def subscribe(fmt: str) -> Response:
    """A resident follows a service, an area, or a circle around a place."""
    session = db.session()
    api_key = caller_key(session)
    params = merged_params()
    scope, follower = notify_schemas.subscription(params)
    language = notify_schemas.language(params)
    entry = confirmation.subscribe(
        session, scope, follower, api_key, jurisdiction(), _rules(), language
    )
    return _created_subscription(entry, fmt)


def _rules() -> confirmation.Rules:
    return confirmation.Rules.from_config(current_app.config)


def _created_subscription(entry: Subscription, fmt: str) -> Response:
    numbers = _numbers([entry])
    public_id = subscriptions.public_id(_link_keys().current, entry.id)
    reply = payloads.subscription(entry, public_id, numbers, jurisdiction().time_zone)
    db.session.commit()
    return render.document("subscriptions", [reply], fmt, status=201)


@bp.post(f"/v2/webhooks.{FMT}")
@parameters.repeatable(*notify_schemas.FILTERS)
def create_webhook(fmt: str) -> Response:
    session = db.session()
    api_key = caller_key(session)
    url, scopes, accounts = notify_schemas.webhook(merged_params())
    webhook = subscriptions.create_webhook(
        session,
        api_key,
        url,
        scopes,
        accounts=accounts,
        jurisdiction=jurisdiction(),
        destinations=Destinations.from_config(current_app.config),
    )
    reply = _webhooks_payload([webhook], with_secret=True)
    session.commit()
    return render.document("webhooks", reply, fmt, status=201)


@bp.get(f"/v2/webhooks.{FMT}")
def list_webhooks(fmt: str) -> Response:
    session = db.session()
    hooks = subscriptions.webhooks_of(session, caller_key(session))
    return render.document("webhooks", _webhooks_payload(hooks), fmt)


@bp.get(f"/v2/webhooks/<int:webhook_id>.{FMT}")
def get_webhook(webhook_id: int, fmt: str) -> Response:
    session = db.session()
    api_key = caller_key(session)
    webhook = subscriptions.webhook_of(session, api_key, webhook_id)
    return render.document("webhooks", _webhooks_payload([webhook]), fmt)


@bp.delete(f"/v2/webhooks/<int:webhook_id>.{FMT}")
def delete_webhook(webhook_id: int, fmt: str) -> Response:
    session = db.session()
    api_key = caller_key(session)
    webhook = subscriptions.delete_webhook(session, api_key, webhook_id)
    reply = _webhooks_payload([webhook])
    session.commit()
    return render.document("webhooks", reply, fmt)


def _webhooks_payload(hooks: Sequence[Webhook], *, with_secret: bool = False) -> list[object]:
    filters = subscriptions.filters_of(db.session(), [hook.id for hook in hooks])
    numbers = _numbers([entry for entries in filters.values() for entry in entries])
    time_zone = jurisdiction().time_zone
    return [
        payloads.webhook(hook, filters[hook.id], numbers, time_zone, with_secret=with_secret)
        for hook in hooks
    ]


def _numbers(entries: Sequence[Subscription]) -> dict[int, str]:
    ids = [entry.service_request_id for entry in entries if entry.service_request_id is not None]
    return subscriptions.request_numbers(db.session(), ids) if ids else {}


# Opening a link in a message changes nothing: mail security scanners and link previews
# fetch every link with GET, and would otherwise confirm subscriptions nobody asked for
# (defeating double opt-in) and cancel ones people want. A GET shows what the link is
# for, with a button that POSTs to the same URL; only the POST acts.


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Response:
    """The link in every email and text: a page with a button that unsubscribes."""
    session = db.session()
    try:
        entry = subscriptions.subscription_to_unsubscribe(session, _link_keys(), token)
    except NotFound as error:
        return _refused(error)
    if entry.cancelled_at is not None:
        return _page(UNSUBSCRIBED, NO_MORE_MESSAGES)
    follows = confirmation.described(session, entry)
    return _page("Stop these messages?", f"You get updates about {follows}.", button="Unsubscribe")


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> Response:
    """Unsubscribe (again: the same page): the page's button, and RFC 8058's one-click
    POST, which mail clients send for the List-Unsubscribe-Post header."""
    session = db.session()
    try:
        subscriptions.unsubscribe(session, _link_keys(), token)
    except NotFound as error:
        return _refused(error)
    session.commit()
    return _page(UNSUBSCRIBED, NO_MORE_MESSAGES)


@bp.get("/confirm/<token>")
def confirmation_page(token: str) -> Response:
    """The link in a confirmation message: a page with a button that confirms."""
    session = db.session()
    try:
        entry = subscriptions.subscription_to_confirm(
            session, _link_keys(), token, _rules().valid_for
        )
    except (NotFound, Gone) as error:
        return _refused(error)
    follows = confirmation.described(session, entry)
    if entry.confirmed_at is not None:
        return _page(CONFIRMED, _updates_about(follows))
    return _page(
        "Confirm your subscription",
        f"Updates about {follows} will be sent to you once you confirm.",
        button="Confirm",
    )


@bp.post("/confirm/<token>")
def confirm(token: str) -> Response:
    """Start the subscription (again: the same page): the confirmation page's button."""
    session = db.session()
    valid_for = _rules().valid_for
    try:
        entry = subscriptions.confirm(session, _link_keys(), token, valid_for)
    except (NotFound, Gone) as error:
        return _refused(error)
    follows = confirmation.described(session, entry)
    session.commit()
    return _page(CONFIRMED, _updates_about(follows))


def _updates_about(follows: str) -> str:
    return f"You will get updates about {follows}. Every message has a link to stop them."


def _link_keys() -> subscriptions.LinkKeys:
    return subscriptions.LinkKeys.from_config(current_app.config)


def _refused(error: NotFound | Gone) -> Response:
    """A forged link is a 404 page; an expired one, or one for a cancelled subscription, 410."""
    title = "This link is not valid" if error.code == 404 else "This link no longer works"
    return _page(title, " ".join(error.descriptions), error.code)


def _page(title: str, text: str, status: int = 200, *, button: str | None = None) -> Response:
    """The small HTML page a link in a message opens; `button` POSTs to the same URL."""
    form = (
        f'<form method="post"><button type="submit">{escape(button)}</button></form>'
        if button
        else ""
    )
    html = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head><body><h1>{escape(title)}</h1><p>{escape(text)}</p>{form}"
        "</body></html>\n"
    )
    # The URL holds a signed token: no-referrer keeps it out of the Referer of the button's
    # POST (and so out of access logs) and of any request the page leads to.
    headers = {"Referrer-Policy": "no-referrer"}
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=headers)
