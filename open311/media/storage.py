"""Where photo files are kept: a folder on this server, or an S3-compatible bucket.

Both sit behind `Storage`, so the filing, the serving and the sweep never ask
which one is configured (MEDIA_STORAGE). Names are content hashes: a name
always holds the same bytes, so a second `put` of a name changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

APP_KEY = "open311.media.storage"  # app.extensions: the storage, made once per app


@dataclass(frozen=True)
class StoredFile:
    name: str
    modified_at: datetime  # aware, UTC


class Storage(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> bool:
        """Store `data` as `name`; True if it was not there before."""

    def get(self, name: str) -> bytes | None:
        """The file's bytes, or None if there is no such file."""

    def delete(self, name: str) -> None:
        """Remove the file; nothing happens if it is not there."""

    def exists(self, name: str) -> bool: ...

    def list(self) -> Iterator[StoredFile]:
        """Every stored file, for the sweep."""


class LocalStorage:
    """Files in one folder (MEDIA_ROOT), written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a media file name: {name!r}")
        return self.root / name

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        path = self._path(name)
        if path.exists():
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def get(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def list(self) -> Iterator[StoredFile]:
        if not self.root.is_dir():
            return
        for entry in os.scandir(self.root):
            if entry.is_file():  # partial files too: a crashed write leaves one
                modified = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                yield StoredFile(entry.name, modified)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph, …), under a prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        if self.exists(name):
            return False
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType=content_type
        )
        return True

    def get(self, name: str) -> bytes | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(found["Body"].read())

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name)

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self) -> Iterator[StoredFile]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                yield StoredFile(name, item["LastModified"].astimezone(UTC))


def from_config(config: Mapping[str, Any], instance_path: str) -> Storage:
    """The storage MEDIA_STORAGE names: "local" (MEDIA_ROOT) or "s3" (MEDIA_S3_*)."""
    kind = config["MEDIA_STORAGE"]
    if kind == "local":
        return LocalStorage(Path(instance_path) / config["MEDIA_ROOT"])
    if kind == "s3":
        try:
            import boto3
        except ImportError as error:  # the optional extra: pip install 'open311[s3]'
            raise RuntimeError("MEDIA_STORAGE=s3 needs boto3: pip install 'open311[s3]'") from error
        client = boto3.client(
            "s3",
            endpoint_url=config["MEDIA_S3_ENDPOINT_URL"] or None,
            region_name=config["MEDIA_S3_REGION"] or None,
        )
        return S3Storage(client, config["MEDIA_S3_BUCKET"], config["MEDIA_S3_PREFIX"])
    raise RuntimeError(f"MEDIA_STORAGE must be 'local' or 's3', not {kind!r}")


def for_app(app: Flask) -> Storage:
    """The app's configured storage, made once (an S3 client is slow to build)."""
    found: Storage | None = app.extensions.get(APP_KEY)
    if found is None:
        found = from_config(app.config, app.instance_path)
        app.extensions[APP_KEY] = found
    return found
