"""A stored receipt's display copy (ui/receipt_images.py, plots.figures.display_source): made once per image, at
most MAX_IMAGE_SIDE on a side, a JPEG data URI the figures take as their background."""

from __future__ import annotations

import base64
import io

from PIL import Image

import ui.receipt_images as receipt_images
from receipt_core.data.document import Document, Word
from receipt_core.plots.figures import MAX_IMAGE_SIDE, document_figure
from receipt_core.workspace.store import Workspace


def test_a_phone_sized_photo_is_scaled_and_encoded_once_for_every_redraw(tmp_path, monkeypatch):
    """A probe's 4000×6000 photo cost 1.7–2.8 s per Annotate key press: decoded, scaled and PNG-encoded each time."""
    ws = Workspace(tmp_path / "ws")
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 6000), "white").save(buffer, "JPEG")
    sha = ws.put_image(buffer.getvalue(), ".jpg")
    doc = Document(id="big", width=4000, height=6000, words=(Word("TOTAL", (100, 100, 900, 300)),), image_sha256=sha)
    loads = []
    real_load = receipt_images.load_image
    monkeypatch.setattr(receipt_images, "load_image", lambda data, name: loads.append(name) or real_load(data, name))
    receipt_images._display_copy.clear()

    first = receipt_images.receipt_display_image(ws, doc)
    assert receipt_images.receipt_display_image(ws, doc) == first and len(loads) == 1  # the second from the cache
    assert first.startswith("data:image/jpeg;base64,")
    shown = Image.open(io.BytesIO(base64.b64decode(first.split(",", 1)[1])))
    assert shown.size == (933, MAX_IMAGE_SIDE)  # 4000×6000 scaled to 1400 on its long side
    figure = document_figure(doc, first)
    assert figure.layout.images[0].source == first and figure.layout.images[0].sizex == 4000
    assert receipt_images.receipt_display_image(ws, Document(id="none", width=10, height=10, words=())) is None
