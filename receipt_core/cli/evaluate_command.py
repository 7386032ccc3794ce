"""``evaluate`` and ``predict``: use a trained run (a checkpoint folder or a workspace run id) on DATA or on
receipt images (see ``python -m receipt_core COMMAND --help``). ``--json`` output goes to stdout."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from .arguments import add_format_argument, add_workspace_argument, given_path, make_out_folder
from .errors import CommandError
from .sources import load_documents
from ..data.document import Document
from ..data.markup import one_line
from ..data.images import ImageLoadError, read_image_file
from ..datasets.detect import resolve_format
from ..training.events import flatten_metrics
from ..wording import counted


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser("evaluate", help="score a trained run on labelled data",
                                     description="Field and quantity metrics of a run's model on DATA.")
    evaluate.add_argument("run_dir", type=given_path, metavar="RUN_DIR",
                          help="a run folder that train wrote (--out), or the id of a run in the workspace")
    evaluate.add_argument("--data", required=True, metavar="DATA",
                          help="labelled data to score on: a folder or workspace dataset")
    add_format_argument(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--from-images", action="store_true",
                          help="end to end: OCR DATA's images, predict, and score against its gold segments "
                               "(a dataset with pixels, e.g. WildReceipt; see receipt_core/evaluation/end_to_end.py)")
    evaluate.add_argument("--ocr-cache", type=given_path, metavar="DIR",
                          help="with --from-images: keep the OCR results in DIR and reuse them (e.g. "
                               "<workspace>/ocr-cache, where import --from-images keeps its own)")
    evaluate.add_argument("--errors", action="store_true",
                          help="with --from-images: sort every field miss and quantity-segment miss into one cause "
                               "(OCR never read it, OCR misread it, wrong label, wrong grouping) with counts and "
                               "examples, and score a perfect labeller on the same OCR: the ceiling the OCR leaves "
                               "(receipt_core/evaluation/error_analysis.py)")
    evaluate.add_argument("--item-errors", action="store_true",
                          help="also list every item whose predicted quantity is wrong, with its words' gold and "
                               "predicted labels (not with --from-images)")
    evaluate.add_argument("--erase-layout", action="store_true",
                          help="give every word the whole page as its box before predicting: the drop from the "
                               "plain scores is what the model takes from layout (not with --from-images)")
    evaluate.add_argument("--no-reconcile", action="store_true",
                          help="score the words as decoded one by one, without settling lines that contradict "
                               "themselves (receipt_core/model/reconcile.py) or joining a product code to the item "
                               "name after it (model/item_codes.py): the difference is what those rules buy")
    add_workspace_argument(evaluate)
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser("predict", help="predict fields, quantities and items",
                                    description="Run a trained model on a dataset's documents or on receipt images "
                                                "(OCR'd with Tesseract).")
    predict.add_argument("run_dir", type=given_path, metavar="RUN_DIR",
                         help="a run folder that train wrote (--out), or the id of a run in the workspace")
    predict.add_argument("images", nargs="*", type=given_path, metavar="IMAGE",
                         help="receipt images to OCR and predict on (or --data)")
    predict.add_argument("--data", metavar="DATA", help="predict on a dataset's documents instead of images")
    add_format_argument(predict)
    predict.add_argument("--json", action="store_true",
                         help='print {"documents": [...], "errors": [{"name": FILE, "error": MESSAGE}, ...]}, as ocr '
                              '--json does')
    add_workspace_argument(predict)
    predict.set_defaults(handler=run_predict)


def said_run(loaded) -> str:
    """Which model a command reads, for its first line on stderr: walkthrough 52's `evaluate` and `predict --json`
    output named neither the run nor its backbone, and a backbone folder moved since was the only trace left."""
    scenario, step = loaded.config.get("scenario"), loaded.state.get("global_step")
    return (f"model: {loaded.run_dir} (backbone {loaded.backbone}" + (f", {scenario}" if scenario else "")
            + (f", step {step}" if isinstance(step, int) else "") + ")")


def _load_run(run_dir: Path, workspace: Path | None):
    from ..model.checkpoint import damaged_checkpoint, has_checkpoint, load_checkpoint
    from ..workspace.runs import workspace_run_of

    # a workspace run's id, whose folder must hold its own checkpoint (probe 30), by its id or its folder (probe 31)
    run_id = workspace_run_of(run_dir) if run_dir.is_dir() else None

    if not run_dir.is_dir() and not run_dir.is_absolute() and len(run_dir.parts) == 1:
        from ..training.runs import RUN_KIND
        from ..workspace.runs import SAVED_STATUSES
        from ..workspace.store import LIVE_STATUSES, NotFoundError, Workspace, WorkspaceError

        store = None
        try:  # a workspace run id
            store = Workspace.open_existing(workspace)
            kind = store.get_run(str(run_dir)).config.get(RUN_KIND, "receipt")
            if kind != "receipt":  # a walkthrough got "it has no run.json" for a reference run's id
                what = {"reference": "the reference tagger, whose scores its run printed after each epoch",
                        "pretrain": "layout pre-training, whose backbone `train --backbone` reads"}.get(kind, kind)
                raise CommandError(f"run {run_dir} is a run of {what}; predict and evaluate read two-head runs")
            run_id = str(run_dir)
            run_dir = store.run_dir(run_id, create=False)  # reading made an empty one (a probe)
            if not has_checkpoint(run_dir) and not damaged_checkpoint(run_dir):  # a probe read "not a checkpoint
                # folder: it has no run.json" for it; a damaged one is said by load_checkpoint below
                store.mark_interrupted_runs()  # a run whose process died will never save: not "try again"
                status = store.get_run(run_dir.name).status
                if status in LIVE_STATUSES:
                    raise CommandError(f"run {run_dir.name} has no checkpoint yet: it saves after each epoch (or "
                                       "when stopped); try again then")
                if status in SAVED_STATUSES and not run_dir.is_dir():  # it saved, and the folder went
                    raise CommandError(f"run {run_dir.name}'s folder {run_dir} is gone (moved or deleted); give the "
                                       "folder where its checkpoint is now")
                raise CommandError(f"run {run_dir.name} ended ({status}) before its first save: it has no "
                                   "checkpoint to read")
        except NotFoundError:
            copied = store.runs_dir / str(run_dir) if store and len(Path(run_dir).parts) == 1 else None
            if copied is not None and copied.is_dir():  # a probe's copy of a run folder under runs/, named by its name
                raise CommandError(f"{run_dir} is no run this workspace recorded, though its runs folder holds a "
                                   f"folder of that name (a copy?): give the folder's path, {copied}") from None
            raise CommandError(f"{run_dir} is neither a checkpoint folder nor a workspace run id") from None
        except WorkspaceError as error:
            raise CommandError(f"{run_dir} is neither a checkpoint folder nor a run id: {error}") from None
    return load_checkpoint(run_dir, run_id=run_id)


def _refuse_a_foreign_cache_folder(folder: Path) -> None:
    from ..ocr.engine import OcrCache

    foreign = OcrCache(folder).foreign_files()
    if foreign:
        raise CommandError(f"--ocr-cache {folder} already holds {counted(len(foreign), 'entry', 'entries')} that "
                           f"--ocr-cache did not write (such as {foreign[0]!r}); give a new or empty folder, or one an "
                           "earlier --ocr-cache filled")


def run_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.metrics import evaluate_predictions, item_quantity_errors

    if args.ocr_cache is not None and not args.from_images:
        raise CommandError("--ocr-cache only applies with --from-images (the OCR of DATA's images)")
    if args.ocr_cache is not None:  # checked before any OCR (a probe's bad folders failed mid-way), made just before
        make_out_folder(args.ocr_cache, create=False, flag="--ocr-cache",  # "new or empty" read wrong for a cache
                        wanted="a new folder, or one an earlier --ocr-cache filled")  # (probe 41)
        _refuse_a_foreign_cache_folder(args.ocr_cache)
    if args.errors and not args.from_images:
        raise CommandError("--errors sorts the misses of an end-to-end run; it needs --from-images "
                           "(for gold words, --item-errors lists the wrong items)")
    if args.item_errors and args.from_images:
        raise CommandError("--item-errors needs gold words to compare with; it does not apply with --from-images")
    if args.erase_layout and args.from_images:
        raise CommandError("--erase-layout applies to DATA's words; it does not apply with --from-images")
    loaded = _load_run(args.run_dir, args.workspace)
    print(said_run(loaded), file=sys.stderr, flush=True)
    predictor = loaded.predictor(reconcile=not args.no_reconcile)
    errors = breakdown = ceiling = None
    if args.from_images:
        from ..evaluation.end_to_end import run_dataset_from_images, score_run
        from ..evaluation.error_analysis import analyse_run, perfect_labels

        path = Path(args.data).expanduser()
        if not path.exists():
            raise CommandError(f"--from-images needs a dataset folder or file with images; {path} is neither (a "
                               "workspace dataset's receipts are already read: evaluate them without --from-images)")
        fmt = resolve_format(path, args.format)
        made = args.ocr_cache is not None and not os.path.lexists(args.ocr_cache)
        if args.ocr_cache is not None:  # only now: a command refused for another reason leaves no empty folder
            make_out_folder(args.ocr_cache, flag="--ocr-cache")
        try:
            run = run_dataset_from_images(predictor, path, fmt, cache_folder=args.ocr_cache)
        except BaseException:  # refused before any OCR (DATA without usable images: probe 43), or stopped: the
            if made and args.ocr_cache.is_dir() and not any(args.ocr_cache.iterdir()):  # folder made for it goes
                args.ocr_cache.rmdir()
            raise
        if run.without_image:
            total = len(run.gold_docs) + len(run.without_image)
            have = "has" if len(run.without_image) == 1 else "have"
            print(f"warning: {len(run.without_image)} of {counted(total, 'receipt')} in {path} {have} no image "
                  f"(such as {run.without_image[0]!r}) and were not evaluated; the figures cover the "
                  f"{len(run.gold_docs)} with one", file=sys.stderr)
        metrics = score_run(run)
        if args.errors:
            breakdown = analyse_run(run)
            perfect = score_run(perfect_labels(run))
            ceiling = {name: perfect[name] for name in CEILING_METRICS}
    else:
        docs = load_documents(args.data, args.format, args.workspace, role="--data", labels="eval")
        if args.erase_layout:
            docs = [doc.without_layout() for doc in docs]
        predictions = predictor.predict(docs)
        metrics = evaluate_predictions(docs, predictions)
        if args.item_errors:
            errors = item_quantity_errors(docs, predictions)
    if args.json:
        if errors is not None:
            metrics = {**metrics, "item_errors": [e.to_json() for e in errors]}
        if breakdown is not None:
            metrics = {**metrics, "errors": breakdown.to_json(), "ocr_ceiling": ceiling}
        print(json.dumps(metrics, indent=1, ensure_ascii=False, allow_nan=False, default=_json_default))
    else:
        for key, value in metric_lines(metrics).items():
            print(f"{key:40s} {shown_metric(value)}")
        if errors is not None:
            print(f"\n{counted(len(errors), 'item')} with a wrong quantity; each word: text [gold field, * gold "
                  f"quantity | predicted field, ^ predicted quantity]")
            for error in errors:
                print(f"  {error.describe()}")
        if breakdown is not None:
            print()
            for line in breakdown_lines(breakdown):
                print(line)
            # a misread word can still carry its segment's label: probe 50 read 80 "ocr_misread" field misses beside a
            # ceiling of 1.0 as a contradiction
            print("\nthe ceiling this OCR leaves: a perfect labeller's scores on the same OCR words (a word the OCR "
                  "misread can still take its segment's label, so the ocr_misread misses above are the model's on "
                  "misread words, not all lost to the OCR)")
            for name, value in ceiling.items():
                print(f"  {name:38s} {shown_metric(value)}")
            print()
            for line in REMEDIES:  # what helps each cause (walkthrough 54 found the counts, and no next step)
                print(line)
    return 0


REMEDIES = ("what helps each cause:",
            "  ocr_missed, ocr_misread  a photo cropped to the receipt, flat, sharp and evenly lit; the OCR's steps "
            "and their measured gains are in docs/OCR.md. Where the ceiling above is near 1, the misread words are the "
            "model's to label: train on OCR'd words (import --from-images)",
            "  label                    more labelled receipts like these (photos: import --from-images), reviewed on "
            "Annotate; compare recipes on Runs → Studies",
            "  grouping                 the item rules (model/reconcile.py): a quantity flagged on a word that prints "
            "no value")


CEILING_METRICS = ("fields.micro_f1", "quantity.segment_accuracy")


def shown_metric(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a (nothing to score)" if value is None else str(value)


def breakdown_lines(breakdown) -> list[str]:
    """The error breakdown as printed lines: per task, each cause's count, share and examples."""
    lines = ["misses by cause (each miss in exactly one; receipt_core/evaluation/error_analysis.py)"]
    for title, task in (("fields (OCR words with a wrong field + field segments no OCR word reads)",
                         breakdown.fields),
                        ("quantity segments (wrong end to end)", breakdown.quantities)):
        lines.append(f"{title}: {task.misses}")
        for cause in task.causes:
            share = cause.count / task.misses if task.misses else 0.0
            cer = f", mean CER {cause.mean_cer:.2f}" if cause.mean_cer is not None else ""
            lines.append(f"  {cause.cause.value:12s} {cause.count:5d} ({share:6.1%}{cer})  {cause.cause.explanation}")
            lines.extend(f"      e.g. {example.describe()}" for example in cause.examples)
    return lines


