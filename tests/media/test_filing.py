"""POST /requests with photos in media: filed, served, listed; bad uploads store nothing."""

from __future__ import annotations

import io
import re

import pytest
from lxml import etree
from PIL import Image

from tests.builders import pothole_form, stored_request, stored_requests
from tests.media import photos
from tests.media.conftest import photo_rows, stored_files

URL = re.compile(r"^http://localhost/open311/v2/media/(?P<digest>[0-9a-f]{64})\.(?P<ext>jpg|png)$")


def post(client, api_key, *files, fmt="json", field="media", **overrides):
    data = pothole_form(api_key, **overrides)
    data[field] = [(io.BytesIO(content), f"photo{n}.jpg") for n, content in enumerate(files)]
    return client.post(f"/open311/v2/requests.{fmt}", data=data, content_type="multipart/form-data")


def test_photos_are_filed_served_and_listed_in_json_and_xml(app, client, api_key, storage):
    sent = [
        photos.jpeg((3000, 2000), gps=photos.CITY_HALL_GPS),
        photos.png(alpha=True),
        photos.webp(),
    ]
    response = post(client, api_key, *sent)
    assert response.status_code == 200, response.data
    number = response.json[0]["service_request_id"]
    [public] = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json
    first = URL.match(public["media_url"])
    assert first
    assert public["photos"][0]["url"] == public["media_url"]
    assert [(p["width"], p["height"]) for p in public["photos"]] == [
        (2048, 1365),
        (400, 300),
        (400, 300),
    ]
    assert [URL.match(p["url"])["ext"] for p in public["photos"]] == ["jpg", "png", "jpg"]
    assert len(stored_files(storage)) == 6  # three photos, three thumbnails
    for listed in public["photos"]:
        for url, edge in ((listed["url"], 2048), (listed["thumbnail_url"], 320)):
            served = client.get(url.removeprefix("http://localhost"))
            assert served.status_code == 200
            assert served.headers["X-Content-Type-Options"] == "nosniff"
            assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
            assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            image = Image.open(io.BytesIO(served.data))
            assert served.content_type == {"JPEG": "image/jpeg", "PNG": "image/png"}[image.format]
            assert max(image.size) <= edge
            assert not image.getexif()
            assert b"SecretPhoneMaker" not in served.data
    xml = etree.fromstring(client.get(f"/open311/v2/requests/{number}.xml?extensions=true").data)
    assert xml.findtext("request/media_url") == public["media_url"]
    assert [e.text for e in xml.findall("request/photos/photo/thumbnail_url")] == [
        p["thumbnail_url"] for p in public["photos"]
    ]
    # Without extensions, media_url alone; the list of requests has it too.
    [plain] = client.get(f"/open311/v2/requests/{number}.json").json
    assert plain["media_url"] == public["media_url"]
    assert "photos" not in plain
    assert stored_request(app, number).media_url == public["media_url"]


def test_media_brackets_and_the_public_base_url_when_one_is_set(app, client, api_key, storage):
    app.config["PUBLIC_BASE_URL"] = "https://chi311.example.org/"
    response = post(client, api_key, photos.jpeg(), field="media[]")
    [public] = client.get(
        f"/open311/v2/requests/{response.json[0]['service_request_id']}.json"
    ).json
    assert public["media_url"].startswith("https://chi311.example.org/open311/v2/media/")


def test_a_request_without_photos_is_unchanged(client, api_key, storage):
    response = client.post(
        "/open311/v2/requests.json",
        data=pothole_form(api_key, media_url="https://fms.example/p/1.jpeg"),
    )
    [public] = client.get(
        f"/open311/v2/requests/{response.json[0]['service_request_id']}.json?extensions=true"
    ).json
    assert public["media_url"] == "https://fms.example/p/1.jpeg"
    assert public["photos"] == []
    assert stored_files(storage) == []


