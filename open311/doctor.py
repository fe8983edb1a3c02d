"""`python -m open311.doctor`: fail early, and clearly, if SQLite cannot load SpatiaLite."""

from __future__ import annotations

import os
import sys


def check_spatialite() -> str:
    import sqlean

    connection = sqlean.connect(":memory:")
    connection.enable_load_extension(True)
    connection.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))
    version: str = connection.execute("SELECT spatialite_version()").fetchone()[0]
    return version


def main() -> int:
    try:
        version = check_spatialite()
    except Exception as error:  # any failure here means the same thing to the user
        print(
            f"SQLite could not load SpatiaLite ({error}).\n"
            "Install it (Debian: apt-get install libsqlite3-mod-spatialite) or set "
            "SPATIALITE_LIBRARY_PATH to the mod_spatialite library.",
            file=sys.stderr,
        )
        return 1
    print(f"SpatiaLite {version} loads: the embedded database will work.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
