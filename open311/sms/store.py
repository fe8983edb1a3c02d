"""A conversation's state in the database, every text in and out, and the desk that
answers the conversation's lookups through the same domain calls as the API and the
site: the site's service search, the API's answer checks, the city's geocoder, and
submit_request with the text line's own key (channel sms). Callers own the transaction.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from open311.accounts.keys import sms_key
from open311.catalog import queries as catalog_queries
from open311.catalog.answers import check_answers
from open311.catalog.translations import Translations
from open311.errors import InvalidRequest, NotFound, Open311Error
from open311.jurisdiction import Jurisdiction
from open311.knowledge import search
from open311.models import Intake, Notification, SmsConversation, SmsMessage, Status
from open311.models.base import utcnow
from open311.notifications.subscriptions import Follower, Scope, stop_phone, subscribe
from open311.service_requests import actions, emergency, submissions
from open311.service_requests import queries as request_queries
from open311.sms import conversation, words
from open311.sms.conversation import Choice, Facts, Found, State, Step

IDLE_AFTER: Final = timedelta(minutes=30)  # a conversation left this long starts afresh
SENDING: Final = timedelta(minutes=1)  # a queued reply older than this was never sent
RECEIPTS: Final = frozenset({"sent", "delivered", "undelivered", "failed"})
ERROR_LENGTH: Final = 500
# An address in a description: a house number, then at most this many words
# ("10259 S Halsted St Apt 2": six); each shorter form costs one lookup.
_HOUSE_NUMBER: Final = re.compile(r"\b\d{1,6}\b(?=\s+[^\W\d])")
MAX_ADDRESS_WORDS: Final = 6


@dataclass(frozen=True)
class Inbound:
    """A text as the provider hands it over."""

    phone: str
    body: str
    provider_id: str


@dataclass(frozen=True)
class Setting:
    """What the desk needs from the app's configuration, read once per app."""

    jurisdiction: Jurisdiction
    replay_window: timedelta
    contact: str
    translated_names: Mapping[str, Translations]  # by language, then service code


def receive(session: Session, inbound: Inbound, setting: Setting) -> list[SmsMessage]:
    """Store the text and our replies to it (status queued); [] for a text already
    received (the provider's retry) and for a phone that said STOP."""
    now = utcnow()
    row = _conversation(session, inbound.phone, now)
    try:
        with session.begin_nested():
            session.add(
                SmsMessage(
                    conversation_id=row.id,
                    direction="in",
                    body=inbound.body,
                    provider_id=inbound.provider_id,
                    status="received",
                    created_at=now,
                )
            )
    except IntegrityError:
        return []  # this MessageSid was received before: it was answered then
    state = _state_of(row, inbound.body, now)
    replies = conversation.answer(state, inbound.body, Desk(session, setting, inbound.phone))
    row.language, row.step, row.data = state.language, state.step.value, dict(state.data)
    row.stopped_at = (row.stopped_at or now) if state.stopped else None
    row.last_text_at = now
    messages = [
        SmsMessage(conversation_id=row.id, direction="out", body=text, status="queued")
        for text in replies
    ]
    session.add_all(messages)
    session.flush()
    return messages


def _conversation(session: Session, phone: str, now: datetime) -> SmsConversation:
    """The phone's conversation, locked (two texts at once take turns); made on first use."""
    found = session.scalar(
        sa.select(SmsConversation).where(SmsConversation.phone == phone).with_for_update()
    )
    if found is not None:
        return found
    try:
        with session.begin_nested():
            found = SmsConversation(phone=phone, step=Step.IDLE.value, data={}, language="",
                                    created_at=now, last_text_at=now)  # fmt: skip
            session.add(found)
    except IntegrityError:  # the phone's other text made it a moment ago
        return _conversation(session, phone, now)
    return found


def _state_of(row: SmsConversation, body: str, now: datetime) -> State:
    """The row as a conversation's State: idle once it was left for IDLE_AFTER, and in
    the language of the text that starts it."""
    # A deep copy: the steps change nested values (answers), and a row whose old and new
    # values were one object would look unchanged to the flush.
    step, data = Step(row.step), copy.deepcopy(row.data or {})
    if now - row.last_text_at >= IDLE_AFTER:
        step, data = Step.IDLE, {}
    language = row.language
    if not language or (step is Step.IDLE and words.keyword(body) not in _KEYWORDS):
        language = words.language_of(body) or language or "en"
    return State(language=language, step=step, data=data, stopped=row.stopped_at is not None)


