"""Photo tests run on both storages: the local media root, and S3 through moto's
server (a real HTTP S3 endpoint, talked to by boto3 as it talks to AWS)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from flask import Flask

from open311.extensions import db
from open311.media import storage as media_storage
from open311.media.storage import Storage

S3_SETTINGS = {"MEDIA_S3_REGION": "us-east-1", "MEDIA_S3_PREFIX": "photos/"}


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, app: Flask, monkeypatch: pytest.MonkeyPatch) -> Storage:
    """The app's photo storage, configured before its first request."""
    if request.param == "s3":
        url = request.getfixturevalue("moto_url")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        bucket = f"photos-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=bucket)
        app.config.update(
            MEDIA_STORAGE="s3", MEDIA_S3_BUCKET=bucket, MEDIA_S3_ENDPOINT_URL=url, **S3_SETTINGS
        )
    with app.app_context():
        return media_storage.from_config(app.config, app.instance_path)


def stored_files(storage: Storage) -> list[str]:
    return sorted(f.name for f in storage.list())


def photo_rows(app: Flask) -> int:
    import sqlalchemy as sa

    from open311.models import RequestPhoto

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(RequestPhoto)) or 0
