"""bench.load's memory rule: when a soak's processes count as flat."""

from __future__ import annotations

import os
import time

from bench.load import Memory, flatness

WORKERS = "gunicorn workers"
BACKENDS = "PostgreSQL backends"


def soak(*samples: dict[str, dict[int, float]]) -> list[tuple[float, dict[str, dict[int, float]]]]:
    return [(10.0 * i, kinds) for i, kinds in enumerate(samples)]


def judged(
    samples: list[tuple[float, dict[str, dict[int, float]]]], warmup: float = 0
) -> dict[str, Memory]:
    return {m.kind: m for m in flatness(samples, warmup)}


def test_processes_within_ten_percent_are_flat() -> None:
    memory = judged(soak(*({WORKERS: {1: 100.0, 2: 90.0 + i}} for i in range(9))))
    assert memory[WORKERS].flat
    assert memory[WORKERS].processes == 2


def test_one_growing_process_is_not_flat_though_the_kind_is() -> None:
    grows = [{WORKERS: {1: 100.0, 2: 100.0, 3: 100.0, 4: 80.0 + 5 * i}} for i in range(9)]
    memory = judged(soak(*grows))[WORKERS]
    assert abs(memory.kind_ratio - 1) <= 0.10  # the kind's memory per process moved ~7%
    assert not memory.flat  # the fourth grew by a third


def test_backends_that_come_and_go_are_judged_per_process_of_the_kind() -> None:
    # The pool replaces connections: no pid lasts, and how many are open varies.
    churn = [{BACKENDS: {100 + i: 10.0, 200 + i: 10.5, **({300: 9.8} if i % 2 else {})}}
             for i in range(9)]  # fmt: skip
    memory = judged(soak(*churn))[BACKENDS]
    assert memory.processes == 0
    assert memory.judged
    assert memory.flat


def test_a_growing_kind_of_backends_is_not_flat() -> None:
    memory = judged(soak(*({BACKENDS: {100 + i: 10.0 + i}} for i in range(9))))[BACKENDS]
    assert not memory.flat


def test_the_warmup_is_not_judged() -> None:
    warming = [{WORKERS: {1: 50.0 if i < 3 else 100.0}} for i in range(12)]
    assert not judged(soak(*warming))[WORKERS].flat
    assert judged(soak(*warming), warmup=30)[WORKERS].flat


def test_a_kind_never_seen_is_not_judged() -> None:
    memory = judged(soak(*({WORKERS: {1: 100.0}, "replica": {}} for _ in range(6))))
    assert not memory["replica"].judged


def test_the_machine_meter_reads_what_the_cpus_did_meanwhile() -> None:
    from bench.cpu import MachineMeter

    with MachineMeter() as idle:
        time.sleep(0.3)
    with MachineMeter() as spinning:
        deadline = time.process_time() + 0.5
        while time.process_time() < deadline:
            pass
    assert 0 <= idle.busy <= 1
    assert 0 <= spinning.stolen <= 1
    # One core spun for the whole block: at least its share of every CPU's time.
    assert spinning.busy >= 0.8 / (os.cpu_count() or 1)
    assert str(spinning).startswith("CPUs ")
    assert "busy" in str(spinning)
