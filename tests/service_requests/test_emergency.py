"""911 guidance: emergencies in progress get the notice, in English and Spanish; look-alikes do not."""

from __future__ import annotations

import tomllib

import pytest
from lxml import etree

from open311.config import PROJECT_DIR
from open311.service_requests.emergency import NOTICE, emergency_notice, service_notice
from tests.builders import pothole_form, stored_request

PHF_NOTICE = "Pothole repairs are generally completed within 7 days."


@pytest.mark.parametrize(
    "description",
    [
        "There is a burglary in progress next door",
        "Someone is breaking into the house across the alley right now",
        "Break-in happening now at the corner store",
        "A man is injured and lying in the street",
        "Person down on the sidewalk, not breathing",
        "Kid hit by a car at the crosswalk",
        "The garage behind 1200 W Madison is on fire",
        "House fire, flames from the roof",
        "Strong gas smell in the hallway",
        "I smell gas near the meter",
        "Shots fired in the alley",
        "Heard gunshots a minute ago",
        "Someone was stabbed outside the bar",
        "Hay un incendio en el garaje",
        "Huele a gas en el edificio",
        "Un hombre herido en la calle, está sangrando",
        "Robo en curso en la tienda",
        "Están robando el carro ahora mismo",
        "Se escucharon disparos en el callejón",
        "Una persona inconsciente en la acera",
    ],
)
def test_emergencies_in_progress_get_the_911_notice(description):
    assert emergency_notice(description) == NOTICE


@pytest.mark.parametrize(
    "description",
    [
        "The fire hydrant is leaking",
        "Fire lane blocked by a delivery truck",
        "Where do I get an injury claim form?",
        "Our garage was burglarized last year and the light is still out",
        "Pothole on the fire station driveway",
        "Car crash last night, no one was injured, debris left in the street",
        "Fire escape stairs are rusting",
        "Gas station sign is broken",
        "El hidrante de incendios está abierto",
        "Choque sin heridos, quedaron vidrios en la calle",
        "Rats in my alley",
        "",
        None,
    ],
)
def test_look_alikes_do_not_get_it(description):
    assert emergency_notice(description) is None


def test_the_notice_is_in_english_and_spanish():
    assert "call 911" in NOTICE
    assert "llame al 911" in NOTICE


def test_the_911_notice_comes_before_the_service_notice():
    assert service_notice("gas leak", PHF_NOTICE) == f"{NOTICE} {PHF_NOTICE}"
    assert service_notice("deep pothole", PHF_NOTICE) == PHF_NOTICE
    assert service_notice("gas leak", None) == NOTICE
    assert service_notice("deep pothole", None) is None


def test_the_combined_notice_fits_the_column_for_every_chicago_service():
    notices = [
        tomllib.loads(path.read_text(encoding="utf-8")).get("service_notice") or ""
        for path in (PROJECT_DIR / "services_catalog" / "chicago").glob("*.toml")
    ]
    assert len(service_notice("gas leak", max(notices, key=len)) or "") <= 500


def test_post_reply_and_stored_request_carry_the_notice(app, client, api_key):
    form = pothole_form(api_key, description="Car on fire next to a huge pothole")
    (reply,) = client.post("/open311/v2/requests.json", data=form).get_json()
    assert reply["service_notice"] == f"{NOTICE} {PHF_NOTICE}"
    stored = stored_request(app, reply["service_request_id"])
    assert stored.service_notice == f"{NOTICE} {PHF_NOTICE}"
    (public,) = client.get(f"/open311/v2/requests/{reply['service_request_id']}.json").get_json()
    assert public["service_notice"] == f"{NOTICE} {PHF_NOTICE}"


def test_xml_post_reply_carries_the_notice(client, api_key):
    form = pothole_form(api_key, description="Hay un hombre herido junto al bache")
    response = client.post("/open311/v2/requests.xml", data=form)
    assert response.status_code == 200
    assert (
        etree.fromstring(response.data).findtext("request/service_notice")
        == f"{NOTICE} {PHF_NOTICE}"
    )


def test_an_ordinary_request_keeps_only_the_service_notice(client, api_key):
    (reply,) = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).get_json()
    assert reply["service_notice"] == PHF_NOTICE
