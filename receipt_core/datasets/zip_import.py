"""A labelled dataset uploaded as one zip: checked, extracted into a private temporary folder, its format recognised
(or given) and read by the format's own importer, then stored in the workspace.

The zip is checked whole before a byte is written, and refused (:class:`ZipImportError`, naming the entry) when
any entry

- leads outside the folder: an absolute path (``/etc/x``, ``C:\\x``), a ``..`` part, a backslash or a NUL;
- is not a plain file or folder (a symbolic link, a device) or is encrypted;
- appears twice;

or when the zip holds more than :attr:`ZipLimits.max_files` files, more than :attr:`ZipLimits.max_total_bytes`
once uncompressed (the sizes the zip declares, and extraction stops at them: a zip bomb is refused by its
uncompressed size, not after filling the disk), or an entry over :attr:`ZipLimits.ratio_floor_bytes` that
compresses more than :attr:`ZipLimits.max_ratio` times, or files that do so all together (no receipt, JSON or
image does), or an entry more than :attr:`ZipLimits.max_depth` folders deep, or two entries whose data overlap in
the file (a bomb that re-reads one compressed stream through every entry).

Archive clutter (``__MACOSX/``, ``.DS_Store``, ``._*`` files) is skipped. When everything sits in one top folder
(a zipped folder), the dataset is that folder. The importers then apply their own per-record limits
(:class:`~._common.ImportLimits`): a bad record is one problem line and the rest imports.
"""

from __future__ import annotations

import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Mapping

from ..workspace.database import WorkspaceError
from ..workspace.names import check_dataset_name
from . import FORMATS, import_into_workspace, load_dataset
from .detect import AUTO, resolve_format
from .report import DatasetImportError
from ..wording import counted

if TYPE_CHECKING:
    from ..workspace.store import Workspace

_CLUTTER_FOLDERS = {"__MACOSX"}
_CLUTTER_FILES = {".DS_Store", "Thumbs.db"}
_COPY_CHUNK = 1024 * 1024
MAX_NAME_BYTES = 255  # a file or folder name on Linux and macOS file systems (NAME_MAX)


class ZipImportError(ValueError):
    """The upload is refused as a whole: not a zip, unsafe, too large, or no dataset found in it. ``problems``: every
    record's problem when no record was usable (the message shows the first three)."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class ZipLimits:
    """What an uploaded zip may hold."""

    max_files: int = 50_000  # files (folders not counted); CORD's train split is 800 JSON + 800 images
    max_total_bytes: int = 2 * 1024 ** 3  # uncompressed, all files together
    max_ratio: int = 100  # uncompressed / compressed size of one entry, and of all entries together …
    ratio_floor_bytes: int = 1024 * 1024  # … checked above this size (tiny files compress oddly)
    max_depth: int = 32  # folder levels of one entry's path
    max_entries: int = 100_000  # entries of any kind (folder entries cost a central-directory record each)
    max_folders: int = 10_000  # distinct folders the files lie in (each is created on the server's disk)

    def __post_init__(self) -> None:
        for name in ("max_files", "max_total_bytes", "max_ratio", "ratio_floor_bytes", "max_depth", "max_entries",
                     "max_folders"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ZipLimits.{name} must be a whole number of at least 1, got {value!r}")


DEFAULT_ZIP_LIMITS = ZipLimits()


@dataclass(frozen=True)
class ZipImportResult:
    """What an uploaded zip gave: the dataset it went into, the format read, and the importer's report."""

    dataset: str
    format: str
    format_detected: bool  # True when the format was recognised, False when it was given
    files: int  # files extracted from the zip
    documents: int  # documents stored
    words: int  # their words
    images: int  # of which with an image
    label_counts: Mapping[str, int]  # annotation label -> words, over the documents stored
    problems: tuple[str, ...]  # one line per record that was skipped or changed, as the importer said
    replaced_note: str | None = None  # receipts of the dataset the import replaced (ImportReport.replaced_note)
    name_note: str | None = None  # why the dataset is not named as the zip, or that it held receipts already
    nothing_changed: bool = False  # every document was already in the dataset as it came (ImportReport's)
    copied_note: str | None = None  # receipts stored as copies with new ids, as asked (ImportReport's)
    twins_note: str | None = None  # CORD receipts stored again under the other naming (ImportReport's)


