"""The backup drill on a small store: a throwaway PostgreSQL 15 cluster with a WAL
archive, a base backup, and a restore to a moment between two sets of writes.

It needs the PostgreSQL 15 server programs (initdb, pg_ctl, pg_basebackup): without
them it fails, as a city without them could not restore either."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from open311 import backup_drill
from open311.backup.cluster import ClusterError
from open311.backup_drill import Drill, Plan, run_drill

pytestmark = pytest.mark.slow

PLAN = Plan(requests=300, replayed=200, before=5, after=5)


@pytest.fixture(scope="module")
def drill() -> Drill:
    # In the system's temporary folder: pytest's own is closed to the postgres user.
    done = run_drill(PLAN, say=lambda _: None)
    assert not done.root.exists(), "the clusters' folder was left behind"
    return done


def test_the_restore_holds_exactly_the_store_of_the_target_moment(drill: Drill):
    assert drill.failures == []
    assert drill.verified
    assert drill.restored == drill.at_target
    assert drill.at_target is not None
    assert drill.at_target.requests == PLAN.requests + PLAN.replayed + PLAN.before


def test_what_came_after_the_target_was_there_to_undo(drill: Drill):
    assert drill.at_target is not None
    assert drill.at_end is not None
    assert drill.deleted == drill.at_target.closed > 0
    assert drill.at_end.requests == drill.at_target.requests + PLAN.after - drill.deleted
    assert drill.at_end.digest != drill.at_target.digest
    assert len(set(drill.before) | set(drill.after)) == PLAN.before + PLAN.after


def test_recovery_stopped_at_the_target(drill: Drill):
    target = datetime.fromisoformat(drill.target_time)
    replayed = datetime.fromisoformat(drill.replayed_until)
    assert replayed <= target
    assert "recovery stopping before commit" in drill.stopped_at
    stopped = datetime.fromisoformat(drill.stopped_at.rsplit("time ", 1)[1])
    assert stopped > target
    assert drill.timeline == 2  # promoted: a new timeline from the target on


def test_the_report_prints_the_recovery_point_times_and_sizes(drill: Drill):
    text = "\n".join(backup_drill.report(drill))
    assert f"recovery target time    {drill.target_time}" in text
    assert f"last transaction replayed {drill.replayed_until} (LSN {drill.replayed_lsn}" in text
    for phase in ("load", "base backup", "load after the backup", "restore and replay"):
        assert drill.seconds[phase] > 0
        assert f"\n{phase:<24}{drill.seconds[phase]:.1f} s" in text
    assert drill.sizes["base backup"] > 0
    assert drill.sizes["WAL archive"] > drill.sizes["WAL replayed"] > 0
    assert text.endswith("VERIFIED: the restored store is the store at the target")


def test_a_failed_check_is_reported_and_exits_non_zero(drill: Drill):
    failed = Drill(PLAN, Path("."), failures=["the restored store is not it"])
    failed.at_target = failed.at_end = failed.restored = drill.at_target
    text = "\n".join(backup_drill.report(failed))
    assert "FAILED: the restored store is not it" in text
    assert "VERIFIED" not in text
    assert not failed.verified


def test_a_folder_the_server_cannot_reach_is_refused(tmp_path: Path):
    if os.geteuid() != 0:
        tmp_path.chmod(0o500)  # (as root: pytest's folder is closed to the postgres user)
    with pytest.raises(ClusterError, match=r"(?i)cannot write in"):
        run_drill(PLAN, workdir=tmp_path, say=lambda _: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments", [["--requests", "0"], ["--before", "0"], ["--after", "0"], ["--replayed", "-1"]]
)
def test_a_drill_of_nothing_is_refused(arguments: list[str], capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit:
        backup_drill.main(arguments)
    assert exit.value.code == 2
    assert "must be at least 1, --replayed 0" in capsys.readouterr().err
