"""The photo pipeline on a 12-megapixel JPEG against Pillow's own work on the same file.

    .venv/bin/python -m bench.photos [--rounds 9]

Ours (open311.media.pipeline.process): the checks (size, markup, ZIP, format,
pixels), the full decode, the EXIF orientation, the display size (long edge
2,048 px), the sRGB conversion, the thumbnail (320 px), both JPEG encodings and
the SHA-256 name. The limit, measured in the same run on the same bytes:
Pillow alone decoding the file, resizing it to the same display size with the
same filter, and encoding it at the same quality, which any server that keeps a
smaller copy must do. Target: ours at most 1.3x that. Both run in turn, round
after round, and the medians of their CPU time are compared. The GPS read (positions endpoint)
is timed too: it decodes no pixel.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from PIL import ExifTags, Image, ImageCms, ImageFilter

from open311.media import pipeline

SIZE = (4000, 3000)  # 12 MP, a phone's usual photo
TARGET = 1.3
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (41.0, 53.0, 1.0939),
    ExifTags.GPS.GPSLongitudeRef: "W",
    ExifTags.GPS.GPSLongitude: (87.0, 37.0, 48.8316),
}


def phone_photo(orientation: int = 1) -> bytes:
    """A 12 MP JPEG with a phone's metadata and detail enough to compress like a photo
    (blurred noise over gradients: a flat picture would decode unrealistically fast)."""
    noise = Image.effect_noise(SIZE, 60).filter(ImageFilter.GaussianBlur(1.2))
    red = Image.linear_gradient("L").resize(SIZE)
    blue = red.transpose(Image.Transpose.ROTATE_90).resize(SIZE)
    photo = Image.merge("RGB", (Image.blend(red, noise, 0.5), noise, Image.blend(blue, noise, 0.5)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = GPS
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92, exif=exif, icc_profile=icc)
    return out.getvalue()


def pillow_alone(data: bytes, limits: pipeline.Limits) -> bytes:
    """Decode, resize to the display size with our filter, encode at our quality."""
    image = Image.open(io.BytesIO(data))
    scale = limits.display_edge / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=limits.quality)
    return out.getvalue()


def timed(step: Callable[[], object]) -> float:
    """CPU milliseconds of this process: the machine's other work does not count
    (Pillow's codecs and resizing run in this thread)."""
    started = time.process_time()
    step()
    return (time.process_time() - started) * 1000


def measure(data: bytes, rounds: int) -> tuple[list[float], list[float], list[float]]:
    limits = pipeline.Limits()
    ours, theirs, gps = [], [], []
    pipeline.process(data, limits)  # warm both up: first calls load codecs
    pillow_alone(data, limits)
    for _ in range(rounds):
        ours.append(timed(lambda: pipeline.process(data, limits)))
        theirs.append(timed(lambda: pillow_alone(data, limits)))
        gps.append(timed(lambda: pipeline.read_position(data, limits)))
    return ours, theirs, gps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.photos", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--rounds", type=int, default=9)
    options = parser.parse_args(argv)
    for orientation, label in ((1, "upright"), (6, "turned (EXIF orientation 6)")):
        data = phone_photo(orientation)
        ours, theirs, gps = measure(data, options.rounds)
        ratio = statistics.median(ours) / statistics.median(theirs)
        verdict = "met" if ratio <= TARGET else "NOT MET"
        print(
            f"12 MP JPEG, {len(data) / 1e6:.1f} MB, {label}, {options.rounds} rounds"
            " (median CPU time):\n"
            f"  pipeline (ours)                    {statistics.median(ours):7.1f} ms\n"
            f"  Pillow decode + resize + encode    {statistics.median(theirs):7.1f} ms\n"
            f"  ratio                              {ratio:7.2f}x  (target <= {TARGET}x: {verdict})"
            "\n"
            f"  GPS position only (no decode)      {statistics.median(gps):7.1f} ms",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
