"""The link in a question's email (NotificationKind.QUESTION) that lets the reporter answer.

The token names the question (its ASK_REPORTER history row) and is signed with
SECRET_KEY under its own salt, so that no other link's token answers anything;
old keys still verify (LinkKeys). Whether the question may still be answered is
the workflow's to say (open311/workflow/questions.py).
"""

from __future__ import annotations

from itsdangerous import BadSignature

from open311.errors import NotFound
from open311.notifications.subscriptions import MAX_ID, LinkKeys

SALT = "open311.answer"


def answer_token(keys: LinkKeys, question_id: int) -> str:
    token: str = keys.serializer(SALT).dumps(question_id)
    return token


def question_named_by(keys: LinkKeys, token: str) -> int:
    """The question id a token names; NotFound if it is forged or names no possible id."""
    try:
        question_id = keys.serializer(SALT).loads(token)
    except BadSignature as error:
        raise NotFound("This link is not valid.") from error
    if not isinstance(question_id, int) or isinstance(question_id, bool):
        raise NotFound("This link is not valid.")
    if not 0 < question_id <= MAX_ID:
        raise NotFound("This link is not valid.")
    return question_id
