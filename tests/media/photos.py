"""Photos made with Pillow for the tests: no binary fixtures."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import ExifTags, Image, ImageCms

# 121 N LaSalle St, Chicago City Hall, as a phone writes it: degrees, minutes, seconds.
CITY_HALL_GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (41.0, 53.0, 1.0939),
    ExifTags.GPS.GPSLongitudeRef: "W",
    ExifTags.GPS.GPSLongitude: (87.0, 37.0, 48.8316),
}
CITY_HALL = (41.8836372, -87.6302310)  # what those degrees, minutes and seconds are
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>secret-xmp</x:xmpmeta>'


def picture(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    """A picture with a gradient, so that re-encoding has something to keep: the left
    half red, the right half blue (to check the orientation)."""
    width, height = size
    image = Image.new(mode, size, (220, 30, 30, 255) if mode == "RGBA" else (220, 30, 30))
    image.paste(
        (30, 30, 220) if mode == "RGB" else (30, 30, 220, 128), (width // 2, 0, width, height)
    )
    return image


def jpeg(
    size: tuple[int, int] = (640, 480),
    *,
    gps: dict[int, object] | None = None,
    orientation: int | None = None,
    comment: bytes = b"",
    icc: bool = False,
    xmp: bool = False,
) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhoneMaker"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = gps
    options: dict[str, object] = {"exif": exif, "quality": 90}
    if comment:
        options["comment"] = comment
    if icc:
        options["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if xmp:
        options["xmp"] = XMP
    out = io.BytesIO()
    picture(size).save(out, "JPEG", **options)
    return out.getvalue()


def png(size: tuple[int, int] = (400, 300), *, alpha: bool = False) -> bytes:
    out = io.BytesIO()
    picture(size, "RGBA" if alpha else "RGB").save(out, "PNG")
    return out.getvalue()


def webp(size: tuple[int, int] = (400, 300), *, gps: dict[int, object] | None = None) -> bytes:
    exif = Image.Exif()
    if gps:
        exif[ExifTags.IFD.GPSInfo] = gps
    out = io.BytesIO()
    picture(size).save(out, "WEBP", quality=80, exif=exif)
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<p>not a photo</p>")
    return out.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG header claiming width x height pixels, in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
