"""The receipt document: a page size, an optional image, and words with boxes and both tasks' labels.

Native JSON format (what the project writes and reads; see README "Data formats")::

    {"format": "receipt-mtl/document", "version": 1,
     "id": "synth-00001", "source": "synth:seed=0", "width": 600, "height": 1400,
     "image_sha256": "…" | null,
     "words": [{"text": "2x", "box": [x0, y0, x1, y1], "confidence": 91.0 | null, "line_id": 4,
                "field": "OTHER", "quantity": true, "quantity_value": 2.0, "group_id": 3 | null}]}

Boxes are pixels of the original image, ``x0 <= x1``, ``y0 <= y1``. ``confidence`` is Tesseract's 0–100 word
confidence (null for gold words from a dataset). ``field`` is the field head's label; ``quantity`` says the word
is an item's quantity (the quantity head's target) and ``quantity_value`` its parsed value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .quantity import parse_quantity
from .schema import OTHER, QUANTITY, LabelSchema

FORMAT_NAME = "receipt-mtl/document"
FORMAT_VERSION = 1

Box = tuple[float, float, float, float]


class DocumentFormatError(ValueError):
    """A document JSON that does not follow the native format; the message names the offending key."""


@dataclass(frozen=True)
class Word:
    text: str
    box: Box  # (x0, y0, x1, y1) in pixels of the original image
    confidence: float | None = None
    line_id: int = 0
    field: str = OTHER
    is_quantity: bool = False
    quantity_value: float | None = None
    group_id: int | None = None

    @property
    def annotation_label(self) -> str:
        """The single label an annotator sees: the field, or ``QUANTITY`` for quantity words."""
        return QUANTITY if self.is_quantity else self.field

    def with_annotation(self, label: str, quantity_value: float | None = None) -> "Word":
        """This word relabelled from an annotator's single label (a field, or ``QUANTITY``)."""
        if label == QUANTITY:
            value = quantity_value if quantity_value is not None else parse_quantity(self.text)
            return dataclasses.replace(self, field=OTHER, is_quantity=True, quantity_value=value)
        return dataclasses.replace(self, field=label, is_quantity=False, quantity_value=None)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass(frozen=True)
