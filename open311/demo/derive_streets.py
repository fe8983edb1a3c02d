"""Derive the street index of the offline Chicago geocoder from the City's 311 data.

derive_street_index() reads shared/chicago311 (see its README) and writes
<data_dir>/chicago_streets.csv.gz. Each row is one real street address, with
the City's coordinates for it (the median over its records) and its most
common ZIP code:

    direction,name,type,number,longitude,latitude,zip
    N,LA SALLE,ST,160,-87.632577,41.884819,60601

The addresses come from every source in the folder that has coordinates:
- legacy/*.csv, the pre-2018 per-type datasets (Street Address, ZIP, lat/long);
- samples/open311_2014_requests_with_activity_notes.json (address, lat, long);
- samples/sr_2021-01-01_first5000_fullschema.csv (street_address, zip_code, ...).

Addresses are split the way the geocoder reads them (parse_address), and two
habits of the City's records are undone: a community area after the street
type, and a missing type (repair_names, fill_missing_types).

One address in five is held out (is_held_out: by a hash of the address, from
every source) and never written, so tests can measure the geocoder on
addresses it has not seen. Running it twice gives byte-identical files.
Usage: python -m open311.demo.derive_streets SOURCE [DATA_DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from open311.demo.derive import has_location, read_csv, write_gzip
from open311.geocoding.chicago import INDEX_COLUMNS, STREET_TYPES, parse_address

LEGACY = Path("legacy")
OPEN311_2014 = Path("samples/open311_2014_requests_with_activity_notes.json")
SAMPLE_2021 = Path("samples/sr_2021-01-01_first5000_fullschema.csv")
STREETS_FILE = "chicago_streets.csv.gz"

HELD_OUT_BUCKETS = 5  # one address in five is kept for evaluation
# A safeguard: a point outside this box cannot be a Chicago address (the
# current sources have none, but the City writes 0, 0 where it found no point).
CHICAGO_BOX = (-87.95, 41.64, -87.52, 42.03)
MISSING_ZIP = frozenset({"", "0", "0.0"})


@dataclass(frozen=True)
class Sighting:
    """One record of an address and where the City placed it."""

    address: str
    zipcode: str
    lon: float
    lat: float


def derive_street_index(source: Path, data_dir: Path) -> dict[str, int]:
    """Write the street index from every located address not held out; return counts."""
    sightings = list(read_sightings(source))
    by_address = group_by_address(sightings)
    held_out = [address for address in by_address if is_held_out(address)]
    rows, unreadable = index_rows({a: s for a, s in by_address.items() if not is_held_out(a)})
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / STREETS_FILE
    write_gzip(path, render(rows))
    return {
        "sightings": len(sightings),
        "addresses": len(by_address),
        "held_out_addresses": len(held_out),
        "unreadable_addresses": unreadable,
        "index_rows": len(rows),
        "streets": len({(*row.street, row.street_type) for row in rows}),
        "index_bytes": path.stat().st_size,
    }


def normal_address(address: str) -> str:
    """The City's address in one spelling: upper case, single spaces, no city part."""
    return " ".join(address.split(",")[0].upper().split())


