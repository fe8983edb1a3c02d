"""Spanish names and descriptions of the most requested services, falling back to English."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections import Counter
from pathlib import Path

import pytest

from open311.catalog.loader import CatalogError, read_catalog
from open311.catalog.translations import check_translations, read_translations
from open311.config import PROJECT_DIR
from tests.conftest import FIXTURE_CATALOG
from tests.web.test_pages import file_pothole

CHICAGO = PROJECT_DIR / "services_catalog" / "chicago"
SCHEMAS = PROJECT_DIR / "schemas"
DEMO = PROJECT_DIR / "open311" / "demo" / "data" / "chicago_requests_2021.csv.gz"
SPANISH = {"Accept-Language": "es"}


def test_the_20_most_requested_services_of_the_demo_data_have_spanish_texts():
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as demo:
        counts = Counter(row["sr_short_code"] for row in csv.DictReader(demo))
    codes = {service["service_code"] for service in read_catalog(CHICAGO, SCHEMAS)}
    most_requested = [code for code, _n in counts.most_common() if code in codes][:20]
    spanish = read_translations(CHICAGO, SCHEMAS, "es")
    missing = [c for c in most_requested if not (spanish.get(c) and spanish[c].name)]
    assert missing == []
    assert all(text.name and text.description for text in spanish.values())
    assert check_translations(CHICAGO, SCHEMAS, codes) == 1  # every code is in the catalogue


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
    ],
)
def test_a_bad_translation_file_is_refused_naming_the_problem(tmp_path, text, problem):
    catalogue = catalogue_with(tmp_path, text)
    codes = [s["service_code"] for s in read_catalog(catalogue, SCHEMAS)]
    with pytest.raises(CatalogError, match=problem):
        check_translations(catalogue, SCHEMAS, codes)


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
