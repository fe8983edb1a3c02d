"""The resident site's side of the service form: the browser's key for a report and the
near-me search. The form itself (its questions, its checks by the API's rules) is shared
with the console: open311/pages/service_form.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from werkzeug.datastructures import MultiDict

from open311.errors import InvalidRequest
from open311.geocoding import Geocoder
from open311.pages import service_form
from open311.pages.service_form import (
    FORM,
    Checked,
    attribute_id,
    check,
    errors_of,
    idempotency_key,
    in_page_order,
)
from open311.web.i18n import _

__all__ = [
    "FORM",
    "Checked",
    "attribute_id",
    "check",
    "errors_of",
    "idempotency_key",
    "in_page_order",
]


def params_of(service_code: str, form: MultiDict[str, str], device_id: str) -> MultiDict[str, str]:
    """The POST parameters the API would get for this page's form.

    `device_id` names this browser (GeoReport's field for the reporter's device).
    Every resident files with the site's one key, and the API treats the same
    content from the same key as a retried POST; with the browser in the
    content, a double click files once, while two neighbours who report the
    same pothole in the same words each get their own request.
    """
    return service_form.params_of(service_code, form, device_id)


def coordinates(args: Mapping[str, str]) -> tuple[float, float]:
    """(long, lat) of a pin from the map; InvalidRequest naming what is wrong."""
    try:
        lat, lon = float(args.get("lat", "")), float(args.get("long", ""))
    except ValueError:
        raise InvalidRequest("lat and long: numbers are required.") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for nan
        raise InvalidRequest("lat and long: lat from -90 to 90, long from -180 to 180.")
    return lon, lat


NEAR_RADIUS_METRES: Final = "800"  # about half a mile: a few blocks each way
NEAR_PAGE_SIZE: Final = "20"
_NEAR_PASSED: Final = ("service_code", "status", "start_date", "end_date", "page")
NEAR_AREAS: Final = ("community_area", "ward")
# Any of these makes a search; the page alone shows the empty form.
NEAR_CHOICES: Final = (
    "lat", "community_area", "ward", "service_code", "status", "start_date", "end_date",
)  # fmt: skip


def near_query(
    args: Mapping[str, str], geocoder: Geocoder
) -> tuple[dict[str, str], dict[str, str]]:
    """The near-me page's choices as GET requests' parameters, and the problems by field.

    An address becomes a circle around it; else a ward or community area is passed as
    the API's area filter; else a pin (lat and long, from "Use my location") is a
    circle too. The parameters then go through the API's own request_filter, which
    checks the pin's numbers.
    """
    query = {key: args[key].strip() for key in _NEAR_PASSED if args.get(key, "").strip()}
    query["page_size"] = NEAR_PAGE_SIZE
    errors: dict[str, str] = {}
    address = args.get("address", "").strip()
    pin = args.get("lat", "").strip(), args.get("long", "").strip()
    if address:
        place = geocoder.geocode(address)
        if place is None:
            errors["address"] = _(
                "We could not find that address in the city. Check it, or put a pin on the map."
            )
        else:
            query.update(lat=f"{place.lat:.6f}", long=f"{place.lon:.6f}", radius=NEAR_RADIUS_METRES)
    elif areas := {kind: args[kind].strip() for kind in NEAR_AREAS if args.get(kind, "").strip()}:
        query.update(areas)
    elif all(pin):
        query.update(lat=pin[0], long=pin[1], radius=NEAR_RADIUS_METRES)
    return query, errors
