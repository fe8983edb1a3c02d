"""`flask open311 …` commands: thin wrappers over library functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from open311 import sandbox
from open311.accounts import keys, passwords, signin
from open311.accounts import staff as staff_accounts
from open311.catalog.loader import CatalogError, load_catalog, read_catalog
from open311.catalog.translations import check_translations
from open311.database import begin_write, keep_served_timeouts, upgrade_schema
from open311.errors import Open311Error
from open311.extensions import db
from open311.jobs import runs_alone
from open311.knowledge.loader import ArticleError, load_articles, read_articles
from open311.models import Role
from open311.opendata.readers import FORMATS as IMPORT_FORMATS
from open311.service_requests.actions import review_request
from open311.workflow.actions import departments

# Commands that keep the served timeouts (open311.database): the outbox worker runs
# for ever on short statements, and retries a claim that times out rather than wait
# on a hung database. The others import, migrate and learn, for minutes at a time.
BOUNDED_COMMANDS = frozenset({"send-outbox"})


@click.group("open311", cls=AppGroup, help="Open311 server maintenance.")
@click.pass_context
@with_appcontext
def open311_cli(context: click.Context) -> None:
    if context.invoked_subcommand in BOUNDED_COMMANDS:
        keep_served_timeouts(current_app)


DIRECTORY = click.Path(exists=True, file_okay=False, path_type=Path)
REQUESTS_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
DEMO_REQUESTS = Path(__file__).parent / "demo" / "data" / "chicago_requests_2021.csv.gz"


@contextmanager
def writing() -> Iterator[Session]:
    """A write transaction for one command: committed at the end; a domain
    error becomes the command's error message and nothing is kept."""
    session = db.session()
    begin_write(session)
    try:
        yield session
    except Open311Error as error:
        session.rollback()
        raise click.ClickException(" ".join(error.descriptions)) from error
    session.commit()


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
    schemas = Path(current_app.config["SCHEMAS_DIR"])
    try:
        services = read_catalog(directory, schemas)
        check_translations(directory, schemas, services)
        return services
    except CatalogError as error:
        raise click.ClickException(str(error)) from error


@open311_cli.command("load-articles")
@click.argument("directory", type=DIRECTORY, required=False)
def load_articles_command(directory: Path | None) -> None:
    """Validate DIRECTORY's article files and upsert them (idempotent; load-catalog first)."""
    directory = directory or Path(current_app.config["ARTICLES_DIR"])
    session = db.session()
    begin_write(session)
    try:
        articles = read_articles(directory, Path(current_app.config["SCHEMAS_DIR"]))
        report = load_articles(session, articles)
    except ArticleError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"{len(articles)} articles: {report.added} added, {report.changed} changed, "
        f"{report.unchanged} unchanged, {report.removed} removed"
    )


@open311_cli.command("create-key")
@click.argument("name")
def create_key(name: str) -> None:
    """Issue an API key to partner NAME; the key is shown only this once."""
    with writing() as session:
        api_key, plaintext = keys.create_key(session, name)
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
    with writing() as session:
        api_key = keys.revoke_key(session, key_id)
    click.echo(f"key {api_key.id} ({api_key.name}) revoked")


# --- the partner sandbox (open311/sandbox.py) ----------------------------------------


@contextmanager
def in_sandbox() -> Iterator[Flask]:
    """The sandbox app's context: the commands inside it read and write its store."""
    try:
        sandbox_app = sandbox.app_of(current_app._get_current_object())  # type: ignore[attr-defined]
    except sandbox.SandboxOff as error:
        raise click.ClickException(str(error)) from error
    with sandbox_app.app_context():
        yield sandbox_app


@open311_cli.command("init-sandbox")
@click.pass_context
def init_sandbox(context: click.Context) -> None:
    """Create or upgrade the sandbox's store and load production's catalogue, articles and
    areas into it (idempotent: run it after each load-catalog or load of areas)."""
    from open311.areas.loader import load_areas, stored_areas

    areas = stored_areas(db.session())  # production's: a sandbox request gets its ward
    db.session.rollback()  # only read
    with in_sandbox() as sandbox_app:
        upgrade_schema(sandbox_app)
        context.invoke(load_catalog_command)
        context.invoke(load_articles_command)
        with writing() as session:
            for kind, shapes in areas.items():
                load_areas(session, kind, shapes)
    counts = ", ".join(f"{len(shapes)} {kind}" for kind, shapes in areas.items())
    click.echo(f"sandbox is up to date (areas: {counts or 'none'})")


