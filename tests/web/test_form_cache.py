"""The service form's blank fields are rendered once per service version and language:
never shown for another language or an older definition, never holding a resident's answers."""

from __future__ import annotations

from datetime import timedelta

from open311.database import begin_write
from open311.extensions import db
from open311.models import Service
from tests.web.test_pages import token_of
from tests.web.test_service_translations import SPANISH, catalogue_with


def test_each_language_gets_its_own_blank_form(app, client, tmp_path):
    app.config["CATALOG_DIR"] = str(
        catalogue_with(
            tmp_path,
            '[services.PHF.attributes.WHEREIST]\ndescription = "¿Dónde está el bache?"\n',
        )
    )
    for _ in range(2):
        assert "Where is the pothole?" in client.get("/services/PHF").text
        spanish = client.get("/services/PHF", headers=SPANISH).text
        assert "¿Dónde está el bache?" in spanish
        assert "Where is the pothole?" not in spanish
        assert 'for="email">Correo electrónico</label>' in spanish  # the contact fields too
        assert 'for="email">Email</label>' in client.get("/services/PHF").text


def test_a_changed_definition_is_shown_at_once(app, client):
    assert "Where is the pothole?" in client.get("/services/PHF").text
    with app.app_context():
        session = db.session()
        begin_write(session)
        service = session.get(Service, "PHF")
        service.attributes = [
            {**a, "description": "Where exactly is the pothole?"} if a["code"] == "WHEREIST" else a
            for a in service.attributes
        ]
        service.changed_at = service.changed_at + timedelta(seconds=1)
        session.commit()
    page = client.get("/services/PHF").text
    assert "Where exactly is the pothole?" in page


def test_answers_sent_back_are_kept_and_never_reach_the_next_blank_form(client):
    form = {
        "csrf_token": token_of(client),
        "attribute[WHEREIST]": "CURB",
        "email": "neighbour@example.org",
        "attribute[HOWMANY]": "lots",
    }
    refused = client.post("/services/PHF", data=form)
    assert refused.status_code == 400
    assert 'value="neighbour@example.org"' in refused.text
    assert 'value="CURB" checked' in refused.text
    blank = client.get("/services/PHF").text
    assert "neighbour@example.org" not in blank
    assert " checked" not in blank
    assert "usa-error-message" not in blank
