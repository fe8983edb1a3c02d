"""Photos from residents: checked, decoded, turned upright, stripped and re-encoded.

Nothing a camera or an attacker put in the file survives: every pixel is
decoded (a truncated file fails here, not in a browser), the image is turned
by its EXIF orientation, converted to sRGB, and written anew without EXIF,
GPS, XMP, ICC, comments or any trailing data. Files that are also something
else a browser, a PDF reader or an unzip tool would act on (HTML, SVG, PDF,
ZIP: a polyglot) are refused, not cleaned: no resident's camera makes them.
Other bytes after the image's end are dropped by the re-encoding, not
refused: phones append their own (a motion photo's video, a maker's trailer).

The GPS position is read before it is thrown away, only to be handed back to
the resident (read_position); it is never stored.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final, TypeVar

from PIL import ExifTags, Image, ImageCms, ImageOps

from open311.errors import InvalidRequest
from open311.models.media import NamedByDigest

# The JPEG opener also reads MPO (a JPEG with more pictures after the first, as some
# phones write a depth map): the first picture is kept.
FORMATS: Final = ("JPEG", "PNG", "WEBP")
# Markers of HTML, SVG, script or PDF: a browser that sniffs the file, a page that
# includes it or a PDF reader would act on them. They are looked for where a file
# can carry text: its metadata and whatever follows the image's end, not the
# compressed pixels, where any short string turns up by chance in some photos.
_MARKUP: Final = re.compile(
    rb"<(?:html|head|body|script|svg|iframe|object|embed|!doctype)[\s>/]|%PDF-", re.IGNORECASE
)
_SRGB: Final = ImageCms.createProfile("sRGB")
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """How big a photo may be, and the sizes kept (settings MEDIA_*)."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    display_edge: int = 2048
    thumbnail_edge: int = 320
    quality: int = 85

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            max_bytes=int(config["MEDIA_MAX_BYTES"]),
            max_pixels=int(config["MEDIA_MAX_PIXELS"]),
            display_edge=int(config["MEDIA_DISPLAY_EDGE"]),
            thumbnail_edge=int(config["MEDIA_THUMBNAIL_EDGE"]),
            quality=int(config["MEDIA_QUALITY"]),
        )


@dataclass(frozen=True)
class Encoded:
    """One re-encoded picture: its bytes and size."""

    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Photo(NamedByDigest):
    """A clean photo, ready to store: a display size and a thumbnail.

    `digest` is the SHA-256 of the display bytes; the files are named
    `<digest>.<ext>` and `<digest>.thumb.<ext>`.
    """

    digest: str
    ext: str
    content_type: str
    display: Encoded
    thumbnail: Encoded


@dataclass(frozen=True)
class Position:
    """Where a photo says it was taken (EXIF GPS), in WGS84 degrees."""

    lat: float
    long: float


def process_all(uploads: Sequence[bytes], limits: Limits) -> tuple[Photo, ...]:
    """Each upload made clean, in order; InvalidRequest naming `media` for the first bad one."""
    return tuple(_numbered(process, uploads, limits))


def positions(uploads: Sequence[bytes], limits: Limits) -> tuple[Position | None, ...]:
    """Where each upload was taken, if it says so; the same checks as filing."""
    return tuple(_numbered(read_position, uploads, limits))


def _numbered(
    step: Callable[[bytes, Limits], T], uploads: Iterable[bytes], limits: Limits
) -> Iterator[T]:
    for number, data in enumerate(uploads, start=1):
        try:
            yield step(data, limits)
        except InvalidRequest as error:
            described = (f"media (file {number}): {d}" for d in error.descriptions)
            raise InvalidRequest(*described) from error


