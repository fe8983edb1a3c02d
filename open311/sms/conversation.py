"""A text-message conversation, provider-neutral: what a text means at this step and
what we answer. No database, no provider: the state comes in and goes out as plain
values (store.py keeps it), and the desk (store.Desk) looks things up and files.

The steps: a resident says what is wrong (IDLE); we offer up to three likely services
as numbered choices (CHOOSE); ask the service's required questions one by one
(QUESTION); ask where (PLACE) and read the place back for a yes (CONFIRM_PLACE); file,
answer with the number and the expected time, and offer updates by text (UPDATES).
Keywords come first, at any step: STOP, START, HELP, and a change of language.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol

from open311.errors import Open311Error
from open311.estimates.wording import expected_words
from open311.sms import words
from open311.sms.words import Words

MAX_CHOICES: Final = 3  # likely services offered: more do not fit a text's screen
_NUMBERS: Final = re.compile(r"\d+")


class Step(enum.StrEnum):
    IDLE = "idle"
    CHOOSE = "choose"
    QUESTION = "question"
    PLACE = "place"
    CONFIRM_PLACE = "confirm_place"
    UPDATES = "updates"


@dataclass
class State:
    """Where a phone's conversation stands; the step functions change it in place."""

    language: str = "en"
    step: Step = Step.IDLE
    data: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False

    def restart(self) -> None:
        self.step, self.data = Step.IDLE, {}


@dataclass(frozen=True)
class Choice:
    code: str
    name: str  # in the conversation's language where the catalogue has it


@dataclass(frozen=True)
class Found:
    """A place the geocoder found, inside the city."""

    address: str
    lat: float
    long: float


@dataclass(frozen=True)
class Facts:
    """What a resident is told of a request: when filed, and its status by number."""

    number: str
    service_name: str
    is_open: bool
    requested_at: datetime
    expected_early_at: datetime | None
    expected_late_at: datetime | None
    status_notes: str | None = None
    public: bool = True  # False while the city reviews it


class Desk(Protocol):
    """The lookups and the writes a conversation needs (store.Desk: the database)."""

    def choices(self, text: str, language: str) -> list[Choice]: ...

    def questions(self, service_code: str) -> list[Mapping[str, Any]]: ...

    def check_answer(self, service_code: str, code: str, values: list[str]) -> str | None: ...

    def place(self, text: str) -> Found | None: ...

    def place_in(self, text: str) -> Found | None: ...

    def file(self, data: Mapping[str, Any], language: str) -> Facts: ...

    def request_number(self, text: str) -> str | None: ...

    def status(self, number: str, language: str) -> Facts | None: ...

    def follow(self, number: str) -> bool: ...

    def stop(self) -> None: ...

    def emergency(self, text: str) -> bool: ...

    def contact(self) -> str: ...


def answer(state: State, text: str, desk: Desk) -> list[str]:
    """Our replies to `text`, in order; [] for silence (after STOP)."""
    word = words.keyword(text)
    if word in words.STOP:
        return _stop(state, desk)
    if state.stopped:
        return _start(state, desk) if word in words.START | words.YES else []
    keywords: dict[str, Callable[[State, Desk], list[str]]] = {
        **dict.fromkeys(words.START, _start),
        **dict.fromkeys(words.HELP, _help),
        **dict.fromkeys(words.SPANISH, _in_spanish),
        **dict.fromkeys(words.ENGLISH, _in_english),
    }
    if word in keywords:
        return keywords[word](state, desk)
    if state.step in (Step.IDLE, Step.UPDATES) and (number := desk.request_number(text)):
        return [_status(state, desk, number)]
    first = [_emergency(state)] if desk.emergency(text) else []
    try:
        return [*first, *_STEPS[state.step](state, text.strip(), desk)]
    except (Open311Error, LookupError):
        # The catalogue changed under the conversation (a service or question gone), or
        # its stored state is not what this step expects: start again, never fail.
        state.restart()
        _ = Words(state.language)._
        return [*first, _("Sorry, we lost track. Tell us again what is wrong and where.")]


def _emergency(state: State) -> str:
    _ = Words(state.language)._
    return _("If this is an emergency happening now, call 911: 311 is not watched for emergencies.")


# --- keywords -----------------------------------------------------------------------


def _stop(state: State, desk: Desk) -> list[str]:
    if state.stopped:
        return []  # one confirmation, then silence
    state.stopped = True
    state.restart()
    desk.stop()
    _ = Words(state.language)._
    return [_("311: you will get no more texts from this number. Text START to get texts again.")]


def _start(state: State, desk: Desk) -> list[str]:
    state.stopped = False
    state.restart()
    _ = Words(state.language)._
    return [
        _(
            "311: welcome. Text us what is wrong and where, such as "
            '"pothole in front of 121 N LaSalle St". Text HELP for help, STOP to stop.'
        )
    ]


