"""Workspace documents as a Label Studio JSON export: ``tasks.json`` (one task per receipt, in the shape
:mod:`.label_studio_template` describes), the images named by content hash under ``images/``, and
``label_config.xml`` to create the matching project, and ``README.txt`` saying how (photos included).

A receipt with a label or a done mark is an *annotation* (Label Studio counts its task completed); one nobody has
labelled yet carries its words as a *prediction* (``model_version`` "ocr"), as Label Studio's OCR pre-annotation
example does, so its task waits in the labelling queue. A run's suggestions are further predictions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..data.document import Document
from ..data.files import atomic_write, atomic_writer
from ..data.review import REVIEWED_META, receipt_status
from ..data.schema import LabelSchema
from ._common import image_suffix
from .label_studio_template import (BBOX, CONFIG_FILE, GROUP, IMAGE, IMAGE_FOLDER, IMAGE_LINK_META, ITEM_RELATION,
                                    LABEL, LINE_META, OCR_CONFIDENCE, OCR_MODEL_VERSION, PLACE_META, QUANTITY_TAG,
                                    README_FILE, TASKS_FILE, TEXT, export_readme, label_config)


def save_label_studio(docs: Iterable[Document], folder: Path, schema: LabelSchema,
                      images: Mapping[str, Path] | None = None, folder_name: str | None = None) -> Path:
    """Write ``docs`` as ``folder/tasks.json`` (+ ``images/`` named by content hash, + ``label_config.xml``, +
    ``README.txt`` naming the folder as ``folder_name``, default its own name); returns the tasks file. A task's
    ``data.ocr`` is the image's path relative to the folder (without one, the Label Studio link the receipt was
    imported with, else null)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = images or {}
    docs = list(docs)
    path = folder / TASKS_FILE
    # written task by task: the tasks of 5,000 receipts held whole, then dumped at once, took 9 GB (a probe), in the
    # dashboard's server as well; the bytes are json.dumps(tasks, indent=1)'s
    with atomic_writer(path) as out:
        out.write(b"[" if docs else b"[]")
        for number_, doc in enumerate(docs, start=1):
            task = document_task(doc, number_, _image_ref(doc, number_, images.get(doc.id), folder))
            dumped = json.dumps(task, ensure_ascii=False, indent=1, allow_nan=False)
            out.write((("\n " if number_ == 1 else ",\n ") + dumped.replace("\n", "\n ")).encode("utf-8"))
        if docs:
            out.write(b"\n]")
    atomic_write(folder / CONFIG_FILE, label_config(schema).encode("utf-8"))
    # the folder's final name: the CLI writes into a hidden staging folder first, whose name the README gave as the
    # storage path (a probe)
    with_photos = sum(1 for doc in docs if images.get(doc.id) is not None)  # said when some have none (a walkthrough)
    readme = export_readme(folder_name or folder.name, with_photos, len(docs))  # a walkthrough: no word on images
    atomic_write(folder / README_FILE, readme.encode("utf-8"))
    return path


def _image_ref(doc: Document, number_: int, image: Path | None, folder: Path) -> str | None:
    """A task's ``data.ocr``: its photo copied under ``images/`` (named by its hash), else, without one, the Label
    Studio link it was imported with (Label Studio still shows that photo), else None."""
    if image is None:
        link = doc.meta.get(IMAGE_LINK_META)
        return link if isinstance(link, str) else None
    data = image.read_bytes()
    name = f"{doc.image_sha256 or number_}{image_suffix(image, data)}"
    target = folder / IMAGE_FOLDER / name
    if not target.exists():
        atomic_write(target, data)
    return f"{IMAGE_FOLDER}/{name}"


