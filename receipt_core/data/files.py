"""Small file helpers shared by the dataset importers, the workspace, checkpoints and downloads."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import zipfile
from pathlib import Path


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file ``.<name>.<random>.tmp`` in the same folder, fsync, then
    rename: a reader sees the old file or the new one, never half of it. The file gets the permissions the user's
    umask gives any new file (``0o666 & ~umask``, applied by the kernel), not ``mkstemp``'s private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def zip_folder(folder: Path) -> bytes:
    """A folder (e.g. a run's checkpoint) as zip bytes, paths relative to the folder's parent; hidden files
    (``.name``, such as a save's temporaries) are left out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(Path(folder).rglob("*")):
            if file.is_file() and not file.name.startswith("."):
                archive.write(file, file.relative_to(Path(folder).parent))
    return buffer.getvalue()
