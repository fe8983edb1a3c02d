"""`python -m open311.doctor`: fail early, and clearly, if SQLite cannot load SpatiaLite.

`python -m open311.doctor --several-servers`: before a city serves from more than one
app server, say what this one would keep to itself (its database file, its rate-limit
counts, its photos, links naming itself), and print what every server must share, in a
form that can be compared across them without showing a secret.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Config, Flask
from sqlalchemy.engine import make_url

from open311 import config


def check_spatialite() -> str:
    import sqlean

    connection = sqlean.connect(":memory:")
    connection.enable_load_extension(True)
    connection.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))
    version: str = connection.execute("SELECT spatialite_version()").fetchone()[0]
    return version


# --- several servers ----------------------------------------------------------------------


def served_config() -> tuple[Config, str]:
    """The settings a server started here would run with (instance/config.py, then the
    OPEN311_* environment) and its instance folder, without building the app.

    InsecureSecretKey if the key is missing or weak, as the server would refuse.
    """
    app = Flask("open311", instance_relative_config=True)  # create_app's name and folder
    config.load(app)
    return app.config, app.instance_path


def per_server_state(settings: Mapping[str, Any], instance_path: str) -> list[str]:
    """What this server would keep where no other server sees it, each with the setting
    that shares it; [] when any server of the city can answer any request."""
    found = []
    database = make_url(settings["SQLALCHEMY_DATABASE_URI"])
    if database.get_backend_name() == "sqlite":
        path = Path(instance_path) / (database.database or "")  # Flask-SQLAlchemy's base
        found.append(
            f"The database is a SQLite file on this server ({path}): every "
            "server must use one PostgreSQL (OPEN311_DATABASE_URL)."
        )
    if not settings["REDIS_URL"]:
        found.append(
            "Rate limits are counted in each process's memory: a client could make each "
            "limit's worth on every worker of every server. Point every server at one "
            "Redis (OPEN311_REDIS_URL)."
        )
    if settings["MEDIA_STORAGE"] == "local":
        folder = Path(instance_path) / settings["MEDIA_ROOT"]
        found.append(
            f"Photos are kept in {folder}, on this server: a photo filed here would be "
            "missing on the others. Keep them in one bucket (OPEN311_MEDIA_STORAGE=s3 and "
            "OPEN311_MEDIA_S3_*), or mount one shared folder there on every server."
        )
    if not settings["PUBLIC_BASE_URL"]:
        found.append(
            "Links in emails and texts would name this server, not the site: set "
            "OPEN311_PUBLIC_BASE_URL to the address residents reach (nginx's)."
        )
    return found


def what_servers_share(settings: Mapping[str, Any], instance_path: str) -> dict[str, str]:
    """The settings that must be the same on every server, shown so that they can be
    compared: keys by fingerprint only, URLs without their passwords."""
    if settings["MEDIA_STORAGE"] == "s3":
        endpoint = settings["MEDIA_S3_ENDPOINT_URL"] or "AWS"
        photos = f"s3://{settings['MEDIA_S3_BUCKET']}/{settings['MEDIA_S3_PREFIX']} ({endpoint})"
    else:
        photos = str(Path(instance_path) / settings["MEDIA_ROOT"])
    limits = "each process's memory"
    if redis := settings["REDIS_URL"]:
        limits = f"{_without_password(redis)} (keys {settings['RATE_LIMIT_KEY_PREFIX']})"
    return {
        "secret key": fingerprint(settings["SECRET_KEY"]),
        "old secret keys": ", ".join(map(fingerprint, settings["SECRET_KEY_FALLBACKS"])) or "none",
        "database": make_url(settings["SQLALCHEMY_DATABASE_URI"]).render_as_string(),
        "rate limits": limits,
        "photos": photos,
        "public URL": settings["PUBLIC_BASE_URL"] or "none",
    }


def fingerprint(key: str) -> str:
    """A short HMAC of a fixed text under `key`: equal on servers holding the same key,
    and no help to anyone guessing it."""
    return hmac.new(key.encode(), b"open311 key fingerprint", hashlib.sha256).hexdigest()[:12]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


# --- the command -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m open311.doctor", description=__doc__)
    parser.add_argument(
        "--several-servers",
        action="store_true",
        help="check that this server keeps nothing the city's other app servers need",
    )
    if parser.parse_args(argv).several_servers:
        return _several_servers()
    return _spatialite()


def _spatialite() -> int:
    try:
        version = check_spatialite()
    except Exception as error:  # any failure here means the same thing to the user
        print(
            f"SQLite could not load SpatiaLite ({error}).\n"
            "Install it (Debian: apt-get install libsqlite3-mod-spatialite) or set "
            "SPATIALITE_LIBRARY_PATH to the mod_spatialite library.",
            file=sys.stderr,
        )
        return 1
    print(f"SpatiaLite {version} loads: the embedded database will work.")
    return 0


def _several_servers() -> int:
    try:
        settings, instance_path = served_config()
    except config.InsecureSecretKey as error:
        print(f"This server would not start: {error}", file=sys.stderr)
        return 1
    print("Every app server of the city must show the same values here:")
    for name, value in what_servers_share(settings, instance_path).items():
        print(f"  {name + ':':<17} {value}")
    problems = per_server_state(settings, instance_path)
    for problem in problems:
        print(f"- {problem}", file=sys.stderr)
    if problems:
        return 1
    print("Nothing is kept on this server alone: another app server may serve beside it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
