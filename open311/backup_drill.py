"""The backup drill: a base backup, a WAL archive, and point-in-time recovery to a moment.

    python -m open311.backup_drill --requests 1000000 --replayed 200000

Everything happens on a throwaway PostgreSQL cluster made in a temporary folder
(open311/backup/cluster.py), never on a city's server; docs/backup.md says how to do
the same steps on a production cluster, and this drill is the rehearsal for them.

1. A cluster archiving its WAL (archive_mode, an archive_command that copies each
   segment to an archive folder), with the schema, the Chicago catalogue and areas,
   and --requests generated requests (flask open311 generate-history).
2. A base backup (pg_basebackup); then --replayed more generated requests, the WAL
   the restore will have to replay.
3. --before requests filed through the app's domain, each its own transaction; then
   the recovery target: the server's clock, and the store as it stands (its count,
   its closed requests, a digest of every request).
4. After the target: --after more requests, and the mistake point-in-time recovery
   is for: a clean-up that deletes every closed request. The WAL is switched and
   archived.
5. The restore: a new data folder from the base backup, restore_command from the
   archive, recovery_target_time, promoted at the target; then checked to hold
   exactly the store of the target moment: the same count and digest, the requests
   filed before it present, those filed after it absent, the deleted ones back.

It prints the recovery point (the target, the last transaction replayed, its LSN),
the time of each phase and the sizes, and exits 1 if the check fails, 2 if a server
program fails.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from open311 import create_app
from open311.areas.loader import CHICAGO_FILES, load_areas, read_areas
from open311.backup import cluster
from open311.backup.cluster import Cluster, ClusterError, folder_bytes
from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PACKAGE_DIR, PROJECT_DIR
from open311.database import begin_write, upgrade_schema
from open311.extensions import db
from open311.models import Service
from open311.opendata.history import generate_history, load_profile
from open311.service_requests.actions import Submission, submit_request

AREAS = PACKAGE_DIR / "demo" / "data" / "areas"
CITY_HALL = (41.88369, -87.63189)  # (lat, long): where the drill's requests are filed
SEED = 311

# What "the store" is for the check: every request's number, status and last change,
# in one digest, with the count and the closed ones.
STORE_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE status = 'closed'),
       md5(coalesce(string_agg(
           number || ' ' || status || ' ' || updated_at::text, ',' ORDER BY id
       ), ''))
FROM service_request
"""
RECOVERY_POINT_SQL = """
SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()::text,
       pg_last_wal_replay_lsn()::text, (SELECT timeline_id FROM pg_control_checkpoint())
"""


@dataclass(frozen=True)
class Store:
    requests: int
    closed: int
    digest: str


@dataclass(frozen=True)
class Plan:
    """How many requests each phase writes."""

    requests: int  # generated before the base backup
    replayed: int = 0  # generated after it: WAL the restore must replay
    before: int = 20  # filed through the app after the backup, before the target
    after: int = 20  # filed after the target


@dataclass
class Drill:
    """What the drill did and found; printed at the end."""

    plan: Plan
    root: Path
    seconds: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    before: list[str] = field(default_factory=list)  # filed before the target
    after: list[str] = field(default_factory=list)  # filed after it
    deleted: int = 0
    target_time: str = ""
    at_target: Store | None = None
    at_end: Store | None = None
    restored: Store | None = None
    replayed_until: str = ""
    replayed_lsn: str = ""
    timeline: int = 0
    stopped_at: str = ""  # the server's own line: where recovery stopped, and why
    failures: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.restored is not None and not self.failures


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        plan = Plan(options.requests, options.replayed, options.before, options.after)
        drill = run_drill(plan, workdir=options.workdir, keep=options.keep, say=say)
    except ClusterError as error:
        say(f"the drill failed: {error}")
        return 2
    for line in report(drill):
        say(line)
    return 0 if drill.verified else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m open311.backup_drill", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--requests", type=int, default=10_000, help="generated requests in the base backup")
    add("--before", type=int, default=20, help="requests filed after the backup, before the target")
    add("--after", type=int, default=20, help="requests filed after the target")
    add("--replayed", type=int, default=0, help="requests generated after the backup")
    add("--workdir", type=Path, help="where the temporary folder goes [the system's]")
    add("--keep", action="store_true", help="keep the clusters' folder afterwards")
    options = parser.parse_args(argv)
    if min(options.requests, options.before, options.after) < 1 or options.replayed < 0:
        parser.error("--requests, --before and --after must be at least 1, --replayed 0")
    return options


