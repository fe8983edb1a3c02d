"""`flask open311 backup PATH`: an online copy of the embedded database, checked, while
another connection keeps writing; bad paths and the wrong database are refused plainly."""

from __future__ import annotations

import shutil
import threading
from contextlib import closing
from pathlib import Path

import pytest
import sqlean
from flask import Flask

from open311.backup.sqlite import back_up
from tests.builders import pothole_form
from tests.conftest import FIXTURE_CATALOG, make_app, new_api_key, with_test_catalog

FILED = 3  # requests filed through the API before each backup
BULK_ROWS = 400  # rows of 64 KiB: a file big enough that the copy takes a while
BLOB = b"x" * 65536


@pytest.fixture
def served(spatialite_template: Path, tmp_path: Path) -> Flask:
    """A file database (copied from the migrated template) holding FILED requests."""
    path = tmp_path / "open311.sqlite"
    shutil.copy(spatialite_template, path)
    app = with_test_catalog(make_app(f"sqlite:///{path}", CATALOG_DIR=str(FIXTURE_CATALOG)))
    api_key = new_api_key(app, "Backup partner")
    client = app.test_client()
    for n in range(FILED):
        response = client.post(
            "/open311/v2/requests.json", data=pothole_form(api_key, description=f"hole {n}")
        )
        assert response.status_code == 200, response.data
    return app


def database_path(app: Flask) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///").split("?")[0])


def backup(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["open311", "backup", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_the_copy_serves_the_requests_it_holds(served: Flask, tmp_path: Path):
    target = tmp_path / "copy.sqlite"
    code, output = backup(served, str(target))
    assert code == 0, output
    assert f"{FILED} requests, integrity ok" in output
    restored = make_app(f"sqlite:///{target}")
    response = restored.test_client().get("/open311/v2/requests.json")
    assert sorted(r["description"] for r in response.json) == [f"hole {n}" for n in range(FILED)]


def test_a_copy_taken_while_another_connection_writes_is_that_moment_s_store(
    served: Flask, tmp_path: Path
):
    live = database_path(served)
    with closing(sqlean.connect(live, isolation_level=None, check_same_thread=False)) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE bulk (id INTEGER PRIMARY KEY, body BLOB)")
        writer.executemany("INSERT INTO bulk (body) VALUES (?)", [(BLOB,)] * BULK_ROWS)
        committed = [BULK_ROWS]  # rows committed so far, as the writer counts them
        stop = threading.Event()

        def write() -> None:
            while not stop.is_set():
                writer.execute("INSERT INTO bulk (body) VALUES (?)", (b"y",))
                committed.append(committed[-1] + 1)

        thread = threading.Thread(target=write)
        thread.start()
        before = committed[-1]
        report = back_up(live, tmp_path / "copy.sqlite")
        after = committed[-1]
        stop.set()
        thread.join()
    assert after > before, "nothing was written while the backup ran"
    assert report.integrity == "ok"
    assert report.requests == FILED
    with closing(sqlean.connect(report.target)) as copy:
        ids = [row[0] for row in copy.execute("SELECT id FROM bulk ORDER BY id")]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Every row committed before the copy began, then an unbroken run: one moment's store.
    assert before <= len(ids) <= after
    assert ids == list(range(1, len(ids) + 1))


def test_an_existing_file_is_kept_without_force(served: Flask, tmp_path: Path):
    target = tmp_path / "copy.sqlite"
    target.write_bytes(b"yesterday's backup")
    code, output = backup(served, str(target))
    assert code == 1
    assert f"Error: {target} already exists; give --force to replace it." in output
    assert target.read_bytes() == b"yesterday's backup"
    code, output = backup(served, str(target), "--force")
    assert code == 0, output
    assert "integrity ok" in output


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/copy.sqlite", "Cannot write in"),
        ("a-file/copy.sqlite", "Cannot write in"),
        (".", "is a folder; name the backup file to write"),
    ],
)
def test_a_path_that_cannot_be_written_is_refused(
    served: Flask, tmp_path: Path, where: str, message: str
):
    (tmp_path / "a-file").write_text("not a folder")
    before = sorted(tmp_path.rglob("*"))
    code, output = backup(served, str(tmp_path / where), "--force")
    assert code == 1
    assert output.startswith("Error: ")
    assert message in output
    assert "Traceback" not in output
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/open311", "pg_basebackup and a WAL archive"),
        ("sqlite://", "lives in memory"),
    ],
)
def test_a_database_that_is_not_a_sqlite_file_is_refused(url: str, message: str, tmp_path: Path):
    code, output = backup(make_app(url), str(tmp_path / "copy.sqlite"))
    assert code == 1
    assert message in output
    assert "Traceback" not in output
    assert not (tmp_path / "copy.sqlite").exists()


def test_a_file_that_is_not_an_open311_database_is_refused(tmp_path: Path):
    with closing(sqlean.connect(tmp_path / "other.sqlite")) as other:
        other.execute("CREATE TABLE t (x)")
    app = make_app(f"sqlite:///{tmp_path / 'other.sqlite'}")
    code, output = backup(app, str(tmp_path / "copy.sqlite"))
    assert code == 1
    assert "not an open311 database" in output
    assert not (tmp_path / "copy.sqlite").exists()