_KEYWORDS: Final = words.STOP | words.START | words.HELP | words.SPANISH | words.ENGLISH


def record_sent(
    session: Session, message_id: int, provider_id: str | None, error: str | None
) -> None:
    """After handing a reply to the provider: its id there, or why it was refused."""
    message = session.get(SmsMessage, message_id)
    if message is None:
        return
    message.provider_id = provider_id
    message.status = "sent" if error is None else "failed"
    message.error = error[:ERROR_LENGTH] if error else None
    message.status_at = utcnow()


def record_receipt(session: Session, provider_id: str, status: str, error: str | None) -> bool:
    """A delivery receipt: delivered, undelivered or failed (or sent); False for a
    text we do not know, or a status that is not a receipt (queued, accepted)."""
    message = session.scalar(sa.select(SmsMessage).where(SmsMessage.provider_id == provider_id))
    if message is None or message.direction != "out" or status not in RECEIPTS:
        return False
    if message.status in {"delivered", "undelivered", "failed"} and status == "sent":
        return True  # receipts can arrive out of order: a final one stays
    message.status, message.status_at = status, utcnow()
    message.error = error[:ERROR_LENGTH] if error else None
    return True


def record_notification_receipt(
    session: Session, provider_id: str, status: str, error: str | None
) -> bool:
    """A delivery receipt of a text the outbox sent (notifications' SMS channel), found
    by the provider's message id the worker kept; False as record_receipt. A failed or
    undelivered text keeps the provider's error code, and says so in last_error too."""
    row = session.scalar(
        sa.select(Notification).where(Notification.provider_message_id == provider_id)
    )
    if row is None or status not in RECEIPTS:
        return False
    if row.provider_status in {"delivered", "undelivered", "failed"} and status == "sent":
        return True  # as for replies: a final receipt stays
    row.provider_status = status
    row.provider_error = error[:64] if error else None
    if status in {"undelivered", "failed"}:
        row.last_error = f"provider: {status}" + (f" (error {error})" if error else "")
    return True


@dataclass(frozen=True)
class Reply:
    """A reply to hand to the provider, as plain values."""

    id: int
    phone: str
    body: str


def replies_to_resend(session: Session, now: datetime) -> list[Reply]:
    """Replies never handed over (the process stopped between storing and sending them)
    or refused (the provider was down), still worth sending: younger than a
    conversation's life, to a phone that has not said STOP since; oldest first."""
    stmt = (
        sa.select(SmsMessage.id, SmsConversation.phone, SmsMessage.body)
        .join(SmsConversation, SmsConversation.id == SmsMessage.conversation_id)
        .where(
            SmsMessage.direction == "out",
            sa.or_(
                sa.and_(SmsMessage.status == "queued", SmsMessage.created_at < now - SENDING),
                SmsMessage.status == "failed",
            ),
            SmsMessage.provider_id.is_(None),
            SmsMessage.created_at > now - IDLE_AFTER,
            SmsConversation.stopped_at.is_(None),
        )
        .order_by(SmsMessage.id)
    )
    return [Reply(*row) for row in session.execute(stmt)]


