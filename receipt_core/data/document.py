"""The receipt document: a page size, an optional image, and words with boxes and both tasks' labels.

Native JSON format (what the project writes and reads; see README "Data formats")::

    {"format": "receipt-mtl/document", "version": 1,
     "id": "synth-00001", "source": "synth:seed=0", "width": 600, "height": 1400,
     "image_sha256": "…" | null,
     "words": [{"text": "2x", "box": [x0, y0, x1, y1], "confidence": 91.0 | null, "line_id": 4,
                "field": "OTHER", "quantity": true, "quantity_value": 2.0, "group_id": 3 | null,
                "label_source": "person" | "model" | "import" | null, "label_run": "run-…" | null,
                "label_score": 0.93 | null,
                "suggestion": {"field": "OTHER", "quantity": true, "quantity_value": 2.0, "run": "run-…",
                               "score": 0.71} | null}]}

Boxes are pixels of the original image, ``x0 <= x1``, ``y0 <= y1``. ``confidence`` is Tesseract's 0–100 word
confidence (null for gold words from a dataset). ``field`` is the field head's label; ``quantity`` says the word
is an item's quantity (the quantity head's target) and ``quantity_value`` its parsed value.

Provenance: ``label_source`` says who gave the word its label — ``"person"`` (typed in this tool), ``"model"`` (a
model's suggestion a person accepted; ``label_run`` and ``label_score`` name the run and its score) or
``"import"`` (gold from a dataset) — and null means nobody has labelled the word yet (its field is then
``OTHER`` by default, which is not a label anyone gave). A model's suggestion waits in ``suggestion``, apart from
the label, until a person accepts it (:mod:`receipt_core.data.annotation`), so it never replaces a label.

Files written before provenance (no ``label_source`` key) still load: in a document that came from a dataset
(``meta.dataset`` set, or a ``cord:``/``wildreceipt:``/``synth:`` source) every word is ``"import"``; anywhere
else a word labelled with a field other than ``OTHER`` or as a quantity is ``"person"`` and an ``OTHER`` word
has no source (unlabelled).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .json_values import json_kind
from .quantity import parse_quantity
from .schema import OTHER, QUANTITY, LabelSchema, shown_label

FORMAT_NAME = "receipt-mtl/document"
FORMAT_VERSION = 1

PERSON, MODEL, IMPORT = "person", "model", "import"
LABEL_SOURCES = (PERSON, MODEL, IMPORT)
NOT_LABELLED = "not labelled"  # Document.label_counts' key for the words nobody labelled
# characters in one word's text, for an import and a person's correction alike: a receipt word (a WildReceipt line,
# even) is far shorter; longer is a line pasted by mistake or a hostile file
MAX_GROUP_ID = 10 ** 9  # an item number: what every importer reads back (a larger one made an export unimportable)
MAX_WORD_CHARS = 500
# words per receipt: what an import takes by default, and what corrections keep to. A long receipt has a few hundred;
# a probe's 4,116-word one took Annotate 9-11 s per key press, its 19,015-word one up to a minute
MAX_DOCUMENT_WORDS = 5_000
_DATASET_SOURCES = ("cord:", "wildreceipt:", "synth:")

Box = tuple[float, float, float, float]
WordLayout = tuple[tuple[str, Box], ...]  # each word's text and box, in order (Document.word_layout)
WordLabel = tuple[str, float | None, str | None]  # a word's label, quantity value and who gave it (Word.label_state)


class DocumentFormatError(ValueError):
    """A document JSON that does not follow the native format; the message names the offending key."""


@dataclass(frozen=True)
class Suggestion:
    """A model's label for a word, kept apart from the word's own label until a person accepts it."""

    field: str
    is_quantity: bool
    quantity_value: float | None
    run: str  # the run that suggested it
    score: float  # the model's probability for this answer, 0–1

    @property
    def annotation_label(self) -> str:
        return shown_label(self.field, self.is_quantity)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "quantity": self.is_quantity, "quantity_value": self.quantity_value,
                "run": self.run, "score": self.score}


@dataclass(frozen=True)
class Word:
    """One word and its labels. A word whose label is not plain ``OTHER`` always has a ``label_source``: one
    constructed without it (code, tests, old files) counts as labelled by a person."""

    text: str
    box: Box  # (x0, y0, x1, y1) in pixels of the original image
    confidence: float | None = None
    line_id: int = 0
    field: str = OTHER
    is_quantity: bool = False
    quantity_value: float | None = None
    group_id: int | None = None
    label_source: str | None = None  # PERSON, MODEL (an accepted suggestion), IMPORT, or None: not labelled
    label_run: str | None = None  # with MODEL: the run whose suggestion was accepted
    label_score: float | None = None  # with MODEL: its score
    suggestion: Suggestion | None = None  # a model's label waiting for a person

    def __post_init__(self) -> None:
        if self.label_source is None and (self.field != OTHER or self.is_quantity):
            object.__setattr__(self, "label_source", PERSON)
        elif self.label_source is not None and self.label_source not in LABEL_SOURCES:
            raise ValueError(f"label_source must be one of {', '.join(LABEL_SOURCES)} or None, "
                             f"got {self.label_source!r}")

    @property
    def annotation_label(self) -> str:
        """The single label an annotator sees: the field, or ``QUANTITY`` for quantity words."""
        return shown_label(self.field, self.is_quantity)

    @property
    def label_state(self) -> WordLabel:
        """What a label change replaces: the annotation label, the quantity value and who gave the label."""
        return (self.annotation_label, self.quantity_value, self.label_source)

    @property
    def is_labelled(self) -> bool:
        """Whether someone (a person, an accepted suggestion, a dataset) gave this word its label."""
        return self.label_source is not None

    def with_annotation(self, label: str, quantity_value: float | None = None, source: str = PERSON,
                        run: str | None = None, score: float | None = None) -> "Word":
        """This word relabelled from a single label (a field, or ``QUANTITY``) given by ``source``
        (a person unless told), its pending suggestion dropped: the label now decides."""
        provenance = dict(label_source=source, label_run=run, label_score=score, suggestion=None)
        if label == QUANTITY:
            value = quantity_value if quantity_value is not None else parse_quantity(self.text)
            return dataclasses.replace(self, field=OTHER, is_quantity=True, quantity_value=value, **provenance)
        return dataclasses.replace(self, field=label, is_quantity=False, quantity_value=None, **provenance)

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

    @property
    def read_by_ocr(self) -> bool:
        """Whether the words are an OCR's reading of a photo (an image, and Tesseract's confidences on its words),
        not words an annotator typed (CORD's, a gold import's)."""
        return self.has_image and any(w.confidence is not None for w in self.words)

    def with_words(self, words: Iterable[Word]) -> "Document":
        return dataclasses.replace(self, words=tuple(words))

    def relabel(self, index: int, label: str, quantity_value: float | None = None) -> "Document":
        """Word ``index`` labelled by a person."""
        words = list(self.words)
        words[index] = words[index].with_annotation(label, quantity_value)
        return self.with_words(words)

    def as_imported(self) -> "Document":
        """Every word's label marked as gold from a dataset (``label_source`` ``"import"``), OTHER words too."""
        return self.with_words(dataclasses.replace(w, label_source=IMPORT, label_run=None, label_score=None)
                               for w in self.words)

    @property
    def word_layout(self) -> WordLayout:
        """Each word's text and box, in order: what a word's index points at. Labels leave it as it is; a correction
        (a word added, deleted, split, merged, read again) changes it, and with it what each index means."""
        return tuple((w.text, tuple(w.box)) for w in self.words)

    @property
    def word_labels(self) -> tuple[WordLabel, ...]:
        """Each word's :attr:`Word.label_state`, in order: what a page showed, so that a label change made since in
        another session is not overwritten unseen."""
        return tuple(w.label_state for w in self.words)

    @property
    def labelled_words(self) -> int:
        return sum(1 for w in self.words if w.is_labelled)

    @property
    def suggested_words(self) -> int:
        return sum(1 for w in self.words if w.suggestion is not None)

    def without_layout(self) -> "Document":
        """The same words, in the same order and lines, each with the whole page as its box: what a layout
        model sees when positions carry no information (``evaluate --erase-layout``)."""
        page = (0.0, 0.0, float(self.width), float(self.height))
        return self.with_words(dataclasses.replace(w, box=page) for w in self.words)

    def label_counts(self, labelled_only: bool = False) -> dict[str, int]:
        """Words per annotation label, the words nobody labelled under :data:`NOT_LABELLED` (they are not OTHER: an
        OCR'd upload has every word there until someone labels it); with ``labelled_only``, without them."""
        counts: dict[str, int] = {}
        for word in self.words:
            if not word.is_labelled and labelled_only:
                continue
            label = word.annotation_label if word.is_labelled else NOT_LABELLED
            counts[label] = counts.get(label, 0) + 1
        return counts

    def validate(self, schema: LabelSchema) -> None:
        """Raise DocumentFormatError if a word's field, or the field a suggestion offers it, is outside the schema,
        or a box is inverted. (A probe imported a suggestion of "NOPE": accepted, it became a label that failed
        training and made the dataset's export unimportable.)"""
        for i, word in enumerate(self.words):
            if word.field not in schema.fields:
                raise DocumentFormatError(f"document {self.id!r} word {i}: field {word.field!r} is not in "
                                          f"schema {schema.name!r} ({', '.join(schema.fields)})")
            if word.suggestion is not None and word.suggestion.field not in schema.fields:
                raise DocumentFormatError(f"document {self.id!r} word {i}: the suggested field "
                                          f"{word.suggestion.field!r} is not in schema {schema.name!r} "
                                          f"({', '.join(schema.fields)})")
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
            "words": [word_to_json(w) for w in self.words],
        }

    @classmethod
    def from_json(cls, data: Any) -> "Document":
        """Parse the native format, with an error that names the key and word for anything malformed."""
        if not isinstance(data, Mapping):
            raise DocumentFormatError(f"a document must be a JSON object, got {json_kind(data)}")
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
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise DocumentFormatError(f"{where}: meta must be an object")
        source = str(data.get("source", ""))
        legacy = IMPORT if meta.get("dataset") or source.startswith(_DATASET_SOURCES) else None
        words = tuple(word_from_json(raw, f"{where} word {i}", legacy) for i, raw in enumerate(raw_words))
        sha = data.get("image_sha256")
        if sha is not None and not isinstance(sha, str):
            raise DocumentFormatError(f"{where}: image_sha256 must be a string or null")
        return cls(id=doc_id, width=width, height=height, words=words, image_sha256=sha,
                   source=source, meta=dict(meta))


