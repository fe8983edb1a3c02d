"""The catalogue as data: validation names the file, field and problem; loading is idempotent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from open311.catalog.loader import CatalogError, read_catalog
from open311.config import PROJECT_DIR
from tests.conftest import FIXTURE_CATALOG

SCHEMAS = PROJECT_DIR / "schemas"
CHICAGO = PROJECT_DIR / "services_catalog" / "chicago"


def copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(FIXTURE_CATALOG, target)
    return target


@pytest.mark.parametrize(
    ("replace", "by", "words"),
    [
        ('type = "realtime"', 'type = "sometimes"', ["PHF.toml", "type", "sometimes"]),
        ('datatype = "number"', 'datatype = "integer"', ["PHF.toml", "attributes[2].datatype"]),
        ("order = 2", "order = 1", ["PHF.toml", "order", "used twice"]),
        ('service_code = "PHF"', 'service_code = "GRAF"', ["service_code", "GRAF", "also used"]),
        (
            'keywords = ["pothole", "street", "road"]',
            'keywords = ["pothole, street"]',
            ["PHF.toml", "keywords[0]"],
        ),
        ('service_name = "Pothole in Street Complaint"', "", ["PHF.toml", "service_name"]),
        (
            'values = [{ key = "TRAFFIC"',
            'valuez = [{ key = "TRAFFIC"',
            ["PHF.toml", "attributes[0]"],
        ),
        (
            'description = "A pothole in the street."',
            'description = "unterminated',
            ["PHF.toml", "TOML"],
        ),
        (
            "duplicate_radius_m = 150.0",
            "duplicate_radius_m = 0",
            ["PHF.toml", "duplicate_radius_m"],
        ),
        (
            "duplicate_window_days = 10.0",
            'duplicate_window_days = "ten"',
            ["PHF.toml", "duplicate_window_days"],
        ),
        (
            "duplicate_window_days = 10.0",
            "duplicate_window_days = 400",
            ["PHF.toml", "duplicate_window_days"],
        ),
    ],
)
def test_invalid_file_is_refused_naming_file_field_and_problem(tmp_path, replace, by, words):
    catalog = copy_catalog(tmp_path)
    path = catalog / "PHF.toml"
    text = path.read_text()
    assert replace in text
    path.write_text(text.replace(replace, by, 1))
    with pytest.raises(CatalogError) as raised:
        read_catalog(catalog, SCHEMAS)
    for word in words:
        assert word in str(raised.value)


def test_cli_refuses_an_invalid_catalogue_and_stores_nothing(app, tmp_path):
    catalog = copy_catalog(tmp_path)
    (catalog / "GRAF.toml").write_text(
        (catalog / "GRAF.toml").read_text().replace("Graffiti", "Grafitti") + "colour = 1\n"
    )
    result = app.test_cli_runner().invoke(args=["open311", "load-catalog", str(catalog)])
    assert result.exit_code == 1
    assert "GRAF.toml" in result.output
    assert "colour" in result.output
    names = {
        s["service_code"]: s["service_name"]
        for s in app.test_client().get("/open311/v2/services.json").json
    }
    assert names["GRAF"] == "Graffiti Removal Request"


def test_loading_twice_changes_nothing_and_removed_services_are_deactivated(app, tmp_path):
    runner = app.test_cli_runner()
    catalog = copy_catalog(tmp_path)
    again = runner.invoke(args=["open311", "load-catalog", str(catalog)])
    assert "0 added, 0 changed, 5 unchanged, 0 deactivated" in again.output
    (catalog / "GRAF.toml").unlink()
    removed = runner.invoke(args=["open311", "load-catalog", str(catalog)])
    assert "0 added, 0 changed, 4 unchanged, 1 deactivated" in removed.output
    codes = [s["service_code"] for s in app.test_client().get("/open311/v2/services.json").json]
    assert "GRAF" not in codes


def test_the_chicago_catalogue_is_valid_and_uses_every_datatype():
    services = read_catalog(CHICAGO, SCHEMAS)
    assert len(services) >= 106
    datatypes = {a["datatype"] for s in services for a in s.get("attributes", [])}
    assert datatypes == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }
    types = {s["service_code"]: s["type"] for s in services}
    assert types["BBA"] == "batch"
    assert any(s.get("review") for s in services)


def test_chicago_duplicate_rules_come_from_the_citys_data():
    rules = {
        s["service_code"]: (s.get("duplicate_radius_m"), s.get("duplicate_window_days"))
        for s in read_catalog(CHICAGO, SCHEMAS)
    }
    assert rules["SDO"] == (200.0, None)  # 199 m: the farthest duplicate of the 2021 sample
    assert rules["SFB"] == (50.0, None)
    assert rules["SFD"] == (None, 4.0)  # street lights: the same circuit within 4 days
    assert rules["SFA"] == (None, 30.0)  # alley lights: the same address within 30 days
    assert rules["PHF"] == (None, None)  # the configured defaults apply
