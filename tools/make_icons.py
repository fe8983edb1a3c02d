"""Draw the site's app icons (the web app manifest's PNGs) from the star of icon.svg.

Run once after changing the icon: `python tools/make_icons.py`. The PNGs are
committed; Pillow is already a dependency (the photo pipeline).

The square is filled to the edge so one file serves as a "maskable" icon too:
the star stays inside the centre circle (80% of the width) a launcher may crop to.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

WEB_STATIC = Path(__file__).resolve().parent.parent / "open311" / "static" / "web"
BLUE = (26, 68, 128)  # #1a4480, USWDS primary-dark: the site's header
WHITE = (255, 255, 255)
# The star of icon.svg, in its 32-unit box.
STAR = [
    (16, 5), (18.4, 12.4), (26, 12.4), (19.8, 16.9), (22.2, 24.2),
    (16, 19.7), (9.8, 24.2), (12.2, 16.9), (6, 12.4), (13.6, 12.4),
]  # fmt: skip
SIZES = (192, 512)
SUPERSAMPLE = 4  # drawn large, then shrunk: smooth edges without an SVG renderer


def icon(size: int) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGB", (big, big), BLUE)
    scale = big / 32
    # The star is drawn a little smaller than in the favicon and centred, for the safe zone.
    shrink, offset = 0.8, big * 0.1
    points = [(x * scale * shrink + offset, (y + 0.9) * scale * shrink + offset) for x, y in STAR]
    ImageDraw.Draw(image).polygon(points, fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for size in SIZES:
        path = WEB_STATIC / f"icon-{size}.png"
        icon(size).save(path, "PNG", optimize=True)
        print(path)


if __name__ == "__main__":
    main()