def is_held_out(address: str) -> bool:
    """Whether an address is kept out of the index to evaluate the geocoder on.

    A hash of the normalised address decides, so the same address is held out
    in every source and every run.
    """
    digest = hashlib.sha256(normal_address(address).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % HELD_OUT_BUCKETS == 0


# --- reading the sources -------------------------------------------------------------


def read_sightings(source: Path) -> Iterator[Sighting]:
    yield from legacy_sightings(source / LEGACY)
    yield from open311_2014_sightings(source / OPEN311_2014)
    yield from sample_2021_sightings(source / SAMPLE_2021)


def legacy_sightings(folder: Path) -> Iterator[Sighting]:
    for path in sorted(folder.glob("legacy_*.csv")):
        for row in read_csv(path):
            fields = {key.lower(): value for key, value in row.items()}
            zipcode = fields.get("zip code") or fields.get("zip") or ""
            yield from located(
                fields["street address"], zipcode, fields["longitude"], fields["latitude"]
            )


def open311_2014_sightings(path: Path) -> Iterator[Sighting]:
    for record in json.loads(path.read_text(encoding="utf-8")):
        address = str(record.get("address") or "")
        zipcode = address.rsplit(",", 1)[-1].strip() if address.count(",") >= 3 else ""
        yield from located(
            address, zipcode, str(record.get("long", "")), str(record.get("lat", ""))
        )


def sample_2021_sightings(path: Path) -> Iterator[Sighting]:
    for row in read_csv(path):
        if has_location(row):
            yield from located(
                row["street_address"], row["zip_code"], row["longitude"], row["latitude"]
            )


def located(address: str, zipcode: str, lon: str, lat: str) -> Iterator[Sighting]:
    """A sighting, if the record has an address and a point inside Chicago's box."""
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        return
    west, south, east, north = CHICAGO_BOX
    if normal_address(address) and west <= x <= east and south <= y <= north:
        zipcode = "" if zipcode.strip() in MISSING_ZIP else zipcode.strip()[:5]
        yield Sighting(normal_address(address), zipcode, x, y)


# --- the index ---------------------------------------------------------------------------


def group_by_address(sightings: Iterable[Sighting]) -> dict[str, list[Sighting]]:
    grouped: dict[str, list[Sighting]] = defaultdict(list)
    for sighting in sightings:
        grouped[sighting.address].append(sighting)
    return grouped


class IndexRow(NamedTuple):
    """One line of the index, in INDEX_COLUMNS order."""

    direction: str
    name: str
    street_type: str
    number: int
    longitude: str
    latitude: str
    zipcode: str

    @property
    def street(self) -> tuple[bool, str]:
        """The street regardless of type: its axis (north-south or not) and name."""
        return self.direction in "NS", self.name


def index_rows(by_address: dict[str, list[Sighting]]) -> tuple[list[IndexRow], int]:
    """One row per address the geocoder's parser reads; and how many it could not."""
    rows, unreadable = [], 0
    for address, sightings in by_address.items():
        row = index_row(address, sightings)
        if row is None:
            unreadable += 1
        else:
            rows.append(row)
    rows = fill_missing_types(repair_names(rows))
    rows.sort(key=lambda row: (row.name, row.street_type, row.direction, row.number))
    return rows, unreadable


def index_row(address: str, sightings: list[Sighting]) -> IndexRow | None:
    """The City's address split as the geocoder reads it, at its median point."""
    parsed = parse_address(address)
    if parsed is None or parsed.direction is None:
        return None  # "UNITY PARK": no number, or no side of State or Madison
    lon = statistics.median(s.lon for s in sightings)
    lat = statistics.median(s.lat for s in sightings)
    return IndexRow(
        parsed.direction,
        parsed.name,
        parsed.street_type or "",
        parsed.number,
        f"{lon:.6f}",
        f"{lat:.6f}",
        most_common_zip(s.zipcode for s in sightings),
    )


def repair_names(rows: list[IndexRow]) -> list[IndexRow]:
    """Undo two habits of the City's records, where the street they mean is in the index.

    "W BARRY AVE LAKE VIEW EAST" carries the community area after the type;
    "S O" is short for "S AVENUE O".
    """
    known = {(row.street, row.street_type) for row in rows}
    return [_repaired(row, known) for row in rows]


def _repaired(row: IndexRow, known: set[tuple[tuple[bool, str], str]]) -> IndexRow:
    axis, words = row.direction in "NS", row.name.split()
    for index in range(1, len(words)):
        name, street_type = " ".join(words[:index]), STREET_TYPES.get(words[index], "")
        if not row.street_type and street_type and ((axis, name), street_type) in known:
            return row._replace(name=name, street_type=street_type)
    lettered = f"AVENUE {row.name}"
    if len(row.name) == 1 and ((axis, lettered), row.street_type) in known:
        return row._replace(name=lettered)
    return row


def fill_missing_types(rows: list[IndexRow]) -> list[IndexRow]:
    """Give "3447 N LINCOLN" the type the City writes on the rest of its street (AVE).

    An address without a type stays so only where the City mostly writes the
    street that way: N BROADWAY, S AVENUE M.
    """
    counts = Counter((row.street, row.street_type) for row in rows)
    usual: dict[tuple[bool, str], str] = {}
    for (street, street_type), count in sorted(counts.items()):
        if count > counts[(street, usual.get(street, ""))]:
            usual[street] = street_type
    return [row._replace(street_type=row.street_type or usual.get(row.street, "")) for row in rows]


def most_common_zip(zipcodes: Iterable[str]) -> str:
    """The ZIP most records give; the smallest on a tie, so runs agree."""
    counts = Counter(zipcode for zipcode in zipcodes if zipcode)
    return min(counts, key=lambda zipcode: (-counts[zipcode], zipcode)) if counts else ""


def render(rows: list[IndexRow]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the Chicago street index.")
    parser.add_argument("source", type=Path, help="the shared/chicago311 folder")
    parser.add_argument("data_dir", type=Path, nargs="?", default=Path(__file__).parent / "data")
    args = parser.parse_args()
    counts = derive_street_index(args.source, args.data_dir)
    sys.stdout.write("".join(f"{key}: {value}\n" for key, value in counts.items()))


if __name__ == "__main__":
    main()
