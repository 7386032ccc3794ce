"""The project's own dataset folder: one native document JSON per receipt, images named by content hash.

Layout::

    folder/
      <document id>.json          one Document.to_json() each (file names made safe, see below)
      images/<sha256>.<ext>       the image a document's ``image_sha256`` names, when it has one

File names never come from outside unchecked: a document id like ``../x`` or ``Käse bon`` is written as a
safe ASCII name plus a short hash of the id, and images are named by the SHA-256 of their bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Iterable, Mapping

from ..data.document import Document, DocumentFormatError
from ..data.schema import LabelSchema
from . import DatasetImportError, ImportReport, make_report
from ..data.files import atomic_write
from ._common import RecordError, box_on_page, file_sha256

IMAGE_FOLDER = "images"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp"),
          (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))


def load_native(path: Path, schema: LabelSchema) -> ImportReport:
    """Read a native folder (or one native JSON file); each bad file is reported and skipped."""
    if path.is_file():
        folder, files = path.parent, [path]
    else:
        folder, files = path, sorted(path.glob("*.json"))
        if not files:
            raise DatasetImportError(f"no native document files (*.json) in {path}")
    documents: list[Document] = []
    images: dict[str, Path] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{file.name}: not a readable JSON file ({error}); skipped")
            continue
        try:
            doc = Document.from_json(data)
            doc.validate(schema)
            doc = _on_page(doc, problems, file.name)
        except (DocumentFormatError, RecordError) as error:
            problems.append(f"{file.name}: {error}; skipped")
            continue
        if doc.id in seen:
            problems.append(f"{file.name}: document id {doc.id!r} was already imported from another file; skipped")
            continue
        seen.add(doc.id)
        if doc.image_sha256 is not None:
            image = _find_image(folder / IMAGE_FOLDER, doc.image_sha256)
            if image is None:
                problems.append(f"{file.name}: image {doc.image_sha256[:12]}… is not in {IMAGE_FOLDER}/ (or its "
                                f"bytes do not match the hash); imported without pixels")
                doc = dataclasses.replace(doc, image_sha256=None)
            else:
                images[doc.id] = image
        documents.append(doc)
    return make_report(documents, images, problems)


def save_native(docs: Iterable[Document], folder: Path,
                images: Mapping[str, Path | bytes] | None = None) -> list[Path]:
    """Write ``docs`` (and the images given per doc id, as files or bytes) as a native folder.

    Every file is written to a temporary name and renamed into place, so a crash never leaves a half-written
    document. A document given an image but no ``image_sha256`` gets the image's hash; a document whose
    ``image_sha256`` disagrees with the image bytes is refused with ValueError. Returns the document files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = images or {}
    written: list[Path] = []
    used: set[str] = set()
    for doc in docs:
        image = images.get(doc.id)
        if image is not None:
            data = image.read_bytes() if isinstance(image, Path) else bytes(image)
            sha = hashlib.sha256(data).hexdigest()
            if doc.image_sha256 not in (None, sha):
                raise ValueError(f"document {doc.id!r} names image {doc.image_sha256} but the image given for it "
                                 f"has SHA-256 {sha}")
            doc = dataclasses.replace(doc, image_sha256=sha)
            suffix = image.suffix.lower() if isinstance(image, Path) and image.suffix else _suffix_for(data)
            target = folder / IMAGE_FOLDER / f"{sha}{_clean_suffix(suffix)}"
            if not target.exists():
                atomic_write(target, data)
        name = document_file_name(doc.id)
        if name in used:
            raise ValueError(f"document id {doc.id!r} appears twice")
        used.add(name)
        path = folder / name
        atomic_write(path, json.dumps(doc.to_json(), ensure_ascii=False, indent=1).encode("utf-8"))
        written.append(path)
    return written


def document_file_name(doc_id: str) -> str:
    """``<id>.json`` when the id is a safe file name, else a sanitised id plus a hash of the real id."""
    if _SAFE_NAME.match(doc_id) and doc_id not in (".", ".."):
        return f"{doc_id}.json"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", doc_id).strip("._")[:60] or "document"
    return f"{safe}-{hashlib.sha256(doc_id.encode('utf-8')).hexdigest()[:10]}.json"



def _on_page(doc: Document, problems: list[str], name: str) -> Document:
    """Clamp boxes to the page (reported); words entirely off the page are dropped (reported)."""
    words, changed = [], False
    for i, word in enumerate(doc.words):
        x0, y0, x1, y1 = word.box
        try:
            box, clamped = box_on_page((x0, x1), (y0, y1), doc.width, doc.height)
        except RecordError as error:
            problems.append(f"{name}: word {i} {word.text!r}: {error}; dropped")
            changed = True
            continue
        if clamped:
            problems.append(f"{name}: word {i} {word.text!r}: box extends outside the {doc.width}x{doc.height} "
                            f"page; clamped")
            word = dataclasses.replace(word, box=box)
            changed = True
        words.append(word)
    return doc.with_words(words) if changed else doc


def _find_image(folder: Path, sha: str) -> Path | None:
    if not _SHA256.match(sha) or not folder.is_dir():
        return None
    for candidate in sorted(folder.glob(f"{sha}.*")):
        if candidate.is_file() and file_sha256(candidate) == sha:
            return candidate
    return None


def _suffix_for(data: bytes) -> str:
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"


def _clean_suffix(suffix: str) -> str:
    suffix = suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".img"
