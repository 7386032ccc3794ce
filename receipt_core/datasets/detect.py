"""Which dataset format a folder or file holds, from its contents: the one home of format recognition, used by the
command line (``--format auto``) and by a zip uploaded on the Data page.

A folder (or file) is

- ``wildreceipt``: a ``.txt`` file, or a folder with ``class_list.txt``, ``train.txt``, ``dev.txt`` or ``test.txt``;
- ``cord``: JSON with a ``valid_line`` list, in the folder, its ``json/`` or its ``<split>/json/``;
- ``native``: JSON written by Export (``"format": "receipt-mtl/document"``, or a ``words`` list);
- ``label-studio``: a JSON list of tasks, or one task (an object with ``data`` and ``annotations`` or
  ``predictions``).

A folder whose files are of two formats (a native file beside CORD's ``json/``, or beside a Label Studio
``tasks.json``) is refused, naming both: an import reads one format and would leave the other out. At most three
JSON files of each place are read, each bounded by :class:`~._common.ImportLimits` (size, nesting); a NaN is read
here as a value, so that the format's loader names the record holding it and imports the rest (probe 30).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Mapping

from ..data.images import IMAGE_SUFFIXES
from ._common import (DEFAULT_LIMITS, JSON_FILES, RecordError, inside, json_subfolders_note, missing_path,
                      read_record_file)
from .label_studio import EXPORT_HINT, MAX_FILE_BYTES as LS_MAX_FILE_BYTES
from .report import DatasetImportError
from .wildreceipt import SPLIT_FILES

AUTO = "auto"  # the format choice that means "recognise it from the files"
FORMATS_SHOWN = "cord, wildreceipt, native or label-studio"
_SAMPLED_FILES = 3


def resolve_format(path: Path, format: str) -> str:
    """``format``, or the one :func:`detect_format` recognises in ``path`` when it is :data:`AUTO`."""
    return detect_format(path) if format == AUTO else format


def detect_format(path: Path) -> str:
    """``cord``, ``wildreceipt``, ``native`` or ``label-studio``, from a dataset folder's (or file's) contents;
    DatasetImportError when none fits (the message names the layouts looked for)."""
    path = Path(path)
    if path.is_file():
        if path.suffix == ".txt":
            return "wildreceipt"
        if path.suffix.lower() in (".csv", ".tsv"):  # Label Studio's CSV export, most likely
            raise DatasetImportError(f"{path.name} is a {path.suffix[1:].upper()} file, which no dataset format here "
                                     f"is; for Label Studio, {EXPORT_HINT}")
        files = every = [path]
    elif path.is_dir():
        if any((path / name).is_file() for name in ("class_list.txt", *SPLIT_FILES)):
            return "wildreceipt"
        # a link out of the folder is not read here either (the import refuses it): a probe's x.json linked to
        # /etc/passwd was parsed by detection alone, and its error quoted
        top = [file for file in sorted(path.glob(JSON_FILES)) if inside(path, file)]
        nested = [file for file in sorted(path.glob(f"json/{JSON_FILES}")) or sorted(path.glob(f"*/json/{JSON_FILES}"))
                  if inside(path, file)]
        top_format = _recognised(top) if top and nested else None
        nested_format = _recognised(nested) if top_format else None
        if nested_format:  # a probe's native file beside CORD's json/
            raise DatasetImportError(
                f"{path} holds two datasets: {top_format} files at its top ({top[0].name}, …) and "
                f"{nested_format} files in {nested[0].parent.relative_to(path)}/; import each folder on its own "
                "(an import reads one format, and would leave the other out)")
        # a manifest.json beside split/json/ folders (the shared CORD's layout) is no dataset of its own
        every = top if top and (not nested or top_format) else nested
        files = every[:_SAMPLED_FILES]
    elif path.exists():
        raise DatasetImportError(f"{path} is not a folder or a regular file; give a dataset folder or file")
    else:
        raise DatasetImportError(missing_path(path, path))
    unreadable: list[tuple[str, str]] = []  # (file, why it is no record: not UTF-8, not JSON, an empty list…)
    for index, file in enumerate(files):
        try:
            data = read_record_file(file, DEFAULT_LIMITS, keep_constants=True)
        except RecordError as error:
            if _large_label_studio_export(file):  # one file of many tasks: its loader allows far more than a record
                return "label-studio"
            unreadable.append((file.name, str(error)))
            continue
        found = json_format(data)
        if found is not None:
            # the files before it were no record of any format: only those after it are left to read
            others = {f"{other} ({name})" for name, other in _formats(files[index + 1:]) if other not in (None, found)}
            if others:  # a probe's native file beside a Label Studio tasks.json: the tasks became one bad document
                raise DatasetImportError(f"{path} holds files of more than one format: {found} ({file.name}) and "
                                         f"{', '.join(sorted(others))}; put each dataset in a folder of its own")
            listed = None if found == "label-studio" else next(
                (later for later in every[_SAMPLED_FILES:] if _starts_a_list(later)), None)
            if listed is not None:  # past the sample, from its first bytes: probe 37's
                # tasks.json sorted after three native files and was read as one bad document, unsaid
                raise DatasetImportError(f"{path} holds files of more than one format: {found} ({file.name}) and a "
                                         f"JSON list, as Label Studio exports its tasks ({listed.name}); put each "
                                         "dataset in a folder of its own")
            return found
        if _label_studio_min(data):
            raise DatasetImportError(f"{file.name} looks like Label Studio's JSON-MIN export: {EXPORT_HINT}")
        unreadable.append((file.name, f"it holds {_what_it_holds(data)}"))  # a probe's [] got no reason
    wildreceipt = f"no WildReceipt {', '.join(SPLIT_FILES)} or class_list.txt"
    if not files:
        raise DatasetImportError(f"cannot tell the format of {path}: it holds no .json file at its top or in json/ "
                                 f"(CORD, native or Label Studio) and {wildreceipt}, so no dataset this app reads "
                                 f"({FORMATS_SHOWN})"
                                 f"{json_subfolders_note(path) if path.is_dir() else ''}{_photos_note(path)}")
    if path.is_file() and unreadable:  # one JSON file: its reason, without WildReceipt's folder files
        why = unreadable[0][1]
        raise DatasetImportError(f"cannot tell the format of {path.name}: {why}" + (
            f", which is no CORD, native or Label Studio record; choose the format ({FORMATS_SHOWN})"
            if why.startswith("it holds") else ""))
    reasons = f" ({'; '.join(f'{name}: {why}' for name, why in unreadable[:3])})" if unreadable else ""
    raise DatasetImportError(f"cannot tell the format of {path}: none of {', '.join(f.name for f in files)} is a "
                             f"CORD, native or Label Studio record{reasons} and there is {wildreceipt}; choose the "
                             f"format ({FORMATS_SHOWN})")


def _formats(files: list[Path]) -> list[tuple[str, str | None]]:
    """(file name, the format its JSON is, or None) for the first few of ``files``."""
    found = []
    for file in files[:_SAMPLED_FILES]:
        try:
            found.append((file.name, json_format(read_record_file(file, DEFAULT_LIMITS, keep_constants=True))))
        except RecordError:
            found.append((file.name, "label-studio" if _large_label_studio_export(file) else None))
    return found


def _starts_a_list(file: Path) -> bool:
    """Whether ``file``'s JSON is a list (its first character past spaces and a byte-order mark is ``[``), read
    from its first bytes only: every file of a large folder is looked at, which parsing them all would not allow."""
    if not file.is_file():  # a FIFO named x.json would block the open (the import says what it is)
        return False
    try:
        with open(file, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _recognised(files: list[Path]) -> str | None:
    """The first format recognised among the first few of ``files``, else None."""
    return next((fmt for _, fmt in _formats(files) if fmt is not None), None)


def _large_label_studio_export(file: Path) -> bool:
    """Whether ``file``, too large to read as one record, starts like a Label Studio JSON export: a list of tasks
    with ``data`` and annotations or predictions (a probe's 41 MB export was refused "over the limit" by detection
    alone, while ``--format label-studio`` imported it)."""
    try:
        if not DEFAULT_LIMITS.max_record_bytes < file.stat().st_size <= LS_MAX_FILE_BYTES:
            return False
        with file.open("rb") as handle:
            head = handle.read(65536).decode("utf-8-sig", errors="ignore").lstrip()
    except OSError:
        return False
    return head.startswith("[") and '"data"' in head and ('"annotations"' in head or '"predictions"' in head)


def _label_studio_min(data: Any) -> bool:
    """Whether parsed JSON is a Label Studio JSON-MIN export: flat rows, no ``data``, naming their annotation or
    holding a region list (a probe's rows without ``annotator`` read as no format at all)."""
    return isinstance(data, list) and bool(data) and all(
        isinstance(row, Mapping) and "data" not in row and ("annotation_id" in row or "annotator" in row
                                                            or any(_regions_list(value) for value in row.values()))
        for row in data[:_SAMPLED_FILES])


def _regions_list(value: Any) -> bool:
    """Whether a JSON-MIN column holds regions as that export flattens them: a list of objects with x and y."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], Mapping) and {"x", "y"} <= set(value[0])


def _what_it_holds(data: Any) -> str:
    """What a JSON file that is no record of any format holds, in a few words."""
    if isinstance(data, list):
        return "an empty list" if not data else f"a list of {len(data):,} entries, none a task with a data object"
    if isinstance(data, Mapping):
        keys = ", ".join(repr(str(key))[:40] for key in itertools.islice(data, 5))
        return f"an object with {'no keys' if not data else 'the keys ' + keys}{', …' if len(data) > 5 else ''}"
    return f"a single {type(data).__name__} value"


def json_format(data: Any) -> str | None:
    """The format one parsed JSON record belongs to, or None."""
    if isinstance(data, Mapping):
        if "valid_line" in data:
            return "cord"
        if data.get("format") == "receipt-mtl/document" or "words" in data:
            return "native"
        if isinstance(data.get("data"), Mapping) and ("annotations" in data or "predictions" in data):
            return "label-studio"
    # any task of the first few, not all: one task whose data is null made a probe's export "no record of any
    # format", where its loader imports the others and names that one
    if isinstance(data, list) and any(isinstance(task, Mapping) and isinstance(task.get("data"), Mapping)
                                      for task in data[:_SAMPLED_FILES]):
        return "label-studio"
    return None


def _photos_note(path: Path) -> str:
    """For a folder of photos without labels: where such photos go (a walkthrough's zip of photos got only "no
    dataset this app reads")."""
    files = itertools.islice(path.rglob("*"), 2_000) if path.is_dir() else ()  # a look, not a walk of a whole disk
    if not any(file.suffix.lower().removeprefix(".") in IMAGE_SUFFIXES for file in files):
        return ""
    return ("; its images carry no labels to import: upload them, or a zip of them, on Data → Upload & OCR to read "
            "them with Tesseract and label them on Annotate")
