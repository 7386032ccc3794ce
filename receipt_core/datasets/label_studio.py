"""Label Studio JSON in: one exported JSON file (a list of tasks, or one task) or a folder of them, in the shape
:mod:`.label_studio_template` describes, this project's export or Label Studio's own of such a project. Each bad
task is one problem line and the rest imports (bounded JSON, numbers in range, boxes clamped to the page)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from ..data.document import IMPORT, LABEL_SOURCES, Document, Suggestion, Word
from ..data.json_values import json_kind
from ..data.quantity import parse_quantity
from ..data.schema import OTHER, QUANTITY, LabelSchema
from .bounded_json import first_constant
from ._common import (DEFAULT_LIMITS, JSON_FILES, ImportLimits, RecordError, inside, note_no_count,
                      quantity_number, read_record_file, short_id, shown, storable, too_many_words)
from .label_studio_geometry import page_of, region_box, unread_shape
from .label_studio_choice import chosen_annotation, chosen_prediction, probability
from .label_studio_images import is_storage_link, task_image
from .label_studio_items import item_numbers
from .label_studio_order import words_in_order
from .label_studio_template import (GROUP, IMAGE_LINK_META, LINE_META, OCR_CONFIDENCE,
                                    PLACE_META, QUANTITY_TAG)
from .report import DatasetImportError, ImportReport, RecordCollector
from ..wording import counted

IMAGE_NAME = re.compile(r"\.(jpe?g|png|webp|tiff?|bmp|gif)(\?|$)", re.IGNORECASE)  # a value naming an image file
EXPORT_HINT = ("export the project from Label Studio as JSON (its JSON-MIN and CSV exports keep no box and "
               "transcription per region)")
MAX_FILE_BYTES = 512 * 1024 * 1024  # a whole export (many tasks); each task is bounded by ImportLimits too


def load_label_studio(path: Path, schema: LabelSchema, limits: ImportLimits = DEFAULT_LIMITS) -> ImportReport:
    """Read a Label Studio JSON export (a file, or a folder of ``*.json`` files); each bad task is reported."""
    if path.is_file() and path.suffix.lower() in (".csv", ".tsv"):
        raise DatasetImportError(f"{path.name} is a {path.suffix[1:].upper()} file: {EXPORT_HINT}")
    if path.is_file():
        folder, files = path.parent, [path]
    else:
        folder, files = path, sorted(path.glob(JSON_FILES))
        if not files:
            raise DatasetImportError(f"no Label Studio JSON files (*.json) in {path}")
    records = RecordCollector()
    for file in files:
        try:
            tasks = _read_tasks(file, folder, limits)
        except RecordError as error:
            records.problem(f"{file.name}: {error}; skipped")
            continue
        for i, task in enumerate(tasks):
            records.add(_task_name(file, i + 1, task),
                        lambda notes, task=task, i=i: _task_document(task, i + 1, folder, schema, limits, notes))
    return records.report()


def _task_name(file: Path, number_: int, task: Any) -> str:
    """How a problem names a task: its place in the file, and its Label Studio id, by which Label Studio finds it
    (a walkthrough read "task 1" for the task with id 100)."""
    task_id = task.get("id") if isinstance(task, Mapping) else None
    known = isinstance(task_id, (int, str)) and not isinstance(task_id, bool) and str(task_id) != ""
    return f"{file.name} task {number_}" + (f" (id {shown(task_id)})" if known else "")


def _read_tasks(file: Path, folder: Path, limits: ImportLimits) -> list[Any]:
    if not inside(folder, file):
        raise RecordError("it is a link to a file outside the folder imported")
    # a NaN costs the task that holds it (_task_document), not the file's every task (a probe)
    data = read_record_file(file, ImportLimits(limits.max_words, MAX_FILE_BYTES, limits.max_depth),
                            keep_constants=True)
    if isinstance(data, Mapping):
        return [data]
    if not isinstance(data, list):
        raise RecordError(f"a Label Studio export is a list of tasks, got {json_kind(data)}")
    return data


def _task_document(task: Any, number_: int, folder: Path, schema: LabelSchema, limits: ImportLimits,
                   notes: list[str]) -> tuple[Document, Path | str | None]:
    if (constant := first_constant(task)) is not None:
        raise RecordError(f"it holds {constant}, which is not a JSON number")
    if isinstance(task, Mapping) and not {"data", "annotations", "predictions"} & set(task):
        raise RecordError(f"not a Label Studio task (no data, annotations or predictions; a JSON-MIN row?): "
                          f"{EXPORT_HINT}")
    if not isinstance(task, Mapping) or not isinstance(task.get("data", {}), Mapping):
        raise RecordError("a task must be an object with a data object")
    data = task.get("data", {})
    if not isinstance(task.get("annotations") or [], list) or not isinstance(task.get("predictions") or [], list):
        raise RecordError("annotations and predictions must be lists")
    given = [a for a in task.get("annotations") or [] if isinstance(a, Mapping)]
    odd = {"annotation": len(task.get("annotations") or []) - len(given),
           "prediction": sum(1 for p in task.get("predictions") or [] if not isinstance(p, Mapping))}
    for what, count in odd.items():  # a probe's 1, "x" and null entries went without a word
        if count:
            notes.append(f"{counted(count, what)} left out: not an object (Label Studio writes each {what} as an "
                         "object with a result list)")
    # only those that can give words compete (a ground-truth one with a broken result lost the whole task), and only
    # a true was_cancelled cancels (the text "false" did)
    annotations = [a for a in given if a.get("was_cancelled") is not True and isinstance(a.get("result"), list)]
    predictions = [p for p in task.get("predictions") or [] if isinstance(p, Mapping)]
    # one submitted with no region (everything deleted) gives no words: the newest with regions is read instead (a
    # probe's empty later annotation lost the whole task)
    with_regions = [a for a in annotations if a["result"]]
    if with_regions and len(with_regions) < len(annotations):
        notes.append(f"{counted(len(annotations) - len(with_regions), 'annotation')} with no regions left out")
    annotations = with_regions or annotations
    cancelled = sum(1 for a in given if a.get("was_cancelled") is True)
    if annotations and cancelled:  # said beside the one chosen: a probe's third, cancelled one went unmentioned
        notes.append(f"{counted(cancelled, 'cancelled annotation')} left out")
    elif cancelled and predictions:  # a task skipped in Label Studio went unsaid (walkthrough 62)
        notes.append(f"{counted(cancelled, 'cancelled annotation')} (skipped in Label Studio) left out; its words "
                     "come from its prediction")
    base = chosen_annotation(annotations, notes) if annotations else (
        chosen_prediction(predictions, notes) if predictions else None)
    if base is None or not isinstance(base.get("result"), list):
        # an annotation whose result is an object read as "all cancelled" (a probe)
        given_n = counted(len(given), "annotation")
        unread = ("" if not given else f" ({given_n}, all cancelled; drafts are not read)" if cancelled == len(given)
                  else f" ({given_n}, with a result that is not a list)" if not cancelled
                  else f" ({given_n}: {cancelled} cancelled, the rest with a result that is not a list)")
        drafts = task.get("drafts")  # a task with a draft only: said, with the way out (probe 58)
        if not given and isinstance(drafts, list) and drafts:
            unread = (f" ({counted(len(drafts), 'draft')} only: drafts, work not submitted, are not read; submit it "
                      "in Label Studio and export again)")
        raise RecordError(f"the task has no annotation or prediction with a result list{unread}")
    results = [r for r in base["result"] if isinstance(r, Mapping)]
    if skipped := len(base["result"]) - len(results):
        notes.append(f"{counted(skipped, 'result')} left out: not an object (Label Studio writes each result as an "
                     "object with an id, a type and a value)")
    # a word is one region: its rectangle, labels, transcription and numbers are results sharing its id (counting
    # results refused the re-import of this app's own export of a 4,116-word receipt as "20,578 words")
    # ids of any JSON type: a list as an id raised "unhashable type: 'list'" here (a probe); _regions says it
    if (error := too_many_words(len({shown(r.get("id")) for r in results if r.get("type") != "relation"}), limits)) \
            is not None:
        raise error
    width, height = page_of(data, results, notes)
    regions = _regions(results, width, height, schema, notes)
    if not regions:
        raise RecordError("no usable word regions (a rectangle with a transcription)")
    groups = item_numbers(results, regions, notes)
    labelled = base is not None and base in annotations
    words = {rid: _word(rid, region, groups.get(rid), labelled, notes) for rid, region in regions.items()}
    contested: set[str] = set()  # words two predictions suggest differently for
    for prediction in predictions:
        _add_suggestions(prediction, words, width, height, schema, notes, contested)
    if contested:  # listed in Label Studio's order, not by quality: the last had won (a probe)
        notes.append(f"{len(predictions)} predictions suggest differently for {counted(len(contested), 'word')}; "
                     "each word keeps its highest-scoring suggestion")
    ref = data.get("ocr", data.get("image"))
    if ref is None and (elsewhere := [k for k, v in data.items()  # a URL or path, not our data.source file name
                                      if k != "source" and isinstance(v, str) and "/" in v and IMAGE_NAME.search(v)]):
        notes.append(f"the image is read from data.ocr (or data.image), not data.{elsewhere[0]}; imported without "
                     "pixels")
    given = data.get("receipt_id")
    doc_id = given if isinstance(given, str) and given.strip() else _task_receipt_id(task.get("id", number_), ref)
    if given is not None and doc_id is not given:  # a number or a blank: said, as the other fields' types are
        notes.append(f"data.receipt_id {shown(given)} is not a non-empty text; imported as {doc_id!r}")
    image = task_image(ref, folder, notes)
    source = data.get("source") if isinstance(data.get("source"), str) else (
        image.name if isinstance(image, Path) else "label-studio")
    meta = dict(data["meta"]) if isinstance(data.get("meta"), Mapping) else {}
    if not isinstance(image, Path) and is_storage_link(ref):  # an export writes it back (label_studio_export)
        meta[IMAGE_LINK_META] = ref
    ordered = words_in_order(words, regions, notes)
    doc = Document(id=str(doc_id), width=width, height=height, words=tuple(ordered), source=source, meta=meta)
    doc.validate(schema)
    return storable(doc, notes), image


def _task_receipt_id(task_id: Any, ref: Any) -> str:
    """A receipt id for a task without this project's ``receipt_id``: Label Studio numbers tasks per instance, so two
    projects' task 1 collided and one replaced the other's receipt (a probe). The image's file name (Label Studio
    prefixes an upload's with a random key) tells them apart and stays the same in a later export of the project."""
    if isinstance(task_id, bool) or not isinstance(task_id, (int, str)) or not str(task_id).strip():
        # a probe: {"a": 1} became the receipt id "label-studio-{'a': 1}", and 1e308 "label-studio-1e+308"
        raise RecordError(f"the task id must be a whole number or text (Label Studio numbers its tasks), got "
                          f"{'empty text' if isinstance(task_id, str) else json_kind(task_id)}")
    name = PurePosixPath(ref.split("?d=")[-1]).name if isinstance(ref, str) and ref.strip() else ""
    suffix = f"-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}" if name else ""
    return f"label-studio-{task_id}{suffix}"


