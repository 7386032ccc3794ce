"""Every bad or unusual upload gets a specific message or is normalised to RGB/L, as issue 6 lists."""

from __future__ import annotations

import io
import re
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from receipt_core.data.images import ALLOWED_FORMATS, ImageLoadError, image_header, load_image, upright_size


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _receipt_like(size=(300, 400)) -> Image.Image:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)  # noise: JPEG can't shrink it
    return Image.fromarray(pixels)


def _png_with_header_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR claims width×height (CRC fixed), like a decompression bomb's header."""
    data = bytearray(_encode(Image.new("L", (10, 10), 255), "PNG"))
    ihdr_start = 8 + 4  # signature, chunk length
    data[ihdr_start + 4: ihdr_start + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr_start: ihdr_start + 4 + 13]))
    data[ihdr_start + 4 + 13: ihdr_start + 4 + 13 + 4] = struct.pack(">I", crc)
    return bytes(data)


def test_empty_file_is_refused_with_size():
    with pytest.raises(ImageLoadError, match=r"empty file \(0 bytes\)"):
        load_image(b"", "receipt.jpg")


def test_truncated_jpeg_says_truncated():
    full = _encode(_receipt_like(), "JPEG", quality=90)
    with pytest.raises(ImageLoadError, match=r"'cut.jpg' is a truncated JPEG file.*Upload the complete file"):
        load_image(full[: len(full) // 2], "cut.jpg")


@pytest.mark.parametrize("name", ["tiff-jpeg-missing-dimensions.tif", "tiff-lzw-missing-dimensions.tif",
                                  "gif-index-out-of-range.gif"])
def test_a_file_pillow_trips_over_is_refused_as_damaged(name):
    """A fuzzer's finds (tests/damaged_images/): Pillow raised TypeError or IndexError on them, which passed the
    upload checks and aborted a whole import or OCR batch with "unexpected IndexError"."""
    data = (Path(__file__).parent / "damaged_images" / name).read_bytes()
    kind = "GIF" if name.endswith(".gif") else "TIFF"
    with pytest.raises(ImageLoadError) as refused:
        load_image(data, name)
    assert re.fullmatch(rf"'{re.escape(name)}' is a damaged {kind} file( \([^)]+\))?\. Upload the complete file "
                        r"again\.", str(refused.value)), str(refused.value)
    assert "cut off" not in str(refused.value)


def test_text_file_named_png_is_not_an_image():
    with pytest.raises(ImageLoadError, match=r"'notes.png' is not an image.*text file, or an image damaged or in"):
        load_image(b"TOTAL 12.50\nthanks for shopping\n", "notes.png")


@pytest.mark.parametrize("fmt, kind", [("AVIF", "an AVIF"), ("JPEG2000", "a JPEG 2000"), ("ICO", "an ICO (icon)")])
def test_an_image_in_a_format_outside_the_list_is_named_with_what_to_do(fmt, kind):
    """Pillow writes these, but the app reads only its list: a probe's AVIF (what an iPhone may save) was called
    "damaged or in another format"."""
    data = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(data, fmt)
    with pytest.raises(ImageLoadError, match=re.escape(f"'x.png' is {kind} image, a format this app does not read") +
                       r".*export or convert it as JPEG or PNG"):
        load_image(data.getvalue(), "x.png")


def test_pdf_is_refused_with_export_advice():
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with pytest.raises(ImageLoadError, match=r"PDFs are not supported. Export the receipt page as a PNG or JPEG"):
        load_image(pdf, "scan.pdf")


def test_decompression_bomb_is_refused_from_the_header_before_decoding():
    bomb = _png_with_header_size(20_000, 20_000)
    start = time.perf_counter()
    with pytest.raises(ImageLoadError, match=r"has 400,000,000 pixels, over the limit of 40,000,000 pixels; it was refused before decoding"):
        load_image(bomb, "bomb.png")
    assert time.perf_counter() - start < 1.0  # nothing was decoded (400 M pixels would take seconds)


def test_pixel_limit_is_configurable():
    data = _encode(Image.new("L", (300, 300), 255), "PNG")
    with pytest.raises(ImageLoadError, match=r"300×300 = 90,000 pixels, over the limit of 50,000"):
        load_image(data, "scan.png", max_pixels=50_000)


@pytest.mark.parametrize("size", [(1, 1), (400, 3)])
def test_tiny_image_is_too_small_for_text(size):
    with pytest.raises(ImageLoadError, match=rf"{size[0]}×{size[1]} pixels, too small to contain legible text"):
        load_image(_encode(Image.new("RGB", size, "white"), "PNG"), "dot.png")


def test_blank_white_image_is_valid():
    loaded = load_image(_encode(Image.new("RGB", (400, 600), "white"), "PNG"), "blank.png")
    assert (loaded.width, loaded.height, loaded.format, loaded.image.mode) == (400, 600, "PNG", "RGB")


def test_animated_gif_reads_first_frame_with_a_note():
    frames = [Image.new("RGB", (60, 40), color) for color in ("red", "green", "blue")]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image(data, "anim.gif")
    assert loaded.note == "animated GIF: only the first frame was read"
    assert image_header(data) == ("GIF", loaded.note)
    assert loaded.image.mode == "RGB"
    first = _encode(frames[0], "GIF")
    assert loaded.image.getpixel((5, 5)) == load_image(first).image.getpixel((5, 5)) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (80, 60), (0, 255, 255, 0))  # pure red in CMYK
    loaded = load_image(_encode(cmyk, "JPEG", quality=95), "cmyk.jpg")
    assert loaded.image.mode == "RGB"
    r, g, b = loaded.image.getpixel((40, 30))
    assert r > 200 and g < 60 and b < 60


def test_16_bit_png_is_scaled_not_clipped():
    values = np.full((50, 64), 32896, dtype=np.uint16)  # mid-grey in 16 bits
    values[:, :32] = 65535
    data = _encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    loaded = load_image(data, "deep.png")
    assert loaded.image.mode == "L"
    assert loaded.image.getpixel((10, 10)) == 255 and loaded.image.getpixel((50, 10)) == 128


def test_palette_png_with_transparency_is_flattened_onto_white():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 20, 40))  # left half red, right half index 0 (black but transparent)
    data = _encode(image, "PNG", transparency=0)
    loaded = load_image(data, "pal.png")
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((5, 5)) == (255, 0, 0)
    assert loaded.image.getpixel((35, 5)) == (255, 255, 255)


