"""Spanish names, descriptions and questions of the most requested services, falling back to English."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from open311.catalog.loader import CatalogError, read_catalog
from open311.catalog.translations import check_translations, read_translations
from open311.config import PROJECT_DIR
from tests.builders import CITY_HALL
from tests.conftest import FIXTURE_CATALOG
from tests.web.test_pages import file_pothole

CHICAGO = PROJECT_DIR / "services_catalog" / "chicago"
SCHEMAS = PROJECT_DIR / "schemas"
DEMO = PROJECT_DIR / "open311" / "demo" / "data" / "chicago_requests_2021.csv.gz"
SPANISH = {"Accept-Language": "es"}


def test_the_20_most_requested_services_of_the_demo_data_have_spanish_texts():
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as demo:
        counts = Counter(row["sr_short_code"] for row in csv.DictReader(demo))
    services = read_catalog(CHICAGO, SCHEMAS)
    codes = {service["service_code"] for service in services}
    most_requested = [code for code, _n in counts.most_common() if code in codes][:20]
    spanish = read_translations(CHICAGO, SCHEMAS, "es")
    missing = [c for c in most_requested if not (spanish.get(c) and spanish[c].name)]
    assert missing == []
    assert all(text.name and text.description for text in spanish.values())
    # every code, attribute and value key is in the catalogue
    assert check_translations(CHICAGO, SCHEMAS, services) == 1


def test_every_question_of_the_translated_services_has_spanish_words():
    """Each attribute's words and each choice's name, for every service with a Spanish name
    (the 20 most requested and more)."""
    spanish = read_translations(CHICAGO, SCHEMAS, "es")
    untranslated = []
    for service in read_catalog(CHICAGO, SCHEMAS):
        text = spanish.get(service["service_code"])
        if text is None:
            continue
        for attribute in service.get("attributes", []):
            words = text.attributes.get(attribute["code"])
            where = f"{service['service_code']} {attribute['code']}"
            if words is None or not words.description:
                untranslated.append(where)
                continue
            keys = {str(value["key"]) for value in attribute.get("values", [])}
            untranslated += [f"{where} {key}" for key in sorted(keys - set(words.values))]
    assert untranslated == []
    assert sum(len(text.attributes) for text in spanish.values()) >= 20


def catalogue_with(tmp_path: Path, text: str) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(FIXTURE_CATALOG, copy)
    (copy / "i18n").mkdir()
    (copy / "i18n" / "es.toml").write_text(text, encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[services.PHF]\nservice_nam = "Bache"\n', "service_nam"),
        ('[services.PHF]\nservice_name = ""\n', "service_name"),
        ('[services.NOPE]\nservice_name = "Nada"\n', "no service NOPE"),
        ("[services.PHF\n", "not valid TOML"),
        ('[services.PHF.attributes.NOPE]\ndescription = "¿Qué?"\n', "no attribute NOPE"),
        ('[services.PHF.attributes.WHEREIST]\nvalues = { MOON = "Luna" }\n', "no value MOON"),
        ('[services.PHF.attributes.WHEREIST]\ndescriptio = "¿Dónde?"\n', "descriptio"),
        ('[services.PHF.attributes.WHEREIST]\nvalues = { CURB = "" }\n', "values"),
    ],
)
def test_a_bad_translation_file_is_refused_naming_the_problem(tmp_path, text, problem):
    catalogue = catalogue_with(tmp_path, text)
    services = read_catalog(catalogue, SCHEMAS)
    with pytest.raises(CatalogError, match=problem):
        check_translations(catalogue, SCHEMAS, services)


def test_load_catalog_refuses_a_translation_of_an_unknown_service(app, tmp_path):
    catalogue = catalogue_with(tmp_path, '[services.NOPE]\nservice_name = "Nada"\n')
    result = app.test_cli_runner().invoke(args=["open311", "load-catalog", str(catalogue)])
    assert result.exit_code == 1
    assert "no service NOPE" in result.output


def test_the_site_shows_spanish_names_in_spanish_and_english_otherwise(app, client, tmp_path):
    app.config["CATALOG_DIR"] = str(
        catalogue_with(
            tmp_path,
            '[services.PHF]\nservice_name = "Bache en la calle"\n'
            'description = "Un bache en la calle."\n\n'
            '[services.GRAF]\nservice_name = "Grafiti"\n',  # no description: English one
        )
    )
    page = client.get("/services/PHF", headers=SPANISH)
    assert '<h1 id="form-top">Bache en la calle</h1>' in page.text
    assert "Un bache en la calle." in page.text
    graffiti = client.get("/services/GRAF", headers=SPANISH).text
    assert "Grafiti" in graffiti
    assert "Graffiti on a building, a fence or city property." in graffiti  # English kept
    english = client.get("/services/PHF")
    assert "Pothole in Street Complaint" in english.text
    assert "Bache" not in english.text
    assert "Bache en la calle" in client.get("/?q=bache", headers=SPANISH).text  # searched
    assert "Bache en la calle" not in client.get("/?q=bache").text
    number = file_pothole(client)
    assert "Bache en la calle" in client.get(f"/requests/{number}", headers=SPANISH).text
    assert "Bache en la calle" in client.get("/services", headers=SPANISH).text


def test_the_form_asks_its_questions_in_spanish_falling_back_to_english(app, client, tmp_path):
    app.config["CATALOG_DIR"] = str(
        catalogue_with(
            tmp_path,
            '[services.PHF]\nservice_name = "Bache en la calle"\n\n'
            "[services.PHF.attributes.WHEREIST]\n"
            'description = "¿Dónde está el bache?"\n'
            'values = { CURB = "Carril junto a la acera", TRAFFIC = "Carril de circulación" }\n',
        )
    )
    english = client.get("/services/PHF").text
    page = client.get("/services/PHF", headers=SPANISH).text
    assert "¿Dónde está el bache?" in page
    assert ">Carril junto a la acera</label>" in page
    assert ">Carril de circulación</label>" in page
    assert ">Crosswalk</label>" in page  # a choice left out: its English name
    assert "How many potholes?" in page  # a question left out: its English words
    assert "Where is the pothole?" not in page
    assert "¿Dónde está el bache?" not in english
    assert ">Curb lane</label>" in english
    # A problem with a question names it in the page's language, beside its field.
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    refused = client.post("/services/PHF", data={"csrf_token": token, **CITY_HALL}, headers=SPANISH)
    assert refused.status_code == 400
    assert 'id="attr-WHEREIST-error">' in refused.text
    message = refused.text.split('id="attr-WHEREIST-error">')[1].split("<")[0]
    assert "¿Dónde está el bache?" in message
    # The City's keys are what is stored: the choice files as in English.
    form = {"csrf_token": token, **CITY_HALL, "attribute[WHEREIST]": "CURB"}
    assert client.post("/services/PHF", data=form, headers=SPANISH).status_code == 303
