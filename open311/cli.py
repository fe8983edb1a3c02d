"""`flask open311 …` commands: thin wrappers over library functions."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from open311.accounts import keys
from open311.catalog.loader import CatalogError, load_catalog, read_catalog
from open311.database import begin_write, upgrade_schema
from open311.errors import Open311Error
from open311.extensions import db
from open311.service_requests.actions import review_request

open311_cli = AppGroup("open311", help="Open311 server maintenance.")
DIRECTORY = click.Path(exists=True, file_okay=False, path_type=Path)
DEMO_REQUESTS = Path(__file__).parent / "demo" / "data" / "chicago_requests_2021.csv.gz"


@open311_cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade_schema(current_app)
    click.echo("database schema is up to date")


@open311_cli.command("check-catalog")
@click.argument("directory", type=DIRECTORY, required=False)
def check_catalog(directory: Path | None) -> None:
    """Validate the service definition files in DIRECTORY."""
    services = _read_catalog(directory)
    click.echo(f"{len(services)} services OK")


@open311_cli.command("load-catalog")
@click.argument("directory", type=DIRECTORY, required=False)
def load_catalog_command(directory: Path | None) -> None:
    """Validate DIRECTORY's service files and upsert them (idempotent)."""
    services = _read_catalog(directory)
    session = db.session()
    begin_write(session)
    report = load_catalog(session, services)
    db.session.commit()
    click.echo(
        f"{len(services)} services: {report.added} added, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.deactivated} deactivated"
    )


def _read_catalog(directory: Path | None) -> list[dict[str, object]]:
    directory = directory or Path(current_app.config["CATALOG_DIR"])
    try:
        return read_catalog(directory, Path(current_app.config["SCHEMAS_DIR"]))
    except CatalogError as error:
        raise click.ClickException(str(error)) from error


@open311_cli.command("create-key")
@click.argument("name")
def create_key(name: str) -> None:
    """Issue an API key to partner NAME; the key is shown only this once."""
    session = db.session()
    begin_write(session)
    api_key, plaintext = keys.create_key(session, name)
    db.session.commit()
    click.echo(f"key {api_key.id} for {name}: {plaintext}")


@open311_cli.command("list-keys")
def list_keys() -> None:
    """List API keys (their ids, prefixes and state; never the keys)."""
    for api_key in keys.list_keys(db.session()):
        state = f"revoked {api_key.revoked_at:%Y-%m-%d}" if api_key.revoked_at else "active"
        click.echo(f"{api_key.id}\t{api_key.prefix}…\t{state}\t{api_key.name}")


@open311_cli.command("revoke-key")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Revoke the API key with id KEY_ID; POSTs with it then get 403."""
    session = db.session()
    begin_write(session)
    try:
        api_key = keys.revoke_key(session, key_id)
    except Open311Error as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    db.session.commit()
    click.echo(f"key {api_key.id} ({api_key.name}) revoked")


@open311_cli.command("review")
@click.argument("number")
@click.option("--accept/--reject", required=True, help="Accept or reject the request.")
@click.option("--note", help="The status note the public sees.")
def review(number: str, accept: bool, note: str | None) -> None:
    """Accept or reject request NUMBER, which waits for the city's review."""
    session = db.session()
    begin_write(session)
    try:
        review_request(session, number, accept=accept, note=note)
    except Open311Error as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    db.session.commit()
    click.echo(f"{number} {'accepted' if accept else 'rejected'}")


@open311_cli.command("load-demo")
@click.argument(
    "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
def load_demo(path: Path | None) -> None:
    """Load real Chicago requests (the first of 2021) into the store; idempotent."""
    from open311.demo.load import load_demo_requests

    path = path or DEMO_REQUESTS
    session = db.session()
    begin_write(session)
    added = load_demo_requests(
        session, path, current_app.extensions["open311.jurisdiction"].time_zone
    )
    db.session.commit()
    click.echo(f"{added} demo requests loaded from {path.name}")


@open311_cli.command("derive-chicago")
@click.argument("source", type=DIRECTORY)
def derive_chicago_command(source: Path) -> None:
    """Regenerate services_catalog/chicago and open311/demo/data from SOURCE (shared/chicago311)."""
    from open311.demo.derive import derive_chicago

    counts = derive_chicago(source, Path(current_app.config["CATALOG_DIR"]), DEMO_REQUESTS.parent)
    click.echo(", ".join(f"{value} {key}" for key, value in counts.items()))
