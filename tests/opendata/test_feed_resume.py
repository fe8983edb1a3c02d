"""A feed resumed where a download broke: `after=<service_request_id>` of the last
complete record gives the rest, and the part received joined with the rest is the
whole feed, in CSV (COPY on PostGIS), GeoJSON and NDJSON, with the GET /requests
filters too. An unknown `after` is a 400 naming the parameter."""

from __future__ import annotations

import csv
import json
from urllib.parse import urlencode

import pytest

from tests.opendata.test_feeds import FEED, add_generated_requests

FORMATS = ["csv", "geojson", "ndjson"]
COUNT = 1_500  # more than a batch (1000 rows), and many of COPY's 64 kB chunks


def complete_records(fmt: str, body: bytes) -> tuple[list[str], list[object]]:
    """The head (CSV's header) and the records a body holds whole, however it was cut.

    Every feed writes one record a line: a cut line is left out, as a client would
    leave out the record it did not get in full.
    """
    text = body.decode(errors="ignore")
    lines = text[: text.rfind("\n") + 1].splitlines()
    if fmt == "csv":
        return lines[:1], [row for line in lines[1:] for row in csv.reader([line])]
    if fmt == "geojson":
        features = [line.removesuffix(",") for line in lines[1:] if line.startswith("{")]
        return lines[:1], [json.loads(feature) for feature in features]
    return [], [json.loads(line) for line in lines]


def cursor(fmt: str, record: object) -> str:
    """The resume value: the field named by the Open311-Resume-Field header."""
    if fmt == "csv":
        return record[0]  # type: ignore[index]
    return record["id" if fmt == "geojson" else "service_request_id"]  # type: ignore[index]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("filters", [{}, {"status": "open", "service_code": "GRAF"}])
def test_a_broken_download_resumes_after_its_last_record(app, client, fmt, filters):
    add_generated_requests(app, COUNT)  # every third one open
    url = f"{FEED}.{fmt}?{urlencode(filters)}"
    whole = client.get(url)
    assert whole.status_code == 200
    expected = {"csv": "SR_NUMBER", "geojson": "id", "ndjson": "service_request_id"}[fmt]
    assert whole.headers["Open311-Resume-Field"] == expected
    head, records = complete_records(fmt, whole.data)
    assert len(records) == (COUNT if not filters else COUNT // 3)

    cut = whole.data[: len(whole.data) * 2 // 5 + 7]  # the connection broke mid-record
    _, received = complete_records(fmt, cut)
    assert 0 < len(received) < len(records)
    rest = client.get(f"{url}&after={cursor(fmt, received[-1])}")
    assert rest.status_code == 200
    rest_head, remaining = complete_records(fmt, rest.data)

    assert rest_head == head  # a resumed CSV has its header again; GeoJSON its opening
    assert received + remaining == records
    if fmt == "geojson":
        assert json.loads(rest.data)["type"] == "FeatureCollection"  # a whole document again


@pytest.mark.parametrize("fmt", FORMATS)
def test_resuming_after_the_last_record_gives_an_empty_feed(app, client, fmt):
    add_generated_requests(app, 3)
    _, records = complete_records(fmt, client.get(f"{FEED}.{fmt}").data)
    rest = client.get(f"{FEED}.{fmt}?after={cursor(fmt, records[-1])}")
    assert rest.status_code == 200
    assert complete_records(fmt, rest.data)[1] == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("after", ["SR99-99999999", "", "not a number at all"])
def test_an_unknown_cursor_is_a_400_naming_after(app, client, fmt, after):
    add_generated_requests(app, 3)
    refused = client.get(f"{FEED}.{fmt}?{urlencode({'after': after})}")
    assert refused.status_code == 400
    [error] = refused.json
    assert error["description"].startswith("after: ")


def test_the_command_line_export_resumes_too(app):
    add_generated_requests(app, 5)
    runner = app.test_cli_runner()
    whole = runner.invoke(args=["open311", "export-requests", "--format", "ndjson"])
    rest = runner.invoke(
        args=["open311", "export-requests", "--format", "ndjson", "--after", "SR24-00000002"]
    )
    assert rest.exit_code == 0, rest.output
    assert rest.output == "".join(whole.output.splitlines(keepends=True)[2:])
    refused = runner.invoke(args=["open311", "export-requests", "--after", "SR99-1"])
    assert refused.exit_code != 0
    assert "after: " in refused.output
