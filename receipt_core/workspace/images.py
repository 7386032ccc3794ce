"""The workspace's images: files under ``<home>/images`` named by the SHA-256 of their bytes, never by the name
they were uploaded under.

* an image is written to a temporary file, fsynced and renamed; a file that is a link, or whose bytes are not
  the content its name says, is never served or exported as the image, and storing the image again repairs it;
* :meth:`ImageStore.prune_images` removes the images no document refers to any more, once they are older than
  ``IMAGE_GRACE_S``: an upload stores its image before OCR saves its document, and storing an image that is
  already there refreshes its age, so an image whose document is still on its way is never taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import time
from pathlib import Path
from typing import Collection

from ..data.files import atomic_write, file_sha256, is_sha256
from ..ocr.cache import OcrCache
from .database import Database, WorkspaceError

IMAGE_GRACE_S = 3600.0  # an unreferenced image younger than this may belong to a document not saved yet

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


class DamagedImageError(WorkspaceError):
    """A stored image whose bytes are not the content its name's hash says: changed or replaced on disk."""


def read_stored_image(path: Path) -> bytes:
    """The bytes of a stored image file, checked against the SHA-256 it is named by; DamagedImageError when they
    differ (a probe replaced one with another PNG, and the receipt's boxes were drawn over the wrong picture)."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != path.name.split(".", 1)[0]:
        raise DamagedImageError(_changed_on_disk(path))
    return data


def _changed_on_disk(path: Path) -> str:
    return (f"the stored image {path.name} was changed on disk: its bytes are not the image the receipt was stored "
            "with. Upload or import that image again (it is stored afresh), or delete the receipt")


class ImageStore(Database):
    """The images half of :class:`~receipt_core.workspace.store.Workspace`."""

    images_dir: Path

    def put_image(self, data: bytes, suffix: str) -> str:
        """Store image bytes under their SHA-256 (atomically, once); returns the hash."""
        if not data:
            raise WorkspaceError("refusing to store an empty image (0 bytes)")
        suffix = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
        if not _SUFFIX.match(suffix):
            raise WorkspaceError(f"image suffix {suffix!r} is not a plain extension such as .png or .jpg")
        sha = hashlib.sha256(data).hexdigest()
        existing = self.image_path(sha)
        if existing is not None:
            with contextlib.suppress(FileNotFoundError):  # pruned just now: the file is written again below
                if file_sha256(existing) == sha:
                    os.utime(existing)  # young again: a prune running before its document is saved leaves it
                    return sha
        self._remove_damaged_images(sha)  # changed or replaced on disk (a probe): storing the bytes again repairs it
        try:
            atomic_write(self.images_dir / f"{sha}{suffix}", data)
        except OSError as error:  # a probe's read-only images folder: "[Errno 1] Operation not permitted: '…tmp'"
            raise WorkspaceError(f"cannot store the image in {self.images_dir}: {error.strerror or error}; check "
                                 "that the workspace folder can be written") from None
        return sha

    def image_path(self, sha: str) -> Path | None:
        """The stored image file for a hash, or None. Anything but a 64-hex hash is simply not found, nor is a
        link: a probe linked a stored image to /etc/passwd, and an export copied it as the receipt's image."""
        if not is_sha256(sha):
            return None
        for candidate in self.images_dir.glob(f"{sha}.*"):
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
        return None

    def checked_image_path(self, sha: str) -> Path | None:
        """:meth:`image_path`, its bytes checked against the hash it is named by (read once, so for exports and
        one-off reads, not per redraw); :class:`DamagedImageError` when they differ."""
        path = self.image_path(sha)
        if path is not None and file_sha256(path) != sha:
            raise DamagedImageError(_changed_on_disk(path))
        return path

    def _remove_damaged_images(self, sha: str) -> None:
        """Take away every file stored under ``sha`` (a link, or bytes that are not its content) before it is
        written again."""
        for candidate in self.images_dir.glob(f"{sha}.*"):
            if candidate.is_symlink() or candidate.is_file():
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()

    def prune_images(self, grace_s: float = IMAGE_GRACE_S, forget: Collection[str] = ()) -> list[str]:
        """Delete the stored images and the OCR results (``ocr-cache/``) no document refers to, and the temporary
        files of interrupted writes, that are older than ``grace_s`` seconds; and at once, whatever their age, the
        OCR results of the images in ``forget`` (just deleted receipts') that no document refers to now: a deleted
        receipt's words must not outlive it (a probe re-imported them from the cache). Returns the file names
        deleted."""
        with self._read() as conn:
            referenced = {row[0] for row in conn.execute(
                "SELECT DISTINCT image_sha256 FROM documents WHERE image_sha256 IS NOT NULL")}
        cutoff = time.time() - grace_s
        deleted = []
        for path in sorted(self.images_dir.iterdir()):
            name = path.name
            sha = name.split(".", 1)[0]
            interrupted_write = name.startswith(".") and name.endswith(".tmp")
            orphan = is_sha256(sha) and sha not in referenced
            if (interrupted_write or orphan) and _unlink_older(path, cutoff):
                deleted.append(name)
        for path in sorted(self.ocr_cache_dir.iterdir()) if self.ocr_cache_dir.is_dir() else ():
            sha = OcrCache.image_sha256_of(path.name)
            orphan = sha is not None and sha not in referenced
            older_than = math.inf if sha in forget else cutoff  # a deleted receipt's OCR goes at once
            if (OcrCache.is_temporary(path.name) or orphan) and _unlink_older(path, older_than):
                deleted.append(path.name)
        return deleted


def _unlink_older(path: Path, cutoff: float) -> bool:
    """Delete ``path`` when it is a regular file last changed before ``cutoff`` (a Unix time); whether it did."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            return True
    return False
