"""The site installed on a phone: its manifest, its service worker, its offline page, and
the Idempotency-Key that lets a report kept offline be sent again without filing it twice."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from open311.config import PACKAGE_DIR
from open311.extensions import db
from open311.models import RequestPhoto, ServiceRequest
from open311.web import installable
from tests.builders import CITY_HALL
from tests.media.photos import jpeg
from tests.web.test_pages import token_of
from tests.web.test_photos import stored_files


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def report(client, **fields):
    return {
        "csrf_token": token_of(client),
        **CITY_HALL,
        "attribute[WHEREIST]": "CURB",
        "description": "Deep pothole by the curb",
        **fields,
    }


def number_of(response) -> str:
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/requests/([^/]+)/done", response.headers["Location"])[1]


@pytest.fixture
def no_replay_window(app):
    """Without a key, the same report from the same browser is a new report at once: what
    makes a second request number come from the key alone."""
    app.config["REPLAY_WINDOW_SECONDS"] = 0
    return app


def test_the_same_key_twice_files_once_and_answers_with_the_same_number(no_replay_window, client):
    app = no_replay_window
    form = report(client)
    first = client.post("/services/PHF", data=form, headers={"Idempotency-Key": "k-1"})
    again = client.post("/services/PHF", data=form, headers={"Idempotency-Key": "k-1"})
    assert number_of(first) == number_of(again)
    assert count(app, ServiceRequest) == 1
    # The key is what held it: without one, the same form is a second report.
    assert number_of(client.post("/services/PHF", data=form)) != number_of(first)
    assert count(app, ServiceRequest) == 2


def test_the_key_may_come_as_a_form_field(no_replay_window, client):
    form = report(client, idempotency_key="field-key")
    assert number_of(client.post("/services/PHF", data=form)) == number_of(
        client.post("/services/PHF", data=form)
    )
    assert count(no_replay_window, ServiceRequest) == 1


def test_a_report_with_its_photo_sent_twice_stores_one_row_and_one_photo(no_replay_window, client):
    app = no_replay_window
    photo = jpeg((800, 600))
    numbers = []
    for _attempt in range(2):
        form = report(client, media=[(io.BytesIO(photo), "hole.jpg")])
        response = client.post(
            "/services/PHF",
            data=form,
            headers={"Idempotency-Key": "with-photo"},
            content_type="multipart/form-data",
        )
        numbers.append(number_of(response))
    assert numbers[0] == numbers[1]
    assert count(app, ServiceRequest) == 1
    assert count(app, RequestPhoto) == 1
    assert len(stored_files(app)) == 2  # one photo: its display size and its thumbnail


def test_the_same_key_with_other_content_is_a_clear_409_page_storing_nothing(app, client):
    number_of(client.post("/services/PHF", data=report(client), headers={"Idempotency-Key": "k"}))
    other = report(client, description="Another hole, further down", media=[
        (io.BytesIO(jpeg((800, 600))), "other.jpg")
    ])  # fmt: skip
    response = client.post(
        "/services/PHF",
        data=other,
        headers={"Idempotency-Key": "k"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "already sent with different details" in response.text
    assert "<h1>That cannot be done now</h1>" in response.text
    assert count(app, ServiceRequest) == 1
    assert count(app, RequestPhoto) == 0
    assert stored_files(app) == []


def test_a_key_too_long_is_refused_on_the_form(app, client):
    response = client.post(
        "/services/PHF", data=report(client), headers={"Idempotency-Key": "x" * 201}
    )
    assert response.status_code == 400
    assert "Idempotency-Key: at most 200 characters." in response.text
    assert count(app, ServiceRequest) == 0


def test_the_manifest_names_the_site_with_its_icons_and_colours(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["name"] == "CHI 311"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["theme_color"] == "#1a4480"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200, icon
        assert served.mimetype == icon["type"], icon
    page = client.get("/").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    spanish = client.get("/manifest.webmanifest", headers={"Accept-Language": "es"}).json
    assert spanish["lang"] == "es"


def test_the_worker_is_served_for_the_whole_site_and_rechecked_on_every_visit(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    version = re.search(r'var VERSION = "([0-9a-f]{16})";', response.text)
    assert version, "the shell's hash is put in the worker"
    assert 'src="/static/web/offline.js"' in client.get("/").text


def test_the_worker_keeps_every_file_of_the_shell_and_the_offline_page(client):
    worker = client.get("/sw.js").text
    kept = set(re.findall(r'"(/static/[^"]+)"', worker))
    assert kept == {f"/static/{name}" for name in installable.SHELL_FILES}
    for path in kept | {"/offline", "/map/city.geojson", "/manifest.webmanifest"}:
        assert client.get(path).status_code == 200, path
        assert f'"{path}"' in worker


def test_the_workers_version_changes_with_the_shell(tmp_path):
    static = tmp_path / "static"
    for name in installable.SHELL_FILES:
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_bytes((PACKAGE_DIR / "static" / name).read_bytes())
    templates = PACKAGE_DIR / "templates"
    before = installable._worker_source(static, templates)
    (static / "web" / "site.css").write_text("body { color: #000; }")
    installable._worker_source.cache_clear()
    assert installable._worker_source(static, templates) != before


def test_the_offline_page_says_so_and_lists_nothing_itself(client):
    page = client.get("/offline")
    assert page.status_code == 200
    assert "<h1>You are offline</h1>" in page.text
    assert 'id="outbox"' in page.text
    assert "hidden" in page.text


def test_a_report_sent_again_after_its_reply_was_lost_is_the_same_report(no_replay_window, client):
    """The reply to the first POST, with the cookie it set, never reached the phone: the
    second POST comes with the session cookie of the form page, and must match the first."""
    form = report(client)
    before = client.get_cookie("session").value
    first = client.post("/services/PHF", data=form, headers={"Idempotency-Key": "lost"})
    client.set_cookie("session", before)
    again = client.post("/services/PHF", data=form, headers={"Idempotency-Key": "lost"})
    assert number_of(first) == number_of(again)
    assert count(no_replay_window, ServiceRequest) == 1