def process(data: bytes, limits: Limits) -> Photo:
    """One upload: checked, decoded, upright, sRGB, stripped, in two sizes."""
    image = _decoded(data, limits)
    icc = image.info.get("icc_profile")
    _turn_upright(image)
    has_alpha = _has_alpha(image)
    # Encoders write some of what they find here (a JPEG comment, a PNG's ICC) and
    # every resized copy inherits it: nothing from the upload may reach the new file.
    image.info = {}
    mode = "RGBA" if has_alpha else "RGB"
    if image.mode != mode:  # (convert copies even to the same mode)
        image = image.convert(mode, dither=Image.Dither.NONE)
    display = _in_srgb(_shrunk(image, limits.display_edge), icc)
    thumbnail = _shrunk(display, limits.thumbnail_edge)
    ext, content_type, encode = (
        ("png", "image/png", _png) if has_alpha else ("jpg", "image/jpeg", _jpeg)
    )
    display_bytes = encode(display, limits.quality)
    return Photo(
        digest=hashlib.sha256(display_bytes).hexdigest(),
        ext=ext,
        content_type=content_type,
        display=Encoded(display_bytes, *display.size),
        thumbnail=Encoded(encode(thumbnail, limits.quality), *thumbnail.size),
    )


def read_position(data: bytes, limits: Limits) -> Position | None:
    """The EXIF GPS position of an upload, if any: the checks of `process` but the
    decoding, which filing does (reading the header is enough here)."""
    image = _checked(data, limits)
    try:
        with _quiet_exif():
            gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # a damaged EXIF block: no position, as with none
        return None
    return _gps_position(gps)


# --- checks and decoding -----------------------------------------------------------------


def _decoded(data: bytes, limits: Limits) -> Image.Image:
    """The fully decoded image, or InvalidRequest saying what is wrong with the file."""
    image = _checked(data, limits)
    try:
        image.load()
    except Exception as error:  # OSError for a short file; anything for a hostile one
        raise InvalidRequest("the image is damaged or cut short; send it again.") from error
    return image


