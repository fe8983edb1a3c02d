"""The photo pipeline on its own: what comes out, and what is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from open311.errors import InvalidRequest
from open311.media import pipeline
from tests.media import photos

LIMITS = pipeline.Limits()


def test_a_phone_photo_comes_out_upright_stripped_and_in_two_sizes():
    sent = photos.jpeg(
        (4000, 3000),
        gps=photos.CITY_HALL_GPS,
        orientation=6,
        comment=b"secret-comment",
        icc=True,
        xmp=True,
    )
    photo = pipeline.process(sent, LIMITS)
    # Orientation 6 (turn 90 degrees clockwise): the 4000x3000 landscape is a portrait.
    assert (photo.display.width, photo.display.height) == (1536, 2048)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (240, 320)
    shown = Image.open(io.BytesIO(photo.display.data))
    assert shown.size == (1536, 2048)
    # Turned clockwise, the red left half is now at the top and the blue at the bottom.
    assert shown.getpixel((768, 100))[0] > 180
    assert shown.getpixel((768, 1948))[2] > 180
    for data in (photo.display.data, photo.thumbnail.data):
        opened = Image.open(io.BytesIO(data))
        assert opened.format == "JPEG"
        assert not opened.getexif()
        assert set(opened.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
        for secret in (
            b"Exif",
            b"SecretPhoneMaker",
            b"secret-comment",
            b"secret-xmp",
            b"ICC_PROFILE",
            b"http://ns.adobe.com",
        ):
            assert secret not in data
    assert photo.name == f"{photo.digest}.jpg"
    assert photo.thumbnail_name == f"{photo.digest}.thumb.jpg"


def test_file_names_are_the_hash_of_the_reencoded_bytes():
    import hashlib

    photo = pipeline.process(photos.jpeg(), LIMITS)
    assert photo.digest == hashlib.sha256(photo.display.data).hexdigest()
    assert pipeline.process(photos.jpeg(), LIMITS).digest == photo.digest  # same photo, same name


def test_small_photos_keep_their_size():
    photo = pipeline.process(photos.jpeg((300, 200)), LIMITS)
    assert (photo.display.width, photo.display.height) == (300, 200)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (300, 200)


def test_png_and_webp_are_read_transparency_is_kept_as_png():
    opaque = pipeline.process(photos.png(), LIMITS)
    assert opaque.ext == "jpg"
    clear = pipeline.process(photos.png(alpha=True), LIMITS)
    assert (clear.ext, clear.content_type) == ("png", "image/png")
    assert Image.open(io.BytesIO(clear.display.data)).mode == "RGBA"
    moving = pipeline.process(photos.webp(gps=photos.CITY_HALL_GPS), LIMITS)
    assert moving.ext == "jpg"
    assert b"Exif" not in moving.display.data


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: photos.jpeg(gps=photos.CITY_HALL_GPS), photos.CITY_HALL),
        (lambda: photos.webp(gps=photos.CITY_HALL_GPS), photos.CITY_HALL),
        (lambda: photos.jpeg(), None),
        (lambda: photos.png(), None),
    ],
)
def test_the_gps_position_is_read_before_it_is_stripped(make, expected):
    position = pipeline.read_position(make(), LIMITS)
    assert (position and (position.lat, position.long)) == expected


def test_a_position_of_zeros_or_out_of_range_is_no_position():
    from PIL import ExifTags

    zeros = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (0.0, 0.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (0.0, 0.0, 0.0),
    }
    beyond = {**photos.CITY_HALL_GPS, ExifTags.GPS.GPSLatitude: (95.0, 0.0, 0.0)}
    assert pipeline.read_position(photos.jpeg(gps=zeros), LIMITS) is None
    assert pipeline.read_position(photos.jpeg(gps=beyond), LIMITS) is None


def test_bytes_after_the_image_are_dropped_not_kept():
    # A phone's motion photo appends its video after the JPEG: the re-encoding drops it.
    photo = pipeline.process(photos.jpeg() + b"ftypmp42" + b"\x01" * 5000, LIMITS)
    assert b"ftypmp42" not in photo.display.data


BAD = {
    "empty": (b"", "empty"),
    "not an image": (b"hello, this is text", "not a photo"),
    "svg": (photos.SVG, "HTML, SVG"),
    "truncated": (photos.jpeg((800, 600))[:-3000], "damaged or cut short"),
    "bomb": (photos.png_bomb(), "more than 50,000,000 pixels"),
    "bomb under Pillow's own limit": (photos.png_bomb(9000, 8000), "more than 50,000,000 pixels"),
    # Past Pillow's limit, under twice it: Pillow warns (an error under pytest), then we refuse.
    "bomb Pillow warns about": (photos.png_bomb(10_000, 10_000), "more than 50,000,000 pixels"),
    "png with a zip appended": (photos.png() + photos.zip_archive(), "ZIP"),
    "html in a jpeg comment": (photos.jpeg(comment=b"<script>alert(1)</script>"), "HTML"),
    "html after a jpeg": (photos.jpeg() + b"<html><body>hi</body></html>", "HTML"),
    "pdf after a png": (photos.png() + b"%PDF-1.7\n", "HTML, SVG"),
    "too large": (photos.jpeg() + b"\x00" * (10 * 1024 * 1024), "larger than 10 MB"),
}


@pytest.mark.filterwarnings("error")  # a bomb is refused, not warned about
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_with_a_reason(name):
    data, reason = BAD[name]
    with pytest.raises(InvalidRequest) as refused:
        pipeline.process_all([photos.jpeg(), data], LIMITS)
    [description] = refused.value.descriptions
    assert description.startswith("media (file 2): ")
    assert reason in description


def test_an_animated_image_is_refused():
    frames = [photos.picture((50, 50)), photos.picture((50, 50)).rotate(90)]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidRequest, match="animated"):
        pipeline.process(out.getvalue(), LIMITS)


def test_markup_is_looked_for_in_metadata_and_trailers_not_in_compressed_pixels():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a note")
    out = io.BytesIO()
    photos.picture((64, 64)).save(out, "PNG", pnginfo=info)
    data = out.getvalue()
    idat = data.index(b"IDAT")
    pixels = data[idat + 4 : idat + 20]
    parts = pipeline.readable_parts(data + b"after")
    assert any(b"a note" in part for part in parts)
    assert parts[-1] == b"after"
    assert not any(pixels in part for part in parts)
    jpeg = photos.jpeg(comment=b"a jpeg note")
    jpeg_parts = pipeline.readable_parts(jpeg + b"tail")
    assert any(b"a jpeg note" in part for part in jpeg_parts)
    assert jpeg_parts[-1] == b"tail"
    assert sum(map(len, jpeg_parts)) < len(jpeg) / 2  # the scan data is left out
    webp_parts = pipeline.readable_parts(photos.webp(gps=photos.CITY_HALL_GPS))
    assert any(b"Exif" in part or b"MM\x00*" in part or b"II*\x00" in part for part in webp_parts)
    assert pipeline.readable_parts(b"\xff\xd8 not a jpeg") == [b"\xff\xd8 not a jpeg"]


@pytest.mark.filterwarnings("error")
def test_damaged_photos_are_refused_or_cleaned_never_an_unexpected_error():
    """Bytes changed at random in photos with EXIF, GPS and ICC: every result is a
    clean photo or an InvalidRequest (a 400), with no warning either way."""
    import random

    rng = random.Random(311)
    bases = [
        photos.jpeg((200, 150), gps=photos.CITY_HALL_GPS, orientation=6, icc=True),
        photos.png((120, 90), alpha=True),
        photos.webp((120, 90), gps=photos.CITY_HALL_GPS),
    ]
    outcomes = {"clean": 0, "refused": 0}
    for _ in range(150):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        for step in (pipeline.process, pipeline.read_position):
            try:
                step(bytes(data), LIMITS)
            except InvalidRequest:
                outcomes["refused"] += 1
            else:
                outcomes["clean"] += 1
    assert outcomes["clean"] > 0
    assert outcomes["refused"] > 0