def import_zip(workspace: "Workspace", upload: BinaryIO | Path, file_name: str, format: str = AUTO, dataset: str = "",
               limits: ZipLimits = DEFAULT_ZIP_LIMITS, temp_root: Path | None = None,
               copies: bool = False) -> ZipImportResult:
    """Check and extract ``upload`` (a zip file or binary stream named ``file_name``), read its dataset in
    ``format`` (``"auto"``: recognised from the contents) and store it as ``dataset`` (empty: named after the
    zip); ``copies``: receipts another dataset holds as copies with new ids. Nothing is stored when the zip is
    refused or holds no usable document (ZipImportError)."""
    if format != AUTO and format not in FORMATS:
        raise ZipImportError(f"unknown dataset format {format!r}; choose auto or one of {', '.join(FORMATS)}")
    if dataset:
        workspace.check_dataset_name(dataset)  # before the work, not after
    with tempfile.TemporaryDirectory(prefix="zip-import-", dir=temp_root) as tmp:
        folder = Path(tmp) / "dataset"
        files = extract_zip(upload, folder, limits)
        root = dataset_root(folder)

        def in_zip(message: str) -> str:  # the temporary folder means nothing to the user; the zip does
            return message.replace(str(root), file_name).replace(str(folder), file_name)

        inner = inner_zips(folder, file_name)

        try:
            found = resolve_format(root, format)
            report = load_dataset(root, found)
        except DatasetImportError as error:
            raise ZipImportError("; ".join((in_zip(str(error)),) + inner)) from None
        if not report.documents:
            problems = inner + tuple(in_zip(problem) for problem in report.problems)
            shown = "; ".join(problems[:3]) or "no records"
            more = f"; … and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise ZipImportError(f"no usable {found} documents in {file_name} "
                                 f"({counted(len(problems), 'problem')}: {shown}{more})", problems=problems)
        name = dataset or zip_dataset_name(file_name, found)
        name_note = None if dataset else _named_after_zip_note(workspace, file_name, name)
        stored = import_into_workspace(workspace, name, report, copies)  # reads the images before the folder goes
    return ZipImportResult(dataset=name, format=found, format_detected=format == AUTO, files=files,
                           documents=len(stored.documents), words=sum(len(doc.words) for doc in stored.documents),
                           images=len(stored.images), label_counts=stored.label_counts,
                           problems=inner + tuple(in_zip(problem) for problem in stored.problems),
                           replaced_note=stored.replaced_note(name), name_note=name_note,
                           nothing_changed=stored.nothing_changed, copied_note=stored.copied_note,
                           twins_note=stored.twins_note)


def inner_zips(folder: Path, file_name: str) -> tuple[str, ...]:
    """One problem line per zip inside the extracted zip: no importer reads one, and a probe's inner.zip was left
    out without a word."""
    return tuple(f"{file_name}/{path.relative_to(folder).as_posix()}: a zip inside the zip is not read; left out "
                 "(import it on its own, or zip its files with the rest)"
                 for path in sorted(folder.rglob("*")) if path.suffix.lower() == ".zip" and path.is_file())


