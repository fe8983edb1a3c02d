"""Identical subscriptions asked for at the same moment make one subscription.

The requests really overlap. On PostgreSQL their transactions run side by side, and
a SELECT … FOR UPDATE finds nothing to lock while no row exists, so only the unique
index over what identifies a live subscription stops a second INSERT: that INSERT
waits for the first transaction, fails when it commits, and its caller gets the
first one's row. SQLite has one writer at a time (BEGIN IMMEDIATE), so there the
requests queue; the outcome must be the same.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from open311.accounts.keys import authenticate
from open311.database import begin_write
from open311.extensions import db
from open311.models import NotificationKind, Subscription
from open311.notifications import subscriptions
from open311.notifications.subscriptions import Follower, Scope
from tests.notifications.conftest import notifications

pytestmark = pytest.mark.slow

THREADS = 8
ROUNDS = 3  # each round a new address: more chances for the requests to interleave
WARD_42 = Scope(area_kind="ward", area_code="42")


def load_areas(app):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas"])
    assert result.exit_code == 0, result.output


def live_subscriptions(app, address):
    with app.app_context():
        return db.session.scalars(
            sa.select(Subscription.id).where(
                Subscription.address == address, Subscription.cancelled_at.is_(None)
            )
        ).all()


def subscribe_at_once(app, api_key, address):
    """THREADS identical POSTs, released together, each from its own client."""
    barrier = threading.Barrier(THREADS)

    def one(_):
        client = app.test_client()
        barrier.wait()
        return client.post(
            "/open311/v2/subscriptions.json",
            data={"api_key": api_key, "email": address, "ward": "42"},
        )

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def test_identical_subscriptions_posted_at_once_make_one_and_every_caller_gets_it(app, api_key):
    load_areas(app)
    for round_ in range(ROUNDS):
        address = f"neighbour-{round_}@example.org"
        responses = subscribe_at_once(app, api_key, address)
        assert [r.status_code for r in responses] == [201] * THREADS, [r.data for r in responses]
        [subscription_id] = live_subscriptions(app, address)
        assert {r.json[0]["subscription_id"] for r in responses} == {
            subscriptions.public_id(app.config["SECRET_KEY"], subscription_id)
        }
        asked = notifications(app, kind=NotificationKind.CONFIRMATION, address=address)
        assert [n.subscription_id for n in asked] == [subscription_id]  # one message, not eight


def test_a_subscription_asked_for_while_its_twin_is_uncommitted_is_the_twin(app, api_key):
    """The interleaving the threads above hit by chance, made to happen every time."""
    load_areas(app)
    jurisdiction = app.extensions["open311.jurisdiction"]
    follower = Follower(email="neighbour@example.org")
    later: dict[str, int] = {}

    def subscribe_and_commit(name):
        with app.app_context():
            session = db.session()
            begin_write(session)
            subscription = subscriptions.subscribe(
                session, WARD_42, follower, authenticate(session, api_key), jurisdiction
            )
            session.commit()
            later[name] = subscription.id

    with app.app_context():
        session = db.session()
        begin_write(session)
        first = subscriptions.subscribe(
            session, WARD_42, follower, authenticate(session, api_key), jurisdiction
        )
        second = threading.Thread(target=subscribe_and_commit, args=("second",))
        second.start()
        second.join(timeout=1.0)  # PostgreSQL: it waits on the index; SQLite: for the write lock
        session.commit()
        first_id = first.id
    second.join(timeout=30)
    assert not second.is_alive()
    assert later == {"second": first_id}
    assert live_subscriptions(app, "neighbour@example.org") == [first_id]
