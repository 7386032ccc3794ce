"""Small file helpers shared by the dataset importers, the workspace, checkpoints and downloads."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import os
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Sequence

_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_WINDOWS_DEVICE = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: object) -> bool:
    """Whether ``text`` is a SHA-256 digest as this project writes them (64 lowercase hex digits): a stored image's
    name, a checkpoint file's hash."""
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class NotARegularFileError(OSError):
    """A path that is a link, a FIFO, a device or a folder where a plain file was expected, or one over a limit."""


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` when it is a regular file, not a link, of at most ``max_bytes``; NotARegularFileError
    otherwise. Opened without following a link and without blocking, then checked on the open file: a probe's
    ``report.md`` linked to /etc/passwd was offered as the study's report, and a FIFO typed as a study's name
    blocked a server thread for good."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotARegularFileError(errno.ELOOP, "is a link, not a file of its own", str(path)) from None
        raise
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFileError(errno.EINVAL, "is not a regular file", str(path))
        if info.st_size > max_bytes:
            raise NotARegularFileError(errno.EFBIG, f"is {info.st_size:,} bytes, over the limit of {max_bytes:,}",
                                       str(path))
        data = file.read(max_bytes + 1)
        if len(data) > max_bytes:  # grown since it was looked at
            raise NotARegularFileError(errno.EFBIG, f"is over the limit of {max_bytes:,} bytes", str(path))
        return data


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file ``.<name>.<random>.tmp`` in the same folder, fsync, then
    rename: a reader sees the old file or the new one, never half of it. The file gets the permissions the user's
    umask gives any new file (``0o666 & ~umask``, applied by the kernel), not ``mkstemp``'s private 0600."""
    with atomic_writer(path) as out:
        out.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """:func:`atomic_write` for a file written in parts: the block writes to the binary file it is given, and
    ``path`` appears, whole, when the block ends without error (else the temporary file is removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_into(folder: Path, sole_writer: bool = False) -> Iterator[Path]:
    """A new hidden folder inside the existing ``folder`` to write into; once the block ends without error, its
    files are moved up into ``folder`` (replacing files of the same name), else it is removed and ``folder`` is left
    as it was. A probe's export that failed on its second receipt, or was stopped with Ctrl-C after 164 of 200, had
    left a folder that looked whole and that a rerun then refused as not empty.

    ``sole_writer``: ``folder`` was empty when the writing began, and must still be when the files move up (under a
    lock on the folder, so of two writers that finish together one moves and the other is refused): two exports
    started at once into one new folder mixed two datasets' files there (a probe)."""
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    try:
        yield staging
        files = [file for file in sorted(staging.rglob("*")) if file.is_file()]
        for file in files:  # before any file moves: all of them land in ``folder`` or none does
            _refuse_a_linked_folder(folder, file.relative_to(staging).parent)
        with _folder_lock(folder) if sole_writer else contextlib.nullcontext():
            if sole_writer and any(not entry.name.startswith(".partial-") for entry in folder.iterdir()):
                raise OSError(errno.EEXIST, "another command filled it while this one wrote (two writers into one "
                                            "folder)", str(folder))
            for file in files:
                target = folder / file.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(file, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _folder_lock(folder: Path, wait: bool = True) -> Iterator[None]:
    """An exclusive lock on ``folder`` itself (flock on its descriptor), held by one process at a time; without
    ``wait``, FolderBusyError at once when another holds it."""
    import fcntl

    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise FolderBusyError(errno.EBUSY, "another command is writing into it", str(folder)) from None
        yield
    finally:
        os.close(descriptor)  # closing lets the lock go


class FolderBusyError(OSError):
    """Another process holds :func:`sole_writer_of` on the folder."""


def sole_writer_of(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Hold an exclusive lock on ``folder`` for a command that writes into it over a long time (a study's runs,
    then its report), or FolderBusyError at once when another process holds it: two studies started into one new
    folder both said they wrote it, and it held one study's report beside the other's runs (a probe)."""
    return _folder_lock(folder, wait=False)


def _refuse_a_linked_folder(folder: Path, relative: Path) -> None:
    """OSError (ELOOP) naming the first of ``relative``'s folders inside ``folder`` that is a link or not a folder:
    a probe's ``export --force`` into a folder whose ``json/`` linked elsewhere wrote 200 files there."""
    inside = folder
    for part in relative.parts:
        inside = inside / part
        if inside.is_symlink():
            raise OSError(errno.ELOOP, f"its {inside.relative_to(folder)}/ is a link (to {os.readlink(inside)}), "
                          "which would put files outside it", str(inside))
        if inside.exists() and not inside.is_dir():
            raise OSError(errno.ENOTDIR, f"its {inside.relative_to(folder)} is a file where a folder goes",
                          str(inside))


def new_file_mode() -> int:
    """The mode a new file gets under this process's umask (``0o666 & ~umask``), read without setting the umask
    (``os.umask`` is process-wide, and a server runs threads); 0o644 where ``/proc`` says nothing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def with_user_umask(*paths: Path) -> None:
    """Give files (and folders, recursively) that a library wrote privately — safetensors' ``save_file`` makes
    0600 files, ``tempfile.mkdtemp`` 0700 folders — the modes the user's umask gives any new one (a walkthrough
    found a checkpoint's weights at 0600, against the README's reliability table)."""
    file_mode = new_file_mode()
    folder_mode = file_mode | ((file_mode & 0o444) >> 2)  # the umask's x bits follow its r bits (0o644 -> 0o755)
    for path in paths:
        path = Path(path)
        if path.is_dir():
            os.chmod(path, folder_mode)
            for child in path.rglob("*"):
                if not child.is_symlink():
                    os.chmod(child, folder_mode if child.is_dir() else file_mode)
        elif path.is_file():
            os.chmod(path, file_mode)


# What a run's checkpoint zip may hold: a full fine-tuning run's weights and optimiser state are about 300 MB. The
# zip is built in memory, so a folder grown far past that (files dropped into it) is refused, not read whole.
ZIP_FOLDER_MAX_BYTES = 1 << 30


def zipped_files(folder: Path) -> list[Path]:
    """The files :func:`zip_folder` packs, in order; ValueError for a folder that is a link or no folder."""
    folder = Path(folder)
    if folder.is_symlink():
        raise ValueError(f"{folder.name} is a link to another folder, not a folder of its own; nothing was zipped")
    if not folder.is_dir():
        raise ValueError(f"{folder.name} is not a folder")
    files = []
    for root, _, names in os.walk(folder, followlinks=False):
        files += [Path(root) / name for name in names]
    return [file for file in sorted(files) if not file.is_symlink() and file.is_file()
            and not file.name.startswith(".") and file.suffix != ".tmp"]


def zip_folder(folder: Path, max_bytes: int = ZIP_FOLDER_MAX_BYTES) -> bytes:
    """A folder (e.g. a run's checkpoint) as zip bytes, paths relative to the folder's parent; hidden files
    (``.name``), temporaries (``name.tmp``: a save a crash interrupted) and links are left out (a probe's
    ``notes.txt`` linked to /etc/passwd went into a run's checkpoint zip), and no linked folder is entered.

    ValueError, before anything is read, for a folder that is itself a link (a probe linked a run folder to a folder
    outside the workspace, and the zip served its files) or whose files come to more than ``max_bytes``."""
    folder = Path(folder)
    files = zipped_files(folder)
    total = sum(file.stat().st_size for file in files)
    if total > max_bytes:
        raise ValueError(f"{folder.name} holds {total / 2**20:,.0f} MB of files, more than the "
                         f"{max_bytes / 2**20:,.0f} MB a checkpoint zip is built from; copy the folder from the "
                         "server instead")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(folder.parent))
    return buffer.getvalue()


def download_name_part(name: str, limit: int = 40) -> str:
    """The letters, digits, ``.``, ``_`` and ``-`` of ``name`` (each other run of characters one ``-``, at most
    ``limit``), for a download's file name built from a name a user gave: "" when none is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:limit].strip("-._")


def portable_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a file or folder everywhere an export or zip may go, else None: Windows refuses its
    device names (``CON``, ``NUL``, ``COM1``…, with any extension) and drops a final ``.``; a name starting with
    ``-`` reads as an option on a command line (``export --dataset -x`` failed). A probe named a dataset ``CON``,
    and its export zip held a folder Windows cannot extract."""
    if _WINDOWS_DEVICE.fullmatch(name.strip()):
        return f"{name.split('.')[0]!r} is a device name Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9)"
    if name.endswith("."):
        return "it ends with '.', which Windows drops from a file name"
    if name.startswith("-"):
        return "it starts with '-', which a command line reads as an option"
    return None


def file_stems(names: Iterable[str], strip_prefix: str = "") -> dict[str, str]:
    """One file stem per name (a document id), unique even where file names ignore case, for an export folder.

    A name without ``strip_prefix`` that is a safe file name is its own stem; any other is sanitised and given a
    hash of the real name, and so is one whose stem another name took first (``x y`` -> ``x_y-<hash>``, so an id
    ``x_y-<that hash>`` can never overwrite it). Raises ValueError, before anything is written, for a name given
    twice."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        if name in stems:
            raise ValueError(f"document id {name!r} appears twice")
        stem = name.removeprefix(strip_prefix)
        if not _SAFE_STEM.match(stem) or portable_name_problem(stem) or stem.lower() in taken:
            digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
            # no "-" first: `rm *` in the folder read probe 34's "-id-b9a5e5c5f6.json" (from "ТОТАЛ-id") as an option
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "document"
            stem = f"{safe}-{digest[:10]}"
            if stem.lower() in taken:
                stem = f"{safe}-{digest}"
        if stem.lower() in taken:
            raise ValueError(f"document id {name!r} gives a file name another id took: {stem!r}")
        taken.add(stem.lower())
        stems[name] = stem
    return stems


def renamed_notes(names: Sequence[str], distinct: Sequence[str]) -> list[str]:
    """One note per name :func:`distinct_names` changed, naming the file as the user did: a probe's two photos named
    ``real1.jpg`` read "real1 (2).jpg: the same image as real2.jpg", a name it never gave."""
    return [f"{new}: the second or later file named {old} in this upload, called {new} here"
            for old, new in zip(names, distinct) if old != new]


def distinct_names(names: Iterable[str]) -> list[str]:
    """The names, each repeat given the first free `` (2)``, `` (3)``… before its extension (``d (2).png``): three
    uploads named ``d.png``, ``d.png (3)`` and ``d.png`` once became two, the third renamed onto the second's name
    and lost (a probe)."""
    names = list(names)
    taken = set(names)
    seen: set[str] = set()
    result = []
    for name in names:
        if name in seen:
            stem, dot, extension = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
            name = next(candidate for n in itertools.count(2)
                        if (candidate := f"{stem} ({n}){dot}{extension}") not in taken)
            taken.add(name)
        seen.add(name)
        result.append(name)
    return result


MAX_NAME_CHARS, MAX_PATH_CHARS = 255, 4096  # what Linux file systems take: one name, and a whole path


def fits_a_file_system(text: str) -> bool:
    """Whether ``text`` could name a file at all: no NUL, no name over 255 characters, at most 4,096 in all. A
    typed path that fails this is refused before the file system is asked (which would answer ``[Errno 36]`` or
    "embedded null byte")."""
    return why_no_file_name(text) is None


def why_no_file_name(text: str) -> str | None:
    """What keeps ``text`` from naming a file (:func:`fits_a_file_system`), in words, else None: the one cause,
    not a list of three (probe 44 read "a NUL character, or a name over 255 characters, or over 4,096 in all")."""
    if "\x00" in text:
        return "it holds a NUL character"
    if len(text) > MAX_PATH_CHARS:
        return f"it is {len(text):,} characters long, over the {MAX_PATH_CHARS:,} a path may have"
    longest = max((len(part) for part in Path(text).parts), default=0)
    if longest > MAX_NAME_CHARS:
        return f"one of its names is {longest:,} characters long, over the {MAX_NAME_CHARS} a file name may have"
    return None
