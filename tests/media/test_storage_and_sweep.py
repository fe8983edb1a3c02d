"""The two storages behave alike; the sweep removes only old files no row names."""

from __future__ import annotations

from datetime import timedelta

from open311.extensions import db
from open311.media import actions
from open311.media.storage import LocalStorage
from open311.models.base import utcnow
from tests.media import photos
from tests.media.conftest import stored_files
from tests.media.test_filing import post


def test_put_get_exists_list_delete(storage):
    assert storage.put("a.jpg", b"one", "image/jpeg") is True
    assert storage.put("a.jpg", b"one", "image/jpeg") is False  # a name holds one content
    assert storage.get("a.jpg") == b"one"
    assert storage.exists("a.jpg")
    assert storage.get("b.jpg") is None
    assert not storage.exists("b.jpg")
    [listed] = storage.list()
    assert listed.name == "a.jpg"
    assert abs((utcnow() - listed.modified_at).total_seconds()) < 120
    storage.delete("a.jpg")
    storage.delete("a.jpg")  # twice: nothing happens
    assert list(storage.list()) == []


def test_local_names_cannot_leave_the_media_root(tmp_path):
    local = LocalStorage(tmp_path / "media")
    for name in ("../x.jpg", "a/b.jpg", ".hidden"):
        try:
            local.put(name, b"x", "image/jpeg")
        except ValueError:
            continue
        raise AssertionError(f"{name} was accepted")
    assert not (tmp_path / "x.jpg").exists()


def test_the_sweep_removes_old_orphans_only(app, client, api_key, storage):
    post(client, api_key, photos.jpeg())
    kept = stored_files(storage)
    storage.put("f" * 64 + ".jpg", b"left by a killed worker", "image/jpeg")
    storage.put("f" * 64 + ".thumb.jpg", b"left by a killed worker", "image/jpeg")
    with app.app_context():
        young = actions.sweep(db.session(), storage, utcnow(), timedelta(hours=1))
        assert young == []  # a filing in flight may have written them
        removed = actions.sweep(
            db.session(), storage, utcnow() + timedelta(hours=2), timedelta(hours=1)
        )
    assert sorted(removed) == ["f" * 64 + ".jpg", "f" * 64 + ".thumb.jpg"]
    assert stored_files(storage) == kept


def test_the_sweep_command(app, client, api_key, storage):
    post(client, api_key, photos.jpeg())
    kept = stored_files(storage)
    storage.put("e" * 64 + ".jpg", b"orphan", "image/jpeg")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["open311", "sweep-media"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 files removed"  # younger than the grace
    result = runner.invoke(args=["open311", "sweep-media", "--grace", "0"])
    assert result.output.strip() == "1 files removed"
    assert stored_files(storage) == kept


def test_the_sweep_keeps_hidden_photos_files(app, client, api_key, storage):
    from tests.builders import bearer, make_staff

    number = post(client, api_key, photos.jpeg()).json[0]["service_request_id"]
    token = make_staff(app, "agent", "CDOT - Department of Transportation")
    client.post(
        f"/open311/staff/requests/{number}/photos/1/hide",
        json={"reason": "face"},
        headers=bearer(token),
    )
    with app.app_context():
        assert (
            actions.sweep(db.session(), storage, utcnow() + timedelta(days=1), timedelta(0)) == []
        )
    assert len(stored_files(storage)) == 2