def word_to_json(w: Word) -> dict[str, Any]:
    data = {"text": w.text, "box": [round(v, 2) for v in w.box], "confidence": w.confidence,
            "line_id": w.line_id, "field": w.field, "quantity": w.is_quantity,
            "quantity_value": w.quantity_value, "group_id": w.group_id, "label_source": w.label_source}
    if w.label_run is not None or w.label_score is not None:
        data.update(label_run=w.label_run, label_score=w.label_score)
    if w.suggestion is not None:
        data["suggestion"] = w.suggestion.to_json()
    return data


def _require(data: Mapping, key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise DocumentFormatError(f"{where}: missing key {key!r}")
    value = data[key]
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {int: "a whole number", str: "a string", list: "a list", dict: "an object"}.get(kind, kind.__name__)
        raise DocumentFormatError(f"{where}: {key!r} must be {expected}, got {json_kind(value)}")
    return value


def word_from_json(raw: Any, where: str, legacy_source: str | None = None) -> Word:
    """One word; ``legacy_source`` is the label source of a word written before provenance (no
    ``label_source`` key): ``"import"`` in a dataset's document, else None (then a labelled word is a person's)."""
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
    field, is_quantity, value = _label_from_json(raw, where)
    group = raw.get("group_id")
    if group is not None and (not isinstance(group, int) or isinstance(group, bool)):
        raise DocumentFormatError(f"{where}: group_id must be an integer or null")
    line_id = raw.get("line_id", 0)
    if not isinstance(line_id, int) or isinstance(line_id, bool):
        raise DocumentFormatError(f"{where}: line_id must be an integer, got {line_id!r}")
    source = raw["label_source"] if "label_source" in raw else legacy_source
    if source is not None and source not in LABEL_SOURCES:
        raise DocumentFormatError(f"{where}: label_source must be one of {', '.join(LABEL_SOURCES)} or null, "
                                  f"got {source!r}")
    run = raw.get("label_run")
    if run is not None and not isinstance(run, str):
        raise DocumentFormatError(f"{where}: label_run must be a string or null")
    score = _score(raw.get("label_score"), f"{where}: label_score")
    suggestion = raw.get("suggestion")
    if suggestion is not None:
        suggestion = suggestion_from_json(suggestion, f"{where} suggestion")
    return Word(text=text, box=(x0, y0, x1, y1),
                confidence=None if confidence is None else float(confidence),
                line_id=line_id, field=field, is_quantity=is_quantity,
                quantity_value=None if value is None else float(value), group_id=group,
                label_source=source, label_run=run, label_score=score, suggestion=suggestion)


def _label_from_json(raw: Mapping[str, Any], where: str) -> tuple[str, bool, float | int | None]:
    """The ``field``, ``quantity`` and ``quantity_value`` of a word (or of a suggestion), each of its own type."""
    field = raw.get("field", OTHER)
    if not isinstance(field, str):
        raise DocumentFormatError(f"{where}: field must be a label name, got {field!r}")
    is_quantity = raw.get("quantity", False)
    if not isinstance(is_quantity, bool):
        raise DocumentFormatError(f"{where}: quantity must be true or false, got {is_quantity!r}")
    value = raw.get("quantity_value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise DocumentFormatError(f"{where}: quantity_value must be a number or null")
    return field, is_quantity, value


def _score(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise DocumentFormatError(f"{what} must be a number from 0 to 1 or null, got {value!r}")
    return float(value)


def suggestion_from_json(raw: Any, where: str) -> Suggestion:
    """A word's pending ``suggestion`` object; DocumentFormatError naming ``where`` when it is malformed."""
    if not isinstance(raw, Mapping):
        raise DocumentFormatError(f"{where}: must be an object or null")
    field, is_quantity, value = _label_from_json(raw, where)
    run = raw.get("run", "")
    if not isinstance(run, str):
        raise DocumentFormatError(f"{where}: run must be a string")
    score = _score(raw.get("score", 0.0), f"{where}: score")
    return Suggestion(field=field, is_quantity=is_quantity, quantity_value=None if value is None else float(value),
                      run=run, score=score or 0.0)
