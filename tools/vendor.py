"""Copy the site's third-party browser files from their npm packages into open311/static/vendor/.

    python tools/vendor.py          # npm pack the pinned versions, copy, write MANIFEST
    python tools/vendor.py --check  # exit 1 if the committed files differ from the packages

No CDN and no node_modules: `npm pack` downloads each package's tarball into a
temporary folder, and only the files the pages use are copied, with the
package's licence. MANIFEST.json records each version, its npm integrity hash
and the files taken, so a reviewer can see what is vendored and from where.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "open311" / "static" / "vendor"

# package → (pinned version, folder under vendor/, [(path in the package, path under the folder)])
# USWDS: the compiled stylesheet and what it refers to that our pages can show (the icons
# of form controls and alerts, the two type families the theme uses). Its JavaScript is
# not taken: our pages use no USWDS component that needs it (the header has no
# collapsing menu), which keeps the first visit's CSS and JS under 120 KB compressed.
_USWDS_ICONS = [
    "expand_more",
    "close",
    "error",
    "info",
    "warning",
    "search",
    "check_circle",
    "navigate_next",
    "navigate_before",
    "arrow_back",
    "launch",
    "remove",
    "add",
    "expand_less",
    "unfold_more",
    "navigate_far_next",
    "navigate_far_before",
    "calendar_today",
]
_USWDS_FONTS = [
    f"source-sans-pro/sourcesanspro-{weight}-webfont.woff2"
    for weight in ("regular", "bold", "italic", "bolditalic", "light", "lightitalic")
] + [
    f"merriweather/Latin-Merriweather-{weight}.woff2"
    for weight in ("Regular", "Bold", "Italic", "BoldItalic", "Light", "LightItalic")
]
_USWDS_IMAGES = [f"usa-icons/{name}.svg" for name in _USWDS_ICONS] + [
    "usa-icons-bg/error--white.svg",
    "usa-icons-bg/launch--white.svg",
    "usa-icons-bg/check--blue-60v.svg",
    "correct8.svg",
    "correct8-alt.svg",
    "checkbox-indeterminate.svg",
    "checkbox-indeterminate-alt.svg",
    "loader.svg",
]
PACKAGES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "@uswds/uswds": (
        "3.14.0",
        "uswds",
        [
            ("LICENSE.md", "LICENSE.md"),
            ("dist/css/uswds.min.css", "css/uswds.min.css"),
            *((f"dist/fonts/{font}", f"fonts/{font}") for font in _USWDS_FONTS),
            *((f"dist/img/{image}", f"img/{image}") for image in _USWDS_IMAGES),
        ],
    ),
    "leaflet": (
        "1.9.4",
        "leaflet",
        [
            ("LICENSE", "LICENSE"),
            ("dist/leaflet.js", "leaflet.js"),
            ("dist/leaflet.css", "leaflet.css"),
            *(
                (f"dist/images/{image}", f"images/{image}")
                for image in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")
            ),
        ],
    ),
    # The console's dashboard charts (MIT). The UMD build needs no bundler, uses no eval
    # and injects no style element, so it runs under the pages' CSP (script-src 'self').
    "chart.js": (
        "4.6.2",
        "chartjs",
        [("LICENSE.md", "LICENSE.md"), ("dist/chart.umd.min.js", "chart.umd.min.js")],
    ),
}


def fetch(package: str, version: str, into: Path) -> tuple[Path, str]:
    """`npm pack` the package into `into`; the unpacked folder and npm's integrity hash."""
    output = subprocess.run(
        ["npm", "pack", "--json", f"{package}@{version}"],
        cwd=into,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packed = json.loads(output)[0]
    unpacked = into / packed["name"].replace("/", "_")
    with tarfile.open(into / packed["filename"]) as archive:
        archive.extractall(unpacked, filter="data")
    return unpacked / "package", packed["integrity"]


def vendor(check: bool) -> int:
    manifest: dict[str, object] = {}
    differences = []
    with tempfile.TemporaryDirectory() as temp:
        for package, (version, folder, files) in PACKAGES.items():
            source, integrity = fetch(package, version, Path(temp))
            target = VENDOR / folder
            digests = {}
            for inside, outside in files:
                data = (source / inside).read_bytes()
                digests[outside] = hashlib.sha256(data).hexdigest()
                path = target / outside
                if check:
                    if not path.is_file() or path.read_bytes() != data:
                        differences.append(str(path.relative_to(ROOT)))
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            manifest[package] = {
                "version": version,
                "integrity": integrity,
                "folder": folder,
                "sha256": digests,
            }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    manifest_path = VENDOR / "MANIFEST.json"
    if check:
        if not manifest_path.is_file() or manifest_path.read_text() != text:
            differences.append(str(manifest_path.relative_to(ROOT)))
        for path in differences:
            print(f"differs from its package: {path}", file=sys.stderr)
        return 1 if differences else 0
    manifest_path.write_text(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of copying")
    if shutil.which("npm") is None:
        print("npm is needed (Debian: apt-get install npm)", file=sys.stderr)
        return 1
    return vendor(parser.parse_args().check)


if __name__ == "__main__":
    sys.exit(main())