def _repeated(region: dict[str, Any], key: str, value: Any, what: str, rid: str, notes: list[str]) -> bool:
    """Whether ``region`` already holds another ``key`` than ``value``: a second result of the same kind under one
    id, said in ``notes``; the first is kept (a probe's copy of a region's results under its id, with the same box,
    replaced "BURGER"/OTHER by "DUPLICATE"/TOTAL without a word)."""
    if key not in region or region[key] == value or region[key] in ("", None):  # an empty one is no rival: the
        return False  # usable one is kept (probe 31: a blank transcription first lost "BURGER")
    if value in ("", None):
        return True
    notes.append(f"region {short_id(rid)}: two {what} share this id ({shown(region[key])} and {shown(value)}); "
                 "kept the first")
    return True


def _result_gist(kind: Any, value: Any) -> str:
    """A result in a few words for a note: its type and its text or labels where it has them."""
    plain = isinstance(kind, str) and kind.isidentifier() and len(kind) <= 40  # "textarea", not "'textarea'"
    said = kind if plain else shown(kind) if kind is not None else "a result of no type"
    if isinstance(value, Mapping):
        content = value.get("text") or value.get("labels") or value.get(kind if isinstance(kind, str) else "")
        if isinstance(content, list) and content:
            said += f" {shown(' '.join(str(part) for part in content[:3]))}"
    return said