@open311_cli.command("empty-sandbox")
@runs_alone("empty-sandbox")
def empty_sandbox() -> None:
    """Delete every request filed in the sandbox, and what followed from them; keys,
    webhooks and the catalogue stay."""
    from datetime import UTC, timedelta

    from open311.media import actions as media_actions
    from open311.media import storage as media_storage

    with in_sandbox(), writing() as session:
        try:
            deleted = sandbox.empty_store(session)
        except sandbox.SandboxMisconfigured as error:
            raise click.ClickException(str(error)) from error
    with in_sandbox() as sandbox_app:
        grace = timedelta(seconds=sandbox_app.config["MEDIA_SWEEP_GRACE_SECONDS"])
        storage = media_storage.for_app(sandbox_app)
        removed = media_actions.sweep(db.session(), storage, datetime.now(UTC), grace)
        db.session.rollback()  # only read
    click.echo(
        f"sandbox emptied: {deleted.get('service_request', 0)} requests, "
        f"{sum(deleted.values())} rows, {len(removed)} photo files"
    )


@open311_cli.group("sandbox-key")
def sandbox_key() -> None:
    """The partner sandbox's API keys (they work only at /open311/sandbox/v2/)."""


@sandbox_key.command("create")
@click.argument("name")
def create_sandbox_key(name: str) -> None:
    """Issue a sandbox key to partner NAME; the key is shown only this once."""
    with in_sandbox():
        with writing() as session:
            api_key, plaintext = keys.create_key(session, name, sandbox=True)
        click.echo(f"sandbox key {api_key.id} for {name}: {plaintext}")


@sandbox_key.command("list")
@click.pass_context
def list_sandbox_keys(context: click.Context) -> None:
    """List the sandbox's keys (their ids, prefixes and state; never the keys)."""
    with in_sandbox():
        context.invoke(list_keys)


@sandbox_key.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def revoke_sandbox_key(context: click.Context, key_id: int) -> None:
    """Revoke the sandbox key with id KEY_ID."""
    with in_sandbox():
        context.invoke(revoke_key, key_id=key_id)


@open311_cli.command("review")
@click.argument("number")
@click.option("--accept/--reject", required=True, help="Accept or reject the request.")
@click.option("--note", help="The status note the public sees.")
def review(number: str, accept: bool, note: str | None) -> None:
    """Accept or reject request NUMBER, which waits for the city's review."""
    with writing() as session:
        review_request(session, number, accept=accept, note=note)
    click.echo(f"{number} {'accepted' if accept else 'rejected'}")


@open311_cli.command("create-staff")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--department", required=True, help="An agency_responsible of the catalogue.")
def create_staff(email: str, name: str, role: str, department: str) -> None:
    """Add a staff member; their first token is shown only this once."""
    with writing() as session:
        staff, token = staff_accounts.create_staff(
            session,
            name=name,
            email=email,
            role=Role(role),
            department=department,
            known=departments(session),
        )
    click.echo(f"staff {staff.id} ({staff.role.value}, {staff.department}): {token}")


@open311_cli.command("create-admin")
@click.argument("email")
@click.option("--name", required=True, help="The administrator's full name.")
@click.option("--department", required=True, help="An agency_responsible of the catalogue.")
@click.password_option(help="Their console password (asked for when not given).")
def create_admin(email: str, name: str, department: str, password: str) -> None:
    """Add an administrator who signs in to the console (/console) with PASSWORD."""
    with writing() as session:
        passwords.check_new(password)
        staff, _token = staff_accounts.create_staff(
            session,
            name=name,
            email=email,
            role=Role.ADMINISTRATOR,
            department=department,
            known=departments(session),
        )
        signin.set_password(session, email, password)
    click.echo(f"administrator {staff.id} ({staff.email}) may sign in at /console")


