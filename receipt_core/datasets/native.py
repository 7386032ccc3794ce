"""The project's own dataset folder: one native document JSON per receipt, images named by content hash.

Layout::

    folder/
      <document id>.json          one Document.to_json() each (file names made safe, see below)
      images/<sha256>.<ext>       the image a document's ``image_sha256`` names, when it has one

File names never come from outside unchecked: a document id like ``../x`` or ``Käse bon`` is written as a
safe ASCII name plus a short hash of the id, and images are named by the SHA-256 of their bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..data.document import MAX_GROUP_ID, Document, DocumentFormatError, suggestion_from_json
from ..data.files import atomic_write, file_stems, is_sha256
from ..data.json_values import json_kind
from ..data.schema import LabelSchema
from ..wording import counted
from .report import DatasetImportError, ImportReport, RecordCollector
from ._common import (DEFAULT_LIMITS, JSON_FILES, ImportLimits, RecordError, shown, box_on_page, file_sha256,
                      image_suffix, inside, json_files_left_out, json_subfolders_note, number, page_size,
                      quantity_number, read_record_file, storable, too_many_words)

IMAGE_FOLDER = "images"


def load_native(path: Path, schema: LabelSchema, limits: ImportLimits = DEFAULT_LIMITS) -> ImportReport:
    """Read a native folder (or one native JSON file); each bad file is reported and skipped."""
    if path.is_file():
        folder, files = path.parent, [path]
    else:
        folder, files = path, sorted(path.glob(JSON_FILES))
        if not files:
            raise DatasetImportError(f"no native document files (*.json) in {path}{json_subfolders_note(path)}")
    records = RecordCollector()
    if path.is_dir() and (left_out := json_files_left_out(path, files)):  # a probe's zip: 2 of 8 unsaid
        records.problem(f"{left_out}: a native folder's documents are the .json files at its top (Export "
                        "writes them so); import a subfolder on its own")
    for file in files:
        records.add(file.name, lambda notes, file=file: _native_file(file, folder, schema, limits, notes))
    return records.report()


def _native_file(file: Path, folder: Path, schema: LabelSchema, limits: ImportLimits,
                 notes: list[str]) -> tuple[Document, Path | str | None]:
    """One native document file as (document, its image, or the hash of one it names that is not in the folder,
    or None); RecordError (or any error) when unusable."""
    if not inside(folder, file):
        raise RecordError("it is a link to a file outside the folder imported")
    data = read_record_file(file, limits)
    check_native_record(data, limits)
    doc = Document.from_json(_without_bad_suggestions(data, schema, notes))
    doc.validate(schema)
    doc = storable(_on_page(doc, notes), notes)
    if doc.image_sha256 is None:
        return doc, None
    image = _find_image(folder / IMAGE_FOLDER, doc.image_sha256)
    if image is None or not inside(folder, image):  # the workspace may hold it (RecordCollector.add)
        return dataclasses.replace(doc, image_sha256=None), doc.image_sha256
    return doc, image


def check_native_record(data: Any, limits: ImportLimits = DEFAULT_LIMITS) -> None:
    """RecordError unless a parsed native document is strictly typed and bounded, before it becomes a Document.

    Stricter than :meth:`Document.from_json` on what comes from outside: a non-empty id, whole-pixel page sizes
    up to ``MAX_PAGE_SIDE``, at most ``limits.max_words`` words, boxes and values within range, ``quantity`` a
    JSON boolean (``"false"`` is not false), ``line_id``/``group_id`` whole numbers (not ``"abc"`` or null for
    ``line_id``).
    """
    if not isinstance(data, Mapping):
        raise RecordError(f"a document must be a JSON object, got {json_kind(data)}")
    missing = [key for key in ("id", "width", "height", "words") if key not in data]
    if missing:
        raise RecordError(f"missing key {missing[0]!r}")
    doc_id = data.get("id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise RecordError(f"'id' must be a non-empty string, got {shown(doc_id)}")
    for key in ("width", "height"):
        if isinstance(data[key], bool) or not isinstance(data[key], (int, float)):
            raise RecordError(f"{key!r} must be a number, got {json_kind(data[key])}")
    page_size(data["width"], data["height"], "the page")
    words = data.get("words")
    if not isinstance(words, list):
        raise RecordError(f"'words' must be a list, got {json_kind(words)}")
    if (error := too_many_words(len(words), limits)) is not None:
        raise error
    for i, word in enumerate(words):
        where = f"word {i}"
        if not isinstance(word, Mapping):
            raise RecordError(f"{where} must be an object, got {json_kind(word)}")
        box = word.get("box")
        if not isinstance(box, list) or len(box) != 4:
            raise RecordError(f"{where}: 'box' must be four numbers [x0, y0, x1, y1], got {shown(box)}")
        for value in box:
            number(value, f"{where} box value")
        if "quantity" in word and not isinstance(word["quantity"], bool):
            raise RecordError(f"{where}: 'quantity' must be true or false, got {shown(word['quantity'])}")
        if "line_id" in word:
            _whole(word["line_id"], f"{where}: 'line_id'", nullable=False)
        if word.get("group_id") is not None:
            _whole(word["group_id"], f"{where}: 'group_id'", nullable=True)
        if word.get("confidence") is not None:
            number(word["confidence"], f"{where}: 'confidence'", 1000.0)
        if word.get("quantity_value") is not None:
            quantity_number(word["quantity_value"], f"{where}: 'quantity_value'")
        if "field" in word and not isinstance(word["field"], str):
            raise RecordError(f"{where}: 'field' must be a string, got {shown(word['field'])}")


def _without_bad_suggestions(data: Mapping[str, Any], schema: LabelSchema, notes: list[str]) -> Mapping[str, Any]:
    """``data`` with every pending suggestion that does not read (a field outside ``schema``, a score that is no
    number, …) dropped, and said in one note: a model's suggestion is a proposal, and one bad one skipped the whole
    document with the labels a person gave it (a probe)."""
    words, bad = [], []
    for index, word in enumerate(data["words"]):
        raw = word.get("suggestion")
        if raw is not None:
            try:
                suggestion = suggestion_from_json(raw, f"word {index} suggestion")
                if suggestion.field not in schema.fields:
                    raise DocumentFormatError(f"word {index}: the suggested field {suggestion.field!r} is not in "
                                              f"schema {schema.name!r}")
            except (DocumentFormatError, TypeError, ValueError) as error:
                bad.append(str(error))
                word = {key: value for key, value in word.items() if key != "suggestion"}
        words.append(word)
    if not bad:
        return data
    notes.append(f"{counted(len(bad), 'suggestion')} that did not read dropped, the words and their labels kept "
                 f"(for example {bad[0][:200]})")
    return {**data, "words": words}


def _whole(value: object, what: str, nullable: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GROUP_ID:
        expected = f"a whole number from 0 to {MAX_GROUP_ID:,}" + (" or null" if nullable else "")
        raise RecordError(f"{what} must be {expected}, got {shown(value)}")


def save_native(docs: Iterable[Document], folder: Path,
                images: Mapping[str, Path | bytes] | None = None) -> list[Path]:
    """Write ``docs`` (and the images given per doc id, as files or bytes) as a native folder.

    Every file is written to a temporary name and renamed into place, so a crash never leaves a half-written
    document; files get the permissions of the user's umask, like any file the user creates. A document given
    an image but no ``image_sha256`` gets the image's hash; a document whose ``image_sha256`` disagrees with the
    image bytes is refused with ValueError. Returns the document files.
    """
    docs = list(docs)
    stems = file_stems(doc.id for doc in docs)  # every name settled before a file is written
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = images or {}
    written: list[Path] = []
    for doc in docs:
        image = images.get(doc.id)
        if image is not None:
            data = image.read_bytes() if isinstance(image, Path) else bytes(image)
            sha = hashlib.sha256(data).hexdigest()
            if doc.image_sha256 not in (None, sha):
                raise ValueError(f"document {doc.id!r} names image {doc.image_sha256} but the image given for it "
                                 f"has SHA-256 {sha}")
            doc = dataclasses.replace(doc, image_sha256=sha)
            target = folder / IMAGE_FOLDER / f"{sha}{image_suffix(image if isinstance(image, Path) else Path(), data)}"
            if not target.exists():
                atomic_write(target, data)
        path = folder / f"{stems[doc.id]}.json"
        atomic_write(path, json.dumps(doc.to_json(), ensure_ascii=False, indent=1).encode("utf-8"))
        written.append(path)
    return written


def _on_page(doc: Document, notes: list[str]) -> Document:
    """Clamp boxes to the page (reported); words entirely off the page are dropped (reported)."""
    words, changed = [], False
    for i, word in enumerate(doc.words):
        x0, y0, x1, y1 = word.box
        try:
            box, clamped = box_on_page((x0, x1), (y0, y1), doc.width, doc.height)
        except RecordError as error:
            notes.append(f"word {i} {word.text!r}: {error}; dropped")
            changed = True
            continue
        if clamped:
            notes.append(f"word {i} {word.text!r}: box extends outside the {doc.width}x{doc.height} page; clamped")
            word = dataclasses.replace(word, box=box)
            changed = True
        words.append(word)
    return doc.with_words(words) if changed else doc


def _find_image(folder: Path, sha: str) -> Path | None:
    if not is_sha256(sha) or not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(f"{sha}.*")):
        if candidate.is_file() and file_sha256(candidate) == sha:
            return candidate
    return None
