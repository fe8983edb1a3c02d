"""Scheduled commands run one at a time across servers: a run that finds the command's
lock taken does nothing; the lock is free again after a run, even one that failed."""

from __future__ import annotations

from datetime import timedelta

import click
import pytest
import sqlalchemy as sa
from flask import Flask

from open311 import jobs
from open311.cli import open311_cli
from open311.extensions import db
from open311.models import ResidentSession
from open311.models.base import utcnow
from tests.deploy.test_crontab import scheduled_commands


def add_expired_session(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        db.session.add(
            ResidentSession(
                token_hash="e" * 64,
                email="gone@example.com",
                created_at=now - timedelta(days=31),
                expires_at=now - timedelta(days=1),
            )
        )
        db.session.commit()


def sessions_left(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(ResidentSession))
        db.session.rollback()
        return int(count or 0)


def sweep(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["open311", "sweep-sign-ins"])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_scheduled_command_takes_its_own_lock():
    names = {
        command: getattr(open311_cli.commands[command].callback, jobs.ALONE, None)
        for command in scheduled_commands()
    }
    assert names == {command: command for command in scheduled_commands()}


def test_a_run_that_finds_the_lock_taken_does_nothing(app):
    add_expired_session(app)
    with app.app_context(), jobs.held("sweep-sign-ins") as taken:
        assert taken  # as another server's run of the same minute holds it
        output = sweep(app)
    assert "sweep-sign-ins: another run of it holds its lock; nothing done" in output
    assert sessions_left(app) == 1

    output = sweep(app)  # the other run has ended

    assert "1 resident sessions" in output
    assert sessions_left(app) == 0


def test_locks_are_per_command(app):
    add_expired_session(app)
    with app.app_context(), jobs.held("resend-sms") as taken:
        assert taken
        sweep(app)
    assert sessions_left(app) == 0


def test_the_lock_is_free_after_a_run_that_failed(app):
    def fails() -> None:
        raise click.ClickException("the run failed")

    with app.app_context():
        with pytest.raises(click.ClickException):
            jobs.runs_alone("probe")(fails)()
        with jobs.held("probe") as taken:
            assert taken


def test_a_second_holder_is_refused_until_the_first_lets_go(app):
    with app.app_context():
        with jobs.held("find-patterns") as first, jobs.held("find-patterns") as second:
            assert (first, second) == (True, False)
        with jobs.held("find-patterns") as again:
            assert again


def test_lock_keys_are_stable_and_distinct():
    # The same on every server and every release: during a rolling deploy an old
    # server's run and a new one's must take the same lock (so: not hash(), which
    # Python seeds afresh in each process).
    assert jobs.lock_key("resend-sms") == -861267895879115388
    keys = {jobs.lock_key(name) for name in scheduled_commands()}
    assert len(keys) == len(scheduled_commands())
    assert all(-(2**63) <= key < 2**63 for key in keys)
