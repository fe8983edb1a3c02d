"""The default geocoder: Chicago's address grid, fitted to the City's own addresses.

Chicago numbers its addresses on one grid. State Street is 0 east-west,
Madison Street 0 north-south, and numbers mostly run 800 to the mile.
The direction in an address names the axis. In "121 N LA SALLE ST", N means
121 is counted north of Madison, so the number gives the latitude and the
street gives the longitude.

The index (open311/demo/data/chicago_streets.csv.gz, written by
open311/demo/derive_streets.py) lists real addresses with the City's
coordinates. At construction we fit from it:

- the grid's tilt: it is turned about a degree from true north (GridFrame);
- each axis of the grid: how far each house number lies from State or
  Madison (GridAxis). It is fitted, not assumed, because the grid is not
  regular everywhere. In the City's data 1200 S lies a mile south of Madison,
  2200 S two miles and 3900 S four; north of Madison 800 N is one mile;
- each street: where it runs across the grid, and how far its own numbers are
  off the grid, both interpolated between its known addresses (Street).

geocode() places a number between the street's known addresses; past them a
straight street follows the grid, and a bending one only for a mile.
reverse() finds the nearest street and reads the number off the grid.

Construction takes about 50 ms on an idle machine (reading the file is half of
it). Build one ChicagoGeocoder per process and share it: it is read-only after
construction, so threads can share it too.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely

from open311.geocoding.base import Place

Floats = npt.NDArray[np.float64]

# --- reading an address ----------------------------------------------------------

STREET_TYPES: Final[dict[str, str]] = {
    "ST": "ST", "STR": "ST", "STREET": "ST",
    "AVE": "AVE", "AV": "AVE", "AVENUE": "AVE",
    "BLVD": "BLVD", "BL": "BLVD", "BOULEVARD": "BLVD",
    "DR": "DR", "DRIVE": "DR",
    "PL": "PL", "PLACE": "PL",
    "RD": "RD", "ROAD": "RD",
    "PKWY": "PKWY", "PKY": "PKWY", "PARKWAY": "PKWY",
    "CT": "CT", "COURT": "CT",
    "TER": "TER", "TERR": "TER", "TERRACE": "TER",
    "EXPY": "EXPY", "EXPRESSWAY": "EXPY",
    "HWY": "HWY", "HIGHWAY": "HWY",
    "PLZ": "PLZ", "PLAZA": "PLZ",
    "LN": "LN", "LANE": "LN",
    "SQ": "SQ", "SQUARE": "SQ",
    "CIR": "CIR", "CIRCLE": "CIR",
    "WAY": "WAY", "ROW": "ROW", "RAMP": "RAMP",
    "SD": "SD",  # the City's "service drive", as in "W LOGAN SD"
}  # fmt: skip
DIRECTIONS: Final[dict[str, str]] = {
    "N": "N", "NORTH": "N", "S": "S", "SOUTH": "S",
    "E": "E", "EAST": "E", "W": "W", "WEST": "W",
}  # fmt: skip
# Street names people shorten; keys and values are compact names (see street_key).
NAME_ALIASES: Final[dict[str, str]] = {
    "MLK": "DRMARTINLUTHERKINGJR",
    "MLKJR": "DRMARTINLUTHERKINGJR",
    "MARTINLUTHERKING": "DRMARTINLUTHERKINGJR",
    "MARTINLUTHERKINGJR": "DRMARTINLUTHERKINGJR",
    "DRMARTINLUTHERKING": "DRMARTINLUTHERKINGJR",
}
# What may follow the street: a unit, then the city, state and ZIP code.
UNIT_WORDS: Final = frozenset({"APT", "APARTMENT", "UNIT", "STE", "SUITE", "FL", "FLOOR", "RM"})
LOCALITY_WORDS: Final = frozenset({"CHICAGO", "IL", "ILL", "ILLINOIS", "USA", "US"})
HOUSE_NUMBER = re.compile(r"^(\d{1,6})([A-Z]?)(?:-\d+[A-Z]?)?$")  # 9129A, 1200-1210
ZIP_CODE = re.compile(r"^(\d{5})(?:-\d{4})?$")
ORDINAL_SUFFIXES: Final = {1: "ST", 2: "ND", 3: "RD"}


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of "121 N LA SALLE ST, 60602". Direction, type and ZIP may be missing."""

    number: int
    number_text: str  # as written, with a letter suffix such as the A of 9129A
    direction: str | None
    name: str
    street_type: str | None
    zipcode: str | None


