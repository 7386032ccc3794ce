"""Documents as CORD v1 style JSON: ``json/<name>.json`` (+ ``image/<name>.<ext>``), what ``import --format cord``
reads back.

Each word becomes a CORD word (its box as a quad, ``is_key`` 0, ``row_id`` its line). Words of one item and one
category form one ``valid_line`` with the item's ``group_id`` (item words of no item are first grouped by line, as
scoring reads them: :func:`_line_items`); every other word's line (same line, same category)
gets a fresh ``group_id`` above the document's, as CORD gives every line one. A field is written as the first CORD
category the schema maps onto it (``ITEM_NAME`` -> ``menu.nm``, ``TOTAL`` -> ``total.total_price``), a quantity as
the first quantity category (``menu.cnt``), and ``OTHER`` as ``menu.etc`` inside an item, ``sub_total.etc``
elsewhere: all categories the importer maps back onto the same labels.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..data.document import Document, Word
from ..data.files import atomic_write, file_stems
from ..data.images import upright_bytes
from ..data.schema import ITEM_FIELDS, OTHER, LabelSchema
from ._common import image_suffix

OTHER_IN_ITEM, OTHER_ELSEWHERE = "menu.etc", "sub_total.etc"


def cord_category(word: Word, schema: LabelSchema) -> str:
    """The CORD category of a word (see the module docstring)."""
    if word.is_quantity:
        return sorted(schema.cord_quantity)[0]
    if word.field == OTHER:
        return OTHER_IN_ITEM if word.group_id is not None else OTHER_ELSEWHERE
    for category, field in schema.cord_fields.items():  # the schema's first category for the field
        if field == word.field:
            return category
    raise ValueError(f"schema {schema.name!r} maps no CORD category onto {word.field!r}")


def cord_json(doc: Document, schema: LabelSchema) -> dict[str, Any]:
    """One document as a CORD v1 receipt."""
    words = _line_items(doc.words)
    next_group = max((w.group_id for w in words if w.group_id is not None), default=-1) + 1
    lines: dict[tuple, dict[str, Any]] = {}
    for word in words:
        category = cord_category(word, schema)
        key = ("item", word.group_id, category) if word.group_id is not None else ("line", word.line_id, category)
        if word.is_quantity and word.quantity_value is None:  # a line of its own: on the "2" line, the import reads
            key += ("no value",)  # the line's 2 into a valueless "x" (probe 36's round trip gained values)
        line = lines.get(key)
        if line is None:
            group = word.group_id if word.group_id is not None else next_group
            next_group += word.group_id is None
            line = lines[key] = {"words": [], "category": category, "group_id": group, "sub_group_id": 0}
        x0, y0, x1, y1 = word.box
        line["words"].append({"quad": {"x1": x0, "y1": y0, "x2": x1, "y2": y0, "x3": x1, "y3": y1, "x4": x0,
                                       "y4": y1},
                              "is_key": 0, "row_id": word.line_id, "text": word.text})
    meta = {"version": "v1.0", "split": str(doc.meta.get("split", "")), "image_id": doc.meta.get("image_id", 0),
            "image_size": {"width": doc.width, "height": doc.height}, "source": doc.source, "id": doc.id}
    return {"dontcare": [], "valid_line": list(lines.values()), "meta": meta, "roi": {}, "repeating_symbol": []}


def _line_items(words: Sequence[Word]) -> list[Word]:
    """``words`` with the words of no item on a line that holds an item name of no item put into one item: the
    item scoring reads there (``evaluation.metrics.items_of``). A WildReceipt import has lines, no items; written as
    a group per word, each word came back its own item, every quantity in no item, and item quantity accuracy read
    1.000 (a probe)."""
    words = list(words)
    next_group = max((w.group_id for w in words if w.group_id is not None), default=-1) + 1
    lines: dict[int, list[int]] = {}
    for index, word in enumerate(words):
        if word.group_id is None:
            lines.setdefault(word.line_id, []).append(index)
    for indices in lines.values():
        if not any(words[i].field == "ITEM_NAME" for i in indices):
            continue
        for i in indices:
            if words[i].field in ITEM_FIELDS or words[i].is_quantity:
                words[i] = dataclasses.replace(words[i], group_id=next_group)
        next_group += 1
    return words


def save_cord(docs: Iterable[Document], folder: Path, schema: LabelSchema,
              images: Mapping[str, Path] | None = None) -> list[Path]:
    """Write ``docs`` as ``folder/json/<name>.json`` and their images as ``folder/image/<name>.<ext>``; the name is
    the document id without a ``cord-`` prefix, made a safe file name. Returns the JSON files."""
    docs = list(docs)
    stems = file_stems((doc.id for doc in docs), strip_prefix="cord-")  # every name settled before a file is written
    folder = Path(folder)
    images = images or {}
    written = []
    for doc in docs:
        name = stems[doc.id]
        path = folder / "json" / f"{name}.json"
        atomic_write(path, json.dumps(cord_json(doc, schema), ensure_ascii=False, indent=1).encode("utf-8"))
        written.append(path)
        image = images.get(doc.id)
        if image is not None:
            data = image.read_bytes()  # turned upright: the JSON's boxes and image_size are (a probe's EXIF photo)
            atomic_write(folder / "image" / f"{name}{image_suffix(image, data)}", upright_bytes(data))
    return written