def extract_zip(upload: BinaryIO | Path, folder: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> int:
    """Extract the files of a checked zip into ``folder`` (created, must not exist); returns how many."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise ZipImportError(f"not a readable zip file ({error})") from None
    with archive:
        entries = checked_entries(archive.infolist(), limits)
        folder.mkdir(parents=True)
        root = folder.resolve()
        files = [(info, parts) for info, parts in entries if not info.is_dir()]  # folders come with their files
        for info, parts in files:
            target = root.joinpath(*parts)
            if not target.resolve().is_relative_to(root):  # checked_entries rules this out; a second check is cheap
                raise ZipImportError(f"zip entry {info.filename!r} would lead outside the folder; refused")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # e.g. "a" is a file and "a/b" wants it as a folder
                raise ZipImportError(f"zip entry {info.filename!r} cannot be placed ({error.strerror or error})") \
                    from None
            _copy_bounded(archive, info, target)
    return len(files)


def checked_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits,
                    unread: list[tuple[str, ...]] | None = None) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """The entries to extract with their path parts, clutter left out; ZipImportError for the first unsafe one or
    when the zip as a whole is over ``limits``. With ``unread``, an entry that is no plain file or folder (a
    symbolic link, a FIFO, a device) is left out, its path parts added there, instead of refusing the zip (a zip of
    photos: its other photos are read; a dataset's files are not)."""
    if len(infos) > limits.max_entries:
        raise ZipImportError(f"the zip holds {len(infos):,} entries, over {limits.max_entries:,}; refused (zip the "
                             "dataset's files without empty folders, or split it)")
    entries: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    seen: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    files, total, compressed = 0, 0, 0
    for info in infos:
        parts = safe_parts(info.filename)
        if len(parts) > limits.max_depth:
            raise ZipImportError(f"zip entry {info.filename[:80]!r}… lies {len(parts)} folders deep, over "
                                 f"{limits.max_depth}; refused")
        if _is_clutter(parts):
            continue
        if long := next((part for part in parts if len(part.encode("utf-8")) > MAX_NAME_BYTES), None):
            # before a file is written: it failed as "File name too long" once extraction was under way (a probe)
            raise ZipImportError(f"zip entry {info.filename[:80]!r}… has a name of {len(long.encode('utf-8')):,} "
                                 f"bytes, over the {MAX_NAME_BYTES} a file or folder name may have; refused (rename "
                                 "it and zip the dataset again)")
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR) and unread is not None:  # never followed nor opened
            unread.append(parts)
            continue
        if kind == stat.S_IFLNK:
            raise ZipImportError(f"zip entry {info.filename!r} is a symbolic link; links are refused (zip the files "
                                 f"themselves)")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ZipImportError(f"zip entry {info.filename!r} is not a plain file or folder; refused")
        if info.flag_bits & 0x1:
            raise ZipImportError(f"zip entry {info.filename!r} is encrypted; upload a zip without a password")
        if parts in seen:
            raise ZipImportError(f"zip entry {info.filename!r} appears twice; refused")
        seen.add(parts)
        if not info.is_dir():
            folders.update(parts[:depth] for depth in range(1, len(parts)))
            if len(folders) > limits.max_folders:
                raise ZipImportError(f"the zip's files lie in more than {limits.max_folders:,} folders; refused "
                                     "(split the dataset)")
            files += 1
            total += info.file_size
            compressed += info.compress_size
            if files > limits.max_files:
                raise ZipImportError(f"the zip holds more than {limits.max_files:,} files; split the dataset")
            if total > limits.max_total_bytes:
                raise ZipImportError(f"the zip holds over {limits.max_total_bytes:,} bytes once uncompressed; "
                                     f"split the dataset")
            if (info.file_size > limits.ratio_floor_bytes
                    and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
                raise ZipImportError(f"zip entry {info.filename!r} expands {info.file_size:,} bytes from "
                                     f"{info.compress_size:,} (over {limits.max_ratio}x): refused as a zip bomb")
        entries.append((info, parts))
    if files == 0:
        raise ZipImportError("the zip holds no files" + (f", only {len(unread)} link(s) or special file(s), which "
                                                          "are not read (zip the files themselves)" if unread else ""))
    _refuse_overlaps([info for info, _ in entries])
    if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(compressed, 1):  # many small bombs
        raise ZipImportError(f"the zip's files expand to {total:,} bytes from {compressed:,} (over "
                             f"{limits.max_ratio}x): refused as a zip bomb")
    return entries


_LOCAL_HEADER_BYTES = 30  # the fixed part of a zip entry's local header, before its name and extra field


def _refuse_overlaps(infos: list[zipfile.ZipInfo]) -> None:
    """ZipImportError when two entries' data overlap: a zip that lets every entry re-read one compressed stream
    through the next entry's header (a "quoted overlap" bomb) declares modest sizes entry by entry, so the ratio
    checks pass, while 216 KB wrote 2 GB (a probe). Each entry's header and data must end before the next begins."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for before, after in zip(ordered, ordered[1:]):
        if before.header_offset + _LOCAL_HEADER_BYTES + before.compress_size > after.header_offset:
            raise ZipImportError(f"zip entries {before.filename!r} and {after.filename!r} overlap in the file: "
                                 "refused as a zip bomb (zip the files again with an ordinary zip tool)")


def safe_parts(name: str) -> tuple[str, ...]:
    """The path parts of a zip entry name, or ZipImportError when it could lead outside the folder."""
    if "\x00" in name or "\\" in name:
        raise ZipImportError(f"zip entry {name!r} has a backslash or NUL in its name; refused")
    path = PurePosixPath(name)
    # a drive letter is one letter and a colon: "Receipts:/a.json" or "http://x.json" is a folder name on Linux and
    # macOS, and was refused as an absolute path, the zip with it (a probe)
    if path.is_absolute() or (path.parts and re.fullmatch(r"[A-Za-z]:", path.parts[0])):
        raise ZipImportError(f"zip entry {name!r} is an absolute path; refused")
    parts = tuple(part for part in path.parts if part not in ("", "."))
    if ".." in parts:
        depth, lowest = 0, 0
        for part in parts:
            depth += -1 if part == ".." else 1
            lowest = min(lowest, depth)
        # "x/../a.json" stays inside: said as what it is, a part refused anyway (probe 38 read "leads out")
        why = "leads out of the folder ('..')" if lowest < 0 else "has a '..' part, which is refused even inside it"
        raise ZipImportError(f"zip entry {name!r} {why}; refused")
    if not parts:
        raise ZipImportError(f"zip entry {name!r} has no name; refused")
    return parts


def dataset_root(folder: Path) -> Path:
    """The dataset inside an extracted zip: the folder itself, or the one folder everything sits in (repeatedly),
    short of CORD's ``json/`` (the CORD importer names a record by its path from the folder above, as it does for
    a folder on the server)."""
    while True:
        children = list(folder.iterdir())
        if len(children) != 1 or not children[0].is_dir() or children[0].is_symlink() or children[0].name == "json":
            return folder
        folder = children[0]


def zip_dataset_name(file_name: str, format: str) -> str:
    """The dataset a zip goes into when none is given: the zip's name without ``.zip`` when that is a valid
    dataset name (``cord-sample.zip`` -> ``cord-sample``), else one derived from it and the format."""
    stem = _zip_stem(file_name)
    try:
        return check_dataset_name(stem)
    except WorkspaceError:  # derived from the text alone: "..zip" gave the server's working folder's name (a probe)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip(".-")[:80]
        return f"{format}-{safe}" if safe and safe != format else format


def _named_after_zip_note(workspace: "Workspace", file_name: str, name: str) -> str | None:
    """What to know of the dataset a zip without a chosen name goes into: that the zip's own name could not be used
    (and why), and that the dataset held receipts already, which the zip's join. A probe's `ｄｅｍｏ.zip` and
    `...zip` both went into `cord`, the second beside the first's receipts, unsaid."""
    stem = _zip_stem(file_name)
    notes = []
    if name != stem:
        try:
            check_dataset_name(stem)
            why = ""
        except WorkspaceError as error:
            why = f" ({error})"
        notes.append(f"The zip's name {stem!r} cannot name a dataset{why}, so the receipts went into {name!r}.")
    held = next((d.documents for d in workspace.datasets() if d.name == name), 0)
    if held:
        notes.append(f"Dataset {name!r} held {counted(held, 'receipt')} already: the zip's were added beside them. "
                     "To keep them apart, import again with a dataset name of their own.")
    return " ".join(notes) or None


def _zip_stem(file_name: str) -> str:
    return PurePosixPath(file_name.replace("\\", "/")).name.removesuffix(".zip").removesuffix(".ZIP")


def _is_clutter(parts: tuple[str, ...]) -> bool:
    return parts[0] in _CLUTTER_FOLDERS or parts[-1] in _CLUTTER_FILES or parts[-1].startswith("._")


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Write one entry, never more bytes than it declares (zipfile stops there too and checks the CRC)."""
    written = 0
    try:
        with archive.open(info) as source, open(target, "xb") as out:
            while chunk := source.read(_COPY_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise ZipImportError(f"zip entry {info.filename!r} is larger than it declares; refused")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
        raise ZipImportError(f"zip entry {info.filename!r} cannot be read ({error})") from None
    except OSError as error:
        raise ZipImportError(f"zip entry {info.filename!r} cannot be written ({error.strerror or error})") from None