def say(text: str) -> None:
    print(text, flush=True)


def run_drill(
    plan: Plan,
    *,
    workdir: Path | None = None,
    keep: bool = False,
    say: Callable[[str], None] = say,
) -> Drill:
    drill = Drill(plan, drill_folder(workdir))
    try:
        base = on_the_primary(drill, say)
        started = time.perf_counter()
        restored = restored_copy(drill.root, base, drill.target_time)
        with serving(restored):
            cluster.wait_until(lambda: promoted(restored), "the promotion of the restored copy")
            drill.seconds["restore and replay"] = time.perf_counter() - started
            say(f"restore and replay: {drill.seconds['restore and replay']:.1f} s")
            recovery_point(restored, base, drill)
            check(restored, drill)
    finally:
        if not keep:
            shutil.rmtree(drill.root, ignore_errors=True)
    return drill


def drill_folder(workdir: Path | None) -> Path:
    cluster.require_binaries()
    try:
        root = Path(tempfile.mkdtemp(prefix="open311-drill-", dir=workdir))
    except OSError as error:
        raise ClusterError(f"Cannot write in {workdir}: {error.strerror}.") from error
    cluster.owned_folder(root)
    try:
        cluster.check_reachable(root)
    except ClusterError:
        root.rmdir()
        raise
    return root


def on_the_primary(drill: Drill, say: Callable[[str], None]) -> Path:
    """Phases 1-4 (the module's docstring); the base backup's folder."""
    plan = drill.plan
    with serving(primary_cluster(drill.root)) as primary:
        say(f"primary on port {primary.port}, in {drill.root}")
        app = drill_app(primary.url)
        with timed(drill, "load", say, f"schema, catalogue, areas and {plan.requests:,} requests"):
            create_database(primary)
            prepare(app)
            generate(app, plan.requests, SEED)
        base = drill.root / "base"
        with timed(drill, "base backup", say, "pg_basebackup"):
            base_backup(primary, base)
        drill.sizes |= {"database": database_bytes(primary), "base backup": folder_bytes(base)}
        if plan.replayed:
            with timed(drill, "load after the backup", say, f"{plan.replayed:,} requests"):
                generate(app, plan.replayed, SEED + 1)
        drill.before = file_requests(app, plan.before)
        drill.at_target, drill.target_time = store_of(primary), server_clock(primary)
        say(f"recovery target {drill.target_time}: {drill.at_target.requests:,} requests")
        drill.after = file_requests(app, plan.after)
        drill.deleted = delete_closed(primary)
        drill.at_end = store_of(primary)
        say(f"after it: {plan.after} filed, {drill.deleted:,} closed requests deleted by mistake")
        archive_current_wal(primary)
        drill.sizes["WAL archive"] = folder_bytes(drill.root / "archive")
        with app.app_context():
            db.engine.dispose()
    return base


# --- the primary ------------------------------------------------------------------------


def primary_cluster(root: Path) -> Cluster:
    archive = cluster.owned_folder(root / "archive")
    return cluster.initdb(
        root,
        "primary",
        "wal_level = replica",
        "archive_mode = on",
        f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'",
    )


@contextmanager
def serving(server: Cluster) -> Iterator[Cluster]:
    """The cluster started, and stopped however the block ends (a failed start too)."""
    try:
        server.start()
        yield server
    finally:
        if server.running():
            with suppress(ClusterError):  # (a server that died leaves its pid file)
                server.stop("fast")


def drill_app(url: str) -> Flask:
    # create_app refuses the development key outside tests; nothing signed here leaves the drill.
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})


def dsn(server: Cluster, database: str = "open311") -> str:
    return make_url(server.url).set(drivername="postgresql", database=database).render_as_string()


