"""The city this server runs for, built once per app from its configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from open311.spatial import Boundary


@dataclass(frozen=True)
class Jurisdiction:
    jurisdiction_id: str
    name: str
    time_zone: ZoneInfo
    boundary: Boundary
    number_prefix: str  # SR → SR26-00012345, as Chicago numbers its requests

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Jurisdiction:
        return cls(
            jurisdiction_id=config["JURISDICTION_ID"],
            name=config["JURISDICTION_NAME"],
            time_zone=ZoneInfo(config["TIME_ZONE"]),
            boundary=Boundary.from_geojson(Path(config["CITY_BOUNDARY"])),
            number_prefix=config["REQUEST_NUMBER_PREFIX"],
        )
