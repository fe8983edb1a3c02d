"""wsgi:app with its feeds slowed down, for tests/deploy/test_gunicorn.py: rows are read
BATCH at a time with a PAUSE before each batch, so a feed of a few thousand rows
streams for several seconds, as one of ten million rows streams for many minutes.

gunicorn serves it as `tests.deploy.throttled:create()`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from flask import Flask

from open311 import create_app
from open311.opendata import feeds

BATCH, PAUSE = 50, 0.2


def create() -> Flask:
    read_in_batches = feeds._batches

    def slow_batches(session: Any, stmt: Any, batch_size: int) -> Iterator[Sequence[Any]]:
        for batch in read_in_batches(session, stmt, BATCH):
            time.sleep(PAUSE)
            yield batch

    feeds._batches = slow_batches
    return create_app()
