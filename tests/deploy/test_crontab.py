"""deploy/open311.crontab names commands the CLI has: a renamed command fails here, and so
does one in a line offered commented out (`#` then the schedule) for a city to enable."""

from __future__ import annotations

import re

from open311.cli import open311_cli
from open311.config import PROJECT_DIR

CRONTAB = PROJECT_DIR / "deploy" / "open311.crontab"
SCHEDULE = re.compile(r"^(?P<offered>#?)(\S+\s+){5}open311\s+\$OPEN311\s+(?P<command>[a-z-]+)")


def schedule_lines() -> list[re.Match[str]]:
    lines = CRONTAB.read_text(encoding="utf-8").splitlines()
    return [m for line in lines if (m := SCHEDULE.match(line))]


def scheduled_commands() -> list[str]:
    return [m["command"] for m in schedule_lines() if not m["offered"]]


def test_every_scheduled_command_exists():
    scheduled = scheduled_commands()
    assert scheduled, "no schedule line was read"
    assert set(scheduled) <= set(open311_cli.commands)


def test_every_command_offered_commented_out_exists():
    offered = [m["command"] for m in schedule_lines() if m["offered"]]
    assert offered == ["backup"]
    assert set(offered) <= set(open311_cli.commands)


def test_the_commands_that_must_run_on_a_schedule_are_scheduled():
    # Each says in the README that it must run on a schedule.
    assert {
        "resend-sms",
        "find-patterns",
        "learn-estimates",
        "sweep-media",
        "sweep-sign-ins",
        "empty-sandbox",
    } <= set(scheduled_commands())