def _regions(results: list[Mapping], width: int, height: int, schema: LabelSchema,
             notes: list[str]) -> dict[str, dict[str, Any]]:
    """Region id -> {box, text, label, value, meta}, in order of first appearance."""
    regions: dict[str, dict[str, Any]] = {}
    odd_ids: set[str] = set()
    without_id: list[str] = []  # the kinds of results with no id: a probe's word was lost without a note
    odd_values: dict[str, None] = {}  # ids of results whose value is not an object, in order
    odd_confidences: dict[str, Any] = {}  # region id -> an OCR confidence that is no number in 0–100
    unknown: dict[str, str] = {}  # region id -> why its label is none of the schema's: said once all are read
    for result in results:
        rid, value, kind = result.get("id"), result.get("value"), result.get("type")
        if kind != "relation" and rid is not None and not isinstance(rid, str):
            odd_ids.add(type(rid).__name__)
        if kind != "relation" and rid is None:
            without_id.append(_result_gist(kind, value))
        if isinstance(rid, str) and kind != "relation" and not isinstance(value, Mapping):
            odd_values[rid] = None  # a probe's [1] as a value lost the word without a note
        if not isinstance(rid, str) or not isinstance(value, Mapping) or kind == "relation":
            continue
        region = regions.setdefault(rid, {})
        if (shape := unread_shape(kind, value)) is not None:  # said as such at the end (probe 58)
            region.setdefault("unread_shape", shape)
        if ("x" in value or "points" in value) and "unread_shape" not in region:
            # the values themselves: shown() cut two different polygons to the same 30 characters (probe 31)
            geometry = {k: value[k] for k in ("x", "y", "width", "height", "points", "radiusX", "radiusY")
                        if k in value}
            first = region.setdefault("geometry", geometry)
            # compared as written: a NaN is not equal to itself, and read as a second box (probe 59)
            if any(repr(first.get(k, v)) != repr(v) for k, v in geometry.items()) and not region.get("dropped"):
                # Label Studio repeats a region's geometry in each of its results; two different ones under one id
                # are two regions, and which text and label go with which cannot be told (a probe's "Coffee" was
                # lost under "Tea"'s text without a word)
                notes.append(f"region {short_id(rid)}: two different boxes share this id (each region has its own "
                             "id in Label Studio); dropped")
                region["dropped"] = True
            if "box" not in region and not region.get("dropped"):
                try:
                    region["box"] = region_box(value, width, height, notes, rid)
                except RecordError as error:
                    notes.append(f"region {short_id(rid)}: {error}; dropped")
                    region["dropped"] = True
        if kind == "textarea" and isinstance(value.get("text"), list) and value["text"]:
            text = " ".join(str(t) for t in value["text"] if isinstance(t, str)).strip()
            if _repeated(region, "text", text, "transcriptions", rid, notes):
                continue
            region["text"] = text
            meta = result.get("meta")
            confidence = meta.get(OCR_CONFIDENCE) if isinstance(meta, Mapping) else None
            if isinstance(confidence, (int, float)) and not isinstance(confidence, bool) and 0 <= confidence <= 100:
                region[OCR_CONFIDENCE] = float(confidence)
            elif confidence is not None:  # said, as the native import says it (a probe's 150s went unsaid)
                odd_confidences.setdefault(rid, confidence)
            for key in (LINE_META, PLACE_META):  # as exported; checked together in words_in_order
                if isinstance(meta, Mapping) and key in meta:
                    region[key] = meta[key]
        elif kind in ("labels", "rectanglelabels", "polygonlabels", "ellipselabels"):
            names = value.get("labels", value.get(kind))
            # the first of its names that is a label here, not only the first name (a probe's ["Total", "TOTAL"]
            # was left unlabelled, "Total" named as the reason)
            known = next((n for n in names if isinstance(n, str) and n in schema.annotation_labels), None) \
                if isinstance(names, list) else None
            if known is not None:
                if _repeated(region, "label", known, "labels", rid, notes):
                    continue
                region["label"] = known
                if len(names) > 1:  # a word has one label here; Labels choice="multiple" allows several
                    listed = ", ".join(shown(n) for n in names[:3])  # not 20,000 of them (a probe: 3.6 MB said)
                    more = f", … ({len(names):,} labels)" if len(names) > 3 else ""
                    kept = "the first" if names[0] == known else f"{shown(known)}, the first that is a label here"
                    notes.append(f"region {short_id(rid)}: labels {listed}{more}; kept {kept}")
                region["meta"] = result.get("meta") if isinstance(result.get("meta"), Mapping) else {}
            elif not isinstance(names, list) or not names:
                notes.append(f"region {short_id(rid)}: {kind} must be a list of label names such as [\"TOTAL\"], got "
                             f"{shown(names)}; left unlabelled")
            elif len(names) == 1:
                unknown.setdefault(rid, f"label {shown(names[0])} is not in schema {schema.name!r}")
            else:
                listed = ", ".join(shown(n) for n in names[:3]) + (f", … ({len(names):,} labels)"
                                                                    if len(names) > 3 else "")
                unknown.setdefault(rid, f"none of its labels ({listed}) is in schema {schema.name!r}")
        elif kind == "number" and result.get("from_name") in (QUANTITY_TAG, GROUP):
            if not _repeated(region, result["from_name"], value.get("number"), f"{result['from_name']} numbers",
                             rid, notes):
                region[result["from_name"]] = value.get("number")
    for rid, why in unknown.items():  # probe 31's "Bogus" then "TOTAL" under one id said "left unlabelled" of TOTAL
        kept = regions[rid].get("label")
        notes.append(f"region {short_id(rid)}: {why}; "
                     + (f"kept {shown(kept)}, its other label" if kept is not None else "left unlabelled"))
    if odd_confidences:
        rid, confidence = next(iter(odd_confidences.items()))
        notes.append(f"{counted(len(odd_confidences), 'word')} with an OCR confidence that is no number in 0–100 "
                     f"(region {shown(rid)}: {shown(confidence)}) read as having none")
    if without_id:
        listed = ", ".join(without_id[:3]) + (", …" if len(without_id) > 3 else "")
        notes.append(f"{counted(len(without_id), 'result')} without an id dropped ({listed}): Label Studio gives each "
                     "region an id, which ties its box, label and transcription together")
    if odd_ids:
        notes.append(f"results whose id is not text ({', '.join(sorted(odd_ids))}) dropped: a region's id is a "
                     "string in Label Studio")
    for rid in odd_values:
        dropped = "" if rid in regions else "; the region has no other result, so it is dropped"
        notes.append(f"region {short_id(rid)}: a result whose value is not an object left out (Label Studio writes "
                     f"values such as {{\"x\": …, \"labels\": […]}}){dropped}")
    usable = {}
    for rid, region in regions.items():
        if region.get("dropped"):
            continue
        if "box" not in region or not region.get("text"):  # a keypoint's and a brush's said as what they are
            why = (f"{region['unread_shape']}, which marks no word's box (words are rectangles, polygons or "
                   "ellipses)" if "unread_shape" in region else "needs a box and a non-empty transcription")
            notes.append(f"region {short_id(rid)}: {why}; dropped")
            continue
        usable[rid] = region
    return usable


