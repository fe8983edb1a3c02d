"""911 guidance: a description that reads like an emergency in progress gets a notice.

311 is not watched for emergencies, so a resident who describes one (a fire,
a smell of gas, someone hurt, a crime happening now) is told to call 911, in
English and Spanish. The request is still filed: the rule only adds words.

The rule is a short list of phrases, matched on the description lower-cased
with accents removed (so "está" and "esta" both match). Each pattern names
an event happening now, not a topic: "fire" alone would flag "the fire
hydrant is leaking" and "fire lane blocked", and "injury" alone an "injury
claim form", so the patterns need "on fire", "house fire", "injured",
"in progress", and the like. Phrases that say nobody is hurt ("no one was
injured", "sin heridos") are removed before matching. A false alarm costs a
sentence of advice; a missed emergency costs more, so the list leans wide.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final

NOTICE: Final = (
    "If this is an emergency happening now, call 911: 311 requests are not watched "
    "for emergencies. Your request has been filed. / Si se trata de una emergencia "
    "en curso, llame al 911: las solicitudes al 311 no se atienden como emergencias. "
    "Su solicitud quedó registrada."
)

_NOW: Final = r"(?:in progress|happening|right now|now|en (?:curso|progreso)|ahora)"
EMERGENCY_PATTERNS: Final = tuple(
    re.compile(pattern)
    for pattern in (
        # Fire and smoke, as events: not "fire hydrant", "fire lane", "fire escape".
        r"\b(?:on fire|in flames|flames|(?:is|are) burning|fire (?:in|at|inside|spreading)"
        r"|(?:house|building|car|garage|apartment|kitchen|garbage|grass|vehicle) fire"
        r"|smoke (?:coming|pouring)|incendio|fuego|en llamas|se esta quemando|sale humo)\b",
        # Gas.
        r"\b(?:smells? (?:of |like )?gas|smell(?:ing)? gas|gas (?:smell|odou?r|leak)"
        r"|leaking gas|olor a gas|huele a gas|fuga de gas|escape de gas)\b",
        # Someone hurt.
        r"\b(?:injured|injuries|bleeding|unconscious|unresponsive|not breathing"
        r"|(?:person|man|woman) down|(?:someone|somebody|person|man|woman|child|kid)"
        r" (?:is |got )?(?:hurt|collapsed|lying on the ground)|hit by a car|overdos\w*"
        r"|herid[oa]s?|lesionad[oa]s?|inconsciente|no respira|sangrando|desmayad[oa]"
        r"|atropellad[oa]|persona tirada)\b",
        # Violence.
        r"\b(?:shots? fired|gunshots?|gunfire|(?:is|are|been|being) (?:shot|shooting)"
        r"|stabb(?:ed|ing)|disparos|balacera|tiroteo|balazos|apunalad[oa])\b",
        # A crime happening now: "was burglarized last year" is not.
        rf"\b(?:burglary|break-?in|robbery|home invasion|robo|asalto|allanamiento)\b.{{0,30}}"
        rf"\b{_NOW}",
        r"\b(?:(?:is|are) breaking in(?:to)?|breaking into|intruder|someone is (?:in|inside) my"
        r"|estan? (?:robando|entrando|forzando)|se (?:esta|estan) metiendo)\b",
    )
)
# Said to rule the emergency out; removed before the patterns run.
NOT_AN_EMERGENCY: Final = re.compile(
    r"\b(?:no(?: one|body)|not)\s+(?:was\s+|is\s+|got\s+)?(?:hurt|injured)\b"
    r"|\bno injuries\b|\bsin heridos\b|\bno hay heridos\b|\bnadie (?:salio )?herido\b"
)


def emergency_notice(description: str | None) -> str | None:
    """NOTICE when the description reads like an emergency in progress, else None."""
    if not description:
        return None
    text = NOT_AN_EMERGENCY.sub(" ", _plain(description))
    return NOTICE if any(pattern.search(text) for pattern in EMERGENCY_PATTERNS) else None


def flagged(notice_column: Any) -> Any:
    """SQL: a request whose stored notice begins with the 911 advice (service_notice
    puts it first), i.e. whose description the rule matched when it was filed."""
    return notice_column.startswith(NOTICE[:200], autoescape=True)


def is_flagged(stored_notice: str | None) -> bool:
    return bool(stored_notice) and str(stored_notice).startswith(NOTICE[:200])


def service_notice(description: str | None, service_notice: str | None) -> str | None:
    """The notice a new request carries: the 911 advice first, then the service's own."""
    notices = [notice for notice in (emergency_notice(description), service_notice) if notice]
    return " ".join(notices) or None


def _plain(text: str) -> str:
    """Lower case without accents, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())
