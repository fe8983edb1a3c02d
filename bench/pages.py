"""The resident site's pages against the API's JSON of the same data, in server time.

    .venv/bin/python -m bench.pages [--rounds 200]

On the embedded default (a fresh SpatiaLite file holding the Chicago catalogue and its
areas, as `make run` serves), one pothole is filed through the API with a photo, then
each page is asked for in turn, in this process, through the app itself (no sockets:
what is timed is the server's work, from WSGI call to the last byte of the body):

- the service form (GET /services/PHF: the definition, its articles, the controls)
  against GET /open311/v2/services/PHF.json (the same definition as JSON);
- the track page (GET /requests/<number>: status, range, photos, timeline) against
  GET /open311/v2/requests/<number>.json?extensions=true (the same request as JSON).

Target (issue 12): each page at most 2x its JSON. The medians of the rounds are compared;
the calls take turns, so a burst of other work on the machine slows both alike.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from bench.measure import timed
from bench.seed import bench_config, prepare
from open311 import create_app
from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.extensions import db

TARGET = 2.0
CITY_HALL = {"lat": "41.883811", "long": "-87.631749"}


def served_app(folder: Path) -> Flask:
    url = f"sqlite:///{folder / 'open311.sqlite'}"
    catalog = prepare(url)
    # One log line per request on both sides would time the terminal, not the server.
    settings = {"CATALOG_DIR": str(catalog), "MEDIA_ROOT": str(folder / "media")}
    app = create_app({**bench_config(url), **settings, "LOG_LEVEL": "WARNING"})
    # The benchmark asks one address hundreds of times a second: limits it cannot reach.
    for kind in ("READS", "SEARCHES", "WRITES"):
        app.config[f"RATE_LIMIT_{kind}_PER_ADDRESS"] = "1000000 per minute"
    return app


def file_a_pothole(app: Flask, client: FlaskClient) -> str:
    with app.app_context():
        begin_write(db.session())
        _, key = create_key(db.session(), "Benchmark client")
        db.session.commit()
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 90, 90)).save(photo, "JPEG")
    form = {
        "api_key": key,
        "service_code": "PHF",
        **CITY_HALL,
        "attribute[WHEREIST]": "TRAFFIC",
        "description": "Deep pothole in the right lane",
        "media": (io.BytesIO(photo.getvalue()), "hole.jpg"),
    }
    filed = client.post("/open311/v2/requests.json", data=form, content_type="multipart/form-data")
    assert filed.status_code == 200, filed.data
    number: str = filed.json[0]["service_request_id"]  # type: ignore[index]
    return number


def getter(client: FlaskClient, path: str) -> Callable[[], bytes]:
    def get() -> bytes:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.data

    return get


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args(argv).rounds
    with tempfile.TemporaryDirectory() as folder:
        app = served_app(Path(folder))
        client = app.test_client()
        number = file_a_pothole(app, client)
        pairs = {
            "service form": ("/services/PHF", "/open311/v2/services/PHF.json"),
            "track page": (
                f"/requests/{number}",
                f"/open311/v2/requests/{number}.json?extensions=true",
            ),
        }
        calls = {
            f"{name} {kind}": getter(client, path)
            for name, paths in pairs.items()
            for kind, path in zip(("page", "json"), paths, strict=True)
        }
        found = timed(calls, warmup=20, repeat=rounds)
        with app.app_context():
            db.engine.dispose()
    worst = 0.0
    for name, (page_path, json_path) in pairs.items():
        page, json = found[f"{name} page"].median, found[f"{name} json"].median
        ratio = page / json
        worst = max(worst, ratio)
        print(f"{name}: {rounds} rounds, median server time")
        print(f"  {page_path:<40} {page:7.2f} ms")
        print(f"  {json_path:<40} {json:7.2f} ms")
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"  ratio {ratio:.2f}x  (target <= {TARGET:g}x: {verdict})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