@open311_cli.command("set-password")
@click.argument("email")
@click.password_option(help="The new console password (asked for when not given).")
def set_password(email: str, password: str) -> None:
    """Set the console password of staff member EMAIL; their sessions end."""
    with writing() as session:
        staff = signin.set_password(session, email, password)
    click.echo(f"password set for staff {staff.id} ({staff.email})")


@open311_cli.command("list-staff")
def list_staff() -> None:
    """List staff members (never their tokens)."""
    for staff in staff_accounts.list_staff(db.session()):
        state = "active" if staff.active else "inactive"
        click.echo(f"{staff.id}\t{staff.role.value}\t{state}\t{staff.department}\t{staff.email}")


@open311_cli.command("deactivate-staff")
@click.argument("staff_id", type=int)
def deactivate_staff(staff_id: int) -> None:
    """Revoke every token of staff member STAFF_ID; their history stays."""
    with writing() as session:
        staff = staff_accounts.deactivate(session, staff_id)
    click.echo(f"staff {staff.id} ({staff.email}) deactivated")


@open311_cli.command("load-demo")
@click.argument(
    "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option(
    "--move-to-now",
    is_flag=True,
    help="Move the dates forward by whole weeks, the newest to 4-5 weeks ago (make run).",
)
def load_demo(path: Path | None, move_to_now: bool) -> None:
    """Load real Chicago requests (the first of 2021) into the store; idempotent.

    With --move-to-now their dates move forward so that the site's and the console's
    views of recent weeks show them (open311/demo/replay.py); requests loaded before
    keep their dates."""
    from open311.demo import replay
    from open311.models.base import utcnow

    path = path or DEMO_REQUESTS
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    now = utcnow().astimezone(time_zone).replace(tzinfo=None) if move_to_now else None
    with writing() as session:
        report, move = replay.import_demo(session, path, time_zone, now)
    click.echo(f"{report.inserted} demo requests loaded from {path.name}")
    if move is not None and report.inserted:
        click.echo(
            f"their dates moved {move.weeks} weeks forward: the City filed them between "
            f"{move.first:%Y-%m-%d %H:%M} and {move.newest:%Y-%m-%d %H:%M}"
        )


@open311_cli.command("derive-chicago")
@click.argument("source", type=DIRECTORY)
def derive_chicago_command(source: Path) -> None:
    """Regenerate services_catalog/chicago and open311/demo/data from SOURCE (shared/chicago311)."""
    from open311.demo.derive import derive_chicago
    from open311.demo.derive_areas import derive_areas
    from open311.demo.derive_streets import derive_street_index

    data_dir = DEMO_REQUESTS.parent
    counts = derive_chicago(source, Path(current_app.config["CATALOG_DIR"]), data_dir)
    counts |= derive_street_index(source, data_dir)
    click.echo(", ".join(f"{value} {key}" for key, value in counts.items()))
    derive_areas(source, data_dir)
    click.echo(f"areas written to {data_dir / 'areas'}")


# --- areas (wards, community areas, police districts, neighborhoods) ------------------

DEMO_AREAS = DEMO_REQUESTS.parent / "areas"
GEOJSON_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
AreaSource = tuple[str, Path, str, str | None]  # kind, file, code property, name property


@open311_cli.command("import-areas")
@click.argument("kind")
@click.argument("path", metavar="FILE", type=GEOJSON_FILE)
@click.option("--code-property", help="Property holding each area's code [Chicago's for KIND].")
@click.option("--name-property", help="Property holding each area's name [the code].")
def import_areas(
    kind: str, path: Path, code_property: str | None, name_property: str | None
) -> None:
    """Replace the KIND areas with FILE's polygons (a GeoJSON FeatureCollection).

    KIND is ward, community_area, police_district or neighborhood. Without
    --code-property, FILE is read as the City of Chicago's file for KIND.
    """
    if code_property is None:
        code_property, name_property = _chicago_properties(kind)
    loaded = _load_areas([(kind, path, code_property, name_property)])
    click.echo(f"{loaded[kind]} {kind} areas loaded from {path.name}")
    click.echo("requests filed earlier keep their codes until `flask open311 tag-areas --retag`")