def test_exif_rotated_photo_is_turned_upright():
    image = Image.new("RGB", (200, 100), "white")
    image.paste((255, 0, 0), (0, 0, 100, 100))  # red left half as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    data = _encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(data, "phone.jpg")
    assert (loaded.width, loaded.height) == (100, 200)
    assert upright_size(data) == (100, 200) and upright_size(b"no image") is None  # from the header alone
    top, bottom = loaded.image.getpixel((50, 20)), loaded.image.getpixel((50, 180))
    assert top[0] > 200 and top[1] < 60 and bottom == pytest.approx((255, 255, 255), abs=10)


def test_sha256_is_of_the_raw_bytes():
    import hashlib

    data = _encode(Image.new("L", (30, 30), 128), "PNG")
    assert load_image(data).sha256 == hashlib.sha256(data).hexdigest()


def test_large_header_under_pillows_own_limit_is_refused_by_ours_with_its_size():
    with pytest.raises(ImageLoadError, match=r"'big.png' has 7000×7000 = 49,000,000 pixels, over the limit"):
        load_image(_png_with_header_size(7000, 7000), "big.png")


def test_a_gif_of_many_frames_is_read_without_walking_them(monkeypatch):
    """A probe's GIF of 200,000 one-pixel frames took a second per read to count them (Pillow's ``n_frames`` walks
    every frame); only the first frame is read, and only whether there is a second is asked."""
    from PIL import GifImagePlugin

    def counted(self):
        raise AssertionError("n_frames walks every frame")

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "n_frames", property(counted))
    frames = [Image.new("L", (8, 8), shade) for shade in (0, 255, 0)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)
    loaded = load_image(data, "many.gif")
    assert loaded.note == "animated GIF: only the first frame was read"
    assert image_header(data) == ("GIF", loaded.note)


def test_damage_inside_a_jpeg_is_not_said_to_be_a_cut_off_upload():
    full = _encode(_receipt_like(), "JPEG", quality=90)
    zeroed = full[:200] + bytes(500) + full[700:]  # a probe's: the file is whole, its header's tables zeroed
    with pytest.raises(ImageLoadError) as refused:
        load_image(zeroed, "zeroed.jpg")
    assert str(refused.value) == "'zeroed.jpg' is a damaged JPEG file (cannot load this image). Upload the complete " \
                                 "file again."


def test_the_uploaders_take_every_extension_pillow_gives_the_formats_the_app_reads():
    """A probe's real JPEG named .JFIF was refused by the uploader ("image/jpeg files are not allowed") before the
    app could read it; the content is what load_image checks."""
    from ui.shared import UPLOAD_TYPES

    readable = {ext.lstrip(".") for ext, kind in Image.registered_extensions().items() if kind in ALLOWED_FORMATS}
    assert set(UPLOAD_TYPES) == readable | {"pdf"}  # pdf: taken only to say how to make an image of it
    jfif = _encode(_receipt_like(), "JPEG")
    assert load_image(jfif, "IMG_0001.JFIF").format == "JPEG"