def parse_address(text: str) -> ParsedAddress | None:
    """Read "NUMBER [DIR] NAME [TYPE][, city, state ZIP]" in its common spellings.

    None when there is no house number or street name, or when the address
    names a city in Illinois other than Chicago.
    """
    street_part, _, locality = text.upper().replace("'", "").replace(".", " ").partition(",")
    tokens, place = _words(street_part), _words(locality)
    if _names_another_city(place):
        return None
    tokens = _drop_locality(tokens)
    zipcode = _take_zip(tokens) or _find_zip(place)
    tokens = _drop_unit(_drop_locality(tokens))
    if tokens and not HOUSE_NUMBER.match(tokens[0]) and HOUSE_NUMBER.match(tokens[-1]):
        tokens = [tokens[-1], *tokens[:-1]]  # "W 81st St 1200"
    number = HOUSE_NUMBER.match(tokens[0]) if tokens else None
    half = tokens[1:2] == ["1/2"]  # "1234 1/2 W FULLERTON AVE", a rear house
    direction, street = _split_direction(tokens[2 if half else 1 :])
    name_tokens, street_type = _split_type(street)
    if number is None or not name_tokens:
        return None
    name = " ".join(_normal_name(name_tokens))
    number_text = number[1] + number[2] + (" 1/2" if half else "")
    return ParsedAddress(int(number[1]), number_text, direction, name, street_type, zipcode)


def _names_another_city(place: list[str]) -> bool:
    """True for "…, EVANSTON, IL"; false for "…, CHICAGO, IL 60602", "…, IL" or "…, LOOP"."""
    other_words = [w for w in place if w not in LOCALITY_WORDS and not ZIP_CODE.match(w)]
    in_illinois = bool({"IL", "ILLINOIS"} & set(place))
    return in_illinois and "CHICAGO" not in place and bool(other_words)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Z0-9#/-]+", text)


def _find_zip(words: list[str]) -> str | None:
    matches = (ZIP_CODE.match(word) for word in words)
    return next((match[1] for match in matches if match), None)


def _take_zip(tokens: list[str]) -> str | None:
    """Remove and return a ZIP code at the end: "... LA SALLE ST 60602"."""
    match = ZIP_CODE.match(tokens[-1]) if len(tokens) > 2 else None
    if match:
        tokens.pop()
    return match[1] if match else None


def _drop_locality(tokens: list[str]) -> list[str]:
    """Drop a trailing "CHICAGO IL", keeping it when it is the street (800 W CHICAGO)."""
    kept = list(tokens)
    while len(kept) > 3 and kept[-1] in LOCALITY_WORDS:
        kept.pop()
    return kept


def _drop_unit(tokens: list[str]) -> list[str]:
    for index, token in enumerate(tokens[2:], start=2):
        if token in UNIT_WORDS or token.startswith("#"):
            return tokens[:index]
    return tokens


def _split_direction(tokens: list[str]) -> tuple[str | None, list[str]]:
    """The leading direction, unless it is the street's name (1600 W NORTH AVE)."""
    if len(tokens) < 2 or tokens[0] not in DIRECTIONS:
        return None, tokens
    rest = tokens[1:]
    if len(rest) == 1 and rest[0] in STREET_TYPES:
        return None, tokens  # "1600 NORTH AVE": NORTH is the name
    return DIRECTIONS[tokens[0]], rest


def _split_type(tokens: list[str]) -> tuple[list[str], str | None]:
    if len(tokens) > 1 and tokens[-1] in STREET_TYPES:
        return tokens[:-1], STREET_TYPES[tokens[-1]]
    return tokens, None


def _normal_name(tokens: list[str]) -> list[str]:
    """81 → 81ST; SAINT LOUIS → ST LOUIS; AVE M → AVENUE M, as the City writes them."""
    words = [_ordinal(token) for token in tokens]
    if words[0] == "SAINT":
        words[0] = "ST"
    if len(words) == 2 and words[0] in {"AVE", "AV"} and len(words[1]) == 1:
        words[0] = "AVENUE"
    return words