@open311_cli.command("load-chicago-areas")
@click.argument("directory", type=DIRECTORY, required=False)
def load_chicago_areas(directory: Path | None) -> None:
    """Load Chicago's wards, community areas, police districts and neighborhoods.

    DIRECTORY holds the City's files under their shared/chicago311 names;
    by default, the simplified copies in open311/demo/data/areas.
    """
    from open311.areas.loader import CHICAGO_FILES

    directory = directory or DEMO_AREAS
    loaded = _load_areas(
        [(f.kind, directory / f.filename, f.code_property, f.name_property) for f in CHICAGO_FILES]
    )
    click.echo(", ".join(f"{count} {kind}" for kind, count in loaded.items()) + " areas loaded")


@open311_cli.command("tag-areas")
@click.option("--retag", is_flag=True, help="Recompute every request's codes.")
def tag_areas_command(retag: bool) -> None:
    """Tag requests that have no area codes yet (after importing requests).

    After loading a new map or a new kind of area, --retag recomputes them all.
    """
    from open311.spatial import tag_untagged_requests

    session = db.session()
    begin_write(session)
    tagged = tag_untagged_requests(session, retag=retag)
    db.session.commit()
    click.echo(f"{tagged} requests tagged with their areas")


@open311_cli.command("find-patterns")
@runs_alone("find-patterns")
def find_patterns_command() -> None:
    """Find repeat places and hotspots again (meant for a schedule, e.g. hourly).

    Replaces the stored patterns in one transaction; settings REPEAT_PLACE_* and HOTSPOT_*.
    """
    from open311.models import PatternKind
    from open311.models.base import utcnow
    from open311.patterns import actions as pattern_actions

    rules = pattern_actions.Rules.from_config(current_app.config)
    with writing() as session:
        counts = pattern_actions.recompute(session, rules, utcnow())
    repeats, hotspots = counts[PatternKind.REPEAT], counts[PatternKind.HOTSPOT]
    click.echo(f"{repeats} repeat places and {hotspots} hotspots found")


def _chicago_properties(kind: str) -> tuple[str, str | None]:
    from open311.areas.loader import CHICAGO_FILES

    for area_file in CHICAGO_FILES:
        if area_file.kind == kind:
            return area_file.code_property, area_file.name_property
    kinds = ", ".join(f.kind for f in CHICAGO_FILES)
    raise click.BadParameter(f"{kind!r} is not one of {kinds}", param_hint="KIND")


def _load_areas(sources: list[AreaSource]) -> dict[str, int]:
    """Read every file before writing, so that a bad one leaves the database as it was."""
    from open311.areas.loader import AreaError, load_areas, read_areas

    try:
        shapes = [(kind, read_areas(path, code, name)) for kind, path, code, name in sources]
        session = db.session()
        begin_write(session)
        loaded = {kind: load_areas(session, kind, kind_shapes) for kind, kind_shapes in shapes}
    except AreaError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    for kind, kind_shapes in shapes:
        for area in kind_shapes:
            if area.repaired:
                click.echo(f"{kind} {area.code}: invalid polygon repaired ({area.repaired})")
    return loaded


# --- the City's published requests ---------------------------------------------------


@open311_cli.command("import-requests")
@click.argument("path", metavar="FILE", type=REQUESTS_FILE)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(IMPORT_FORMATS),
    help="The file's layout [guessed from the file].",
)
@click.option("--show-bad", default=20, show_default=True, help="How many bad rows to list.")
def import_requests_command(path: Path, file_format: str | None, show_bad: int) -> None:
    """Import the City of Chicago's 311 requests from FILE; importing again adds nothing.

    FILE is the data portal's CSV export or Socrata JSON of dataset v6vf-nfxy,
    or one of the legacy per-type CSV files (.gz files too). Bad rows are
    listed with their line and reason; the rest of the file is imported.
    """
    from open311.opendata.imports import UnreadableFile, import_requests

    jurisdiction = current_app.extensions["open311.jurisdiction"]
    session = db.session()
    begin_write(session)
    try:
        report = import_requests(
            session,
            path,
            time_zone=jurisdiction.time_zone,
            geocoder=jurisdiction.geocoder,
            file_format=file_format,
        )
    except UnreadableFile as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    db.session.commit()
    click.echo(
        f"{path.name}: {report.rows_read} rows read, {report.inserted} imported, "
        f"{report.already_present} already present, {report.bad} bad"
    )
    for line, reason in report.bad_rows[:show_bad]:
        click.echo(f"line {line}: {reason}")
    if report.bad > show_bad:
        click.echo(f"… and {report.bad - show_bad} more bad rows")