def create_database(server: Cluster) -> None:
    with psycopg.connect(dsn(server, "postgres"), autocommit=True) as connection:
        connection.execute("CREATE DATABASE open311")
    with psycopg.connect(dsn(server), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION postgis")


def prepare(app: Flask) -> None:
    """What a city runs first: init-db, load-catalog, load-chicago-areas."""
    upgrade_schema(app)
    with app.app_context():
        session = db.session()
        begin_write(session)
        catalog = Path(app.config["CATALOG_DIR"])
        load_catalog(session, read_catalog(catalog, PROJECT_DIR / "schemas"))
        for area_file in CHICAGO_FILES:
            shapes = read_areas(
                AREAS / area_file.filename, area_file.code_property, area_file.name_property
            )
            load_areas(session, area_file.kind, shapes)
        db.session.commit()


def generate(app: Flask, requests: int, seed: int) -> None:
    """flask open311 generate-history --rows REQUESTS --seed SEED"""
    with app.app_context():
        zone = app.extensions["open311.jurisdiction"].time_zone
        now = datetime.now(UTC).replace(microsecond=0)
        generate_history(db.session(), load_profile(), requests, time_zone=zone, now=now, seed=seed)
        db.session.commit()


def file_requests(app: Flask, count: int) -> list[str]:
    """File `count` requests as the API does, each committed on its own; their numbers."""
    numbers = []
    with app.app_context():
        session = db.session()
        code = plain_service(app)
        session.rollback()  # (only read)
        lat, long = CITY_HALL
        for n in range(count):
            begin_write(session)
            filed = submit_request(
                session,
                Submission(service_code=code, lat=lat, long=long, description=f"drill {n}"),
                jurisdiction=app.extensions["open311.jurisdiction"],
                api_key=None,
                replay_window=timedelta(seconds=app.config["REPLAY_WINDOW_SECONDS"]),
                channel="web",
            )
            numbers.append(filed.service_request.number)
            db.session.commit()
    return numbers


def plain_service(app: Flask) -> str:
    """The first active service that asks no required question."""
    services = db.session().scalars(sa.select(Service).where(Service.active).order_by(Service.code))
    for service in services:
        if not any(attribute.get("required") for attribute in service.attributes):
            return service.code
    raise ClusterError(f"every service of {app.config['CATALOG_DIR']} asks a required question")


def delete_closed(server: Cluster) -> int:
    """The mistake: a clean-up meant for a test copy, run on the city's database."""
    with psycopg.connect(dsn(server)) as connection:
        return connection.execute("DELETE FROM service_request WHERE status = 'closed'").rowcount


def archive_current_wal(server: Cluster) -> None:
    """Close the WAL segment holding the last writes, and wait until it is archived: the
    replay must find a commit after the target to know where the target is."""
    with psycopg.connect(dsn(server), autocommit=True) as connection:
        (segment,) = one_row(connection, "SELECT pg_walfile_name(pg_switch_wal())")

        def archived() -> bool:
            (last,) = one_row(connection, "SELECT last_archived_wal FROM pg_stat_archiver")
            return last is not None and bool(last >= segment)

        cluster.wait_until(archived, f"the archiving of WAL segment {segment}")


def one_row(connection: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    row: tuple[Any, ...] | None = connection.execute(sql.encode()).fetchone()
    if row is None:
        raise ClusterError(f"no row from {sql.strip()}")
    return row


def base_backup(server: Cluster, folder: Path) -> None:
    cluster.run(
        "pg_basebackup", "-D", str(folder), "-h", "127.0.0.1", "-p", str(server.port),
        "-U", cluster.OWNER, "--checkpoint=fast", "--wal-method=stream", "--no-sync",
    )  # fmt: skip


def database_bytes(server: Cluster) -> int:
    with psycopg.connect(dsn(server)) as connection:
        (size,) = one_row(connection, "SELECT pg_database_size('open311')")
    return int(size)


def store_of(server: Cluster) -> Store:
    with psycopg.connect(dsn(server)) as connection:
        requests, closed, digest = one_row(connection, STORE_SQL)
    return Store(int(requests), int(closed), str(digest))


def server_clock(server: Cluster) -> str:
    with psycopg.connect(dsn(server)) as connection:
        (now,) = one_row(connection, "SELECT clock_timestamp()::text")
    return str(now)


# --- the restore ------------------------------------------------------------------------


def restored_copy(root: Path, base: Path, target_time: str) -> Cluster:
    """A new data folder from the base backup, set to replay the archive up to
    `target_time` and be promoted there when it starts."""
    restored = Cluster(root, root / "restored", cluster.free_port())
    subprocess.run(["cp", "-a", str(base), str(restored.data)], check=True)
    archive = root / "archive"
    cluster.append_settings(
        restored.data,
        f"restore_command = 'cp {archive}/%f %p'",
        f"recovery_target_time = '{target_time}'",
        "recovery_target_action = 'promote'",
        "archive_mode = off",  # its own new timeline is not the drill's archive
    )
    (restored.data / "recovery.signal").touch()
    cluster.owned(restored.data / "recovery.signal")
    return restored


def promoted(restored: Cluster) -> bool:
    with psycopg.connect(dsn(restored)) as connection:
        (in_recovery,) = one_row(connection, "SELECT pg_is_in_recovery()")
    return in_recovery is False


def recovery_point(restored: Cluster, base: Path, drill: Drill) -> None:
    with psycopg.connect(dsn(restored)) as connection:
        _, until, lsn, timeline = one_row(connection, RECOVERY_POINT_SQL)
    drill.replayed_until, drill.replayed_lsn, drill.timeline = str(until), str(lsn), int(timeline)
    drill.sizes["WAL replayed"] = lsn_bytes(drill.replayed_lsn) - lsn_bytes(backup_start(base))
    log = restored.log.read_text(encoding="utf-8", errors="replace")
    drill.stopped_at = next(
        (
            line.split("LOG:", 1)[-1].strip()
            for line in log.splitlines()
            if "recovery stopping" in line
        ),
        "",
    )


def backup_start(base: Path) -> str:
    """The LSN the base backup starts at, from its backup_label: replay begins there."""
    label = (base / "backup_label").read_text(encoding="utf-8")
    return label.split("START WAL LOCATION: ", 1)[1].split()[0]


def lsn_bytes(lsn: str) -> int:
    """A WAL position (`16/B374D848`) as a byte offset."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def check(restored: Cluster, drill: Drill) -> None:
    """The restored store is the store of the target moment, nothing more, nothing less."""
    drill.restored = restored_store = store_of(restored)
    target = drill.at_target
    with psycopg.connect(dsn(restored)) as connection:
        present = {
            number
            for (number,) in connection.execute(
                "SELECT number FROM service_request WHERE number = ANY(%s)",
                [drill.before + drill.after],
            )
        }
    if restored_store != target:
        drill.failures.append(f"the restored store {restored_store} is not {target}")
    if missing := [n for n in drill.before if n not in present]:
        drill.failures.append(f"filed before the target but missing: {', '.join(missing)}")
    if kept := [n for n in drill.after if n in present]:
        drill.failures.append(f"filed after the target but present: {', '.join(kept)}")
    if drill.deleted and target is not None and restored_store.closed != target.closed:
        drill.failures.append("the closed requests deleted after the target are not back")


# --- the report -------------------------------------------------------------------------


@contextmanager
def timed(drill: Drill, phase: str, say: Callable[[str], None], what: str) -> Iterator[None]:
    say(f"{phase}: {what} …")
    started = time.perf_counter()
    yield
    drill.seconds[phase] = time.perf_counter() - started
    say(f"{phase}: {drill.seconds[phase]:.1f} s")


def report(drill: Drill) -> list[str]:
    target, restored, end = drill.at_target, drill.restored, drill.at_end
    assert target is not None
    assert restored is not None
    assert end is not None
    lines = [
        "",
        f"backup drill on {drill.plan.requests:,} generated requests, "
        f"{drill.plan.replayed:,} more after the base backup",
        f"recovery target time    {drill.target_time}",
        f"last transaction replayed {drill.replayed_until} (LSN {drill.replayed_lsn}, "
        f"new timeline {drill.timeline})",
        f"recovery stopped        {drill.stopped_at or 'at the end of the archive'}",
        f"store at the target     {target.requests:,} requests ({target.closed:,} closed), "
        f"digest {target.digest}",
        f"store at the end        {end.requests:,} requests: {len(drill.after)} filed and "
        f"{drill.deleted:,} deleted after the target",
        f"restored store          {restored.requests:,} requests ({restored.closed:,} closed), "
        f"digest {restored.digest}",
    ]
    lines += [f"{phase:<24}{seconds:.1f} s" for phase, seconds in drill.seconds.items()]
    lines += [f"{name:<24}{size / 2**20:,.1f} MiB" for name, size in drill.sizes.items()]
    lines += [f"FAILED: {failure}" for failure in drill.failures]
    lines.append(
        "VERIFIED: the restored store is the store at the target" if drill.verified else ""
    )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