def _checked(data: bytes, limits: Limits) -> Image.Image:
    """The image with its header read and every check but the decoding passed."""
    if not data:
        raise InvalidRequest("the file is empty.")
    if len(data) > limits.max_bytes:
        raise InvalidRequest(f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB.")
    if _has_markup(data) or zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidRequest("the file is also HTML, SVG or a ZIP archive; send a plain photo.")
    return _opened(data, limits)


def _has_markup(data: bytes) -> bool:
    return any(_MARKUP.search(part) for part in readable_parts(data))


def _opened(data: bytes, limits: Limits) -> Image.Image:
    """The image's header read, its format and size checked; no pixel decoded yet."""
    try:
        # Pillow warns past its own pixel limit and raises past twice it; either way the
        # image is refused here, with no warning in the log. (The filter is swapped for
        # the process while the header is read; nothing else raises this warning.)
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidRequest(_too_many_pixels(limits)) from error
    except Exception as error:  # a hostile header can make a decoder raise anything
        raise InvalidRequest(
            "not a photo this server reads: send JPEG, PNG or WebP "
            "(HEIC: phones convert it to JPEG when a web page asks for a photo)."
        ) from error
    width, height = image.size
    if width * height > limits.max_pixels:
        raise InvalidRequest(_too_many_pixels(limits))
    if getattr(image, "is_animated", False) and image.format != "MPO":
        raise InvalidRequest("animated images are not accepted; send a still photo.")
    return image


def _too_many_pixels(limits: Limits) -> str:
    return f"the image has more than {limits.max_pixels:,} pixels."


def readable_parts(data: bytes) -> list[bytes]:
    """The bytes of a JPEG, PNG or WebP file but its compressed pixels (metadata, comments,
    anything after the image's end); all of them when the file cannot be walked."""
    walk = {b"\xff\xd8": _jpeg_parts, b"\x89P": _png_parts, b"RI": _webp_parts}.get(data[:2])
    parts = walk(data) if walk else None
    return [data] if parts is None else parts


def _jpeg_parts(data: bytes) -> list[bytes] | None:
    parts: list[bytes] = []
    position = 2
    while position + 2 <= len(data):
        marker = data[position + 1]
        if data[position] != 0xFF:
            return None
        if marker == 0xD9:  # the end: what follows is not the image
            return [*parts, data[position + 2 :]]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 1 if marker == 0xFF else 2
            continue
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        parts.append(data[position + 4 : end])
        position = _after_scan(data, end) if marker == 0xDA else end
    return None  # no end marker: refused as cut short anyway, so read it all


def _after_scan(data: bytes, position: int) -> int:
    """The next marker after compressed data (FF00 and restart markers belong to it)."""
    while (position := data.find(b"\xff", position)) >= 0 and position + 1 < len(data):
        following = data[position + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return position
        position += 1 if following == 0xFF else 2
    return len(data)


def _png_parts(data: bytes) -> list[bytes] | None:
    return _chunks(data, 8, "big", 12, {b"IDAT", b"fdAT"}, b"IEND")


def _webp_parts(data: bytes) -> list[bytes] | None:
    if data[8:12] != b"WEBP":
        return None
    return _chunks(data, 12, "little", 8, {b"VP8 ", b"VP8L", b"ALPH", b"ANMF"}, None)


def _chunks(
    data: bytes, start: int, order: str, overhead: int, pixels: set[bytes], last: bytes | None
) -> list[bytes] | None:
    """PNG chunks (length, type, data, CRC) or RIFF chunks (type, length, data, pad)."""
    parts: list[bytes] = []
    position = start
    while position + 8 <= len(data):
        if order == "big":
            length, kind = (
                int.from_bytes(data[position : position + 4], "big"),
                data[position + 4 : position + 8],
            )
        else:
            kind, length = (
                data[position : position + 4],
                int.from_bytes(data[position + 4 : position + 8], "little"),
            )
            length += length % 2  # RIFF pads to an even size
        if kind not in pixels:
            parts.append(data[position + 8 : position + 8 + length])
        position += overhead + length
        if kind == last:
            break
    if position > len(data):
        return None
    return [*parts, data[position:]]


# --- the picture -------------------------------------------------------------------------


def _turn_upright(image: Image.Image) -> None:
    """Turn the image in place as its EXIF orientation says; a bad tag is ignored."""
    try:
        with _quiet_exif():
            ImageOps.exif_transpose(image, in_place=True)
    except Exception:  # a damaged EXIF block: left as it is, as with none
        return


def _quiet_exif() -> warnings.catch_warnings[None]:
    """Pillow warns (UserWarning) about damaged EXIF; a resident's photo may have it,
    and then its orientation or position is simply not used."""
    return warnings.catch_warnings(action="ignore", category=UserWarning)


def _has_alpha(image: Image.Image) -> bool:
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    extrema: Any = image.convert("RGBA").getchannel("A").getextrema()  # (low, high)
    return bool(extrema[0] < 255)


def _shrunk(image: Image.Image, edge: int) -> Image.Image:
    """`image` with its long edge at most `edge` pixels, in proportion."""
    width, height = image.size
    scale = edge / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _in_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Colours converted from the file's ICC profile to sRGB, so that the profile
    (which can name the device) may be dropped without the colours shifting."""
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (source.profile.profile_description or "").lower():
            return image  # already sRGB (most Android phones): nothing to convert
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: the pixels as they are
    return converted if converted is not None else image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile= or comment=: the new file carries none.
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def _png(image: Image.Image, _quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    return out.getvalue()


# --- GPS ---------------------------------------------------------------------------------


def _gps_position(gps: dict[int, object]) -> Position | None:
    """EXIF GPS (degrees, minutes, seconds and N/S, E/W) as signed degrees, or None."""
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    long = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or long is None or abs(lat) > 90 or abs(long) > 180:
        return None
    if lat == 0 and long == 0:
        return None  # a phone without a fix writes zeros
    return Position(round(lat, 7), round(long, 7))


def _degrees(value: object, ref: object, negative: str) -> float | None:
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    try:
        degrees, minutes, seconds = (Fraction(float(part)) for part in value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    total = float(degrees + minutes / 60 + seconds / 3600)
    sign = -1 if isinstance(ref, str) and ref.strip().upper() == negative else 1
    return sign * total
