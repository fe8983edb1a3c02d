"""The resident site in a real browser: Debian's chromium driven by Playwright for Python.

One gunicorn per test session serves a SpatiaLite copy seeded like `make run`'s:
the City's real catalogue, help articles, community areas, the demo requests
and the expected times learned from them. No browser is downloaded: Playwright
launches /usr/bin/chromium (`apt-get install chromium`; .ci/run does it).
axe-core comes from npm (`npm pack`) into .cache/ at its pinned version, and
runs on every page a test visits: a serious or critical violation fails it.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from PIL import ExifTags, Image, ImageDraw
from playwright.sync_api import sync_playwright

from open311.accounts.keys import create_key
from open311.config import PROJECT_DIR
from open311.extensions import db
from tests import servers
from tests.conftest import make_app

CHROMIUM = Path(os.environ.get("OPEN311_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_VERSION = "4.10.3"
AXE_CACHE = PROJECT_DIR / ".cache" / f"axe-core-{AXE_VERSION}"
START_TIMEOUT = 60.0
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 800}
# What `make demo-db` runs, in its order (the Makefile's demo-db target), but with the
# City's own dates (no --move-to-now): what the tests find does not move with the day.
SEED_COMMANDS = (
    "load-catalog",
    "load-articles",
    "load-chicago-areas",
    "load-demo",
    "tag-areas",
    "learn-estimates",
)


CITY_HALL = {"latitude": 41.883637, "longitude": -87.630231}  # where the browser says it is
WRIGLEY_FIELD = (41.948438, -87.655334)


def jpeg_taken_at(lat: float, long: float) -> bytes:
    """A phone's JPEG: a GPS IFD in degrees, minutes and seconds, built with Pillow's Exif."""

    def dms(value: float) -> tuple[float, float, float]:
        degrees, rest = divmod(abs(value) * 3600, 3600)
        minutes, seconds = divmod(rest, 60)
        return (degrees, minutes, round(seconds, 4))

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SomePhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
        ExifTags.GPS.GPSLatitude: dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E" if long >= 0 else "W",
        ExifTags.GPS.GPSLongitude: dms(long),
    }
    out = io.BytesIO()
    image = Image.new("RGB", (1600, 1200), (96, 96, 100))  # asphalt, with a hole in it
    ImageDraw.Draw(image).ellipse((500, 450, 1100, 800), fill=(35, 32, 30))
    image.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it has GPS
    return data


@dataclass(frozen=True)
class Site:
    base_url: str
    database_url: str
    media_root: Path
    env: dict[str, str] = field(default_factory=dict)  # the server's, for its other commands

    def url(self, path: str) -> str:
        return self.base_url + path


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=servers.free_port())

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


def send_outbox_until(site: Site, done: Callable[[], bool], timeout: float = 30.0) -> str:
    """The outbox worker as production runs it (`flask open311 send-outbox`, a process of
    its own beside the server, with the server's settings), until `done()`; its output.
    Links in messages name the served site (PUBLIC_BASE_URL)."""
    env = {**site.env, "FLASK_APP": "wsgi:app", "OPEN311_PUBLIC_BASE_URL": site.base_url}
    env["OPEN311_OUTBOX_POLL_SECONDS"] = "0.1"
    log = site.media_root.parent / f"worker-{secrets.token_hex(4)}.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "open311", "send-outbox"],
            cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while not done():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not deliver:\n{log.read_text()}")
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)  # lets the deliveries in flight finish
        worker.wait(30)
    return log.read_text()


def file_by_api(site: Site, address: str, description: str) -> str:
    """A pothole filed through GeoReport by a partner's app with the resident's email;
    its request number."""
    app = make_app(site.database_url)
    with app.app_context():
        _key, plaintext = create_key(db.session(), "A partner's app")
        db.session.commit()
        db.engine.dispose()
    response = requests.post(
        site.url("/open311/v2/requests.json"),
        data={
            "api_key": plaintext, "service_code": "PHF", "lat": "41.8789", "long": "-87.6359",
            "attribute[WHEREIST]": "TRAFFIC", "description": description, "email": address,
        },
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()[0]["service_request_id"])


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's browser build, packed from npm once into .cache/ (gitignored)."""
    target = AXE_CACHE / "axe.min.js"
    if target.is_file():
        return target
    if shutil.which("npm") is None:
        pytest.fail("npm is needed to fetch axe-core (Debian: apt-get install npm)")
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        ["npm", "pack", "--json", f"axe-core@{AXE_VERSION}"],
        cwd=AXE_CACHE,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tarfile.open(AXE_CACHE / json.loads(packed)[0]["filename"]) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        target.write_bytes(member.read())
    return target


@pytest.fixture(scope="session")
def site_database(spatialite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("site") / "open311.sqlite"
    shutil.copy(spatialite_template, path)
    url = f"sqlite:///{path}"
    app = make_app(url)
    runner = app.test_cli_runner()
    for command in SEED_COMMANDS:
        result = runner.invoke(args=["open311", command])
        assert result.exit_code == 0, f"{command}: {result.output}"
    with app.app_context():
        db.engine.dispose()  # the server opens its own connections
    return url


@pytest.fixture(scope="session")
def site(
    site_database: str, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """gunicorn on a free port, serving the seeded database; stopped after the session.
    Its email goes to the SMTP sink."""
    log = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    media_root = tmp_path_factory.mktemp("media")  # photos filed by the tests, not instance/
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_")}
    # No tiles: the tests never reach the network; the map still draws the city.
    env.update(
        OPEN311_DATABASE_URL=site_database,
        OPEN311_MAP_TILES_URL="",
        OPEN311_MEDIA_ROOT=str(media_root),
        OPEN311_SECRET_KEY=secrets.token_urlsafe(32),  # the server refuses to start without one
        SPATIALITE_LIBRARY_PATH="mod_spatialite",
        OPEN311_SMTP_HOST="127.0.0.1",
        OPEN311_SMTP_PORT=str(smtp_sink.controller.port),
    )
    process = servers.start(env, log, "--workers", "2", "wsgi:app")
    try:
        base_url = servers.wait_until_serving(process, log, "/", START_TIMEOUT, poll=0.2)
        yield Site(base_url, site_database, media_root, env)
    finally:
        servers.stop(process)
    servers.fail_on_errors(log, "the site")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Axe:
    """Runs axe-core on the page it is given; collects serious and critical violations.

    axe is evaluated through the DevTools protocol (page.evaluate of its text), which
    a page's Content-Security-Policy does not govern: the pages keep their real CSP,
    and each check also fails on any violation of it the page reported (new_page).
    """

    def __init__(self, script: Path) -> None:
        self.source = script.read_text(encoding="utf-8")
        self.checked: list[str] = []

    def check(self, page: Any) -> None:
        page.wait_for_load_state("load")  # never inject into a page still navigating
        assert page.evaluate("window.__cspViolations") == [], page.url
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(self.source)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        self.checked.append(page.url)
        assert not bad, f"{page.url}:\n" + "\n".join(
            f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in bad
        )


@pytest.fixture
def axe(axe_script: Path) -> Axe:
    return Axe(axe_script)


@pytest.fixture
def errors_on_page() -> list[str]:
    return []


# Before any script of the page: every report of the page's Content-Security-Policy is
# kept for Axe.check and logged as a console error for errors_on_page.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  var report = event.violatedDirective + " blocked " + (event.blockedURI || "inline");
  window.__cspViolations.push(report);
  console.error("CSP violation: " + report);
});
"""


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression until it is true. page.wait_for_function evaluates
    its text with eval inside the page, which the site's CSP (no 'unsafe-eval') refuses;
    page.evaluate goes through the DevTools protocol, which the CSP does not govern."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url}: never true: {expression}")
        time.sleep(0.05)


def new_page(browser: Any, errors: list[str], **context: Any) -> Any:
    """A page in a fresh context, under the site's real CSP; console errors (CSP
    violations among them) and failed scripts are collected."""
    page = browser.new_context(**context).new_page()
    page.add_init_script(CSP_WATCH)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page