def document_task(doc: Document, task_id: int, image_ref: str | None) -> dict[str, Any]:
    """One document as a Label Studio task (see the module docstring)."""
    annotation: list[dict[str, Any]] = []
    predictions: dict[str, list[dict[str, Any]]] = {}
    groups: dict[int, list[str]] = {}
    for index, word in enumerate(doc.words):
        rid = f"w{index}"
        geometry = _percent(word.box, doc.width, doc.height)
        annotation.append(_result(rid, BBOX, "rectangle", geometry, {}, doc))
        if word.is_labelled:
            labelled = _result(rid, LABEL, "labels", geometry, {"labels": [word.annotation_label]}, doc)
            # the label as exported, so an import can tell a region relabelled in Label Studio (its meta stays)
            labelled["meta"] = {"label_source": word.label_source, "label_run": word.label_run,
                                "label_score": word.label_score, "label": word.annotation_label}
            annotation.append(labelled)
        text = _result(rid, TEXT, "textarea", geometry, {"text": [word.text]}, doc)
        # its line, so an import back keeps the words' order and lines as they are here (recomputed from the boxes,
        # a receipt with a region read again came back reordered, and its undo history was cleared: a walkthrough)
        text["meta"] = {LINE_META: word.line_id, PLACE_META: index}
        if word.confidence is not None:  # the OCR's, 0–100: Annotate's low-confidence overlay reads it back
            text["meta"][OCR_CONFIDENCE] = word.confidence
        annotation.append(text)
        if word.is_quantity and word.quantity_value is not None:
            annotation.append(_result(rid, QUANTITY_TAG, "number", geometry, {"number": word.quantity_value}, doc))
        if word.group_id is not None:
            annotation.append(_result(rid, GROUP, "number", geometry, {"number": word.group_id}, doc))
            groups.setdefault(word.group_id, []).append(rid)
        suggestion = word.suggestion
        if suggestion is not None:
            region = _result(rid, LABEL, "labels", geometry, {"labels": [suggestion.annotation_label]}, doc)
            region["score"] = suggestion.score
            results = predictions.setdefault(suggestion.run, [])
            # one result per tag, as Label Studio's OCR pre-annotation example: Rectangle, Labels and TextArea
            results.append(_result(rid, BBOX, "rectangle", geometry, {}, doc))
            results.append(region)
            results.append(_result(rid, TEXT, "textarea", geometry, {"text": [word.text]}, doc))
            if suggestion.is_quantity and suggestion.quantity_value is not None:
                results.append(_result(rid, QUANTITY_TAG, "number", geometry,
                                       {"number": suggestion.quantity_value}, doc))
    for rids in groups.values():
        annotation.extend({"from_id": a, "to_id": b, "type": "relation", "direction": "right",
                           "labels": [ITEM_RELATION]} for a, b in zip(rids, rids[1:]))
    task: dict[str, Any] = {
        "id": task_id,
        "data": {"ocr": image_ref, "receipt_id": doc.id, "source": doc.source, "width": doc.width,
                 "height": doc.height, "meta": dict(doc.meta),
                 # a column Label Studio's data manager filters on: a receipt in progress is an annotation, which
                 # Label Studio counts completed (walkthrough 34 could not tell them from the done ones)
                 "status": receipt_status(doc, doc.meta.get(REVIEWED_META) is True)},
    }
    runs = [{"model_version": run, "result": results, "score": _mean(r["score"] for r in results if "score" in r)}
            for run, results in predictions.items()]
    if doc.labelled_words or doc.meta.get(REVIEWED_META) is True:
        task["annotations"] = [{"result": annotation, "ground_truth": False, "was_cancelled": False}]
    else:  # nobody's work yet: the OCR's words as a pre-annotation, so Label Studio queues the task as not done
        # (a walkthrough saw every receipt counted completed); an import reads its words from this first prediction
        runs.insert(0, {"model_version": OCR_MODEL_VERSION, "result": annotation, "score": 0.0})
    if runs:
        task["predictions"] = runs
    return task


def _percent(box, width: int, height: int) -> dict[str, float]:
    x0, y0, x1, y1 = box
    return {"x": x0 / width * 100, "y": y0 / height * 100, "width": (x1 - x0) / width * 100,
            "height": (y1 - y0) / height * 100, "rotation": 0}


def _result(rid: str, from_name: str, kind: str, geometry: Mapping, extra: Mapping, doc: Document) -> dict:
    return {"id": rid, "from_name": from_name, "to_name": IMAGE, "type": kind, "original_width": doc.width,
            "original_height": doc.height, "image_rotation": 0, "value": {**geometry, **extra}}


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
