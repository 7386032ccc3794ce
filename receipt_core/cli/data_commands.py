"""Data commands: ``ocr``, ``synth``, ``import`` and ``export`` (see ``python -m receipt_core COMMAND --help``)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Iterator

from .arguments import (add_force_argument, add_format_argument, add_workspace_argument, check_empty_out_folder,
                        check_out_outside_workspace, given_path, make_out_folder, positive_int)
from .errors import CommandError, stopped_by
from ..data.files import staged_into
from ..data.images import ImageLoadError, read_image_file
from ..data.markup import one_line
from ..datasets import (DEFAULT_LIMITS, EXPORT_FORMATS, EXPORT_LOSSES, DatasetImportError, ImportLimits,
                        default_dataset_name, import_into_workspace, load_dataset)
from ..datasets.detect import resolve_format
from ..datasets.export_zip import empty_receipts_note, export_folder
from ..datasets.native import save_native
from ..wording import counted
from ..workspace.names import other_datasets
from ..workspace.store import Workspace, check_dataset_name

MAX_PROBLEMS_SHOWN = 20
WORKSPACE_FOLDER_HELP = "workspace folder (default: $RECEIPT_STUDIO_HOME, else ./workspace)"


def register(subparsers: argparse._SubParsersAction) -> None:
    ocr = subparsers.add_parser("ocr", help="OCR receipt images with Tesseract",
                                description="OCR receipt images; prints their words, or native documents with --json.")
    ocr.add_argument("images", nargs="+", type=given_path, metavar="IMAGE",
                     help="receipt images (JPEG, PNG, WebP, TIFF, "
                     "BMP, GIF); an unreadable one is reported and the rest still run")
    ocr.add_argument("--json", action="store_true", help='print {"documents": [native documents], "errors": [...]}')
    ocr.set_defaults(handler=run_ocr)

    synth = subparsers.add_parser("synth", help="generate synthetic labelled receipts",
                                  description="Render receipts, OCR them and write a native dataset folder.")
    synth.add_argument("--out", type=given_path, required=True, metavar="DIR",
                       help="a new or empty folder for the dataset (native: one JSON per receipt + images/)")
    synth.add_argument("--count", type=positive_int, required=True, metavar="N",
                       help="receipts to generate (at most 10,000)")
    synth.add_argument("--seed", type=int, default=0, metavar="S",
                       help="seed of the generated receipts: the same seed gives the same receipts (default: 0)")
    add_force_argument(synth)
    synth.set_defaults(handler=run_synth)

    imp = subparsers.add_parser("import", help="import a labelled dataset into the workspace",
                                description="Import CORD v1, WildReceipt, native documents or a Label Studio JSON "
                                            "export into the workspace.")
    imp.add_argument("path", type=given_path, metavar="PATH",
                     help="the dataset: a folder (CORD, WildReceipt, native or a Label Studio export), a JSON file, "
                     "a WildReceipt annotation .txt, or a zip of any of these (what Data → Export downloads)")
    add_format_argument(imp, help="format of PATH (default: recognised from its files)")
    imp.add_argument("--dataset", metavar="NAME", help="workspace dataset name: 1-100 letters, digits, spaces, "
                     "'-', '_' or '.' (default: from the path, plus '-ocr' with --from-images)")
    imp.add_argument("--max-words", type=positive_int, default=DEFAULT_LIMITS.max_words, metavar="N",
                     help=f"refuse a document with more than N words (default {DEFAULT_LIMITS.max_words:,}); the "
                          "rest still imports")
    imp.add_argument("--from-images", action="store_true",
                     help="store the OCR words of each receipt's image instead of its gold segments, each word "
                          "labelled from the gold segment its box centre falls in (training data that looks like "
                          "what the model reads at test time; RECEIPT_OCR settings, cached in <workspace>/ocr-cache)")
    imp.add_argument("--copies", action="store_true",
                     help="store receipts another dataset holds as copies with new ids ('<id>-copy'), as importing "
                          "an export into a new dataset needs (default: refuse them, storing nothing)")
    imp.add_argument("--all-problems", action="store_true",
                     help=f"print every problem found in the records (default: the first {MAX_PROBLEMS_SHOWN})")
    add_workspace_argument(imp, help=WORKSPACE_FOLDER_HELP)
    imp.set_defaults(handler=run_import)

    export = subparsers.add_parser("export", help="export workspace documents as a dataset folder",
                                   description="Write workspace documents (and their images) as a native folder, "
                                               "CORD v1 style JSON (json/ + image/) or a Label Studio JSON export "
                                               "(tasks.json + images/ + label_config.xml).")
    export.add_argument("--out", type=given_path, required=True, metavar="DIR",
                        help="a new or empty folder for the export")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="native",
                        help="native keeps everything (provenance, suggestions); label-studio puts people's and "
                             "imports' labels in annotations and model suggestions in predictions (default: native)")
    export.add_argument("--dataset", metavar="NAME", help="only this dataset (default: every document)")
    add_force_argument(export)
    add_workspace_argument(export, help=WORKSPACE_FOLDER_HELP)
    export.set_defaults(handler=run_export)


def run_ocr(args: argparse.Namespace) -> int:
    from ..ocr.engine import ocr_many

    items, errors = [], []

    def failed(name: str, message: str) -> None:  # said as it happens, not after every image was read (a probe)
        errors.append((name, message))
        print(f"error: {message}", file=sys.stderr, flush=True)

    for path in args.images:
        try:
            items.append((str(path), read_image_file(path)))
        except ImageLoadError as error:
            failed(str(path), str(error))  # each message names its file
    documents = []
    first_of: dict[str, str] = {}  # document id -> the file that gave it first

    def read(result) -> None:  # in input order, as soon as each is read
        if result.error is not None:
            failed(result.name, result.error)
            return
        if (first := first_of.setdefault(result.document.id, result.name)) != result.name:
            # one document per image, as Data → Upload & OCR stores it: probe 46's four copies under four names
            # were four documents of one id in the JSON, unsaid
            print(f"note: {one_line(result.name)}: the same image as {one_line(first)}; its document is given once",
                  file=sys.stderr, flush=True)
            return
        documents.append((result.name, result.document, result.note))
        if args.json:  # the text output's heading says it
            image_note_line(result.name, result.document)
        else:  # printed as it comes: a probe stopped 10,000 files after 2 minutes and got nothing
            _print_words(result.name, result.document, result.note)
            image_note_line(result.name, result.document, image_note=False)

    def print_json() -> None:
        print(json.dumps({"documents": [doc.to_json() for _, doc, _ in documents],
                          "errors": [{"name": name, "error": message} for name, message in errors]},
                         ensure_ascii=False, indent=1), flush=True)

    try:
        if items:
            ocr_many(items, progress=_progress("ocr"), on_result=read)
    except KeyboardInterrupt:  # what was read is printed, not lost: probe 41 stopped 5 photos after 3 and got 0 bytes
        read_names = {name for name, _, _ in documents} | {name for name, _ in errors}
        left = sum(1 for name, _ in items if name not in read_names)
        if args.json:
            errors.append((None, f"interrupted: {left} of {len(items)} images were not read"))
            print_json()
        else:  # said as the JSON says it (probe 43 read only "error: interrupted")
            print(f"interrupted: {left} of {len(items)} images were not read", file=sys.stderr, flush=True)
        raise
    if args.json:
        print_json()
    return 2 if errors else 0


def image_note_line(name: str, doc, image_note: bool = True) -> None:
    """On stderr, what the image's reading left out (``meta.image_note``: "multi-page TIFF: only the first page was
    read"), as Data → Upload & OCR says it: probe 34's 2-page TIFF lost its page 2 unsaid on the command line; and
    a photo whose text looks turned (probe 46's receipt turned 180° came out as 47 words of nonsense, unsaid).
    ``image_note=False``: the turn alone (the words' heading already gave the image note)."""
    from ..ocr.orientation import turned_note_of

    for note in (doc.meta.get("image_note") if image_note else None, turned_note_of(doc.meta, then="read it again")):
        if note:
            print(f"note: {one_line(name)}: {one_line(note)}", file=sys.stderr, flush=True)


def _print_words(name: str, doc, note: str) -> None:
    """One OCR'd image's words, line by line, under a heading naming it."""
    note = f" ({note})" if note else ""
    # a file name's control characters as escapes: "\x1b]0;TITLE\x07" in one retitled the terminal (a probe); the
    # error lines already print names as Python does
    print(f"== {one_line(name)}: {counted(len(doc.words), 'word')}{note}"
          + ("; the image holds no readable text" if not doc.words else ""))
    for line in _lines(doc):
        print(one_line(line))
    sys.stdout.flush()


def run_synth(args: argparse.Namespace) -> int:
    from ..datasets.synth import MAX_GENERATED, generate_dataset
    from ..model.run_manifest import CONFIG_INT_BOUNDS

    if args.count > MAX_GENERATED:
        raise CommandError(f"--count {args.count:,} is over the {MAX_GENERATED:,} receipts one call generates")
    low, high = CONFIG_INT_BOUNDS["seed"]  # the range every command's seed has (a probe's synth took 10^23)
    if not low <= args.seed <= high:
        raise CommandError(f"--seed must be from {low:,} to {high:,}, got {args.seed:,}")
    check_empty_out_folder(args.out, args.force)  # before minutes of rendering and OCR
    check_out_outside_workspace(args.out)  # its images in a workspace's store would be pruned (a probe)
    make_out_folder(args.out)  # ... and so is a folder that cannot be made (a file on its path, no permission)
    receipts = generate_dataset(args.count, seed=args.seed, progress=_progress("synth"))
    with _written_whole(args.out, "the receipts", sole_writer=not args.force) as staging:
        written = save_native([r.document for r in receipts], staging,
                              images={r.document.id: r.image_bytes for r in receipts})
    words = sum(len(r.document.words) for r in receipts)
    print(f"wrote {counted(len(written), 'synthetic receipt')} ({words} words, seed {args.seed}) to {args.out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    try:
        return _import(args)
    except KeyboardInterrupt as stopped:  # a probe read only "error: interrupted", and could not tell what was left
        print(f"error: {stopped_by(stopped)} before the import finished; it stores all its receipts or none, so "
              "nothing of it was stored", file=sys.stderr)
        return 130


def _import(args: argparse.Namespace) -> int:
    if args.dataset is not None:
        check_dataset_name(args.dataset)  # before reading anything: a bad name is one error line, exit 2
    # it said "not UTF-8 text" of a zip, and "not a readable JSON file" of one cut short (two probes)
    if args.path.is_file() and (zipfile.is_zipfile(args.path) or args.path.suffix.lower() == ".zip"):
        return _import_zip(args)
    try:
        fmt = resolve_format(args.path, args.format)
        report = load_dataset(args.path, fmt, limits=ImportLimits(max_words=args.max_words))
    except DatasetImportError as error:
        raise CommandError(str(error)) from None
    dataset = args.dataset if args.dataset is not None else (
        default_dataset_name(args.path, fmt) + ("-ocr" if args.from_images else ""))
    workspace = Workspace.open(args.workspace)
    workspace.check_dataset_name(dataset)  # before any OCR: a twin in letter case of a stored dataset
    if args.from_images:
        report = _ocr_projected(report, args.path, fmt, workspace)
    if not report.documents:
        _print_problems(report.problems, args.all_problems)
        raise CommandError(f"nothing imported from {args.path}: no usable {fmt} documents "
                           f"({counted(len(report.problems), 'problem')} above)")
    try:
        stored = import_into_workspace(workspace, dataset, report, copies=args.copies)
    except Exception:
        _print_problems(report.problems, args.all_problems)  # the records, then why none was stored
        raise
    # after storing: an image the import lacks but the workspace holds is no problem any more, and images refused or
    # noted while storing are added
    _print_problems(stored.problems, args.all_problems)
    words = sum(len(doc.words) for doc in stored.documents)
    if stored.nothing_changed:  # a round trip, as Data → Import says it (a walkthrough read "imported" there)
        print(f"nothing changed: the {counted(len(stored.documents), 'document')} were already in dataset "
              f"{dataset!r} of {workspace.home} as they are, undo history included")
    else:
        print(f"imported {counted(len(stored.documents), 'document')} ({counted(words, 'word')}, "
              f"{len(stored.images)} with images) into dataset {dataset!r} of {workspace.home}")
        if replaced := stored.replaced_note(dataset):
            print(replaced)
        if stored.copied_note:  # as asked: no problem (a probe read "1 problem (see stderr)")
            print(stored.copied_note)
        if stored.twins_note:  # the CORD sample's receipts under CORD's own ids, or the other way (walkthrough 51)
            print(f"warning: {stored.twins_note}", file=sys.stderr)
    for label, count in stored.label_counts.items():
        print(f"  {label:<16} {count}")
    if stored.problems:
        print(f"{counted(len(stored.problems), 'problem')} (see stderr)")
    return 0


def _import_zip(args: argparse.Namespace) -> int:
    """``import DATA.zip``: the zip import of Data → Import (checked, extracted to a temporary folder, read)."""
    from ..datasets.zip_import import ZipImportError, import_zip

    if args.from_images:
        raise CommandError(f"--from-images reads a folder or an annotation file; unzip {args.path} and import the "
                           "folder")
    workspace = Workspace.open(args.workspace)
    try:
        result = import_zip(workspace, args.path, args.path.name, args.format, args.dataset or "", copies=args.copies)
    except ZipImportError as error:
        _print_problems(error.problems, args.all_problems)  # each of them, not the message's first three (a probe)
        raise CommandError(f"{args.path}: {error}") from None
    _print_problems(result.problems, args.all_problems)
    if result.nothing_changed:
        print(f"nothing changed: the {counted(result.documents, 'document')} of {args.path} ({result.format}) were "
              f"already in dataset {result.dataset!r} of {workspace.home} as they are, undo history included")
    else:
        print(f"imported {counted(result.documents, 'document')} ({counted(result.words, 'word')}, {result.images} "
              f"with images) from {args.path} ({result.format}) into dataset {result.dataset!r} of {workspace.home}")
        if result.replaced_note:
            print(result.replaced_note)
        if result.copied_note:
            print(result.copied_note)
        if result.twins_note:
            print(f"warning: {result.twins_note}", file=sys.stderr)
    if result.name_note:
        print(result.name_note)
    return 0


def _ocr_projected(report, path: Path, fmt: str, workspace: Workspace):
    from ..ocr.engine import RECEIPT_OCR
    from ..datasets.from_images import ocr_projected_report

    if not report.images:
        # why each record has none, when the files said (walkthrough 54's image folder was a link leading outside
        # the dataset's folder: the records' notes said so and were never printed, only "has no images")
        unread = [problem for problem in report.problems if "image" in problem]
        if unread:
            _print_problems(tuple(unread), False)
            raise CommandError(f"--from-images: none of the images of {path} could be read "
                               f"({counted(len(unread), 'note')} above say why); copy the images into the dataset's "
                               "folder, or give the folder they are in")
        raise CommandError(f"--from-images: {path} has no images ({fmt} data without pixels); it needs "
                           "a dataset with image files, such as WildReceipt")
    print(f"OCR of {len(report.images)} images with the {RECEIPT_OCR.name!r} settings "
          f"({RECEIPT_OCR.tesseract_config()}, grayscale {RECEIPT_OCR.grayscale}, "
          f"upscaled to >= {RECEIPT_OCR.min_width} px wide)", file=sys.stderr, flush=True)
    return ocr_projected_report(report, RECEIPT_OCR, progress=_progress("ocr"),
                                cache_folder=workspace.ocr_cache_dir)


def run_export(args: argparse.Namespace) -> int:
    check_empty_out_folder(args.out, args.force)
    workspace = Workspace.open_existing(args.workspace)
    check_out_outside_workspace(args.out, workspace.home)
    if args.dataset is not None and args.dataset not in {d.name for d in workspace.datasets()}:
        known = other_datasets(args.dataset, [d.name for d in workspace.datasets()])
        raise CommandError(f"no dataset {args.dataset!r} in {workspace.home} ({known})")
    documents = workspace.load_documents(args.dataset)
    if not documents:
        raise CommandError(f"the workspace {workspace.home} holds no documents to export")
    make_out_folder(args.out)
    with _written_whole(args.out, "the export", sole_writer=not args.force) as staging:
        written, with_images = export_folder(workspace, documents, staging, args.format,
                                             folder_name=Path(args.out).resolve().name)
    print(f"exported {counted(written, 'document')} ({with_images} with images) as {args.format} to {args.out}")
    if args.format in EXPORT_LOSSES:
        print(f"note: {EXPORT_LOSSES[args.format]}", file=sys.stderr)
    if empty := empty_receipts_note([doc.id for doc in documents if not doc.words], args.format):
        print(f"warning: {empty}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _written_whole(out: Path, what: str, sole_writer: bool = True) -> Iterator[Path]:
    """A staging folder inside ``out`` whose files land in ``out`` only when the block ends without error: a failed or
    interrupted export or synth writes no file. A write that fails there (a full disk, no permission) is a
    CommandError naming ``out``: a probe's synth on a full disk said only "No space left on device", and left two
    receipts of twenty behind that looked like a dataset."""
    try:
        with staged_into(out, sole_writer=sole_writer) as staging:
            yield staging
    except OSError as error:
        written_there = Path(os.path.abspath(error.filename or out)).is_relative_to(os.path.abspath(out))
        if not written_there:
            raise  # a file read elsewhere (a workspace image): its own message names it
        hint = " (free some space, or choose another --out)" if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        raise CommandError(f"cannot write {what} to {out}: {error.strerror or error}{hint}; nothing was written "
                           "there") from None


def _print_problems(problems, every: bool = False) -> None:
    """The records' problems on stderr: the first MAX_PROBLEMS_SHOWN, and how to see the rest (a probe read "56
    problems (see stderr)" over 20 of them, with no way to the other 36), or all with ``--all-problems``."""
    shown = problems if every else problems[:MAX_PROBLEMS_SHOWN]
    for problem in shown:
        print(f"problem: {problem}", file=sys.stderr)
    if len(problems) > len(shown):
        print(f"problem: … and {len(problems) - len(shown)} more (--all-problems prints them all)", file=sys.stderr)


def _lines(doc) -> list[str]:
    lines: dict[int, list[str]] = {}
    for word in doc.words:
        lines.setdefault(word.line_id, []).append(word.text)
    return [" ".join(texts) for _, texts in sorted(lines.items())]


PROGRESS_EVERY_S = 10.0  # at least this often a line while work goes on (10% of 10,000 files took minutes)


def _progress(what: str):
    """A progress callback printing ``what: done/total`` on stderr about every 10%, and at least every
    :data:`PROGRESS_EVERY_S` seconds while there is progress to say."""
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        step = max(1, total // 10)
        now = time.monotonic()
        if done == total or done % step == 0 or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)
    return report
