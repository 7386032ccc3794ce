"""The OCR cache: a folder of OCR results as native JSON, so re-OCR of an image already read costs a hash."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from ..data.document import MAX_DOCUMENT_WORDS, Document, DocumentFormatError
from ..data.files import new_file_mode, read_regular_file
from ..data.reading_order import reading_order


class CachedSettings(Protocol):
    """What the cache needs of :class:`receipt_core.ocr.engine.OcrSettings`: its key, and the words' order."""

    order: str

    def key(self) -> str: ...


# A receipt as OCR writes it is far smaller (WildReceipt's largest entry is 145 kB); an entry over the bound is a
# miss, and the image is read again.
MAX_ENTRY_BYTES = 16 << 20


class OcrCache:
    """A folder of OCR results as native JSON, keyed by the image's SHA-256 and the settings' hash.

    Writes go to a temporary file in the same folder and are renamed into place, so a crash never leaves a
    half-written entry; an unreadable entry counts as a miss. With ``writes`` False the cache only reads: what is
    OCR'd through it is not kept (Predict's uploads, which no receipt of the workspace holds).
    """

    _TEMPORARY_PREFIX, _SUFFIX = ".tmp-", ".json"  # a write in progress: .tmp-XXXX.json, renamed when complete
    ENTRY = re.compile(r"(?:[0-9a-f]{64}-[0-9a-f]{16}|\.tmp-.*)\.json")
    _KEYED = re.compile(r"([0-9a-f]{64})-[0-9a-f]{16}\.json")

    def __init__(self, folder: Path, writes: bool = True) -> None:
        self.folder = Path(folder)
        self.writes = writes

    @classmethod
    def image_sha256_of(cls, name: str) -> str | None:
        """The image hash an entry's file name is keyed by; None for a name that is not an entry (a temporary
        file, a foreign one)."""
        match = cls._KEYED.fullmatch(name)
        return match.group(1) if match else None

    @classmethod
    def is_temporary(cls, name: str) -> bool:
        """Whether ``name`` is the temporary file of a write (one left behind by a crash, once it is old)."""
        return name.startswith(cls._TEMPORARY_PREFIX) and name.endswith(cls._SUFFIX)

    def foreign_files(self) -> list[str]:
        """Names in the folder that this cache did not write (sorted; empty when the folder is missing), so a
        caller can refuse to scatter cache files among someone else's."""
        if not self.folder.is_dir():
            return []
        return sorted(entry.name for entry in self.folder.iterdir()
                      if not self.ENTRY.fullmatch(entry.name) or not entry.is_file())  # a folder named like one too

    def path(self, sha256: str, settings: CachedSettings) -> Path:
        return self.folder / f"{sha256}-{settings.key()}.json"

    def get(self, sha256: str, settings: CachedSettings) -> Document | None:
        """The cached document, or None for a miss: no entry, or one that is not a regular file of at most
        ``MAX_ENTRY_BYTES`` (a link, a FIFO: a probe's planted 2 GB entry was read whole and hung ``evaluate``),
        not the native format, or over ``MAX_DOCUMENT_WORDS`` words. A miss means the image is OCR'd again."""
        path = self.path(sha256, settings)
        try:
            data = json.loads(read_regular_file(path, MAX_ENTRY_BYTES).decode("utf-8"), parse_constant=_no_constant)
            document = Document.from_json(data)
        except (OSError, ValueError, RecursionError, DocumentFormatError):  # no entry, not a file, not the format
            return None
        if len(document.words) > MAX_DOCUMENT_WORDS:
            return None
        # in today's reading order: an entry written before the order changed reads as a fresh OCR would
        return document.with_words(reading_order(document.words)) if settings.order == "geometric" else document

    def put(self, document: Document, settings: CachedSettings) -> None:
        if document.image_sha256 is None:
            raise ValueError("only documents OCR'd from an image (with image_sha256) can be cached")
        if not self.writes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(document.image_sha256, settings)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=self._TEMPORARY_PREFIX, suffix=self._SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document.to_json(), handle)
            os.chmod(tmp, new_file_mode())  # the user's umask, as every file the app writes (mkstemp's is 0600)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")