# --- generated history (benchmarks and demos) ------------------------------------------


@open311_cli.command("generate-history")
@click.option("--rows", type=click.IntRange(min=1), required=True, help="Requests to generate.")
@click.option(
    "--years",
    type=click.FloatRange(min=0.1),
    default=3,
    show_default=True,
    help="Years back from now that they were requested in.",
)
@click.option("--seed", type=int, help="Seed, for the same history again.")
def generate_history_command(rows: int, years: float, seed: int | None) -> None:
    """Add ROWS generated requests shaped like Chicago's 311 history (PostgreSQL only).

    Type mix, monthly seasonality, places and days to close follow
    open311/demo/data/chicago_profile.json (open311/demo/derive_profile.py).
    Load the catalogue and the areas first: requests get only the profile's
    types that are active services, and area codes from the loaded areas.
    """
    from datetime import UTC, datetime

    from open311.opendata.history import HistoryError, generate_history, load_profile

    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        raise click.ClickException(
            "generate-history works on PostgreSQL + PostGIS only; this database is SQLite."
        )
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    try:
        report = generate_history(
            session, load_profile(), rows, time_zone=time_zone,
            now=datetime.now(UTC).replace(microsecond=0), years=years, seed=seed,
        )  # fmt: skip
    except HistoryError as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    db.session.commit()
    click.echo(
        f"{report.inserted} requests generated from {report.first:%Y-%m-%d} to "
        f"{report.last:%Y-%m-%d}: {report.types} types, {report.places} places"
    )


# --- backups ---------------------------------------------------------------------------


@open311_cli.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, force: bool) -> None:
    """Copy the embedded SQLite database to PATH while it serves, then check the copy.

    To restore: stop the server, copy PATH over the database file (removing its
    -wal and -shm files), start again (docs/backup.md). PostgreSQL is backed up
    with pg_basebackup and a WAL archive instead.
    """
    from open311.backup.sqlite import BackupError, back_up, database_file

    try:
        source = database_file(current_app.config["SQLALCHEMY_DATABASE_URI"])
        report = back_up(source, path, replace=force)
    except BackupError as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    click.echo(
        f"{report.target}: {report.bytes:,} bytes, {report.requests:,} requests, "
        f"integrity {report.integrity} (copied online from {report.source})"
    )


# --- open-data feeds ------------------------------------------------------------------


@open311_cli.command("export-requests")
@click.option(
    "--format",
    "feed_format",
    type=click.Choice(["csv", "geojson", "ndjson"]),
    default="csv",
    show_default=True,
    help="csv: the City's 39 columns; geojson: a FeatureCollection; ndjson: a request a line.",
)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File [stdout].")
@click.option("--service-request-id", help="Comma-separated numbers; overrides the rest.")
@click.option("--service-code", help="Comma-separated service codes.")
@click.option("--status", help="open, closed, or both.")
@click.option("--start-date", help="Requested at or after (W3C; local time without an offset).")
@click.option("--end-date", help="Requested before.")
@click.option("--updated-after", help="Updated at or after.")
@click.option("--updated-before", help="Updated before.")
@click.option("--after", help="Resume: only requests stored after this service_request_id.")
def export_requests(
    feed_format: str, output: BinaryIO, after: str | None, **filters: str | None
) -> None:
    """Write every public request (or those the filters pick) as an open-data feed.

    The filters are GET /requests' own, without its 90-day default: no dates
    means every request. Private fields (email, phone, names, device and
    account ids) are never written.
    """
    from open311.models.base import utcnow
    from open311.opendata.feeds import FEEDS, resume_after
    from open311.service_requests.filters import request_filter

    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    args = {name: value for name, value in filters.items() if value}
    try:
        where = request_filter(
            args, time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"], default_window=False
        )
        start = 0 if after is None else resume_after(db.session(), after)
    except Open311Error as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    for chunk in FEEDS[feed_format](db.session(), where, time_zone, start):
        output.write(chunk)


