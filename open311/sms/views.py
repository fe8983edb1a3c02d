"""The Twilio-compatible webhooks: texts in (/sms/twilio) and delivery receipts
(/sms/twilio/status), each checked against X-Twilio-Signature before anything is read.

Replies go out through the provider's Messages API, not in the webhook's answer
(TwiML): each is stored first, then handed over, and its receipt comes back here.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from open311.extensions import db
from open311.sms import sending, store, twilio
from open311.sms.twilio import STATUS_PATH, WEBHOOK_PATH, Account
from open311.validation import without_control_characters

bp = Blueprint("sms", __name__)
# An empty TwiML answer: "received; nothing to say here" (replies go through the API).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SETTING = "open311.sms.setting"
ACCOUNT = "open311.sms.account"


def _account() -> Account:
    return current_app.extensions[ACCOUNT]  # type: ignore[no-any-return]


@bp.before_request
def _check_signature() -> None:
    """403 for a request the provider did not sign: nothing is read or stored."""
    params = [(k, v) for k, values in request.form.lists() for v in values]
    given = request.headers.get(twilio.SIGNATURE_HEADER, "")
    if not twilio.is_signed(_account().auth_token, _called_url(), params, given):
        abort(403)


def _called_url() -> str:
    """The URL the provider called: behind a proxy the public one (PUBLIC_BASE_URL), as
    the provider signs the URL it was given, not the one the app sees."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/") or request.host_url.rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


@bp.post(WEBHOOK_PATH)
def inbound() -> Response:
    form = request.form
    text = store.Inbound(
        phone=form.get("From", "").strip()[:40],
        # No control characters (PostgreSQL refuses NUL in text), and a text's length at
        # most: the provider joins a long message's parts into one Body.
        body=without_control_characters(form.get("Body", ""))[: twilio.MAX_BODY],
        provider_id=form.get("MessageSid", "").strip()[:64],
    )
    if not text.phone or not text.provider_id:
        abort(400)
    session = db.session()  # a write transaction already (database.init_app: every POST)
    replies = store.receive(session, text, current_app.extensions[SETTING])
    queued = [store.Reply(message.id, text.phone, message.body) for message in replies]
    session.commit()
    sending.send_replies(session, queued, _account(), _public_base() + STATUS_PATH)
    return Response(EMPTY_TWIML, mimetype="text/xml")


def _public_base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") or request.host_url.rstrip("/")


@bp.post(STATUS_PATH)
def receipt() -> tuple[str, int]:
    form = request.form
    session = db.session()
    receipt = (
        form.get("MessageSid", "").strip(),
        form.get("MessageStatus", "").strip().lower(),
        form.get("ErrorCode") or None,
    )
    # A reply in a conversation, else a text of the notifications' outbox.
    if not store.record_receipt(session, *receipt):
        store.record_notification_receipt(session, *receipt)
    session.commit()
    return "", 204
