"""Safe image loading for uploads: refuse what cannot be a receipt photo, with a message that says why.

Every upload (UI, CLI, synthetic generator) enters through :func:`load_image` (a file named on the command line
through :func:`read_image_file` first, which bounds its size before reading it), which

* refuses empty files, PDFs, non-images and truncated files with a specific :class:`ImageLoadError`;
* reads the pixel count from the file header and refuses a decompression bomb *before* decoding any pixels
  (and a side longer than Tesseract reads);
* restricts decoding to ordinary raster formats (no EPS/PostScript or other exotic plugins);
* normalises what it accepts to mode ``RGB`` or ``L``: EXIF orientation applied, CMYK converted, 16-bit
  scaled down to 8-bit, palette and transparent images flattened onto white (transparent pixels would
  otherwise turn black and hide the text), and the first frame of an animated GIF with a note saying so.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Ordinary raster formats a phone or scanner produces; Pillow's other plugins are not offered uploads.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")
# The suffix an image of each allowed format is stored under in the workspace (uploads and imports alike).
FORMAT_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}
# every file extension Pillow gives ALLOWED_FORMATS (the uploader refused a probe's real JPEG named .JFIF)
IMAGE_SUFFIXES = ("jpg", "jpeg", "jfif", "jpe", "png", "apng", "webp", "tif", "tiff", "bmp", "gif")
MIN_SIDE = 8  # pixels: a smaller image cannot hold a legible character, even upscaled
DEFAULT_MAX_PIXELS = 40_000_000  # a 12-megapixel phone photo is ~12M; a flatbed scan at 600 dpi ~35M
MAX_SIDE = 32_767  # pixels on one side: Tesseract says "Image too large" for a longer side (an int16)
MAX_IMAGE_BYTES = 40 * 1024 * 1024  # one image file, as the dashboard's upload limit (.streamlit/config.toml)
MAX_IMAGES_PER_UPLOAD = 100  # images one upload reads into a dataset (each OCR takes seconds: ~5 min on 2 cores)
MAX_IMAGES_PER_PREDICTION = 20  # images Predict reads and runs at once, shown on one page
EXIF_ORIENTATION = 0x0112  # the EXIF tag that says how the stored pixels are turned


class ImageLoadError(ValueError):
    """An upload that cannot be used as a receipt image; the message is meant for the user as is."""


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # mode RGB or L, EXIF orientation applied
    width: int
    height: int
    sha256: str  # of the raw uploaded bytes
    format: str  # Pillow's format name: JPEG, PNG, GIF, ...
    note: str = ""  # something the user should know about how the file was read (e.g. first GIF frame)


def read_image_file(path: Path) -> bytes:
    """The bytes of an image file on disk, or :class:`ImageLoadError` before anything is read when ``path`` is not
    a regular file (``/dev/zero``, a folder) or is larger than :data:`MAX_IMAGE_BYTES`."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ImageLoadError(f"{str(path)!r} is not a regular file; give an image file")
        if info.st_size > MAX_IMAGE_BYTES:
            raise ImageLoadError(f"{str(path)!r} is {info.st_size:,} bytes, over the limit of {MAX_IMAGE_BYTES:,} "
                                 f"for one image; shrink or re-encode it (e.g. as JPEG)")
        return path.read_bytes()
    except OSError as error:
        raise ImageLoadError(f"{str(path)!r} cannot be read ({error.strerror or error})") from None


_HEIF_BRANDS = {b"heic": "a HEIC", b"heix": "a HEIC", b"hevc": "a HEIC", b"heim": "a HEIC", b"heis": "a HEIC",
                b"mif1": "a HEIF", b"msf1": "a HEIF", b"avif": "an AVIF", b"avis": "an AVIF"}


def other_image_format(data: bytes) -> str | None:
    """"an AVIF", "a HEIC", … for an image file in a format outside :data:`ALLOWED_FORMATS`, told by its first
    bytes alone (no parser runs on it), else None."""
    head = data[:64]
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12])
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "a JPEG 2000"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "an ICO (icon)"
    if head.startswith(b"8BPS"):
        return "a Photoshop (PSD)"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")):
        return "a JPEG XL"
    if b"<svg" in data[:1024].lower():
        return "an SVG (vector)"
    return None