def _help(state: State, desk: Desk) -> list[str]:
    _ = Words(state.language)._
    return [
        _(
            "311 by text: describe the problem to report it, or text a request number "
            "to hear its status. ESPAÑOL for Spanish. STOP to stop texts. "
            "For an emergency call 911. %(contact)s",
            contact=desk.contact(),
        )
    ]


def _in_spanish(state: State, desk: Desk) -> list[str]:
    state.language = "es"
    return [_prompt(state, desk)]


def _in_english(state: State, desk: Desk) -> list[str]:
    state.language = "en"
    return [_prompt(state, desk)]


def _prompt(state: State, desk: Desk) -> str:
    """What the current step asks, again (after a change of language)."""
    if state.step is Step.CHOOSE:
        return _menu(state)
    if state.step is Step.QUESTION:
        return _question_text(state, _current_question(state, desk))
    if state.step is Step.PLACE:
        return _ask_place(state)
    if state.step is Step.CONFIRM_PLACE:
        return _read_back(state)
    _ = Words(state.language)._
    return _("311: tell us what is wrong and where.")


def _status(state: State, desk: Desk, number: str) -> str:
    w = Words(state.language)
    _ = w._
    facts = desk.status(number, state.language)
    if facts is None:
        return _("We found no public request %(number)s. Check the number.", number=number)
    if not facts.is_open:
        text = _("%(number)s (%(service)s) is closed.", number=number, service=facts.service_name)
    else:
        text = _("%(number)s (%(service)s) is open.", number=number, service=facts.service_name)
    expected = _expected(w, facts) if facts.is_open else None
    notes = facts.status_notes
    return " ".join(part for part in (text, notes, expected) if part)


def _expected(w: Words, facts: Facts) -> str | None:
    return expected_words(
        facts.requested_at, facts.expected_early_at, facts.expected_late_at, w._, w.ngettext
    )


# --- the steps ----------------------------------------------------------------------


def _describe(state: State, text: str, desk: Desk) -> list[str]:
    """IDLE: the resident's first words are the description; offer likely services."""
    _ = Words(state.language)._
    choices = desk.choices(text, state.language)[:MAX_CHOICES]
    if not choices:
        state.restart()
        return [
            _(
                "We could not tell what to report from that. Say it in a few words, such as "
                '"pothole", "graffiti" or "rats".'
            ),
        ]
    state.step = Step.CHOOSE
    state.data = {"description": text, "choices": [[c.code, c.name] for c in choices]}
    if found := desk.place_in(text):  # "rats behind 1234 W Elm St": read back, not asked
        state.data["place"] = {"address": found.address, "lat": found.lat, "long": found.long}
    return [_menu(state)]


def _menu(state: State) -> str:
    _ = Words(state.language)._
    lines = [_("Which is it? Reply with its number:")]
    lines += [f"{i}. {name}" for i, (_code, name) in enumerate(state.data["choices"], 1)]
    lines.append(_("0. None of these"))
    return "\n".join(lines)


def _choose(state: State, text: str, desk: Desk) -> list[str]:
    """CHOOSE: a number from the menu."""
    _ = Words(state.language)._
    choices = state.data["choices"]
    picked = _one_number(text)
    if picked == 0:
        state.restart()
        return [_('Tell us again what is wrong, in other words (such as "broken streetlight").')]
    if picked is None or not 1 <= picked <= len(choices):
        return [_("Reply with a number from the list.") + "\n" + _menu(state)]
    code = choices[picked - 1][0]
    state.data.update(
        service=code,
        pending=[q["code"] for q in desk.questions(code)],
        answers={},
    )
    return [_next_question(state, desk)]


def _next_question(state: State, desk: Desk) -> str:
    if state.data["pending"]:
        state.step = Step.QUESTION
        return _question_text(state, _current_question(state, desk))
    if "place" in state.data:  # named in the first text
        state.step = Step.CONFIRM_PLACE
        return _read_back(state)
    state.step = Step.PLACE
    return _ask_place(state)


def _current_question(state: State, desk: Desk) -> Mapping[str, Any]:
    code = state.data["pending"][0]
    return next(q for q in desk.questions(state.data["service"]) if q["code"] == code)


def _question_text(state: State, question: Mapping[str, Any]) -> str:
    _ = Words(state.language)._
    lines = [str(question.get("description") or question["code"])]
    datatype = question["datatype"]
    values = question.get("values", [])
    lines += [f"{i}. {value['name']}" for i, value in enumerate(values, 1)]
    if datatype == "singlevaluelist":
        lines.append(_("Reply with its number."))
    elif datatype == "multivaluelist":
        lines.append(_("Reply with one or more numbers, such as 1 3."))
    elif datatype == "number":
        lines.append(_("Reply with a number."))
    elif datatype == "datetime":
        lines.append(_("Reply with a date, such as 2026-05-01."))
    return "\n".join(lines)


