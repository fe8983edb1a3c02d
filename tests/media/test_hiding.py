"""Staff hide a photo with a reason: its URLs answer 404, the audit keeps who and why."""

from __future__ import annotations

import sqlalchemy as sa
from lxml import etree

from open311.extensions import db
from open311.models import Notification, RequestEvent, RequestPhoto
from tests.builders import bearer, make_staff
from tests.media import photos
from tests.media.conftest import stored_files
from tests.media.test_filing import post

CDOT = "CDOT - Department of Transportation"
BASE = "http://localhost"  # the test client's host: PUBLIC_BASE_URL is empty


def filed_with_two_photos(client, api_key):
    response = post(client, api_key, photos.jpeg(), photos.png())
    number = response.json[0]["service_request_id"]
    [public] = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json
    return number, public


def notifications(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Notification))


def hide(client, token, number, position, reason="A face in the picture"):
    return client.post(
        f"/open311/staff/requests/{number}/photos/{position}/hide",
        json={"reason": reason},
        headers=bearer(token),
    )


def test_a_hidden_photo_answers_404_and_leaves_the_lists(app, client, api_key, storage):
    number, before = filed_with_two_photos(client, api_key)
    first, second = before["photos"]
    agent = make_staff(app, "agent", CDOT)
    notified = notifications(app)
    assert notified >= 1  # "request filed", to the filer
    response = hide(client, agent, number, 1)
    assert response.status_code == 200, response.data
    assert notifications(app) == notified  # the filer, who follows the request, is told nothing
    assert response.json["history"][-1]["action"] == "hide_photo"
    assert response.json["history"][-1]["internal_note"] == "A face in the picture"
    for url in (first["url"], first["thumbnail_url"]):
        assert client.get(url.removeprefix(BASE)).status_code == 404
    for url in (second["url"], second["thumbnail_url"]):
        assert client.get(url.removeprefix(BASE)).status_code == 200
    [after] = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json
    assert after["photos"] == [second]
    assert after["media_url"] == second["url"]
    assert after["updated_datetime"] >= before["updated_datetime"]
    assert [note["type"] for note in after["notes"]] == ["opened"]  # staff-only history row
    xml = etree.fromstring(client.get(f"/open311/v2/requests/{number}.xml?extensions=true").data)
    assert xml.findtext("request/media_url") == second["url"]
    assert [e.text for e in xml.findall("request/photos/photo/url")] == [second["url"]]
    for fmt in ("json", "xml"):
        body = client.get(f"/open311/v2/requests.{fmt}?extensions=true").data.decode()
        assert first["url"] not in body
        assert "A face in the picture" not in body  # the reason is staff-only
    # The second one too: no photo, no media_url.
    assert hide(client, agent, number, 2, "A licence plate").status_code == 200
    [last] = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json
    assert (last["photos"], last["media_url"]) == ([], None)
    assert len(stored_files(storage)) == 4  # the files stay: the rows still name them
    with app.app_context():
        rows = db.session.scalars(sa.select(RequestPhoto).order_by(RequestPhoto.position)).all()
        assert [(r.hidden_reason, r.hidden_by_staff_id is not None) for r in rows] == [
            ("A face in the picture", True),
            ("A licence plate", True),
        ]
        events = db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.action == "hide_photo")
        ).all()
        assert [(e.staff_id, e.details["photo"]) for e in events] == [
            (rows[0].hidden_by_staff_id, 1),
            (rows[0].hidden_by_staff_id, 2),
        ]


def test_a_photo_hidden_on_one_request_is_hidden_on_another_with_the_same_file(
    app, client, api_key, storage
):
    number, before = filed_with_two_photos(client, api_key)
    again = post(client, api_key, photos.jpeg(), description="the same photo again")
    assert again.status_code == 200
    hide(client, make_staff(app, "agent", CDOT), number, 1)
    assert client.get(before["photos"][0]["url"].removeprefix(BASE)).status_code == 404


def test_who_may_hide_and_what_is_refused(app, client, api_key, storage):
    number, before = filed_with_two_photos(client, api_key)
    other_department = make_staff(app, "agent", "Streets and Sanitation")
    call_taker = make_staff(app, "call_taker", CDOT)
    agent = make_staff(app, "agent", CDOT)
    assert hide(client, other_department, number, 1).status_code == 403
    assert hide(client, call_taker, number, 1).status_code == 403
    assert hide(client, agent, number, 1, reason="").status_code == 400
    assert hide(client, agent, number, 1, reason="   ").status_code == 400
    assert hide(client, agent, number, 3).status_code == 404
    assert hide(client, agent, "SR00-00000000", 1).status_code == 404
    assert (
        client.post(
            f"/open311/staff/requests/{number}/photos/1/hide", json={"reason": "x"}
        ).status_code
        == 401
    )
    assert client.get(before["photos"][0]["url"].removeprefix(BASE)).status_code == 200
    assert hide(client, agent, number, 1).status_code == 200
    assert hide(client, agent, number, 1).status_code == 409


def test_a_supervisor_may_hide(app, client, api_key, storage):
    number, _ = filed_with_two_photos(client, api_key)
    assert hide(client, make_staff(app, "supervisor", CDOT), number, 2).status_code == 200