def _ordinal(token: str) -> str:
    if not token.isdigit():
        return token
    number = int(token)
    suffix = "TH" if 10 <= number % 100 <= 20 else ORDINAL_SUFFIXES.get(number % 10, "TH")
    return f"{number}{suffix}"


def street_key(name: str) -> str:
    """Letters and digits only, so LA SALLE, LASALLE and La Salle match.

    A lone letter is one of the lettered avenues: the City writes "10331 S O"
    for 10331 S Avenue O.
    """
    compact = re.sub(r"[^A-Z0-9]", "", name.upper())
    if len(compact) == 1 and compact.isalpha():
        return f"AVENUE{compact}"
    return NAME_ALIASES.get(compact, compact)


# --- the grid ----------------------------------------------------------------------

# State and Madison, where the grid's numbers are zero.
ORIGIN_LON: Final = -87.627778
ORIGIN_LAT: Final = 41.882058
NUMBERS_PER_MILE: Final = 800
MILES_PER_DEGREE_LAT: Final = 69.05
METRES_PER_DEGREE_LAT: Final = 111_050.0
METRES_PER_DEGREE_LON: Final = METRES_PER_DEGREE_LAT * math.cos(math.radians(ORIGIN_LAT))
# Degrees per house number on each axis, if the grid were regular.
NOMINAL_SLOPE: Final[dict[str, float]] = {
    "NS": 1 / (NUMBERS_PER_MILE * MILES_PER_DEGREE_LAT),
    "EW": 1 / (NUMBERS_PER_MILE * MILES_PER_DEGREE_LAT * math.cos(math.radians(ORIGIN_LAT))),
}
GRID_STEP: Final = 100  # one knot per block
GRID_WINDOW: Final = 400  # each knot is the median of the addresses within half a mile
GRID_MIN_ADDRESSES: Final = 5
# A street measures the grid's tilt if it has this many addresses this far apart.
TILT_MIN_ADDRESSES: Final = 3
TILT_MIN_SPAN_DEGREES: Final = 0.02  # about 2 km
SIGNS: Final[dict[str, int]] = {"N": 1, "S": -1, "E": 1, "W": -1}
AXES: Final[dict[str, str]] = {"N": "NS", "S": "NS", "E": "EW", "W": "EW"}
SIDES: Final[dict[str, tuple[str, str]]] = {"NS": ("N", "S"), "EW": ("E", "W")}