class Desk:
    """conversation.Desk on the database, for one phone."""

    def __init__(self, session: Session, setting: Setting, phone: str) -> None:
        self.session, self.setting, self.phone = session, setting, phone
        prefix = re.escape(setting.jurisdiction.number_prefix)
        self._number = re.compile(rf"\b{prefix}\d{{2}}-\d{{4,10}}\b", re.IGNORECASE)

    def choices(self, text: str, language: str) -> list[Choice]:
        """The resident site's search (its home page): the same words, the same ranking."""
        found = search.words(text[: search.MAX_QUERY_LENGTH])
        names = self._names(language)
        services = catalog_queries.matching_services(
            catalog_queries.active_services(self.session), found, names
        )
        return [Choice(s.code, names.get(s.code) or s.name) for s in services]

    def _names(self, language: str) -> dict[str, str]:
        texts = self.setting.translated_names.get(language, {})
        return {code: text.name for code, text in texts.items() if text.name}

    def questions(self, service_code: str) -> list[Mapping[str, Any]]:
        """The service's required questions, in the order its form asks them."""
        service = catalog_queries.active_service(self.session, service_code)
        asked = [a for a in service.attributes if a.get("variable", True) and a.get("required")]
        return sorted(asked, key=lambda a: a.get("order", 0))

    def check_answer(self, service_code: str, code: str, values: list[str]) -> str | None:
        """The API's checker on this one answer: its words for the problem, or None."""
        question = [q for q in self.questions(service_code) if q["code"] == code]
        try:
            check_answers(question, {code: values}, self.setting.jurisdiction.time_zone)
        except InvalidRequest as error:
            return " ".join(_without_code(d, code) for d in error.descriptions)
        return None

    def place(self, text: str) -> Found | None:
        city = self.setting.jurisdiction
        found = city.geocoder.geocode(text) if text else None
        if found is None or not city.boundary.contains(found.lon, found.lat):
            return None
        return Found(found.address, found.lat, found.lon)

    def place_in(self, text: str) -> Found | None:
        """An address inside a description: from a house number on, shortened a word at
        a time from the end ("… 121 N LaSalle St please" → "121 N LaSalle St")."""
        for start in _HOUSE_NUMBER.finditer(text):
            tail = text[start.start() :].split()[:MAX_ADDRESS_WORDS]
            for end in range(len(tail), 1, -1):
                if found := self.place(" ".join(tail[:end])):
                    return found
        return None

    def file(self, data: Mapping[str, Any], language: str) -> Facts:
        """submit_request, as POST /requests and the site do: the same form reader,
        the text line's own key, channel sms."""
        place = data["place"]
        params: MultiDict[str, Any] = MultiDict(
            {
                "service_code": data["service"],
                "description": data["description"],
                "address_string": place["address"],
                "lat": str(place["lat"]),
                "long": str(place["long"]),
                # Two neighbours texting the same words are two reports; the same phone
                # sending them twice is one (the API's retry rule). A hash: the number
                # itself is kept only where the resident asks for updates.
                "device_id": "sms-" + hashlib.sha256(self.phone.encode()).hexdigest()[:20],
            }
        )
        for code, values in data.get("answers", {}).items():
            params.setlist(f"attribute[{code}]", values)
        filed = actions.submit_request(
            self.session,
            submissions.submission(params),
            jurisdiction=self.setting.jurisdiction,
            api_key=sms_key(self.session),
            replay_window=self.setting.replay_window,
            channel="sms",
        )
        request = filed.service_request
        return Facts(
            number=request.number,
            service_name=self._names(language).get(filed.service.code) or filed.service.name,
            is_open=True,
            requested_at=request.requested_at,
            expected_early_at=request.expected_early_at,
            expected_late_at=request.expected_late_at,
            public=request.intake is Intake.ACCEPTED,
        )

    def request_number(self, text: str) -> str | None:
        found = self._number.search(text)
        return found.group().upper() if found else None

    def status(self, number: str, language: str) -> Facts | None:
        try:
            row = request_queries.get_request(self.session, number)
        except NotFound:
            return None
        extras = request_queries.extras_for(self.session, [number])[number]
        return Facts(
            number=number,
            service_name=self._names(language).get(row.service_code) or row.service_name,
            is_open=row.status is Status.OPEN,
            requested_at=row.requested_at,
            expected_early_at=extras.expected_early_at,
            expected_late_at=extras.expected_late_at,
            status_notes=row.status_notes,
        )

    def follow(self, number: str) -> bool:
        """The phone follows the request: confirmed at once, as its owner said yes from it."""
        try:
            followed = subscribe(
                self.session,
                Scope(service_request_id=number),
                Follower(phone=self.phone),
                sms_key(self.session),
                self.setting.jurisdiction,
            )
        except Open311Error:
            return False  # not public yet (under review)
        if followed.confirmed_at is None:
            followed.confirmed_at = utcnow()
        return True

    def stop(self) -> None:
        """STOP ends every text to the phone: its subscriptions too."""
        stop_phone(self.session, self.phone)

    def emergency(self, text: str) -> bool:
        return emergency.emergency_notice(text) is not None

    def contact(self) -> str:
        return self.setting.contact


def _without_code(description: str, code: str) -> str:
    """The checker's line without its field name, which a resident never saw."""
    for prefix in (f"attribute[{code}]: ", f"{code} "):
        if description.startswith(prefix):
            return description[len(prefix) :]
    return description
