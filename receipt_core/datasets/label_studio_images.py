"""Which image a Label Studio task names: a file inside the imported folder, the SHA-256 its file name holds (this
project's export names images by content hash, and the workspace may hold that image), or a file of the uploaded name
beside the export."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

from ..data.images import MAX_IMAGE_BYTES
from ._common import file_sha256, inside, shown
from .label_studio_template import IMAGE_FOLDER

_SHA256_IN_NAME = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def task_image(ref: Any, folder: Path, notes: list[str]) -> Path | str | None:
    """The task's image: a file inside the imported folder that ``ref`` names; else the SHA-256 its file name holds
    (this project's export names images by content hash, and Label Studio keeps that name behind its upload key,
    ``/data/upload/1/1a2b3c4d-<sha256>.png``, or in a local-files reference): the workspace may hold that image;
    else, for a Label Studio path or URL, a file of that name (or of the name uploaded, before Label Studio's
    ``1a2b3c4d-`` key) beside the export or in its ``images/``; else None (noted)."""
    if ref is None:
        return None
    local = isinstance(ref, str) and not is_storage_link(ref)
    file_name = PurePosixPath(unquote(ref.split("?d=")[-1].split("?")[0])).name if isinstance(ref, str) else ""
    named = _SHA256_IN_NAME.search(file_name)
    if local:
        candidate = folder / ref
        try:
            if candidate.is_file() and inside(folder, candidate):
                if named is None or _bytes_have(candidate, named.group(0), notes):
                    return candidate
                # a file named by a hash its bytes do not have: another receipt's photo (a probe swapped two files
                # of an export, and each receipt's boxes were drawn over the other's photo, unsaid). The workspace's
                # copy of the image named, if it holds one; else RecordCollector.add says it is imported without one
                return named.group(0)
        except OSError:  # a name too long for the file system: no such file (a probe's 5000 characters lost the task)
            pass
    # a Label Studio path or URL: a file of its name beside the export or in images/, checked against the hash its
    # name holds (a probe's upload paths named by hash were imported without pixels, their files in images/)
    if not local and (found := _by_link_path(ref, folder) or _by_file_name(file_name, folder)) is not None and (
            named is None or _bytes_have(found, named.group(0), notes)):
        return found
    if named is not None:
        return named.group(0)  # RecordCollector.add notes it unless the workspace holds it
    # the file looked for, named: a long link was cut before it (probe 58 read "'/data/local-files/?d=storeA/IM'…")
    where = (f"is not a file inside {folder.name}/" if local else
             f"names {shown(file_name)}, found neither at the link's path in the folder nor beside the export or in "
             f"{IMAGE_FOLDER}/")
    kept = "" if local else " (the link is kept: an export writes it back for Label Studio)"
    notes.append(f"image {shown(ref)} {where}; imported without pixels{kept}")
    return None


def is_storage_link(ref: Any) -> bool:
    """Whether a task's image reference points into Label Studio's storage or the web (an upload path, a
    local-files path, a URL), not at a file of the export: such a link means something to Label Studio after the
    import, and is kept (``IMAGE_LINK_META``) when the photo is not there."""
    return isinstance(ref, str) and ("://" in ref or ref.startswith("/data/"))


def _bytes_have(path: Path, sha: str, notes: list[str]) -> bool:
    """Whether the file's bytes have the SHA-256 its name holds; a file over the image limit is not read to find
    out, and is said (a probe's 6 GB files named by hash were each hashed whole, 15 s apiece)."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        notes.append(f"image {shown(path.name)} is {size / 2 ** 20:,.0f} MB, over the {MAX_IMAGE_BYTES // 2 ** 20} MB "
                     "an image may have; not read")
        return False
    return file_sha256(path) == sha


def _by_link_path(ref: str, folder: Path) -> Path | None:
    """The file inside ``folder`` at the path the link names, or at its longest ending that is one: a local-files
    link's ``?d=storeA/IMG_0001.jpg`` is ``storeA/IMG_0001.jpg`` of an export laid out as the storage is. By file
    name alone, probe 58's two tasks of ``storeA/IMG_0001.jpg`` and ``storeB/IMG_0001.jpg`` both took the photo of
    that name beside the export, one receipt drawn over another's photo, unsaid. None for a bare file name (the
    caller looks for it) or a path that climbs (``..``)."""
    if "?d=" in ref:
        path = ref.split("?d=", 1)[1].split("&")[0]
    elif "://" in ref:
        path = urlsplit(ref).path
    else:
        path = ref.split("?")[0]
    parts = [part for part in PurePosixPath(unquote(path)).parts if part != "/"]
    if ".." in parts:
        return None
    # the longest ending first, down to a folder and the file
    return _first_file(folder, (folder.joinpath(*parts[start:]) for start in range(len(parts) - 1)))


_UPLOAD_KEY = re.compile(r"^[0-9a-f]{8}-(?=.)")  # Label Studio's prefix of an uploaded file's name


def _by_file_name(file_name: str, folder: Path) -> Path | None:
    """A file named ``file_name`` (or that name without Label Studio's upload key) at the top of ``folder`` or in
    its ``images/``: where a person puts the images of an export made with uploaded files (a walkthrough's zip held
    them there, and every task was imported without pixels)."""
    if not file_name or file_name in (".", ".."):
        return None
    return _first_file(folder, (place / name for name in dict.fromkeys((file_name, _UPLOAD_KEY.sub("", file_name)))
                                for place in (folder, folder / IMAGE_FOLDER)))


def _first_file(folder: Path, candidates: Iterable[Path]) -> Path | None:
    """The first of ``candidates`` that is a regular file (or a link to one) inside ``folder``, else None."""
    for candidate in candidates:
        try:
            if candidate.is_file() and inside(folder, candidate):
                return candidate
        except OSError:  # a name too long for the file system
            continue
    return None
