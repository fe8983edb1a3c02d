"""Describing a place when the resident gave only coordinates.

Chicago's streets follow a grid: State Street is 0 east-west, Madison
Street 0 north-south, and addresses run 800 numbers to the mile. From a
point we can say where it is on that grid ("4000 N 1600 W"), which is an
honest address when no street address was given.
"""

from __future__ import annotations

import math

MISSING_LOCATION = (
    "lat and long are required: this server places requests by coordinates "
    "(address_string is kept as the address, but is not geocoded)."
)

# The grid's origin, State and Madison, and its scale (City of Chicago grid).
STATE_ST_LONG = -87.627778
MADISON_ST_LAT = 41.882058
NUMBERS_PER_MILE = 800
MILES_PER_DEGREE_LAT = 69.05


def grid_address(lon: float, lat: float) -> str:
    """'Near 4000 N 1600 W, CHICAGO, IL', rounded to the nearest block (100)."""
    miles_per_degree_lon = MILES_PER_DEGREE_LAT * math.cos(math.radians(MADISON_ST_LAT))
    north = (lat - MADISON_ST_LAT) * MILES_PER_DEGREE_LAT * NUMBERS_PER_MILE
    east = (lon - STATE_ST_LONG) * miles_per_degree_lon * NUMBERS_PER_MILE
    return f"Near {_on_axis(north, 'N', 'S')} {_on_axis(east, 'E', 'W')}, CHICAGO, IL"


def _on_axis(numbers: float, positive: str, negative: str) -> str:
    """'1600 W': the distance rounded to a block of 100, with its direction."""
    block = round(abs(numbers) / 100.0) * 100
    return f"{block} {negative if numbers < 0 and block else positive}"
