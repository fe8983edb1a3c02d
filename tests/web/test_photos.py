"""Photos on the site's form: the API's upload path, shown on the Done and Track pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

from open311.extensions import db
from open311.models import RequestPhoto, ServiceRequest
from tests.builders import CITY_HALL
from tests.media.photos import CITY_HALL_GPS, jpeg
from tests.observability.conftest import sample
from tests.web.test_pages import token_of


def pothole_with(client, *files: tuple[bytes, str]):
    form = {
        "csrf_token": token_of(client),
        **CITY_HALL,
        "attribute[WHEREIST]": "CURB",
        "media": [(io.BytesIO(data), name) for data, name in files],
    }
    return client.post("/services/PHF", data=form, content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["MEDIA_ROOT"]).rglob("*") if p.is_file())


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_a_photo_from_the_form_is_stored_clean_and_shown_on_done_and_track(app, client):
    response = pothole_with(client, (jpeg((1200, 900), gps=CITY_HALL_GPS), "hole.jpg"))
    assert response.status_code == 303, response.text
    number = response.headers["Location"].split("/")[2]
    with app.app_context():
        stored = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        photo = db.session.scalar(
            sa.select(RequestPhoto).where(RequestPhoto.service_request_id == stored.id)
        )
        names = (photo.name, photo.thumbnail_name)
    for page in (client.get(f"/requests/{number}/done"), client.get(f"/requests/{number}")):
        assert page.status_code == 200
        link = re.search(r'<a href="([^"]+)"><img src="([^"]+)"', page.text)
        assert link is not None, page.text
        assert link.groups() == tuple(f"/open311/v2/media/{name}" for name in names)
    served = client.get(f"/open311/v2/media/{names[0]}")
    assert served.status_code == 200
    assert served.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    assert image.size == (1200, 900)
    assert not image.getexif()  # no GPS, no maker: the same pipeline as the API's
    assert {p.name for p in stored_files(app)} == set(names)


def test_a_bad_photo_comes_back_beside_the_field_and_nothing_is_stored(app, client):
    good = jpeg()
    response = pothole_with(client, (good, "hole.jpg"), (b"GIF89a not really", "two.jpg"))
    assert response.status_code == 400
    beside = re.search(
        r'<span class="usa-error-message" id="media-error">([^<]+)</span>', response.text
    )
    assert beside is not None, response.text
    assert beside[1].startswith("Photo 2: ")
    assert 'aria-describedby="media-hint media-error"' in response.text
    assert '<a href="#media">Photo 2: ' in response.text  # the error summary links to it
    assert (count(app, ServiceRequest), count(app, RequestPhoto)) == (0, 0)
    assert stored_files(app) == []


def test_too_many_photos_are_refused_with_the_api_words(app, client):
    response = pothole_with(client, *[(jpeg(), f"{n}.jpg") for n in range(4)])
    assert response.status_code == 400
    assert "At most 3 photos, not 4." in response.text
    assert (count(app, ServiceRequest), stored_files(app)) == (0, [])


def test_an_empty_file_input_files_without_photos(app, client):
    form = {"csrf_token": token_of(client), **CITY_HALL, "attribute[WHEREIST]": "CURB"}
    form["media"] = (io.BytesIO(b""), "")
    response = client.post("/services/PHF", data=form, content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    assert count(app, RequestPhoto) == 0


def test_the_form_offers_the_photo_script_and_where_to_ask_positions(client):
    page = client.get("/services/PHF")
    assert 'data-positions="/open311/v2/media/positions.json"' in page.text
    assert "/static/web/photos.js" in page.text


def test_a_filing_through_the_site_is_counted_as_web(client):
    def filed() -> float:
        return sample(
            client.get("/metrics").text, "open311_service_requests_filed_total", via="web"
        )

    before = filed()
    assert pothole_with(client).status_code == 303
    assert filed() - before == 1