def load_image(data: bytes, name: str = "", max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an uploaded image safely, or raise :class:`ImageLoadError` with a specific message."""
    label = repr(name) if name else "the image"
    if not data:
        raise ImageLoadError(f"{label} is an empty file (0 bytes); upload the receipt image again.")
    if data.lstrip()[:5] == b"%PDF-":
        raise ImageLoadError(f"{label} is a PDF; PDFs are not supported. Export the receipt page as a PNG or "
                             "JPEG image (for example with: pdftoppm -png -r 200 file.pdf page) and upload that.")
    try:
        with warnings.catch_warnings():
            # We enforce our own (lower) pixel limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        # Pillow refuses far-too-large headers itself; its message carries the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise ImageLoadError(_too_many_pixels(label, int(found.group(1)) if found else None, max_pixels)) from None
    except UnidentifiedImageError:
        if kind := other_image_format(data):  # an iPhone's HEIC was called "damaged or in another format" (a probe)
            raise ImageLoadError(f"{label} is {kind} image, a format this app does not read (supported: "
                                 f"{', '.join(ALLOWED_FORMATS)}); export or convert it as JPEG or PNG and upload "
                                 "that.") from None
        raise ImageLoadError(f"{label} is not an image Pillow can read (supported: "
                             f"{', '.join(ALLOWED_FORMATS)}); it may be a document or text file, or an image "
                             f"damaged or in another format.") from None
    except Exception as error:  # noqa: BLE001 - OSError, SyntaxError, ValueError, but damaged headers also raise
        # TypeError, IndexError or struct.error from Pillow's parsers (a fuzzer found them): each is this file's fault
        _refuse_oversized_metadata(label, error)
        raise ImageLoadError(f"{label} could not be read as an image{_reason(error)}; the file is probably "
                             "damaged. Upload the complete file again.") from None

    width, height = image.size  # from the header: nothing decoded yet
    if width * height > max_pixels:
        raise ImageLoadError(_too_many_pixels(label, width * height, max_pixels, (width, height)))
    if max(width, height) > MAX_SIDE:
        raise ImageLoadError(f"{label} is {width:,}×{height:,} pixels; OCR reads at most {MAX_SIDE:,} pixels on a "
                             f"side. Split the receipt into parts and upload those.")
    if min(width, height) < MIN_SIDE:
        raise ImageLoadError(f"{label} is {width}×{height} pixels, too small to contain legible text "
                             f"(each side must be at least {MIN_SIDE} pixels).")

    file_format = image.format or "unknown"
    try:
        note = first_frame_note(image)
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image) or image
        image = _normalise_mode(image)
    except Exception as error:  # noqa: BLE001 - a damaged file's decoder may raise anything (see Image.open above)
        _refuse_oversized_metadata(label, error)
        if isinstance(error, OSError) and "truncated" in str(error).lower():
            raise ImageLoadError(f"{label} is a truncated {file_format} file ({error}); it was probably cut off "
                                 "during upload or copy. Upload the complete file again.") from None
        # damage inside the file (a probe zeroed bytes in a JPEG's middle): nothing says it was cut off
        raise ImageLoadError(f"{label} is a damaged {file_format} file{_reason(error)}. Upload the complete "
                             "file again.") from None
    return LoadedImage(image=image, width=image.width, height=image.height,
                       sha256=hashlib.sha256(data).hexdigest(), format=file_format, note=note)


def first_frame_note(image: Image.Image) -> str:
    """What to tell the user when the opened file holds more than one frame (only the first is read), else "".

    Asks Pillow only whether there is a second frame: counting them walks every one (a crafted GIF of 200,000
    frames took a second to count, on every page that showed it)."""
    if not getattr(image, "is_animated", False):
        return ""
    if image.format == "TIFF":
        return "multi-page TIFF: only the first page was read"
    return f"animated {image.format or 'image'}: only the first frame was read"


def image_header(data: bytes) -> tuple[str, str]:
    """The format (Pillow's name) and :func:`first_frame_note` of an image :func:`load_image` accepted, read from
    its header without decoding its pixels; ("", "") when the bytes are no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                return image.format or "", first_frame_note(image)
    except Exception:  # noqa: BLE001 - load_image has refused such a file already, with its own words
        return "", ""


def upright_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) :func:`load_image` gives the image (its EXIF orientation applied), read from its header
    without decoding its pixels; None when the bytes are no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                width, height = image.size
                turned = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - load_image says what is wrong with such a file, in its own words
        return None
    return (height, width) if turned else (width, height)


def upright_bytes(data: bytes) -> bytes:
    """The image file with its EXIF orientation turned into its pixels (re-encoded in its own format, no tag), for
    a reader that ignores the tag, as CORD's tools and a plain ``PIL.Image.open`` do; ``data`` itself when the tag is
    absent or says upright, or when the bytes are no image. Words' boxes are in the upright frame
    (:func:`load_image` applies the tag), so a file that kept the tag put them beside their words there."""
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
            if image.getexif().get(EXIF_ORIENTATION, 1) in (1, None):
                return data
            file_format = image.format
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            upright.save(out, format=file_format, **({"quality": 95} if file_format == "JPEG" else {}))
            return out.getvalue()
    except Exception:  # noqa: BLE001 - load_image refused such a file when it was stored; kept as it is
        return data



def _reason(error: Exception) -> str:
    """Pillow's own words for a decoding failure (" (…)"), or nothing when its parser tripped over the damage with a
    programming error's words ("index out of range") that would only confuse."""
    text = str(error).strip()
    return f" ({text})" if isinstance(error, (OSError, SyntaxError, ValueError)) and text else ""


def _too_many_pixels(label: str, pixels: int | None, max_pixels: int, size: tuple[int, int] | None = None) -> str:
    shown = f"{pixels:,} pixels" if pixels else "more pixels than Pillow allows"
    if size:
        shown = f"{size[0]}×{size[1]} = {shown}"
    return (f"{label} has {shown}, over the limit of {max_pixels:,} pixels; it was refused before decoding "
            f"(a decompression bomb or an unusually large scan). Downscale it to at most ~6000×6000 and retry.")


def _normalise_mode(image: Image.Image) -> Image.Image:
    """RGB or L, 8 bits per channel, transparency flattened onto white."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _high_depth_to_l(image)
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX


def _refuse_oversized_metadata(label: str, error: Exception) -> None:
    """ImageLoadError when ``error`` is Pillow refusing a compressed PNG metadata chunk (text, or an ICC colour
    profile) that expands past its safety limit: the pixels are fine, so "damaged, upload it again" (a probe's 50 MB
    zTXt chunk) sent the user in a circle."""
    if isinstance(error, ValueError) and ("MAX_TEXT_CHUNK" in str(error) or "MAX_TEXT_MEMORY" in str(error)):
        raise ImageLoadError(f"{label} carries PNG metadata (a text chunk or a colour profile) that expands beyond "
                             "the image reader's safety limit. Save the image again without its metadata (for "
                             "example with `mogrify -strip`, or an editor's Export as PNG or JPEG) and upload "
                             "that.") from None


_STRIP_ROWS = 256  # rows scaled at a time: a 40-MP 16-bit image took 1.1 GB as whole float64 copies (a probe)


_SENSOR_DEPTHS = (10, 12, 14, 16)  # the bits a scanner or camera stores a grey value in, inside 16-bit files


def _integer_scale(low: float, high: float) -> tuple[float, float]:
    """(offset, factor) taking a deep integer image's values to 0–255 by the depth they were stored at, not the
    container's: 1/257 made a 16-bit PNG holding 8-bit values (one pixel at 300) black, and 10- and 12-bit scans
    nearly so; a signed 32-bit one with negative values was black too (a probe). Values that fit 8 bits are kept;
    values that use under half of their depth, or fit none, are stretched from the darkest to the lightest."""
    if low >= 0 and high <= 255:
        return 0.0, 1.0
    depth = next((2.0 ** bits - 1 for bits in _SENSOR_DEPTHS if high <= 2 ** bits - 1), None)
    if low >= 0 and depth is not None and high >= depth / 2:
        return 0.0, 255.0 / depth
    return low, 255.0 / (high - low or 1.0)


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit or float greyscale image to 8 bits (Pillow's own convert clips at 255;
    :func:`_integer_scale`), a strip of rows at a time in float32, so the memory is the
    pixels once plus the 8-bit result (a probe's 92 KB 16-bit PNG of 6300 x 6300 pixels had taken 1.1 GB)."""
    values = np.asarray(image)
    strips = [slice(row, row + _STRIP_ROWS) for row in range(0, values.shape[0], _STRIP_ROWS)]
    if image.mode == "F":
        # NaN and infinite pixels carry no shade (a probe's all-NaN TIFF cast NaN to bytes with a numpy warning):
        # they read as the page's lightest value, and the scale comes from the finite ones
        low, high = math.inf, -math.inf
        for strip in strips:
            finite = values[strip][np.isfinite(values[strip])]
            if finite.size:
                low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        if low > high:
            return Image.new("L", image.size, 255)
        offset, factor = low, 255.0 / (high - low or 1.0)
    else:
        offset, factor = _integer_scale(float(values.min()), float(values.max()))
    result = np.empty(values.shape, dtype=np.uint8)
    for strip in strips:
        part = values[strip].astype(np.float32)
        if image.mode == "F":
            part[~np.isfinite(part)] = high
        part -= offset
        part *= factor
        np.clip(part, 0, 255, out=part)
        result[strip] = part
    return Image.fromarray(result)