def _answer_question(state: State, text: str, desk: Desk) -> list[str]:
    """QUESTION: an answer, checked by the API's own rules before the next question."""
    _ = Words(state.language)._
    question = _current_question(state, desk)
    values = _answer_values(question, text)
    problem = desk.check_answer(state.data["service"], question["code"], values)
    if problem is not None:
        return [
            _("That answer does not fit: %(problem)s", problem=problem)
            + "\n"
            + _question_text(state, question)
        ]
    state.data["answers"][question["code"]] = values
    state.data["pending"] = state.data["pending"][1:]
    return [_next_question(state, desk)]


def _answer_values(question: Mapping[str, Any], text: str) -> list[str]:
    """The answer as the API takes it: list choices by their number (or key or name)
    become keys; anything else is sent as it is, for the checker to judge."""
    values = question.get("values", [])
    if question["datatype"] == "singlevaluelist":
        return [_key_of(values, text)]
    if question["datatype"] == "multivaluelist":
        parts = _NUMBERS.findall(text) or [p for p in re.split(r"[,;]", text) if p.strip()]
        return [_key_of(values, part) for part in parts]
    return [text]


def _key_of(values: Sequence[Mapping[str, Any]], text: str) -> str:
    wanted = text.strip()
    if wanted.isdigit() and 1 <= int(wanted) <= len(values):
        return str(values[int(wanted) - 1]["key"])
    for value in values:
        if wanted.casefold() in (str(value["key"]).casefold(), str(value["name"]).casefold()):
            return str(value["key"])
    return wanted


def _ask_place(state: State) -> str:
    _ = Words(state.language)._
    return _("Where is it? Reply with the street address, such as 121 N LaSalle St.")


def _locate(state: State, text: str, desk: Desk) -> list[str]:
    """PLACE: an address, placed by the city's geocoder."""
    _ = Words(state.language)._
    found = desk.place(text)
    if found is None:
        return [
            _(
                "We could not find that address in the city. Send the street number and "
                "name again, such as 121 N LaSalle St."
            )
        ]
    state.step = Step.CONFIRM_PLACE
    state.data["place"] = {"address": found.address, "lat": found.lat, "long": found.long}
    return [_read_back(state)]


def _read_back(state: State) -> str:
    _ = Words(state.language)._
    return _("Is it at %(address)s? Reply YES or NO.", address=state.data["place"]["address"])


def _confirm(state: State, text: str, desk: Desk) -> list[str]:
    """CONFIRM_PLACE: yes files the request; no asks for the address again."""
    w = Words(state.language)
    _ = w._
    word = words.first_word(text)
    if word in words.NO:
        state.step = Step.PLACE
        state.data.pop("place", None)
        return [_ask_place(state)]
    if word not in words.YES:
        return [_read_back(state)]
    try:
        facts = desk.file(state.data, state.language)
    except Open311Error as error:
        state.step = Step.PLACE
        return [" ".join(error.descriptions), _ask_place(state)]
    state.step, state.data = Step.UPDATES, {"number": facts.number}
    parts = [_("Thank you. Your request number is %(number)s.", number=facts.number)]
    if not facts.public:
        parts.append(_("The City reviews requests like this one before they are shown."))
    parts.append(_expected(w, facts) or "")
    parts.append(_("Reply YES to get a text when it changes."))
    return [" ".join(part for part in parts if part)]


def _updates(state: State, text: str, desk: Desk) -> list[str]:
    """UPDATES: yes follows the request just filed; anything else starts afresh."""
    _ = Words(state.language)._
    word = words.keyword(text)  # whole: "no heat in the building" is a new report
    number = state.data["number"]
    if word in words.YES:
        state.restart()
        if not desk.follow(number):
            return [_("We cannot send updates about %(number)s yet.", number=number)]
        return [
            _(
                "We will text you when %(number)s changes. Text STOP to stop all texts.",
                number=number,
            )
        ]
    state.restart()
    if word in words.NO:
        return [_("OK. Text us again whenever something needs fixing.")]
    return _describe(state, text, desk)


def _one_number(text: str) -> int | None:
    found = _NUMBERS.fullmatch(text.strip().rstrip("."))
    return int(found.group()) if found else None


_STEPS: Final[dict[Step, Callable[[State, str, Desk], list[str]]]] = {
    Step.IDLE: _describe,
    Step.CHOOSE: _choose,
    Step.QUESTION: _answer_question,
    Step.PLACE: _locate,
    Step.CONFIRM_PLACE: _confirm,
    Step.UPDATES: _updates,
}