# --- expected time to resolve ---------------------------------------------------------


@open311_cli.command("learn-estimates")
@runs_alone("learn-estimates")
def learn_estimates_command() -> None:
    """Learn days-to-close from the closed history; re-estimate every open request.

    Run it after importing history, and then regularly (nightly): the
    quantiles are only as fresh as the last run.
    """
    from open311.estimates.actions import learn_estimates
    from open311.models.base import utcnow

    session = db.session()
    begin_write(session)
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    report = learn_estimates(session, utcnow(), time_zone=time_zone)
    db.session.commit()
    calibrated = report.calibrated_by
    click.echo(
        f"learned {report.services} services, {report.segments} segments, "
        f"{report.groups} groups; {report.refreshed} open requests re-estimated; "
        f"services' ranges calibrated on their own later requests: {calibrated['service']}, "
        f"borrowed from their group: {calibrated['group']}, from all services: "
        f"{calibrated['all']}, as observed (too little history to check): {calibrated['none']}"
    )


@open311_cli.command("backtest")
@click.option(
    "--split",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]),
    help="Learn from requests filed before this (the city's local time), predict the rest.",
)
def backtest_command(split: datetime) -> None:
    """Check the estimates on this store's history: ours beside the naive per-type median.

    Coverage is the share of actual closings inside the 10th-90th percentile
    range (honest ranges give about 80%); MdAE is the median absolute error
    of the median, in days.
    """
    from open311.estimates.backtest import OVERALL, backtest, report_lines
    from open311.estimates.history import catalogue_facts, resolution_history

    session = db.session()
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    split_at = split.replace(tzinfo=time_zone)
    report = backtest(resolution_history(session), catalogue_facts(session), split_at, time_zone)
    overall = report.lines.get(OVERALL)
    click.echo(
        f"split {split_at.isoformat()}: learned from {report.trained_on} closed requests, "
        f"tested on {overall.tested if overall else 0}"
    )
    for line in report_lines(report):
        click.echo(line)


# --- notifications --------------------------------------------------------------------


@open311_cli.command("sweep-media")
@runs_alone("sweep-media")
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    help="Keep files younger than this many seconds [MEDIA_SWEEP_GRACE_SECONDS].",
)
def sweep_media(grace: int | None) -> None:
    """Remove photo files no request names: left by a worker killed while filing."""
    from datetime import UTC, timedelta

    from open311.media import actions as media_actions
    from open311.media import storage as media_storage

    config = current_app.config
    storage = media_storage.from_config(config, current_app.instance_path)
    seconds = config["MEDIA_SWEEP_GRACE_SECONDS"] if grace is None else grace
    now = datetime.now(UTC)  # to the microsecond, as file times are
    removed = media_actions.sweep(db.session(), storage, now, timedelta(seconds=seconds))
    db.session.rollback()  # only read
    click.echo(f"{len(removed)} files removed")


@open311_cli.command("sweep-sign-ins")
@runs_alone("sweep-sign-ins")
def sweep_sign_ins() -> None:
    """Delete expired sign-in links and password resets, expired resident sessions and
    console sessions idle too long (the sign-in audit is kept)."""
    from datetime import timedelta

    from open311.accounts import sweep
    from open311.models.base import utcnow

    session = db.session()
    begin_write(session)
    idle = timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])
    swept = sweep.sweep(session, utcnow(), idle)
    session.commit()
    click.echo(
        f"{swept.sign_in_links} sign-in links, {swept.password_resets} password resets,"
        f" {swept.resident_sessions} resident sessions and {swept.console_sessions}"
        " console sessions deleted"
    )