def test_an_empty_file_input_of_a_form_is_no_photo(client, api_key, storage):
    data = pothole_form(api_key)
    data["media"] = (io.BytesIO(b""), "")
    response = client.post(
        "/open311/v2/requests.json", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert stored_files(storage) == []


BAD_UPLOADS = {
    "not an image": ([b"just some text"], "not a photo"),
    "truncated": ([photos.jpeg((800, 600))[:-3000]], "cut short"),
    "decompression bomb": ([photos.png_bomb()], "pixels"),
    "svg": ([photos.SVG], "SVG"),
    "png with a zip appended": ([photos.png() + photos.zip_archive()], "ZIP"),
    "html in a jpeg comment": ([photos.jpeg(comment=b"<html><script>x()</script>")], "HTML"),
    "0 bytes": ([b""], "empty"),
    "a fourth file": ([photos.jpeg()] * 4, "at most 3 photos"),
    "11 MB": ([b"\xff\xd8" + b"\x00" * (11 * 1024 * 1024)], "larger than 10 MB"),
    "good then bad": ([photos.jpeg(), b"<svg/>"], "file 2"),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("name", sorted(BAD_UPLOADS))
def test_a_bad_upload_is_400_naming_media_and_stores_nothing(
    app, client, api_key, storage, name, fmt
):
    files, reason = BAD_UPLOADS[name]
    response = post(client, api_key, *files, fmt=fmt)
    assert response.status_code == 400
    text = response.data.decode()
    assert "media" in text
    assert reason in text
    assert stored_requests(app) == 0
    assert photo_rows(app) == 0
    assert stored_files(storage) == []


def test_files_in_another_field_are_refused_not_dropped(app, client, api_key, storage):
    response = post(client, api_key, photos.jpeg(), field="photo")
    assert response.status_code == 400
    assert "photo: files are accepted only in media" in response.json[0]["description"]
    assert stored_requests(app) == 0


def test_photos_and_a_media_url_together_are_refused(app, client, api_key, storage):
    response = post(client, api_key, photos.jpeg(), media_url="https://fms.example/p/1.jpeg")
    assert response.status_code == 400
    assert response.json[0]["description"].startswith("media:")
    assert stored_files(storage) == []


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"lat": "0", "long": "0"}, 400),
        ({"lat": "40.7", "long": "-74.0"}, 400),
        ({"service_code": "NOPE"}, 404),
    ],
)
def test_a_filing_that_fails_after_the_upload_leaves_no_file(
    app, client, api_key, storage, overrides, status
):
    response = post(client, api_key, photos.jpeg(), **overrides)
    assert response.status_code == status
    assert stored_requests(app) == 0
    assert photo_rows(app) == 0
    assert stored_files(storage) == []


def test_files_written_before_a_failed_commit_are_removed(
    app, client, api_key, storage, monkeypatch
):
    from open311.georeport import payloads

    def fail(*_args):
        raise RuntimeError("the reply could not be built")

    monkeypatch.setattr(payloads, "post_reply", fail)  # after the files, before the commit
    response = post(client, api_key, photos.jpeg(), photos.png())
    assert response.status_code == 500
    assert stored_requests(app) == 0
    assert photo_rows(app) == 0
    assert stored_files(storage) == []


def test_a_replayed_post_stores_its_photos_once(app, client, api_key, storage):
    first = post(client, api_key, photos.jpeg())
    again = post(client, api_key, photos.jpeg())
    assert again.json == first.json
    assert photo_rows(app) == 1
    assert len(stored_files(storage)) == 2
    other = post(client, api_key, photos.png())  # other photos: another report
    assert other.json[0]["service_request_id"] != first.json[0]["service_request_id"]


def test_two_requests_with_the_same_photo_share_its_files(app, client, api_key, storage):
    post(client, api_key, photos.jpeg(), description="first")
    post(client, api_key, photos.jpeg(), description="second")
    assert photo_rows(app) == 2
    assert len(stored_files(storage)) == 2


def test_unknown_and_malformed_media_names_are_404(client, storage):
    for name in ("0" * 64 + ".jpg", "x.jpg", "0" * 64 + ".svg", ".." + "0" * 64 + ".jpg"):
        response = client.get(f"/open311/v2/media/{name}")
        assert response.status_code == 404
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/open311/v2/media/../../etc/passwd").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_photo_positions_are_read_before_filing_and_nothing_is_stored(app, client, storage, fmt):
    data = {
        "media": [
            (io.BytesIO(photos.jpeg(gps=photos.CITY_HALL_GPS)), "a.jpg"),
            (io.BytesIO(photos.png()), "b.png"),
        ]
    }
    response = client.post(
        f"/open311/v2/media/positions.{fmt}", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    if fmt == "json":
        assert response.json == [
            {"lat": photos.CITY_HALL[0], "long": photos.CITY_HALL[1]},
            {"lat": None, "long": None},
        ]
    else:
        root = etree.fromstring(response.data)
        assert [float(x) for x in root.xpath("photo_position[1]/*/text()")] == list(
            photos.CITY_HALL
        )
    assert stored_files(storage) == []
    assert photo_rows(app) == 0


def test_photo_positions_refuse_what_filing_refuses(client, storage):
    for files, reason in ((["not sent"], None), ([photos.SVG], "SVG"), ([b""], "empty")):
        data = {} if reason is None else {"media": [(io.BytesIO(f), "x") for f in files]}
        response = client.post(
            "/open311/v2/media/positions.json", data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 400
        assert response.json[0]["description"].startswith("media")


def test_the_stored_photo_of_a_gps_photo_has_no_position(client, api_key, storage):
    from open311.media.pipeline import Limits, read_position

    response = post(client, api_key, photos.jpeg(gps=photos.CITY_HALL_GPS))
    [public] = client.get(
        f"/open311/v2/requests/{response.json[0]['service_request_id']}.json"
    ).json
    served = client.get(public["media_url"].removeprefix("http://localhost")).data
    assert read_position(served, Limits()) is None