def test_a_float_image_with_nan_pixels_reads_them_as_paper_without_a_warning():
    """A probe's float TIFF of NaN with one stripe of ink cast NaN to bytes (a numpy RuntimeWarning, garbage
    pixels): NaN and infinite pixels now read as the lightest shade, scaled by the finite ones."""
    values = np.full((60, 80), np.nan, dtype=np.float32)
    values[20:30, :] = 0.25  # the ink
    values[40:45, :40] = 0.75  # paper
    values[50, :] = np.inf
    data = _encode(Image.fromarray(values, mode="F"), "TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_image(data, "nan.tif")
    assert loaded.image.mode == "L"
    assert loaded.image.getpixel((5, 25)) == 0 and loaded.image.getpixel((5, 42)) == 255
    assert loaded.image.getpixel((5, 5)) == 255 and loaded.image.getpixel((5, 50)) == 255  # NaN, inf: paper
    nothing = _encode(Image.fromarray(np.full((60, 80), np.nan, dtype=np.float32), mode="F"), "TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(nothing, "blank.tif").image.getpixel((5, 5)) == 255


def test_a_16_bit_image_is_scaled_to_8_bits_a_strip_at_a_time():
    """A probe's 92 KB 16-bit PNG of 6300 x 6300 pixels took 1.1 GB to read (whole float64 copies). The scale is
    the same (65535 is white, 0 black) and the memory the pixels once plus the 8-bit result."""
    import tracemalloc

    values = np.zeros((2000, 2000), dtype=np.uint16)
    values[:, 1000:] = 65535
    values[1500:, :] = 257 * 100
    data = _encode(Image.fromarray(values), "PNG")
    tracemalloc.start()
    try:
        loaded = load_image(data, "deep.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert loaded.image.mode == "L"
    assert [loaded.image.getpixel(xy) for xy in ((5, 5), (1500, 5), (5, 1800))] == [0, 255, 100]
    assert peak < 4 * values.nbytes, f"{peak / 1e6:.0f} MB for {values.nbytes / 1e6:.0f} MB of pixels"


def test_a_deep_image_is_scaled_by_its_own_range_not_its_containers():
    """A probe's 16-bit PNG holding 8-bit values (one pixel at 300) came out black, 12-bit scans nearly so, and a
    signed 32-bit TIFF with negative values all black: each is scaled from its own darkest to its lightest value,
    and 8-bit values in a deep container are kept as they are."""
    eight_bit = np.full((40, 60), 255, dtype=np.uint16)
    eight_bit[10:20, :] = 0
    assert load_image(_encode(Image.fromarray(eight_bit), "PNG"), "g16.png").image.getpixel((5, 30)) == 255
    eight_bit[0, 0] = 300
    loaded = load_image(_encode(Image.fromarray(eight_bit), "PNG"), "g16-300.png").image
    assert loaded.getpixel((5, 15)) == 0 and loaded.getpixel((5, 30)) == int(255 * 255 / 300)
    twelve_bit = np.full((40, 60), 4095, dtype=np.uint16)
    twelve_bit[10:20, :] = 0
    loaded = load_image(_encode(Image.fromarray(twelve_bit), "PNG"), "scan12.png").image
    assert (loaded.getpixel((5, 15)), loaded.getpixel((5, 30))) == (0, 255)
    signed = np.full((40, 60), 1000, dtype=np.int32)
    signed[10:20, :] = -1000
    loaded = load_image(_encode(Image.fromarray(signed, mode="I"), "TIFF"), "i32neg.tif").image
    assert (loaded.getpixel((5, 15)), loaded.getpixel((5, 30))) == (0, 255)


def test_a_png_whose_metadata_is_over_the_readers_limit_is_not_called_damaged():
    """A probe's valid PNG with a zTXt chunk expanding to 50 MB was "probably damaged, upload it again", which
    cannot help: the message names the metadata and how to drop it."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (PngImagePlugin.MAX_TEXT_CHUNK + 1024), zip=True)
    data = _encode(Image.new("L", (300, 200), 255), "PNG", pnginfo=info)
    with pytest.raises(ImageLoadError) as raised:
        load_image(data, "meta.png")
    message = str(raised.value)
    assert "PNG metadata (a text chunk or a colour profile)" in message and "without its metadata" in message
    assert "damaged" not in message
    # a colour profile as large: the same refusal, no longer called a text chunk (a probe's iCCP bomb)
    profile = b"\0" * (PngImagePlugin.MAX_TEXT_CHUNK + 1024)
    profiled = _encode(Image.new("L", (300, 200), 255), "PNG", icc_profile=profile)
    with pytest.raises(ImageLoadError, match="a text chunk or a colour profile"):
        load_image(profiled, "profile.png")

