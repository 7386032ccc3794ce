"""WildReceipt (MMOCR KIE format: one JSON receipt per line, 8-number segment boxes, class ids) as documents.

Accepts the WildReceipt folder (``class_list.txt`` plus ``train.txt``/``dev.txt``/``test.txt``, whichever
exist) or one annotation file whose folder holds ``class_list.txt``. Each annotated segment becomes one
Word: WildReceipt's text has its spaces removed (``KOREANRESTAURANT``), and splitting it again would invent
boxes, so the segment is kept whole. Image paths are relative to the WildReceipt folder and must stay inside it.
"""

from __future__ import annotations

import codecs
import dataclasses
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..data.document import Box, Document, Word
from ..data.json_values import json_kind
from ..data.reading_order import reading_order
from ..data.quantity import parse_quantity
from ..data.schema import OTHER, WILDRECEIPT_CLASSES, LabelSchema
from .report import DatasetImportError, ImportReport, RecordCollector
from ._common import (DEFAULT_LIMITS, ImportLimits, RecordError, box_on_page, file_sha256, inside, number,
                      page_size, parse_record, shown, storable, too_many_words)
from ..wording import counted

SPLIT_FILES = ("train.txt", "dev.txt", "test.txt")


def wildreceipt_files(path: Path) -> tuple[Path, list[Path]]:
    """The WildReceipt folder and the annotation files to read from ``path``."""
    folder = path if path.is_dir() else path.parent
    files = [path] if path.is_file() else [folder / n for n in SPLIT_FILES if (folder / n).is_file()]
    if not files:
        raise DatasetImportError(f"no WildReceipt annotation files in {folder}; expected one of {', '.join(SPLIT_FILES)}")
    if not (folder / "class_list.txt").is_file():
        raise DatasetImportError(f"{folder / 'class_list.txt'} is missing; WildReceipt needs it to name label ids")
    # the folder's files, not files elsewhere that its links lead to, as every other format reads a folder: probe 60
    # imported a train.txt linked to a file outside the dashboard's folders, and read /etc/passwd line by line
    leaving = [file for file in (*files, folder / "class_list.txt") if file != path and not inside(folder, file)]
    if leaving:
        raise DatasetImportError(f"{', '.join(file.name for file in leaving)} in {folder} "
                                 f"{'is a link' if len(leaving) == 1 else 'are links'} to a file outside the folder, "
                                 "which is not read; copy the file into the folder")
    return folder, files


def read_class_list(path: Path) -> list[str]:
    """Label names by id (line index). Tolerates the official ``<id> <name>`` form as well as bare names."""
    names = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetImportError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); "
                                 "save it as UTF-8") from None
    except OSError as error:
        raise DatasetImportError(f"{path} cannot be read ({error.strerror or error})") from None
    for i, line in enumerate(text.splitlines()):
        parts = line.split()
        if not parts:
            continue
        if len(parts) >= 2 and parts[0].isdigit():
            if int(parts[0]) != len(names):
                raise DatasetImportError(f"{path}: line {i + 1} numbers label {parts[0]}, expected {len(names)}")
            parts = parts[1:]
        names.append(" ".join(parts))  # whole: "1 <img src=x …>" was read as a class named "1" (a probe)
    if not names:
        raise DatasetImportError(f"{path} lists no label names")
    return names


def load_wildreceipt(path: Path, schema: LabelSchema, limits: ImportLimits = DEFAULT_LIMITS) -> ImportReport:
    folder, files = wildreceipt_files(path)
    classes = read_class_list(folder / "class_list.txt")
    records = RecordCollector(ids_from_file_names=True)
    unknown = [name for name in classes if name not in WILDRECEIPT_CLASSES and name not in schema.wildreceipt_fields
               and name not in schema.wildreceipt_quantity]
    if unknown:  # said once: a probe's lower-cased class list imported 182 words as checked OTHER without a word
        records.problem(f"class_list.txt names {counted(len(unknown), 'class', 'classes')} WildReceipt does not have "
                        f"({', '.join(shown(name) for name in unknown[:5])}{', …' if len(unknown) > 5 else ''}): "
                        f"their words are imported as {OTHER}. WildReceipt's names are case-sensitive, such as "
                        "'Prod_item_value'")
    read_from: list[tuple[str, int]] = []  # each split file and the receipts it gave
    for file in files:
        before = len(records.documents)
        try:
            for number_, line in _lines(file, limits):
                where = f"{file.name} line {number_}"
                if isinstance(line, UnicodeDecodeError):  # this line only (a probe lost the rest of the file)
                    records.problem(f"{where}: not UTF-8 text ({line.reason} at byte {line.start}); skipped")
                    continue
                records.add(where, lambda notes, line=line: _receipt(line, folder, classes, schema, limits, notes),
                            noted_where=lambda doc, where=where: f"{where} ({doc.meta['file']})")
        except OSError as error:
            records.problem(f"{file.name}: not a readable text file ({error}); the rest of it skipped")
        read_from.append((file.name, len(records.documents) - before))
    records.note_merged_splits(folder.name, "split files", read_from,
                               f"its file alone (for example {folder / files[-1].name}), or a zip of that file and "
                               "its images (an uploaded zip is read whole)")
    return records.report()


