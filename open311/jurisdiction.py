"""The city this server runs for, built once per app from its configuration."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from open311.geocoding import Geocoder
from open311.spatial import Boundary


@dataclass(frozen=True)
class Jurisdiction:
    jurisdiction_id: str
    name: str
    time_zone: ZoneInfo
    boundary: Boundary
    number_prefix: str  # SR → SR26-00012345, as Chicago numbers its requests
    geocoder: Geocoder

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Jurisdiction:
        return cls(
            jurisdiction_id=config["JURISDICTION_ID"],
            name=config["JURISDICTION_NAME"],
            time_zone=ZoneInfo(config["TIME_ZONE"]),
            boundary=Boundary.from_geojson(Path(config["CITY_BOUNDARY"])),
            number_prefix=config["REQUEST_NUMBER_PREFIX"],
            geocoder=_load_geocoder(config),
        )


def _load_geocoder(config: Mapping[str, Any]) -> Geocoder:
    """GEOCODER names a factory "module:callable" that takes the app's config.

    A city plugs in its own geocoding service this way; the default is the
    offline Chicago geocoder built from the City's own addresses.
    """
    module_name, _, factory_name = config["GEOCODER"].partition(":")
    target: Any = importlib.import_module(module_name)
    factory = reduce(getattr, factory_name.split("."), target)
    geocoder: Geocoder = factory(config)
    return geocoder
