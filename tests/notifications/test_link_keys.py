"""The key that signs the links in messages: a served app refuses the development key
(or a short one) at start; a link verifies with the current key or an old one listed in
SECRET_KEY_FALLBACKS, and with nothing else; a token whose id was changed is refused.

Subscription ids are sequential, so a link's signature is all that keeps a stranger
from confirming or cancelling someone else's subscription."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from open311 import create_app
from open311.config import DEVELOPMENT_KEY, InsecureSecretKey
from open311.notifications.subscriptions import LinkKeys, confirmation_token, unsubscribe_token
from tests.notifications.conftest import row_id
from tests.notifications.test_confirmation import NEIGHBOUR, file, follow, the_subscription

CURRENT, OLD = secrets.token_urlsafe(32), secrets.token_urlsafe(32)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """create_app() as a server runs it: settings from OPEN311_* variables only."""
    for name in ("OPEN311_SECRET_KEY", "OPEN311_SECRET_KEY_FALLBACKS", "OPEN311_TESTING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPEN311_DATABASE_URL", f"sqlite:///{tmp_path / 'open311.sqlite'}")
    return monkeypatch


@pytest.mark.parametrize(
    "settings",
    [
        {},  # no key: the development one
        {"OPEN311_SECRET_KEY": DEVELOPMENT_KEY},
        {"OPEN311_SECRET_KEY": "short-and-guessable"},
        {"OPEN311_SECRET_KEY": CURRENT, "OPEN311_SECRET_KEY_FALLBACKS": f"{OLD},{DEVELOPMENT_KEY}"},
        {"OPEN311_SECRET_KEY": CURRENT, "OPEN311_SECRET_KEY_FALLBACKS": "tiny"},
    ],
)
def test_a_served_app_refuses_a_key_anyone_could_know(environment, settings):
    for name, value in settings.items():
        environment.setenv(name, value)
    with pytest.raises(InsecureSecretKey) as refused:
        create_app()
    named = "OPEN311_SECRET_KEY_FALLBACKS" if "FALLBACKS" in str(settings) else "OPEN311_SECRET_KEY"
    assert str(refused.value).startswith(named)


def test_a_served_app_starts_with_a_real_key_and_reads_old_ones_comma_separated(environment):
    environment.setenv("OPEN311_SECRET_KEY", CURRENT)
    environment.setenv("OPEN311_SECRET_KEY_FALLBACKS", f" {OLD} , {CURRENT[::-1]},")
    app = create_app()
    assert app.config["SECRET_KEY"] == CURRENT
    assert app.config["SECRET_KEY_FALLBACKS"] == [OLD, CURRENT[::-1]]


def test_programmatic_apps_are_held_to_the_same_rule_unless_testing(tmp_path):
    database = f"sqlite:///{tmp_path / 'open311.sqlite'}"
    with pytest.raises(InsecureSecretKey):
        create_app({"SQLALCHEMY_DATABASE_URI": database})
    assert create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": CURRENT})
    assert create_app({"SQLALCHEMY_DATABASE_URI": database, "TESTING": True})


def test_links_verify_with_the_current_key_or_an_old_one_and_nothing_else(app, client, api_key):
    app.config.update(SECRET_KEY=CURRENT, SECRET_KEY_FALLBACKS=[OLD])
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    subscription_id = row_id(app, entry["subscription_id"])

    for key in (DEVELOPMENT_KEY, secrets.token_urlsafe(32)):  # the development key, any other
        for path in (
            f"/open311/confirm/{confirmation_token(LinkKeys(key), subscription_id)}",
            f"/open311/unsubscribe/{unsubscribe_token(LinkKeys(key), subscription_id)}",
        ):
            for method in ("get", "post"):
                assert getattr(client, method)(path).status_code == 404, (key, path)
    stranger = the_subscription(app, subscription_id)
    assert stranger.confirmed_at is None
    assert stranger.cancelled_at is None

    signed_before = confirmation_token(LinkKeys(OLD), subscription_id)  # sent before the rotation
    assert client.post(f"/open311/confirm/{signed_before}").status_code == 200
    assert the_subscription(app, subscription_id).confirmed_at is not None
    current = unsubscribe_token(LinkKeys(CURRENT), subscription_id)
    assert client.post(f"/open311/unsubscribe/{current}").status_code == 200
    assert the_subscription(app, subscription_id).cancelled_at is not None


def test_new_links_are_signed_with_the_current_key_only():
    keys = LinkKeys(CURRENT, (OLD,))
    token = unsubscribe_token(keys, 7)
    assert token == unsubscribe_token(LinkKeys(CURRENT), 7)
    assert token != unsubscribe_token(LinkKeys(OLD), 7)


def test_a_token_whose_id_was_changed_is_refused(app, client, api_key):
    app.config.update(SECRET_KEY=CURRENT, SECRET_KEY_FALLBACKS=[OLD])
    number = file(client, api_key)
    [mine] = follow(client, api_key, number, email=NEIGHBOUR).json
    [theirs] = follow(client, api_key, number, email="someone.else@example.org").json
    mine_id, theirs_id = (
        row_id(app, mine["subscription_id"]),
        row_id(app, theirs["subscription_id"]),
    )
    assert theirs_id == mine_id + 1  # sequential rows: the next id is easy to guess
    for sign in (confirmation_token, unsubscribe_token):
        payload, signature = sign(LinkKeys(CURRENT), mine_id).rsplit(".", 1)
        assert json.loads(base64.urlsafe_b64decode(payload + "==")) == mine_id
        swapped = base64.urlsafe_b64encode(json.dumps(theirs_id).encode()).rstrip(b"=").decode()
        kind = "confirm" if sign is confirmation_token else "unsubscribe"
        for method in ("get", "post"):
            page = getattr(client, method)(f"/open311/{kind}/{swapped}.{signature}")
            assert page.status_code == 404
            assert b"not valid" in page.data
    stranger = the_subscription(app, theirs_id)
    assert stranger.confirmed_at is None
    assert stranger.cancelled_at is None