def metric_lines(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Every metric under its dotted name (:func:`~receipt_core.training.events.flatten_metrics`), per-label
    tables spelled out cell by cell (``fields.per_label.total.price.f1``): one printed line each."""
    lines: dict[str, Any] = {}
    for name, value in flatten_metrics(metrics, keep_tables=True).items():
        if isinstance(value, Mapping):
            lines.update(_cells(value, f"{name}."))
        else:
            lines[name] = value
    return lines


def _cells(table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            cells.update(_cells(value, f"{prefix}{key}."))
        else:
            cells[f"{prefix}{key}"] = value
    return cells


def run_predict(args: argparse.Namespace) -> int:
    if args.data and args.images:
        raise CommandError(f"give either --data DATA or IMAGE files, not both (--data {args.data} and "
                           f"{len(args.images)} image file{'s' if len(args.images) != 1 else ''})")
    if not args.data and not args.images:
        raise CommandError("give either --data DATA or one or more IMAGE files")
    loaded = _load_run(args.run_dir, args.workspace)
    print(said_run(loaded), file=sys.stderr, flush=True)
    errors: list[tuple[str, str]] = []  # (file, message)
    if args.data:
        docs = load_documents(args.data, args.format, args.workspace, role="--data")
    else:
        docs, errors = _ocr_images(args.images)
    predictions = loaded.predictor().predict(docs) if docs else []
    # each image's prediction names its file: the id is the image's hash, so copies of one image shared it and a
    # file that failed left the others' order (a probe could not tell which prediction was which file's)
    files = [doc.source for doc in docs] if args.images else [None] * len(docs)
    documents = [{**({"file": file} if file is not None else {}), **p.to_json()} for p, file in zip(predictions, files)]
    if args.json:
        # the files that failed are in the JSON too: a script reading stdout alone sees them, not an empty result
        # each error an object naming its file, as ocr --json gives them (a probe: strings here, objects there)
        print(json.dumps({"documents": documents, "errors": [{"name": name, "error": message}
                                                             for name, message in errors]},
                         indent=1, ensure_ascii=False, default=_json_default))
    else:
        for data in documents:
            where = f" ({json.dumps(data['file'], ensure_ascii=False)})" if "file" in data else ""
            # a blank page said why, as ocr and the Predict page say it (probe 46 read "0 words, 0 items" alone)
            blank = "; the image holds no readable text" if args.images and not data["words"] else ""
            print(f"== {one_line(data['id'])}{where}: {len(data['words'])} words, {len(data['items'])} items{blank}")
            for item in data["items"]:
                # a price not read is "—", not Python's None (probe 50)
                unit, price = ("—" if item[key] is None else item[key] for key in ("unit_price", "price"))
                print(f"  {item['quantity']:>6} × {one_line(item['name'])}  unit {unit}  price {price}")
    for _, message in errors:
        print(f"error: {message}", file=sys.stderr)
    return 2 if errors else 0


def _ocr_images(paths: Sequence[Path]) -> tuple[list[Document], list[tuple[str, str]]]:
    """The OCR'd documents of ``paths`` and ``(file, message)`` per file that could not be read (each message names
    its file too)."""
    from ..ocr.engine import ocr_many
    from .data_commands import image_note_line

    items, errors = [], []
    for path in paths:
        try:
            items.append((str(path), read_image_file(path)))
        except ImageLoadError as error:
            errors.append((str(path), str(error)))
    docs = []
    for result in (ocr_many(items) if items else []):
        if result.error is not None:
            errors.append((result.name, result.error))
        else:
            docs.append(result.document)
            image_note_line(result.name, result.document)
    return docs, errors


def _json_default(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
