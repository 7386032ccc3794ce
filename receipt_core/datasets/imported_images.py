"""The image files a dataset import brings into the workspace pass the checks an upload passes.

Each file is read as an upload is (:func:`~receipt_core.data.images.read_image_file`: a regular file within the
upload size limit) and decoded by :func:`~receipt_core.data.images.load_image` (an allowed raster format, within
the pixel limit, not truncated), and is stored under the suffix of the format it decoded as — never its own
(an ``.svg``, ``.html`` or ``.img`` file is never stored). A file that fails is one problem line and its document
is imported without pixels.

An image that decodes but does not fit its document is kept, with a note (:func:`size_mismatch`):

* its shape (width / height) differs from the document's page by more than :data:`MAX_ASPECT_RATIO` times either
  way — the boxes would be drawn off the text (a swapped or wrong image);
* it has fewer than :data:`MIN_AREA_FRACTION` of the page's pixels (each side under half, on average) — the words
  drawn over it are blurred past reading and OCR of a region reads little (a thumbnail instead of the scan).

A larger image of the same shape is fine: the pages scale the image onto the document's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.document import Document
from ..data.images import FORMAT_SUFFIXES, load_image, read_image_file

# the image's width/height against the page's, either way: at 2.0, probe 58's task drawn on an 801x1600 page took
# a 1195x1600 photo (another receipt's, of the same file name) unsaid, and a photo turned a quarter (4:3) passed too
MAX_ASPECT_RATIO = 1.2
MIN_AREA_FRACTION = 0.25  # of the page's pixels


@dataclass(frozen=True)
class ImportedImage:
    data: bytes  # the file's bytes, as stored
    suffix: str  # from the decoded format: .jpg, .png, .gif, .bmp, .tif or .webp
    width: int  # after EXIF orientation, as the pages draw it
    height: int


def read_imported_image(path: Path) -> ImportedImage:
    """An import's image file checked as an upload is, or :class:`~receipt_core.data.images.ImageLoadError`
    naming the file and saying why it cannot be used."""
    data = read_image_file(path)
    loaded = load_image(data, path.name)
    return ImportedImage(data=data, suffix=FORMAT_SUFFIXES[loaded.format], width=loaded.width, height=loaded.height)


def size_mismatch(doc: Document, image: ImportedImage, name: str) -> str | None:
    """A note when image ``name`` does not fit ``doc``'s page (see the module's rule), else None."""
    if doc.width <= 0 or doc.height <= 0:
        return None
    shown = f"{name!r} is {image.width}×{image.height} pixels but the document's page is {doc.width}×{doc.height}"
    page_aspect, image_aspect = doc.width / doc.height, image.width / image.height
    if max(page_aspect / image_aspect, image_aspect / page_aspect) > MAX_ASPECT_RATIO:
        return (f"{shown}: a different shape, so its boxes will not line up with the text; kept, but check that "
                "it is the right image (or a rotated one)")
    if image.width * image.height < MIN_AREA_FRACTION * doc.width * doc.height:
        return (f"{shown}: under a quarter of the page's pixels, so its words will not be legible; kept, but "
                "import the full-size image")
    return None