def _word(rid: str, region: Mapping[str, Any], group: int | None, labelled: bool, notes: list[str]) -> Word:
    word = Word(text=region["text"], box=region["box"], group_id=group, confidence=region.get(OCR_CONFIDENCE))
    label = region.get("label") if labelled else None
    if label is None:
        return word
    meta = region.get("meta") or {}
    if isinstance(meta.get("label"), str) and meta["label"] != label:
        # relabelled in Label Studio, which keeps a region's meta: the provenance exported with the old label (a
        # model's, with its run and score) is not this label's
        meta = {}
    source = meta.get("label_source") if meta.get("label_source") in LABEL_SOURCES else IMPORT
    run = meta.get("label_run") if source == "model" and isinstance(meta.get("label_run"), str) else None
    score = meta.get("label_score") if source == "model" else None
    score = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= score <= 1 \
        else None
    if source == "model":  # a probe's {"x": 1} as the run and "hi" as the score were dropped without a word
        unread = [f"{key} {shown(meta[key])}" for key, kept in (("label_run", run), ("label_score", score))
                  if meta.get(key) is not None and kept is None]
        if unread:
            notes.append(f"region {short_id(rid)}: the model label's {' and '.join(unread)} cannot be read (a run id "
                         "is text, a score a number from 0 to 1); the label is kept without it")
    value = None
    if label == QUANTITY:
        try:
            value = _quantity(region.get(QUANTITY_TAG), region["text"])
        except RecordError as error:  # dropped, said: the word stays a quantity (a probe's -5 had cost the receipt)
            notes.append(f"region {short_id(rid)}: {error}; the typed value was dropped, the word stays a quantity "
                         "(counted as its text prints, if it prints a count)")
        else:
            note_no_count(f"region {short_id(rid)}", region["text"], value, notes)
    return word.with_annotation(label, value, source=source, run=run, score=score)