@dataclass(frozen=True)
class GridFrame:
    """Coordinates in which Chicago's streets run straight up and across.

    The grid is turned about a degree from true north: in the City's data,
    7114 N Western Ave lies some 780 m further west than 11431 S Western Ave.
    `u` is the longitude with that lean removed, so a north-south street keeps
    one `u` along its length; `v` does the same for latitude.
    Both tilts are fitted from the streets in the index.
    """

    ew_tilt: float  # degrees of longitude per degree of latitude, along a N-S street
    ns_tilt: float  # degrees of latitude per degree of longitude, along an E-W street

    def to_grid(self, lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
        u = lon - self.ew_tilt * (lat - ORIGIN_LAT)
        v = lat - self.ns_tilt * (lon - ORIGIN_LON)
        return u, v

    def to_lon_lat(self, u: float, v: float) -> tuple[float, float]:
        a, b = self.ew_tilt, self.ns_tilt
        free_u, free_v = u - a * ORIGIN_LAT, v - b * ORIGIN_LON
        lon = (free_u + a * free_v) / (1 - a * b)
        lat = (free_v + b * free_u) / (1 - a * b)
        return lon, lat


@dataclass(frozen=True)
class GridAxis:
    """Where each signed house number lies on one axis: a piecewise-linear table."""

    numbers: Floats  # knots, increasing: S and W numbers are negative
    coordinates: Floats  # v (NS axis) or u (EW axis) at each knot
    first: float  # the lowest and highest numbers with addresses
    last: float

    @classmethod
    def fit(cls, numbers: Floats, coordinates: Floats, slope: float) -> GridAxis:
        """Fit a knot per block: the median offset of nearby addresses from the nominal slope."""
        offsets = coordinates - slope * numbers
        low, high = (math.floor(x / GRID_STEP) * GRID_STEP for x in (numbers.min(), numbers.max()))
        knots, values = [], []
        for knot in range(low, high + GRID_STEP, GRID_STEP):
            near = np.abs(numbers - knot) <= GRID_WINDOW
            if np.count_nonzero(near) >= GRID_MIN_ADDRESSES:
                knots.append(float(knot))
                values.append(_median(offsets[near]) + slope * knot)
        far = 100_000.0  # beyond the data, the nominal slope
        table = np.array([knots[0] - far, *knots, knots[-1] + far])
        along = np.array([values[0] - slope * far, *values, values[-1] + slope * far])
        monotonic = np.maximum.accumulate(along)  # a larger number is never further back
        return cls(table, monotonic, float(numbers.min()), float(numbers.max()))

    def coordinate(self, numbers: Floats) -> Floats:
        return np.interp(numbers, self.numbers, self.coordinates)

    def at(self, number: float) -> float:
        return float(np.interp(number, self.numbers, self.coordinates))

    def number(self, coordinate: float) -> float:
        return float(np.interp(coordinate, self.coordinates, self.numbers))

    def covers(self, number: float) -> bool:
        return self.first - GRID_STEP <= number <= self.last + GRID_STEP


# --- streets -------------------------------------------------------------------------

# How far past its known addresses a street is followed. A straight street
# follows the grid as far as the city goes. One that bends (Milwaukee, Archer)
# is followed for a mile, because beyond that we do not know where it runs;
# such an address is refused rather than guessed.
STRAIGHT_METRES: Final = 40.0
BENT_REACH: Final = 800
# Reverse geocoding follows a straight street this far past its known addresses:
# a shorter reach misses streets the index knows only in part; a longer one
# lays them over other streets (measured on held-out addresses: 200-800 is best).
REVERSE_REACH: Final = 400
# A ZIP is taken from the nearest known address on the street if it is within
# a quarter mile: on held-out addresses that ZIP is the City's 97 times in 100.
ZIP_REACH: Final = 200
SAME_PLACE_METRES: Final = 150.0


@dataclass(frozen=True)
class Street:
    """One street on one axis ("LA SALLE ST", numbered N and S), fitted from its addresses.

    Coordinates are in the grid frame: for a north-south street, `along` is v
    and `across` is u.
    """

    axis: str
    name: str
    street_type: str
    numbers: Floats  # signed, increasing
    along: Floats  # where each known address is, along the axis
    offsets: Floats  # how far each is off the grid, along the axis
    across: Floats  # where the street runs, at each known address
    zipcodes: tuple[str, ...]
    straight: bool  # nine in ten of its addresses on one line of the grid: see _spreads()

    def covers(self, signed_number: int, grid: GridAxis) -> bool:
        if self.straight:
            return grid.covers(signed_number)
        return bool(self.numbers[0] - BENT_REACH <= signed_number <= self.numbers[-1] + BENT_REACH)

    def place(self, signed_number: float, grid: GridAxis) -> tuple[float, float]:
        """(u, v) of a number: between known addresses, interpolated; beyond them, the grid."""
        offset = float(np.interp(signed_number, self.numbers, self.offsets))
        along = grid.at(signed_number) + offset
        across = float(np.interp(signed_number, self.numbers, self.across))
        return (across, along) if self.axis == "NS" else (along, across)

    def number_at(self, along: float, grid: GridAxis) -> float:
        """The signed number on this street level with `along`, the inverse of place().

        It stays within the stretch of street reverse() knows (see Segments),
        so a point out in the lake gets the last address before the shore.
        """
        number = grid.number(along)
        for _ in range(3):  # the offset changes slowly along a street: this converges
            number = grid.number(along - float(np.interp(number, self.numbers, self.offsets)))
        reach = REVERSE_REACH if self.straight else 0
        return float(np.clip(number, self.numbers[0] - reach, self.numbers[-1] + reach))

    def outline(self, grid: GridAxis) -> Floats:
        """The street as reverse() sees it, in metres: a line through its known addresses.

        A straight street runs on past its ends by REVERSE_REACH numbers; one
        known at a single address is a point (a line of length 0).
        """
        along, across = self.along, self.across
        if self.straight:
            reach = np.array([-REVERSE_REACH, REVERSE_REACH])
            ends = np.clip(self.numbers[[0, -1]] + reach, grid.first, grid.last)
            ends_along = grid.coordinate(ends) + self.offsets[[0, -1]]
            along = np.concatenate([ends_along[:1], along, ends_along[1:]])
            across = np.concatenate([across[:1], across, across[-1:]])
        elif len(along) == 1:
            along, across = np.repeat(along, 2), np.repeat(across, 2)
        return _metres(across, along) if self.axis == "NS" else _metres(along, across)

    def zipcode_near(self, signed_number: float) -> str | None:
        """The ZIP of the nearest known address on this street, if it is near enough."""
        gaps = np.abs(self.numbers - signed_number)
        nearest = int(np.argmin(gaps))
        return self.zipcodes[nearest] or None if gaps[nearest] <= ZIP_REACH else None

    def label(self, signed_number: int, number_text: str | None = None) -> str:
        """'1234 W FULLERTON AVE': the number, its side of the axis, the street."""
        side = SIDES[self.axis][0 if signed_number >= 0 else 1]
        number = number_text or str(abs(signed_number))
        return " ".join(part for part in (number, side, self.name, self.street_type) if part)


@dataclass(frozen=True)
class Candidate:
    street: Street
    signed_number: int


class ChicagoGeocoder:
    """Chicago's grid and streets, fitted from the City's addresses; works offline.

    Build it once per process with `ChicagoGeocoder.from_file(path)`, which
    takes about 50 ms on an idle machine; it is read-only afterwards.
    """

    def __init__(self, index: StreetIndex) -> None:
        self.frame = index.frame()
        u, v = self.frame.to_grid(index.lon, index.lat)
        self.grids = {axis: index.grid(axis, u, v) for axis in ("NS", "EW")}
        self.streets = index.streets(u, v, self.grids)
        self.by_name: dict[str, list[Street]] = defaultdict(list)
        for street in self.streets:
            self.by_name[street_key(street.name)].append(street)
        self.segments = Segments.build(self.streets, self.grids)
        self.zipcodes = frozenset(index.zipcodes) - {""}
        # suggest() offers the streets with the most known addresses first.
        self._by_size = sorted(self.streets, key=lambda street: (-len(street.numbers), street.name))

    @classmethod
    def from_file(cls, path: Path) -> ChicagoGeocoder:
        """Read the index that open311.demo.derive_streets writes (a gzipped CSV)."""
        return cls(StreetIndex.read(path))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ChicagoGeocoder:
        """The GEOCODER factory: reads the index named by GEOCODER_INDEX."""
        return cls.from_file(Path(config["GEOCODER_INDEX"]))

    def geocode(self, address: str) -> Place | None:
        parsed = parse_address(address)
        if parsed is None or not self._in_chicago(parsed.zipcode):
            return None
        candidate = self._street_for(parsed)
        if candidate is None:
            return None
        return self._place(
            candidate.street, candidate.signed_number, parsed.number_text, parsed.zipcode
        )

    def reverse(self, lon: float, lat: float) -> Place:
        """The address level with the point on the nearest street; the Place keeps the point."""
        grid_u, grid_v = self.frame.to_grid(np.array([lon]), np.array([lat]))
        u, v = float(grid_u[0]), float(grid_v[0])
        street, side = self.segments.nearest(u, v)
        along = v if street.axis == "NS" else u
        number = _house_number(street.number_at(along, self.grids[street.axis]), side)
        zipcode = street.zipcode_near(number)
        return Place(_full_address(street.label(number), zipcode), lon, lat, zipcode)

    def suggest(self, prefix: str, limit: int) -> list[Place]:
        """Addresses starting with `prefix`: a house number, then the start of a street.

        "121 n la" suggests 121 N LA SALLE ST and 121 N LAMON AVE…: every street whose
        name (with its type) starts with what was typed and whose stretch of the grid
        holds the number, the streets with the most known addresses first. Nothing
        until a number and a letter of the street are typed.
        """
        typed = prefix.upper().replace("'", "").replace(".", " ").partition(",")[0]
        tokens = _words(typed)
        if len(tokens) < 2 or limit < 1 or not (number := HOUSE_NUMBER.match(tokens[0])):
            return []
        rest = tokens[1:]
        direction = DIRECTIONS[rest[0]] if len(rest) > 1 and rest[0] in DIRECTIONS else None
        rest = rest[1:] if direction else rest
        if len(rest) > 1 and rest[-1] in STREET_TYPES:
            rest[-1] = STREET_TYPES[rest[-1]]  # STREET → ST, as the City writes it
        wanted = re.sub(r"[^A-Z0-9]", "", "".join(rest))
        wanted = NAME_ALIASES.get(wanted, wanted)
        found: dict[str, Place] = {}
        for street in self._by_size:
            if len(found) >= limit:
                break
            if not (street_key(street.name) + street.street_type).startswith(wanted):
                continue
            if direction and street.axis != AXES[direction]:
                continue
            for sign in _signs(direction):
                signed = sign * int(number[1])
                if street.covers(signed, self.grids[street.axis]):
                    place = self._place(street, signed, None, None)
                    found.setdefault(place.address, place)
        return list(found.values())[:limit]

    def _place(
        self, street: Street, signed: int, number_text: str | None, zipcode: str | None
    ) -> Place:
        lon, lat = self.frame.to_lon_lat(*street.place(signed, self.grids[street.axis]))
        zipcode = zipcode or street.zipcode_near(signed)
        return Place(_full_address(street.label(signed, number_text), zipcode), lon, lat, zipcode)

    def _in_chicago(self, zipcode: str | None) -> bool:
        """No ZIP, a Chicago one (606xx), or one the City's addresses use (60827)."""
        return zipcode is None or zipcode.startswith("606") or zipcode in self.zipcodes

    def _street_for(self, parsed: ParsedAddress) -> Candidate | None:
        """The one street and signed number the address can mean, or None."""
        streets = self.by_name.get(street_key(parsed.name), [])
        if parsed.direction:
            streets = [s for s in streets if s.axis == AXES[parsed.direction]]
        typed = [s for s in streets if s.street_type == (parsed.street_type or "")]
        candidates = [
            Candidate(street, sign * parsed.number)
            for street in (typed or streets)
            for sign in _signs(parsed.direction)
            if street.covers(sign * parsed.number, self.grids[street.axis])
        ]
        return self._unambiguous(candidates)

    def _unambiguous(self, candidates: list[Candidate]) -> Candidate | None:
        """The first candidate, if every reading of the address lands in one place."""
        places = [c.street.place(c.signed_number, self.grids[c.street.axis]) for c in candidates]
        if places and all(_distance(places[0], other) <= SAME_PLACE_METRES for other in places):
            return candidates[0]
        return None


def _signs(direction: str | None) -> tuple[int, ...]:
    return (SIGNS[direction],) if direction else (1, -1)


def _house_number(signed_number: float, side: int) -> int:
    """A whole number whose parity matches the side of the street.

    Even numbers are on the north and west sides: in the index, about three in
    four even addresses lie north or west of their street's line, and three in
    four odd ones south or east.
    """
    number = round(signed_number)
    if abs(number) % 2 != (0 if side > 0 else 1):
        number += 1 if signed_number >= number else -1
    return number


def _full_address(label: str, zipcode: str | None) -> str:
    return f"{label}, CHICAGO, IL" + (f", {zipcode}" if zipcode else "")


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two grid-frame points."""
    return math.hypot((a[0] - b[0]) * METRES_PER_DEGREE_LON, (a[1] - b[1]) * METRES_PER_DEGREE_LAT)


# --- the index file ------------------------------------------------------------------

INDEX_COLUMNS: Final = ("direction", "name", "type", "number", "longitude", "latitude", "zip")


@dataclass(frozen=True)
class StreetIndex:
    """The index file's rows as columns: real addresses and the City's coordinates for them."""

    keys: list[tuple[str, str, str]]  # each street once: (axis, name, type)
    street_of_row: npt.NDArray[np.intp]  # a position in keys, for each row
    north_south: npt.NDArray[np.bool_]  # whether each row's number counts N or S
    numbers: Floats  # signed: S and W negative
    lon: Floats
    lat: Floats
    zipcodes: list[str]

    @classmethod
    def read(cls, path: Path) -> StreetIndex:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            header, *rows = csv.reader(handle)
        if tuple(header) != INDEX_COLUMNS:
            raise ValueError(f"{path}: expected the columns {', '.join(INDEX_COLUMNS)}")
        # Column by column: zip(*rows) over thousands of rows is far slower.
        directions, names, types, numbers, lons, lats, zipcodes = (
            [row[column] for row in rows] for column in range(len(INDEX_COLUMNS))
        )
        streets: dict[tuple[str, str, str], int] = {}
        keys = zip((AXES[d] for d in directions), names, types, strict=True)
        street_of_row = [streets.setdefault(key, len(streets)) for key in keys]
        return cls(
            list(streets),
            np.array(street_of_row, dtype=np.intp),
            np.array([d in "NS" for d in directions]),
            np.array([SIGNS[d] for d in directions]) * np.array(numbers, dtype=np.float64),
            np.array(lons, dtype=np.float64),
            np.array(lats, dtype=np.float64),
            zipcodes,
        )

    def frame(self) -> GridFrame:
        """Fit the grid's tilt: the median lean of the long streets on each axis."""
        ns, ew = self.north_south, ~self.north_south
        ew_tilt = _median_slope(self.street_of_row[ns], self.lat[ns], self.lon[ns])
        ns_tilt = _median_slope(self.street_of_row[ew], self.lon[ew], self.lat[ew])
        return GridFrame(ew_tilt, ns_tilt)

    def grid(self, axis: str, u: Floats, v: Floats) -> GridAxis:
        rows = self.north_south if axis == "NS" else ~self.north_south
        along = v if axis == "NS" else u
        return GridAxis.fit(self.numbers[rows], along[rows], NOMINAL_SLOPE[axis])

    def streets(self, u: Floats, v: Floats, grids: dict[str, GridAxis]) -> list[Street]:
        ns = self.north_south
        along, across = np.where(ns, v, u), np.where(ns, u, v)
        on_grid = np.where(
            ns, grids["NS"].coordinate(self.numbers), grids["EW"].coordinate(self.numbers)
        )
        offsets = along - on_grid
        straight = self.straight(across)
        order = np.lexsort((self.numbers, self.street_of_row))
        starts = np.flatnonzero(np.diff(self.street_of_row[order], prepend=-1))
        streets = []
        for rows in np.split(order, starts[1:]):
            key = self.street_of_row[rows[0]]
            axis, name, street_type = self.keys[key]
            zipcodes = tuple(self.zipcodes[i] for i in rows)
            streets.append(
                Street(
                    axis,
                    name,
                    street_type,
                    self.numbers[rows],
                    along[rows],
                    offsets[rows],
                    across[rows],
                    zipcodes,
                    bool(straight[key]),
                )
            )
        return streets

    def straight(self, across: Floats) -> npt.NDArray[np.bool_]:
        """For each street, whether nine in ten of its addresses lie on one line of the grid.

        One address says nothing about where a street runs, so it takes two.
        """
        scale = np.where(
            [axis == "NS" for axis, _, _ in self.keys], METRES_PER_DEGREE_LON, METRES_PER_DEGREE_LAT
        )
        count = np.bincount(self.street_of_row)
        return (count >= 2) & (_spreads(self.street_of_row, across) * scale <= STRAIGHT_METRES)


def _spreads(groups: npt.NDArray[np.intp], values: Floats) -> Floats:
    """For each group, the 90th percentile of its values' distance from their median."""
    count = np.bincount(groups)
    first = np.cumsum(count) - count
    ordered = values[np.lexsort((values, groups))]
    median = (ordered[first + (count - 1) // 2] + ordered[first + count // 2]) / 2
    deviations = np.abs(values - median[groups])
    ranked = deviations[np.lexsort((deviations, groups))]
    spreads: Floats = ranked[first + np.ceil(0.9 * count).astype(np.intp) - 1]
    return spreads


def _median(values: Floats) -> float:
    """np.median, without the 30 ms import of numpy.ma that its first call costs."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    return float(
        ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    )


def _median_slope(streets: npt.NDArray[np.intp], x: Floats, y: Floats) -> float:
    """The median, over streets long enough, of the least-squares slope of y on x."""
    count = np.bincount(streets)
    mean_x = np.bincount(streets, x) / np.maximum(count, 1)
    mean_y = np.bincount(streets, y) / np.maximum(count, 1)
    dx, dy = x - mean_x[streets], y - mean_y[streets]
    sxx, sxy = np.bincount(streets, dx * dx), np.bincount(streets, dx * dy)
    half_span = np.zeros_like(mean_x)
    np.maximum.at(half_span, streets, np.abs(dx))
    long_streets = (count >= TILT_MIN_ADDRESSES) & (half_span >= TILT_MIN_SPAN_DEGREES / 2)
    return _median(sxy[long_streets] / sxx[long_streets])


# --- the nearest street to a point ---------------------------------------------------


@dataclass(frozen=True)
class Segments:
    """Every street's outline as straight pieces, in metres of the grid frame."""

    starts: Floats  # (n, 2)
    ends: Floats  # (n, 2)
    owners: npt.NDArray[np.intp]  # the street of each segment
    streets: Sequence[Street]
    # Built once with the segments: every POST placed by its coordinates asks.
    steps: Floats  # ends - starts
    lengths2: Floats  # squared lengths, at least 1e-9
    tree: shapely.STRtree  # the segments as lines, for the few near a point

    @classmethod
    def build(cls, streets: Sequence[Street], grids: dict[str, GridAxis]) -> Segments:
        outlines = [street.outline(grids[street.axis]) for street in streets]
        owner = np.repeat(np.arange(len(streets)), [len(outline) for outline in outlines])
        points = np.vstack(outlines)
        inner = np.flatnonzero(owner[1:] == owner[:-1])  # both ends on one street
        starts, ends = points[inner], points[inner + 1]
        steps = ends - starts
        lines: npt.NDArray[np.object_] = shapely.linestrings(np.stack([starts, ends], axis=1))  # type: ignore[assignment]
        return cls(
            starts,
            ends,
            owner[inner],
            streets,
            steps,
            np.maximum((steps**2).sum(axis=1), 1e-9),
            shapely.STRtree(lines),
        )

    def nearest(self, u: float, v: float) -> tuple[Street, int]:
        """The nearest street, and the side of it the point is on (+1: north or west)."""
        point = _metres(np.array([u]), np.array([v]))[0]
        near = self._near(point)
        starts, steps = self.starts[near], self.steps[near]
        t = np.clip(((point - starts) * steps).sum(axis=1) / self.lengths2[near], 0.0, 1.0)
        closest = starts + steps * t[:, None]
        best = int(np.argmin(((closest - point) ** 2).sum(axis=1)))
        street = self.streets[self.owners[near[best]]]
        return street, _side(street, point, closest[best])

    def _near(self, point: Floats) -> npt.NDArray[np.intp]:
        """The segments that may be nearest to `point`, in index order: those whose box
        lies within the nearest one's distance, with a margin for rounding. The exact
        distances are then computed on these alone, as they were on all of them, so
        the nearest, and the first of equals, is the same one."""
        here = shapely.Point(point)
        _nearest, distances = self.tree.query_nearest(here, return_distance=True)
        reach = float(distances[0]) * (1 + 1e-6) + 1e-3  # metres
        box = shapely.box(point[0] - reach, point[1] - reach, point[0] + reach, point[1] + reach)
        return np.sort(self.tree.query(box))


def _metres(u: Floats, v: Floats) -> Floats:
    """Grid-frame degrees as (n, 2) metres east and north: flat enough for one city."""
    return np.column_stack([u * METRES_PER_DEGREE_LON, v * METRES_PER_DEGREE_LAT])


def _side(street: Street, point: Floats, on_street: Floats) -> int:
    """+1 north of an east-west street or west of a north-south one, else -1."""
    if street.axis == "NS":
        return 1 if point[0] < on_street[0] else -1
    return 1 if point[1] > on_street[1] else -1