def _lines(file: Path, limits: ImportLimits) -> Iterator[tuple[int, str | UnicodeDecodeError]]:
    """(line number, text) of the non-empty lines, streamed, each decoded as UTF-8 on its own (a line that is not
    comes as its UnicodeDecodeError); a line longer than a record may be is cut short (its JSON then fails to parse
    and the line is one problem)."""
    with open(file, "rb") as handle:
        for number_, raw in enumerate(iter(lambda: handle.readline(limits.max_record_bytes + 1), b""), start=1):
            if len(raw) > limits.max_record_bytes:
                rest = raw
                while rest and not rest.endswith(b"\n"):  # skip the remainder of the over-long line
                    rest = handle.readline(limits.max_record_bytes + 1)
            if number_ == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            elif number_ == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise OSError("it is UTF-16 text: save it as UTF-8")
            try:  # an over-long line cut mid-character is refused for its size, not its encoding
                line = raw.decode("utf-8", errors="replace" if len(raw) > limits.max_record_bytes else "strict")
            except UnicodeDecodeError as error:
                yield number_, error
                continue
            if len(raw) > limits.max_record_bytes or line.strip():
                yield number_, line  # over the limit: parse_record refuses it by size


def _receipt(line: str, folder: Path, classes: list[str], schema: LabelSchema, limits: ImportLimits,
             notes: list[str]) -> tuple[Document, Path | None]:
    """One WildReceipt line as (document, its image or None); RecordError (or any error) when unusable."""
    record = parse_record(line, limits)
    doc = storable(wildreceipt_document(record, classes, schema, notes, limits), notes)
    image = _image_path(folder, record["file_name"])
    if image is None:
        notes.append(f"image {shown(record['file_name'])} is not a file inside {folder.name}/; imported without pixels")
        return doc, None
    return dataclasses.replace(doc, image_sha256=file_sha256(image)), image


def wildreceipt_document(record: Any, classes: list[str], schema: LabelSchema, notes: list[str],
                         limits: ImportLimits = DEFAULT_LIMITS) -> Document:
    if not isinstance(record, Mapping):
        raise RecordError(f"a receipt must be a JSON object, got {json_kind(record)}")
    missing = [k for k in ("file_name", "height", "width", "annotations") if k not in record]
    if missing:
        raise RecordError(f"missing required {'key' if len(missing) == 1 else 'keys'} {', '.join(missing)}")
    file_name = record["file_name"]
    if not isinstance(file_name, str) or not file_name.strip():
        raise RecordError("file_name must be a non-empty string")
    width, height = page_size(record["width"], record["height"], "width/height")
    if not isinstance(record["annotations"], list):
        raise RecordError("annotations must be a list")
    if (error := too_many_words(len(record["annotations"]), limits)) is not None:
        raise error
    words: list[Word] = []
    empty = 0
    for i, annotation in enumerate(record["annotations"]):
        try:
            text, box, clamped, label = _segment(annotation, width, height)
        except RecordError as error:
            notes.append(f"annotations[{i}]: {error}; dropped")
            continue
        if not text:
            empty += 1
            continue
        if clamped:
            notes.append(f"annotations[{i}] {text!r}: box extends outside the {width}x{height} page; clamped")
        if 0 <= label < len(classes):
            name = classes[label]
        else:
            notes.append(f"annotations[{i}] {text!r}: unknown label id {label}; its word is {OTHER}")
            name = ""
        is_quantity = name in schema.wildreceipt_quantity
        field = OTHER if is_quantity else schema.wildreceipt_fields.get(name, OTHER)
        words.append(Word(text=text, box=box, field=field, is_quantity=is_quantity,
                          quantity_value=parse_quantity(text) if is_quantity else None))
    if empty:
        notes.append(f"{counted(empty, 'segment')} with empty text dropped")
    if not words:
        raise RecordError("no usable words")
    stem = Path(file_name).stem
    return Document(id=f"wildreceipt-{stem}", width=width, height=height, words=tuple(reading_order(words)),
                    source=f"wildreceipt:{file_name}",
                    meta={"dataset": "wildreceipt", "file": file_name}).as_imported()


def _segment(annotation: Any, width: int, height: int) -> tuple[str, Box, bool, int]:
    """(stripped text, clamped box, whether clamped, label id) of one segment; empty text gives ``""``."""
    if not isinstance(annotation, Mapping):
        raise RecordError("not an object")
    text = annotation.get("text")
    if not isinstance(text, str):
        raise RecordError(f"text must be a string, got {json_kind(text)}")
    label = annotation.get("label")
    if isinstance(label, bool) or not isinstance(label, int):
        raise RecordError(f"label must be an integer class id, got {shown(label)}")
    box = annotation.get("box")
    if not isinstance(box, list) or len(box) != 8:
        raise RecordError(f"box must be 8 numbers (4 corner points), got {shown(box)}")
    values = [number(v, "box value") for v in box]
    if not text.strip():
        return "", (0.0, 0.0, 0.0, 0.0), False, label
    xy, clamped = box_on_page(values[0::2], values[1::2], width, height)
    return text.strip(), xy, clamped, label


def _image_path(folder: Path, file_name: str) -> Path | None:
    """The image file for ``file_name``, or None when it is missing, would lie outside ``folder`` or is a link loop
    (a probe's receipt was dropped with "unexpected RuntimeError: Symlink loop")."""
    candidate = folder / file_name
    if not inside(folder, candidate):
        return None
    candidate = candidate.resolve()
    return candidate if candidate.is_file() else None