class Document:
    id: str
    width: int
    height: int
    words: tuple[Word, ...]
    image_sha256: str | None = None
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_image(self) -> bool:
        return self.image_sha256 is not None

    def with_words(self, words: Iterable[Word]) -> "Document":
        return dataclasses.replace(self, words=tuple(words))

    def relabel(self, index: int, label: str, quantity_value: float | None = None) -> "Document":
        words = list(self.words)
        words[index] = words[index].with_annotation(label, quantity_value)
        return self.with_words(words)

    def without_layout(self) -> "Document":
        """The same words, in the same order and lines, each with the whole page as its box: what a layout
        model sees when positions carry no information (``evaluate --erase-layout``)."""
        page = (0.0, 0.0, float(self.width), float(self.height))
        return self.with_words(dataclasses.replace(w, box=page) for w in self.words)

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for word in self.words:
            counts[word.annotation_label] = counts.get(word.annotation_label, 0) + 1
        return counts

    def validate(self, schema: LabelSchema) -> None:
        """Raise DocumentFormatError if a word's field is outside the schema or a box is inverted."""
        for i, word in enumerate(self.words):
            if word.field not in schema.fields:
                raise DocumentFormatError(f"document {self.id!r} word {i}: field {word.field!r} is not in "
                                          f"schema {schema.name!r} ({', '.join(schema.fields)})")
            x0, y0, x1, y1 = word.box
            if x1 < x0 or y1 < y0:
                raise DocumentFormatError(f"document {self.id!r} word {i}: box {word.box} has x1<x0 or y1<y0")

    # --- native JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "id": self.id,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "image_sha256": self.image_sha256,
            "meta": dict(self.meta),
            "words": [
                {"text": w.text, "box": [round(v, 2) for v in w.box], "confidence": w.confidence,
                 "line_id": w.line_id, "field": w.field, "quantity": w.is_quantity,
                 "quantity_value": w.quantity_value, "group_id": w.group_id}
                for w in self.words
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> "Document":
        """Parse the native format, with an error that names the key and word for anything malformed."""
        if not isinstance(data, Mapping):
            raise DocumentFormatError(f"a document must be a JSON object, got {type(data).__name__}")
        if data.get("format", FORMAT_NAME) != FORMAT_NAME:
            raise DocumentFormatError(f"format is {data.get('format')!r}, expected {FORMAT_NAME!r}")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise DocumentFormatError(f"version {data.get('version')!r} is not supported (expected {FORMAT_VERSION})")
        doc_id = _require(data, "id", str, "document")
        where = f"document {doc_id!r}"
        width = _require(data, "width", int, where)
        height = _require(data, "height", int, where)
        if width <= 0 or height <= 0:
            raise DocumentFormatError(f"{where}: page size {width}x{height} must be positive")
        raw_words = _require(data, "words", list, where)
        words = tuple(_word_from_json(raw, f"{where} word {i}") for i, raw in enumerate(raw_words))
        sha = data.get("image_sha256")
        if sha is not None and not isinstance(sha, str):
            raise DocumentFormatError(f"{where}: image_sha256 must be a string or null")
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise DocumentFormatError(f"{where}: meta must be an object")
        return cls(id=doc_id, width=width, height=height, words=words, image_sha256=sha,
                   source=str(data.get("source", "")), meta=dict(meta))


def _require(data: Mapping, key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise DocumentFormatError(f"{where}: missing key {key!r}")
    value = data[key]
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DocumentFormatError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _word_from_json(raw: Any, where: str) -> Word:
    if not isinstance(raw, Mapping):
        raise DocumentFormatError(f"{where}: must be an object")
    text = _require(raw, "text", str, where)
    box = _require(raw, "box", list, where)
    if len(box) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
        raise DocumentFormatError(f"{where}: box must be four numbers [x0, y0, x1, y1], got {box!r}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 < x0 or y1 < y0:
        raise DocumentFormatError(f"{where}: box {box} has x1 < x0 or y1 < y0")
    confidence = raw.get("confidence")
    if confidence is not None and not isinstance(confidence, (int, float)):
        raise DocumentFormatError(f"{where}: confidence must be a number or null")
    value = raw.get("quantity_value")
    if value is not None and not isinstance(value, (int, float)):
        raise DocumentFormatError(f"{where}: quantity_value must be a number or null")
    group = raw.get("group_id")
    if group is not None and (not isinstance(group, int) or isinstance(group, bool)):
        raise DocumentFormatError(f"{where}: group_id must be an integer or null")
    line_id = raw.get("line_id", 0)
    if not isinstance(line_id, int) or isinstance(line_id, bool):
        raise DocumentFormatError(f"{where}: line_id must be an integer, got {line_id!r}")
    field = raw.get("field", OTHER)
    if not isinstance(field, str):
        raise DocumentFormatError(f"{where}: field must be a label name, got {field!r}")
    is_quantity = raw.get("quantity", False)
    if not isinstance(is_quantity, bool):
        raise DocumentFormatError(f"{where}: quantity must be true or false, got {is_quantity!r}")
    return Word(text=text, box=(x0, y0, x1, y1),
                confidence=None if confidence is None else float(confidence),
                line_id=line_id, field=field, is_quantity=is_quantity,
                quantity_value=None if value is None else float(value), group_id=group)


def reading_order(words: Sequence[Word]) -> list[Word]:
    """Words in geometric reading order (lines top to bottom, words left to right), with line ids renumbered.

    A word joins the current line when its vertical centre lies within the line's vertical extent (the
    line grows as words join), which tolerates the mild skew of phone photos. Dataset files list words
    grouped by label; feeding that order to a model leaks the answer, so every importer calls this.
    """
    ordered = sorted(words, key=lambda w: (w.center[1], w.box[0]))
    lines: list[list[Word]] = []
    extents: list[tuple[float, float]] = []
    for word in ordered:
        cy = word.center[1]
        height = max(word.box[3] - word.box[1], 1.0)
        for i in range(len(lines) - 1, max(len(lines) - 3, -1), -1):
            top, bottom = extents[i]
            line_height = max(bottom - top, 1.0)
            if top - 0.1 * line_height <= cy <= bottom + 0.1 * line_height and abs(
                    (top + bottom) / 2 - cy) <= 0.5 * max(line_height, height):
                lines[i].append(word)
                extents[i] = (min(top, word.box[1]), max(bottom, word.box[3]))
                break
        else:
            lines.append([word])
            extents.append((word.box[1], word.box[3]))
    result: list[Word] = []
    for line_id, line in enumerate(lines):
        for word in sorted(line, key=lambda w: w.box[0]):
            result.append(dataclasses.replace(word, line_id=line_id))
    return result
