"""What every geocoder gives back, and the interface a city's own service implements.

A request must leave the server with an address, a latitude and a longitude.
When a resident gives only one of the two, a geocoder supplies the other.
No Flask imports: the domain layer calls a geocoder with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Place:
    """A located address, written the way the City writes it.

    `address` is upper case, e.g. "10259 S HALSTED ST, CHICAGO, IL, 60643";
    the ZIP code ends it only when it is known.
    """

    address: str
    lon: float
    lat: float
    zipcode: str | None = None


class Geocoder(Protocol):
    """Turns addresses into places and points into addresses."""

    def geocode(self, address: str) -> Place | None:
        """The place of a free-form address; None when it cannot be placed.

        None (never an exception) for input that is unparseable, names an
        unknown street, or is ambiguous: the caller refuses the request and
        names the address, rather than storing a guess.
        """
        ...

    def reverse(self, lon: float, lat: float) -> Place:
        """The nearest address to a point; always a Place.

        Whether the point lies inside the jurisdiction is the caller's check.
        """
        ...

    def suggest(self, prefix: str, limit: int) -> list[Place]:
        """Up to `limit` addresses that what a resident has typed so far may become,
        likeliest first: for an address box's suggestions. [] when nothing fits yet."""
        ...