@open311_cli.command("send-outbox")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--worker-id", help="This worker's name in claims [host:pid].")
def send_outbox(once: bool, worker_id: str | None) -> None:
    """Deliver queued notifications (email, webhooks, SMS) until stopped.

    Run as many as you like: they never take the same notification. SIGTERM
    or Ctrl-C lets the deliveries in flight finish, then stops.
    """
    import os
    import signal
    import socket
    import threading

    from open311.notifications import delivery
    from open311.notifications.channels import Senders

    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop.set())
    config = current_app.config
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    click.echo(f"worker {worker_id} sending", err=True)
    tally = delivery.run(
        db.session(),
        Senders.from_config(config),
        delivery.Policy.from_config(config),
        worker_id,
        once=once,
        stop=stop,
    )
    click.echo(f"{tally.delivered} delivered, {tally.retrying} to retry, {tally.parked} parked")


@open311_cli.command("add-webhook")
@click.argument("key_id", type=int)
@click.argument("url")
@click.option("--service-code", "service_codes", multiple=True, help="A service to follow.")
@click.option("--area", "areas", multiple=True, metavar="KIND:CODE", help="e.g. ward:42.")
@click.option("--request", "requests", multiple=True, help="A request number to follow.")
@click.option("--accounts", is_flag=True, help="Also what the partner's users follow.")
def add_webhook(
    key_id: int,
    url: str,
    service_codes: tuple[str, ...],
    areas: tuple[str, ...],
    requests: tuple[str, ...],
    accounts: bool,
) -> None:
    """Register URL as a webhook of the partner with API key KEY_ID; shows its secret once."""
    from open311.notifications.destinations import Destinations
    from open311.notifications.subscriptions import Scope, create_webhook

    scopes = [Scope(service_code=code) for code in service_codes]
    scopes += [
        Scope(area_kind=kind, area_code=code) for kind, _, code in (a.partition(":") for a in areas)
    ]
    scopes += [Scope(service_request_id=number) for number in requests]
    with writing() as session:
        webhook = create_webhook(
            session,
            keys.get_key(session, key_id),
            url,
            scopes,
            accounts=accounts,
            jurisdiction=current_app.extensions["open311.jurisdiction"],
            destinations=Destinations.from_config(current_app.config),
        )
    click.echo(f"webhook {webhook.id} → {webhook.url}; signing secret: {webhook.secret}")


@open311_cli.command("list-webhooks")
@click.argument("key_id", type=int)
def list_webhooks(key_id: int) -> None:
    """List the live webhooks of the partner with API key KEY_ID (never their secrets)."""
    from open311.notifications.subscriptions import webhooks_of

    session = db.session()
    try:
        api_key = keys.get_key(session, key_id)
    except Open311Error as error:
        raise click.ClickException(" ".join(error.descriptions)) from error
    for webhook in webhooks_of(session, api_key):
        click.echo(f"{webhook.id}\t{webhook.created_at:%Y-%m-%d}\t{webhook.url}")


@open311_cli.command("delete-webhook")
@click.argument("key_id", type=int)
@click.argument("webhook_id", type=int)
def delete_webhook_command(key_id: int, webhook_id: int) -> None:
    """Stop webhook WEBHOOK_ID of the partner KEY_ID; what is queued for it is not sent."""
    from open311.notifications.subscriptions import delete_webhook

    with writing() as session:
        webhook = delete_webhook(session, keys.get_key(session, key_id), webhook_id)
    click.echo(f"webhook {webhook.id} deleted")


@open311_cli.command("resend-sms")
@runs_alone("resend-sms")
def resend_sms() -> None:
    """Send the text replies the provider refused or that were never handed over
    (those younger than a conversation's 30 minutes); run it from cron, say each minute."""
    from open311.models.base import utcnow
    from open311.sms import sending, store
    from open311.sms.twilio import STATUS_PATH, Account

    session = db.session()
    replies = store.replies_to_resend(session, utcnow())
    session.rollback()  # the read's transaction: sending owns its own
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    account = Account.from_config(current_app.config)
    taken = sending.send_replies(session, replies, account, base + STATUS_PATH if base else None)
    click.echo(f"{taken} of {len(replies)} replies sent")
