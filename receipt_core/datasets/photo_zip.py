"""The photos of an uploaded zip, for Data → Upload & OCR: a folder of receipt photos zipped, as an annotator has
them (a walkthrough found no way to bring one in but picking the files a hundred at a time).

The zip passes the same checks as a dataset zip (``zip_import.checked_entries``: paths, links, bombs, sizes), then
each image file (by its name's extension, as the uploader judges a file) is read into memory, never more bytes than
it declares, in the zip's order. Every other file is left out with a note that names it; the images themselves are
judged by the OCR as any upload is (an empty or damaged file is refused there, by name).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO, Sequence

from ..data.images import IMAGE_SUFFIXES, MAX_IMAGE_BYTES
from ..wording import counted
from .zip_import import DEFAULT_ZIP_LIMITS, ZipImportError, ZipLimits, checked_entries

NOTES_NAMED = 5  # files left out named in the note; the rest counted


@dataclass(frozen=True)
class ZipPhotos:
    """The image files of a zip: (name inside the zip, bytes) in the zip's order, and notes on what was left out."""

    images: tuple[tuple[str, bytes], ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class UploadedImages:
    """An upload's files with each zip opened: the images to read, notes, and one problem per zip refused."""

    images: tuple[tuple[str, bytes], ...]
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def open_zips(files: Sequence[tuple[str, bytes]], max_images: int) -> UploadedImages:
    """``files`` (name, bytes) with every ``.zip`` replaced by its photos (:func:`photos_in_zip`), in order; a zip
    that is refused is one problem and the other files go on. More than ``max_images`` images in all is a
    ZipImportError, before any is read by OCR."""
    images: list[tuple[str, bytes]] = []
    notes: list[str] = []
    problems: list[str] = []
    for name, data in files:
        if not name.lower().endswith(".zip"):
            images.append((name, data))
            continue
        try:
            photos = photos_in_zip(io.BytesIO(data), name, max_images)
        except ZipImportError as error:
            problems.append(f"{name}: {error}" if not str(error).startswith(name) else str(error))
            continue
        images.extend(photos.images)
        notes.extend(photos.notes)
    if len(images) > max_images:
        raise ZipImportError(f"{len(images)} images in this upload, its zips opened; one upload reads at most "
                             f"{max_images} (each takes a few seconds of OCR): store them in several rounds")
    return UploadedImages(images=tuple(images), notes=tuple(notes), problems=tuple(problems))


def photos_in_zip(upload: BinaryIO, file_name: str, max_images: int,
                  limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> ZipPhotos:
    """The image files of the zip ``upload`` (named ``file_name`` in messages), each named ``file_name/path``.
    ZipImportError when the zip is refused, holds no image, or more than ``max_images``."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise ZipImportError(f"{file_name} is not a readable zip file ({error})") from None
    with archive:
        entries = [(info, parts) for info, parts in checked_entries(archive.infolist(), limits) if not info.is_dir()]
        wanted = [(info, parts) for info, parts in entries if _suffix(parts) in IMAGE_SUFFIXES]
        others = [f"{file_name}/{'/'.join(parts)}" for info, parts in entries if _suffix(parts) not in IMAGE_SUFFIXES]
        if not wanted:
            raise ZipImportError(f"{file_name} holds no image file (.jpg, .png, .webp, .tif …; "
                                 f"{counted(len(others), 'other file')}): zip the receipt photos themselves, or "
                                 "import a labelled dataset zip on the Import tab")
        if len(wanted) > max_images:
            raise ZipImportError(f"{file_name} holds {len(wanted)} images; one upload reads at most {max_images} "
                                 "(each takes a few seconds of OCR): split it into smaller zips")
        images = tuple((f"{file_name}/{'/'.join(parts)}", _read_bounded(archive, info)) for info, parts in wanted)
    notes = ()
    if others:
        named = ", ".join(others[:NOTES_NAMED]) + (f" and {len(others) - NOTES_NAMED} more"
                                                    if len(others) > NOTES_NAMED else "")
        whose = "its name" if len(others) == 1 else "their names"
        notes = (f"{file_name}: {counted(len(others), 'file')} left out, not images by {whose} (.jpg, .png, .webp, "
                 f".tif …): {named}",)
    return ZipPhotos(images=images, notes=notes)


def _suffix(parts: tuple[str, ...]) -> str:
    return PurePosixPath(parts[-1]).suffix.lower().removeprefix(".")


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One entry's bytes, never more than it declares (zipfile stops there too and checks the CRC) nor more than
    an uploaded image may have."""
    if info.file_size > MAX_IMAGE_BYTES:
        raise ZipImportError(f"zip entry {info.filename!r} is {info.file_size:,} bytes, over the "
                             f"{MAX_IMAGE_BYTES // 1024 ** 2} MB an image may have; refused")
    try:
        with archive.open(info) as source:
            data = source.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError) as error:
        raise ZipImportError(f"zip entry {info.filename!r} cannot be read ({error})") from None
    if len(data) > info.file_size:
        raise ZipImportError(f"zip entry {info.filename!r} is larger than it declares; refused")
    return data
