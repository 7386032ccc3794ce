"""CORD v1 receipts (``valid_line[].words[]`` with quads and categories) as documents.

Accepts one ``receipt_XXXXX.json``, a ``json/`` folder, a split folder holding ``json/`` (and maybe
``image/``), or the CORD root holding ``train/json`` and ``dev/json``. Word boxes are the min/max of the
quad, clamped to ``meta.image_size``; words are put in geometric reading order. CORD's printed keys share
their value's category (``is_key``), so they take the value's field, as the schema says.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Mapping

from ..data.document import MAX_GROUP_ID, Box, Document, Word
from ..data.json_values import json_kind
from ..data.reading_order import reading_order
from ..data.quantity import parse_quantity
from ..data.schema import CORD_CATEGORIES, OTHER, LabelSchema
from .report import DatasetImportError, ImportReport, RecordCollector
from ._common import (DEFAULT_LIMITS, JSON_FILES, ImportLimits, RecordError, box_on_page, file_sha256, inside,
                      json_files_left_out, note_no_count, number, page_size, read_record_file, shown, storable,
                      too_many_words)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_QUAD_KEYS = (("x1", "y1"), ("x2", "y2"), ("x3", "y3"), ("x4", "y4"))


def cord_files(path: Path) -> list[Path]:
    """The CORD JSON files under ``path`` (see the module docstring for the layouts accepted)."""
    if path.is_file():
        return [path]
    if (path / "json").is_dir():
        files = sorted((path / "json").glob(JSON_FILES))
    else:
        files = sorted(path.glob(f"*/json/{JSON_FILES}")) or sorted(
            p for p in path.glob(JSON_FILES) if p.name.lower() != "manifest.json")
    if not files:
        raise DatasetImportError(f"no CORD JSON files in {path}; expected receipt_XXXXX.json files in it, in "
                                 f"{path / 'json'}, or in {path / 'train' / 'json'}")
    return files


def load_cord(path: Path, schema: LabelSchema, limits: ImportLimits = DEFAULT_LIMITS) -> ImportReport:
    root = path if path.is_dir() else path.parent
    records = RecordCollector(ids_from_file_names=True)
    files = cord_files(path)
    per_split: dict[str, int] = {}
    for file in files:
        name = _relative(file, root)
        before = len(records.documents)
        records.add(name, lambda notes, file=file, name=name: _cord_file(file, root, name, schema, limits, notes))
        split = file.parent.parent
        if path.is_dir() and split != path:  # PATH/SPLIT/json/x.json: a CORD root's splits
            per_split[split.name] = per_split.get(split.name, 0) + len(records.documents) - before
    if left_out := _left_out_note(path, files):
        records.problems.insert(0, left_out)  # first: above the records' own notes
    # a probe imported train and dev as 700 receipts and nothing said so
    records.note_merged_splits(path.name, "split folders", list(per_split.items()),
                               f"its folder alone (for example {path / next(reversed(per_split), '')})")
    return records.report()


def _left_out_note(path: Path, files: list[Path]) -> str | None:
    """Said when JSON files under a folder were not read: only ``json/`` folders (or the folder's own files) are
    (a probe's zip held ``json/`` and ``JSON/``: the second was dropped without a word)."""
    left_out = json_files_left_out(path, files, ignored=("manifest.json",))
    if left_out is None:
        return None
    return (f"{left_out}: CORD receipts are read from the json folders only (json/ beside image/, or SPLIT/json/ "
            "in a CORD root); move them there to import them")


def _cord_file(file: Path, root: Path, name: str, schema: LabelSchema, limits: ImportLimits,
               notes: list[str]) -> tuple[Document, Path | None]:
    """One CORD file as (document, its image or None); RecordError (or any error) when it cannot be imported."""
    if not inside(root, file):
        raise RecordError("it is a link to a file outside the folder imported")
    data = read_record_file(file, limits)
    doc = storable(cord_document(data, cord_id(file.stem, data), name, schema, notes, limits), notes)
    image = _image_for(file)
    if image is not None and not inside(file.parent.parent, image):  # <split>/image/ beside <split>/json/
        notes.append(f"image {image.name} is a link outside the folder imported; imported without pixels")
        image = None
    if image is not None:
        doc = dataclasses.replace(doc, image_sha256=file_sha256(image))
    return doc, image


def cord_id(stem: str, data: Any) -> str:
    """``cord-<file stem>``, with the receipt's split before the stem when CORD's ``meta.split`` names one other than
    train (``cord-dev-receipt_00000``): CORD numbers each split's files from ``receipt_00000``, so a dev receipt
    took a train receipt's id, and an import of dev beside train was refused whole (a probe). Every train
    receipt keeps the id it always had."""
    meta = data.get("meta") if isinstance(data, Mapping) else None
    split = meta.get("split") if isinstance(meta, Mapping) else None
    if isinstance(split, str) and re.fullmatch(r"[A-Za-z0-9_]{1,20}", split) and split.lower() != "train":
        return f"cord-{split.lower()}-{stem}"
    return f"cord-{stem}"


def cord_document(data: Any, doc_id: str, name: str, schema: LabelSchema, notes: list[str],
                  limits: ImportLimits = DEFAULT_LIMITS) -> Document:
    """One CORD receipt as a Document; appends a note per dropped or clamped word, raises RecordError if unusable
    (including more words than ``limits.max_words``)."""
    if not isinstance(data, Mapping):
        raise RecordError(f"a CORD receipt must be a JSON object, got {json_kind(data)}")
    meta = data.get("meta")
    if "meta" in data and not isinstance(meta, Mapping):  # "missing required key" read oddly for "meta": "x" (probe 62)
        raise RecordError(f"meta must be an object holding image_size, got {json_kind(meta)}")
    if not isinstance(meta, Mapping) or "image_size" not in meta:
        raise RecordError("missing required key meta.image_size")
    if not isinstance(size := meta["image_size"], Mapping):
        raise RecordError(f"meta.image_size must be an object with width and height, got {json_kind(size)}")
    width, height = page_size(size.get("width"), size.get("height"), "meta.image_size")
    lines = data.get("valid_line")
    if "valid_line" not in data:  # "got NoneType" read oddly for a key that is not there (probe 40)
        raise RecordError("missing required key valid_line (a list of the receipt's lines)")
    if not isinstance(lines, list):
        raise RecordError(f"valid_line must be a list of the receipt's lines, got {json_kind(lines)}")
    count = sum(len(line["words"]) for line in lines
                if isinstance(line, Mapping) and isinstance(line.get("words"), list))
    if (error := too_many_words(max(count, len(lines)), limits)) is not None:
        raise error
    words: list[Word] = []
    for i, line in enumerate(lines):
        words.extend(_line_words(line, i, width, height, schema, notes))
    if not words:
        raise RecordError("no usable words")
    doc_meta = {"dataset": "cord", "file": name}
    for key in ("image_id", "split"):
        if isinstance(meta.get(key), (int, str)):
            doc_meta[key] = meta[key]
    # a file this project exported names its document (meta.id, meta.source): importing it back keeps the id, so
    # the receipts are recognised as the ones already stored, not added a second time under cord-<file>
    exported_id, exported_source = meta.get("id"), meta.get("source")
    if isinstance(exported_id, str) and exported_id.strip():
        doc_id = exported_id
    source = exported_source if isinstance(exported_source, str) and exported_source else f"cord:{name}"
    return Document(id=doc_id, width=width, height=height, words=tuple(reading_order(words)),
                    source=source, meta=doc_meta).as_imported()


def _line_words(line: Any, i: int, width: int, height: int, schema: LabelSchema, notes: list[str]) -> list[Word]:
    where = f"valid_line[{i}]"
    if not isinstance(line, Mapping) or not isinstance(line.get("words"), list):
        notes.append(f"{where} is not an object with a words list; dropped")
        return []
    category = line.get("category")
    if category is not None and not isinstance(category, str):  # a number read "has no category" (probe 62)
        notes.append(f"{where} has category {json_kind(category)}, which is not text; its words are {OTHER}")
        category = ""
    elif not isinstance(category, str):
        notes.append(f"{where} has no category; its words are {OTHER}")
        category = ""
    elif category not in CORD_CATEGORIES and category not in schema.cord_fields \
            and category not in schema.cord_quantity:
        notes.append(f"{where} has unknown category {shown(category)}; its words are {OTHER}")
    group = line.get("group_id")
    group_id = group if isinstance(group, int) and not isinstance(group, bool) and 0 <= group <= MAX_GROUP_ID else None
    if group_id is None and group is not None:  # said, as the Label Studio importer says a bad item number
        notes.append(f"{where} has group_id {shown(group)}, not a whole number from 0 to {MAX_GROUP_ID:,}; its words "
                     "are in no item")
    is_quantity = category in schema.cord_quantity
    field = OTHER if is_quantity else schema.cord_fields.get(category, OTHER)
    raw_texts = [w.get("text") for w in line["words"] if isinstance(w, Mapping) and isinstance(w.get("text"), str)]
    line_value = parse_quantity(" ".join(raw_texts)) if is_quantity else None
    words = []
    for j, raw in enumerate(line["words"]):
        try:
            text, box, clamped = _word_text_box(raw, width, height)
        except RecordError as error:
            notes.append(f"{where}.words[{j}] ({category or 'no category'}): {error}; dropped")
            continue
        if clamped:
            notes.append(f"{where}.words[{j}] {text!r}: box extends outside the {width}x{height} page; clamped")
        value = None
        if is_quantity:
            value = parse_quantity(text)
            value = line_value if value is None else value
            note_no_count(f"{where}.words[{j}]", text, value, notes)
        words.append(Word(text=text, box=box, field=field, is_quantity=is_quantity, quantity_value=value,
                          group_id=group_id))
    return words


def _word_text_box(raw: Any, width: int, height: int) -> tuple[str, Box, bool]:
    """(stripped text, clamped box, whether clamped) of one CORD word, or RecordError."""
    if not isinstance(raw, Mapping):
        raise RecordError("word is not an object")
    text = raw.get("text")
    if not isinstance(text, str):
        raise RecordError(f"text must be a string, got {json_kind(text)}")
    if not text.strip():
        raise RecordError("empty text")
    quad = raw.get("quad")
    if not isinstance(quad, Mapping):
        raise RecordError("missing quad")
    missing = [k for pair in _QUAD_KEYS for k in pair if k not in quad]
    if missing:
        raise RecordError(f"quad lacks {', '.join(missing)}")
    xs = [number(quad[x], f"quad.{x}") for x, _ in _QUAD_KEYS]
    ys = [number(quad[y], f"quad.{y}") for _, y in _QUAD_KEYS]
    box, clamped = box_on_page(xs, ys, width, height)
    return text.strip(), box, clamped


def _image_for(file: Path) -> Path | None:
    """``<split>/image/<stem>.png`` beside ``<split>/json/<stem>.json``, when it exists."""
    if file.parent.name != "json":
        return None
    for suffix in IMAGE_SUFFIXES:
        candidate = file.parent.parent / "image" / f"{file.stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name
