"""Geocoding: addresses to points and back, behind a small interface.

`Geocoder` is the interface; `ChicagoGeocoder` is the default, offline one,
built from the City's own addresses (see chicago.py). A city with its own
geocoding service implements `geocode`, `reverse` and `suggest` and returns `Place`s.
"""

from open311.geocoding.base import Geocoder, Place
from open311.geocoding.chicago import ChicagoGeocoder

__all__ = ["ChicagoGeocoder", "Geocoder", "Place"]
