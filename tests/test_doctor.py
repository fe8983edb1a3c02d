"""`python -m open311.doctor --several-servers`: what a server would keep to itself (its
SQLite file, rate-limit counts, photos, links naming itself), and what every server must
share, shown without a secret."""

from __future__ import annotations

import os

import pytest

from open311 import doctor
from open311.config import DEFAULTS

KEY = "k" * 43
SHARED = {
    "OPEN311_SECRET_KEY": KEY,
    "OPEN311_DATABASE_URL": "postgresql+psycopg://open311:db-password@db.city.internal/open311",
    "OPEN311_REDIS_URL": "redis://:redis-password@cache.city.internal:6379/0",
    "OPEN311_MEDIA_STORAGE": "s3",
    "OPEN311_MEDIA_S3_BUCKET": "chi311-photos",
    "OPEN311_PUBLIC_BASE_URL": "https://311.city.example",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The process's environment with no OPEN311_* setting of its own."""
    for name in [name for name in os.environ if name.startswith("OPEN311_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def several_servers(environment: pytest.MonkeyPatch, **settings: str) -> int:
    for name, value in settings.items():
        environment.setenv(name, value)
    return doctor.main(["--several-servers"])


def test_the_defaults_keep_four_things_on_one_server(tmp_path):
    found = doctor.per_server_state({**DEFAULTS, "SECRET_KEY": KEY}, str(tmp_path))
    assert [line.split(":")[0] for line in found] == [
        f"The database is a SQLite file on this server ({tmp_path / 'open311.sqlite'})",
        "Rate limits are counted in each process's memory",
        f"Photos are kept in {tmp_path / 'media'}, on this server",
        "Links in emails and texts would name this server, not the site",
    ]


def test_shared_settings_pass_and_are_shown_without_secrets(environment, capsys):
    assert several_servers(environment, **SHARED) == 0
    shown = capsys.readouterr()
    assert "Nothing is kept on this server alone" in shown.out
    assert shown.err == ""
    assert f"secret key:       {doctor.fingerprint(KEY)}" in shown.out
    assert "postgresql+psycopg://open311:***@db.city.internal/open311" in shown.out
    assert "redis://:***@cache.city.internal:6379/0 (keys open311)" in shown.out
    assert "s3://chi311-photos/photos/ (AWS)" in shown.out
    for secret in (KEY, "db-password", "redis-password"):
        assert secret not in shown.out


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        ("OPEN311_DATABASE_URL", "OPEN311_DATABASE_URL"),
        ("OPEN311_REDIS_URL", "OPEN311_REDIS_URL"),
        ("OPEN311_MEDIA_STORAGE", "OPEN311_MEDIA_STORAGE=s3"),
        ("OPEN311_PUBLIC_BASE_URL", "OPEN311_PUBLIC_BASE_URL"),
    ],
)
def test_each_setting_left_to_one_server_fails_naming_it(environment, capsys, left_out, named):
    settings = {name: value for name, value in SHARED.items() if name != left_out}
    assert several_servers(environment, **settings) == 1
    [problem] = capsys.readouterr().err.splitlines()
    assert named in problem


def test_a_server_without_a_key_would_not_start(environment, capsys):
    settings = {name: value for name, value in SHARED.items() if name != "OPEN311_SECRET_KEY"}
    assert several_servers(environment, **settings) == 1
    assert "would not start: OPEN311_SECRET_KEY is not set" in capsys.readouterr().err


def test_fingerprints_match_for_one_key_only():
    assert doctor.fingerprint(KEY) == doctor.fingerprint("k" * 43)
    assert doctor.fingerprint(KEY) != doctor.fingerprint("j" * 43)
    assert len(doctor.fingerprint(KEY)) == 12


def test_old_keys_are_fingerprinted_too(environment, capsys):
    old = "o" * 43
    assert several_servers(environment, **SHARED, OPEN311_SECRET_KEY_FALLBACKS=old) == 0
    shown = capsys.readouterr().out
    assert f"old secret keys:  {doctor.fingerprint(old)}" in shown
    assert old not in shown