def _quantity(value: Any, text: str) -> float | None:
    """The count typed in Label Studio's Number field, else the one the word's text prints; RecordError for a
    typed value that is no count: out of range, or no number at all (a probe's "3", true, [1] and "NaN" were
    dropped without a word, while the same values in the item field were each named)."""
    if value is None:
        return parse_quantity(text)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise RecordError(f"the typed quantity {shown(value)} is not a number (Label Studio's Number field holds one)")
    return quantity_number(value, "quantity") + 0.0  # -0.0 is 0


def _add_suggestions(prediction: Mapping, words: dict[str, Word], width: int, height: int, schema: LabelSchema,
                     notes: list[str], contested: set[str]) -> None:
    """A prediction's labels as suggestions on the words (matched by region id) nobody labelled; a word that has one
    from another prediction keeps the higher-scoring of the two."""
    run = str(prediction.get("model_version") or "label-studio")
    default = prediction.get("score")
    results = [r for r in prediction.get("result") or [] if isinstance(r, Mapping)]
    regions = _regions(results, width, height, schema, []) if results else {}
    if unmatched := [rid for rid in regions if rid not in words]:  # other region ids: another tool's regions
        notes.append(f"prediction {shown(run)}: {counted(len(unmatched), 'region')} of {len(regions)} match no word of "
                     "the task by region id; their suggestions are left out")
    unread_scores: list[str] = []  # a probe's "score": "high" became 0.0 without a word
    for rid, region in regions.items():
        word = words.get(rid)
        label = region.get("label")
        if word is None or label is None or word.is_labelled:
            continue
        raw = next((r.get("score") for r in results if r.get("id") == rid and "score" in r), default)
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, (int, float))):
            unread_scores.append(f"{rid} {shown(raw)}")
        score = probability(raw)
        earlier = word.suggestion
        if earlier is not None and (earlier.field, earlier.is_quantity) != (OTHER if label == QUANTITY else label,
                                                                           label == QUANTITY):
            contested.add(rid)
        if earlier is not None and earlier.score >= score:  # an earlier prediction's is surer
            continue
        try:
            value = _quantity(region.get(QUANTITY_TAG), word.text) if label == QUANTITY else None
        except RecordError as error:  # a model's bad number costs its suggestion, not the person's annotation
            notes.append(f"prediction {shown(run)}, region {short_id(rid)}: {error}; suggestion dropped")
            continue
        words[rid] = dataclasses.replace(word, suggestion=Suggestion(
            field=OTHER if label == QUANTITY else label, is_quantity=label == QUANTITY, quantity_value=value,
            run=run, score=score))
    if unread_scores:
        notes.append(f"prediction {shown(run)}: the score of {counted(len(unread_scores), 'region')} is not a number "
                     f"({', '.join(unread_scores[:3])}{', …' if len(unread_scores) > 3 else ''}); read as 0")
