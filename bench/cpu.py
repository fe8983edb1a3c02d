"""CPU time of processes, read from /proc (Linux).

Latency and throughput move with whatever else the machine is doing; the CPU
seconds a request costs the server do not, so the benchmark reports both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

import psycopg


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds of each live process in `pids`, all its threads included.

    /proc/PID/task/TID/schedstat counts nanoseconds; /proc/PID/stat's clock
    ticks (10 ms) are too coarse for a backend that spends 0.1 ms per INSERT.
    A thread that ended during the measurement is not counted.
    """
    used = {}
    for pid in pids:
        try:
            threads = [
                int(stat.read_text().split()[0])
                for stat in Path(f"/proc/{pid}/task").glob("*/schedstat")
            ]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if threads:  # none while the process is exiting
            used[pid] = sum(threads) / 1e9
    return used


def children(parent: int) -> list[int]:
    """Processes whose parent is `parent` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == parent:
            found.append(int(stat.parent.name))
    return found


def backends(dsn: str) -> list[int]:
    """PostgreSQL server processes of the other client connections to this database."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """`with CpuMeter(find) as meter:` → meter.seconds used by the processes find() names."""

    def __init__(self, find: Callable[[], list[int]]) -> None:
        self.find = find
        self.seconds = 0.0

    def __enter__(self) -> CpuMeter:
        self.before = cpu_seconds(self.find())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        after = cpu_seconds({*self.find(), *self.before})
        # A process that is less busy than before is a new one with a recycled pid.
        changes = (used - self.before.get(pid, 0.0) for pid, used in after.items())
        self.seconds = sum(change for change in changes if change >= 0)


class MachineMeter:
    """`with MachineMeter() as machine:` → how busy all the machine's CPUs were meanwhile.

    From /proc/stat's first line: `busy` is the share of CPU time spent in user, nice,
    system, irq and softirq, `stolen` the share the hypervisor gave to other guests.
    Over a step of load this says what the load average cannot here: on these virtual
    machines the 1-minute load average swung by two orders of magnitude within minutes
    of steady load.
    """

    busy = 0.0
    stolen = 0.0

    def __enter__(self) -> MachineMeter:
        self.before = machine_ticks()
        return self

    def __exit__(self, *_exception: object) -> None:
        after = machine_ticks()
        user, nice, system, idle, iowait, irq, softirq, steal = (
            a - b for a, b in zip(after, self.before, strict=True)
        )
        total = user + nice + system + idle + iowait + irq + softirq + steal
        if total > 0:
            self.busy = (user + nice + system + irq + softirq) / total
            self.stolen = steal / total

    def __str__(self) -> str:
        return f"CPUs {self.busy:.0%} busy, {self.stolen:.0%} stolen"


def machine_ticks() -> tuple[int, ...]:
    """user, nice, system, idle, iowait, irq, softirq, steal: all CPUs' ticks since boot."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    return tuple(int(value) for value in first[1:9])
