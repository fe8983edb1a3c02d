"""GET /requests: the spec's filters, the 90-day default, paging, one request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from lxml import etree

from open311.extensions import db
from open311.models import Status
from open311.models.base import utcnow
from tests.builders import make_request

NOW = utcnow()


def ids(response):
    return [r["service_request_id"] for r in response.json]


@pytest.fixture
def history(app):
    """Five requests: today, 10 and 40 days ago (one closed PHF), 100 and 400 days ago."""
    make_request(app, "SR26-00000005", NOW - timedelta(hours=1))
    make_request(app, "SR26-00000004", NOW - timedelta(days=10), service_code="PHF")
    make_request(
        app,
        "SR26-00000003",
        NOW - timedelta(days=40),
        status=Status.CLOSED,
        status_notes="Completed",
        updated_at=NOW - timedelta(days=2),
    )
    make_request(
        app, "SR25-00000002", NOW - timedelta(days=100), updated_at=NOW - timedelta(days=1)
    )
    make_request(app, "SR24-00000001", NOW - timedelta(days=400))
    return app


def test_default_is_the_last_90_days_newest_first(client, history):
    assert ids(client.get("/open311/v2/requests.json")) == [
        "SR26-00000005",
        "SR26-00000004",
        "SR26-00000003",
    ]


def test_xml_lists_the_same_requests(client, history):
    root = etree.fromstring(client.get("/open311/v2/requests.xml").data)
    assert root.xpath("/service_requests/request/service_request_id/text()") == [
        "SR26-00000005",
        "SR26-00000004",
        "SR26-00000003",
    ]


def test_empty_result_keeps_the_container(client, app):
    assert client.get("/open311/v2/requests.json").json == []
    assert etree.fromstring(client.get("/open311/v2/requests.xml").data).tag == "service_requests"


def test_service_request_id_list_overrides_every_other_filter(client, history):
    response = client.get(
        "/open311/v2/requests.json?service_request_id=SR24-00000001, SR26-00000004&status=closed"
    )
    assert sorted(ids(response)) == ["SR24-00000001", "SR26-00000004"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", ["SR26-00000003"]),
        ("status=open,closed", ["SR26-00000005", "SR26-00000004", "SR26-00000003"]),
        ("status=", ["SR26-00000005", "SR26-00000004", "SR26-00000003"]),
        ("service_code=PHF", ["SR26-00000004"]),
        ("service_code=PHF,GRAF&status=open", ["SR26-00000005", "SR26-00000004"]),
        ("service_code=UNKNOWN", []),
    ],
)
def test_status_and_service_code_filters(client, history, query, expected):
    assert ids(client.get(f"/open311/v2/requests.json?{query}")) == expected


def w3c(moment, offset="-06:00"):
    return (
        moment.astimezone(datetime.strptime(offset, "%z").tzinfo).replace(microsecond=0).isoformat()
    )


def test_start_and_end_dates_are_inclusive_and_exclusive(client, history):
    start = w3c(NOW - timedelta(days=120))
    end = w3c(NOW - timedelta(days=40))
    assert ids(
        client.get("/open311/v2/requests.json", query_string={"start_date": start, "end_date": end})
    ) == ["SR25-00000002"]
    exact_end = w3c(NOW - timedelta(days=10))  # exactly SR26-00000004's time: excluded
    response = client.get(
        "/open311/v2/requests.json",
        query_string={"start_date": w3c(NOW - timedelta(days=50)), "end_date": exact_end},
    )
    assert ids(response) == ["SR26-00000003"]


def test_start_date_alone_covers_90_days_from_it(client, history):
    start = w3c(NOW - timedelta(days=410))
    assert ids(client.get("/open311/v2/requests.json", query_string={"start_date": start})) == [
        "SR24-00000001"
    ]


def test_a_plus_offset_that_arrived_as_a_space_is_understood(client, history):
    start = (
        (NOW - timedelta(days=120))
        .astimezone(datetime.strptime("+01:00", "%z").tzinfo)
        .replace(microsecond=0)
    )
    raw = start.strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
    response = client.get(
        f"/open311/v2/requests.json?start_date={raw}&end_date={w3c(NOW - timedelta(days=40))}"
    )
    assert response.status_code == 200
    assert ids(response) == ["SR25-00000002"]


def test_lenient_datetime_forms_are_accepted(client, history):
    for value in (
        "2026-01-01T00:00:00Z",
        "2026-01-01 00:00:00.999999",
        "2026-01-01T00:00:00.017Z",
        "2026-01-01",
    ):
        assert (
            client.get("/open311/v2/requests.json", query_string={"start_date": value}).status_code
            == 200
        ), value


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("start_date=yesterday", "start_date"),
        ("status=pending", "status"),
        ("page=0", "page"),
        ("page_size=ten", "page_size"),
        ("start_date=2026-03-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "start_date"),
        ("start_date=2025-01-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "90 days"),
    ],
)
def test_bad_query_is_400_in_format(client, query, word, fmt):
    response = client.get(f"/open311/v2/requests.{fmt}?{query}")
    assert response.status_code == 400
    assert word in response.data.decode()


def test_updated_after_finds_old_requests_changed_recently(client, history):
    after = w3c(NOW - timedelta(days=3))
    assert ids(client.get("/open311/v2/requests.json", query_string={"updated_after": after})) == [
        "SR26-00000005",
        "SR26-00000003",
        "SR25-00000002",
    ]
    before = w3c(NOW - timedelta(hours=36))
    response = client.get(
        "/open311/v2/requests.json", query_string={"updated_after": after, "updated_before": before}
    )
    assert ids(response) == ["SR26-00000003"]


def test_pages_are_stable_and_empty_past_the_end(client, history):
    pages = [ids(client.get(f"/open311/v2/requests.json?page={n}&page_size=2")) for n in (1, 2, 3)]
    assert pages == [["SR26-00000005", "SR26-00000004"], ["SR26-00000003"], []]


def test_page_size_is_clamped_to_the_maximum(client, history, app):
    app.config["MAX_PAGE_SIZE"] = 2
    assert len(ids(client.get("/open311/v2/requests.json?page_size=5000"))) == 2


def test_closed_request_shows_its_close_time_and_local_offset(client, history):
    [closed] = client.get("/open311/v2/requests/SR26-00000003.json").json
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Completed"
    assert closed["updated_datetime"] == w3c(
        NOW - timedelta(days=2), closed["updated_datetime"][-6:]
    )
    assert closed["updated_datetime"][-6:] in ("-05:00", "-06:00")


def test_single_request_is_a_one_element_array_and_singular_alias_works(client, history):
    assert ids(client.get("/open311/v2/requests/SR26-00000004.json")) == ["SR26-00000004"]
    assert ids(client.get("/open311/v2/request/SR26-00000004.json")) == ["SR26-00000004"]


def test_jsonp_callback_wraps_json(client, history):
    response = client.get("/open311/v2/requests/SR26-00000004.json?callback=handle")
    assert response.content_type.startswith("application/javascript")
    assert response.data.startswith(b"/**/handle([")


def test_cors_header_is_sent(client, history):
    assert client.get("/open311/v2/requests.json").headers["Access-Control-Allow-Origin"] == "*"


def test_times_are_emitted_in_chicago_time_without_fractions(client, app):
    make_request(app, "SR26-00000010", datetime(2026, 7, 4, 17, 30, 5, tzinfo=UTC))
    make_request(app, "SR26-00000011", datetime(2026, 1, 15, 18, 0, 0, tzinfo=UTC))
    summer, winter = client.get(
        "/open311/v2/requests.json?service_request_id=SR26-00000010,SR26-00000011"
    ).json
    assert summer["requested_datetime"] == "2026-07-04T12:30:05-05:00"
    assert winter["requested_datetime"] == "2026-01-15T12:00:00-06:00"


@pytest.mark.parametrize("query", ["page=²", "page=١", "page_size=-1"])  # noqa: RUF001 (a digit of another script, on purpose)
def test_non_ascii_or_negative_numbers_are_400(client, query):
    assert client.get(f"/open311/v2/requests.json?{query}").status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999999",
        "end_date=0001-01-02T00:00:00Z",
        "start_date=9999-12-20T00:00:00Z",
    ],
)
def test_extreme_values_never_give_a_500(client, history, query):
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json == []


def test_reads_on_postgresql_run_outside_a_transaction(app, client, history):
    """A GET pays no BEGIN and ROLLBACK round trips on PostgreSQL; SQLite keeps its transactions."""
    statuses = []

    def after_execute(connection, *args):
        driver = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            statuses.append(driver.info.transaction_status.name)
        else:
            statuses.append("INTRANS" if driver.in_transaction else "IDLE")

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "after_cursor_execute", after_execute)
    try:
        for path in ("requests.json", "requests.xml?extensions=true", "services.json"):
            assert client.get(f"/open311/v2/{path}").status_code == 200
    finally:
        sa.event.remove(engine, "after_cursor_execute", after_execute)
    expected = "IDLE" if engine.dialect.name == "postgresql" else "INTRANS"
    assert statuses
    assert set(statuses) == {expected}
