"""The photos of an uploaded zip, for Data → Upload & OCR: a folder of receipt photos zipped, as an annotator has
them (a walkthrough found no way to bring one in but picking the files a hundred at a time).

Each zip passes the same checks as a dataset zip (``zip_import.checked_entries``: paths, links, bombs, sizes). Then
the whole upload is counted from the zips' directories before a byte is read: more than the upload's images, or
more than :data:`MAX_UPLOAD_IMAGE_BYTES` of them once uncompressed, refuses it all (a probe's three 26 MB zips of
20 MB images took the server to 4.5 GB before the count refused them). Only then is each image file (by its name's
extension, as the uploader judges a file) read into memory, never more bytes than it declares, in the zip's order.
Other files, and an image over the per-image limit, are left out with a note naming them; the images themselves are
judged by the OCR as any upload is (an empty or damaged file is refused there, by name).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Sequence

from ..data.images import IMAGE_SUFFIXES, MAX_IMAGE_BYTES
from ..wording import counted
from .zip_import import DEFAULT_ZIP_LIMITS, ZipImportError, ZipLimits, checked_entries

NOTES_NAMED = 5  # files left out named in a note; the rest counted
MAX_UPLOAD_IMAGE_BYTES = 512 * 1024 ** 2  # one upload's images together, uncompressed: 100 phone photos of 5 MB


@dataclass(frozen=True)
class UploadedImages:
    """An upload's files with each zip opened: the images to read (name, bytes), notes, and one problem per zip
    refused (the other files go on)."""

    images: tuple[tuple[str, bytes], ...]
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _ZipListing:
    """One zip's image entries to read (after the checks, before any byte) and what it leaves out."""

    file_name: str
    archive: zipfile.ZipFile
    images: tuple[tuple[zipfile.ZipInfo, tuple[str, ...]], ...]
    others: tuple[str, ...]  # names of files that are no image
    too_large: tuple[str, ...]  # names of images over MAX_IMAGE_BYTES
    unread: tuple[str, ...] = ()  # names of symbolic links, FIFOs and devices (never followed nor opened)


def open_zips(files: Sequence[tuple[str, bytes]], max_images: int,
              limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> UploadedImages:
    """``files`` (name, bytes) with every ``.zip`` replaced by its image files, each named ``zip name/path``, in
    order. A zip that is refused (unsafe, unreadable, no image in it) is one problem and the other files go on. More
    than ``max_images`` images in all, or more than :data:`MAX_UPLOAD_IMAGE_BYTES` of them, is a ZipImportError
    before any is read."""
    listed: list[tuple[str, bytes] | _ZipListing] = []
    problems: list[str] = []
    for name, data in files:
        if not name.lower().endswith(".zip"):
            listed.append((name, data))
            continue
        try:
            listed.append(_listing(name, data, limits))
        except ZipImportError as error:
            problems.append(str(error) if str(error).startswith(name) else f"{name}: {error}")
    count = sum(len(item.images) if isinstance(item, _ZipListing) else 1 for item in listed)
    size = sum(sum(info.file_size for info, _ in item.images) if isinstance(item, _ZipListing) else len(item[1])
               for item in listed)
    if count > max_images:
        raise ZipImportError(f"{count} images in this upload, its zips opened; one upload reads at most {max_images} "
                             "(each takes a few seconds of OCR): store them in several rounds, or split the zips")
    if size > MAX_UPLOAD_IMAGE_BYTES:
        raise ZipImportError(f"the images of this upload come to {size / 1024 ** 2:,.0f} MB once uncompressed, over "
                             f"the {MAX_UPLOAD_IMAGE_BYTES // 1024 ** 2} MB one upload reads: store them in several "
                             "rounds")
    images: list[tuple[str, bytes]] = []
    notes: list[str] = []
    for item in listed:
        if not isinstance(item, _ZipListing):
            images.append(item)
            continue
        with item.archive:
            for info, parts in item.images:
                try:
                    images.append((f"{item.file_name}/{'/'.join(parts)}", _read_bounded(item.archive, info)))
                except ZipImportError as error:  # damaged data behind a sound directory: this entry only, named
                    problems.append(f"{item.file_name}: {error}; the zip's other photos were read")
        notes.extend(_left_out_notes(item))
    return UploadedImages(images=tuple(images), notes=tuple(notes), problems=tuple(problems))


def _listing(file_name: str, data: bytes, limits: ZipLimits) -> _ZipListing:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise ZipImportError(f"{file_name} is not a readable zip file ({error})") from None
    unread: list[tuple[str, ...]] = []  # left out, the other photos read (probe 26: one link lost a zip's 4 photos)
    try:
        entries = [(info, parts) for info, parts in checked_entries(archive.infolist(), limits, unread)
                   if not info.is_dir()]
    except ZipImportError:
        archive.close()
        raise
    shown = lambda parts: f"{file_name}/{'/'.join(parts)}"  # noqa: E731
    pictures = [(info, parts) for info, parts in entries if _suffix(parts) in IMAGE_SUFFIXES]
    others = tuple(shown(parts) for _, parts in entries if _suffix(parts) not in IMAGE_SUFFIXES)
    if not pictures:
        archive.close()
        raise ZipImportError(f"{file_name} holds no image file (.jpg, .png, .webp, .tif …; "
                             f"{counted(len(others), 'other file')}{_kinds_note(others)}): zip the receipt "
                             "photos themselves, or import a labelled dataset zip on the Import tab")
    return _ZipListing(file_name=file_name, archive=archive,
                       images=tuple((info, parts) for info, parts in pictures if info.file_size <= MAX_IMAGE_BYTES),
                       others=others,
                       too_large=tuple(shown(parts) for info, parts in pictures if info.file_size > MAX_IMAGE_BYTES),
                       unread=tuple(shown(parts) for parts in unread))


def _left_out_notes(item: _ZipListing) -> list[str]:
    notes = []
    if item.others:
        whose = "its name" if len(item.others) == 1 else "their names"
        notes.append(f"{item.file_name}: {counted(len(item.others), 'file')} left out, not images by {whose} (.jpg, "
                     f".png, .webp, .tif …{_kinds_note(item.others)}): {_named(item.others)}")
    if item.unread:
        notes.append(f"{item.file_name}: {counted(len(item.unread), 'entry', 'entries')} left out, not read: a "
                     f"symbolic link or a special file, not a photo (zip the photos themselves): "
                     f"{_named(item.unread)}")
    if item.too_large:
        notes.append(f"{item.file_name}: {counted(len(item.too_large), 'image')} left out, over the "
                     f"{MAX_IMAGE_BYTES // 1024 ** 2} MB an image may have (crop or scale "
                     f"{'it' if len(item.too_large) == 1 else 'them'} down): {_named(item.too_large)}")
    return notes


def _named(names: Sequence[str]) -> str:
    return ", ".join(names[:NOTES_NAMED]) + (f" and {len(names) - NOTES_NAMED} more" if len(names) > NOTES_NAMED
                                             else "")


PHONE_PHOTO_SUFFIXES = ("heic", "heif", "avif")  # photos a phone takes in a format this app does not read


def _kinds_note(names: tuple[str, ...]) -> str:
    """What the left-out files are, where their names tell: phone photos and zips inside the zip."""
    return _phone_photos_note(names) + _inner_zips_note(names)


def _inner_zips_note(names: tuple[str, ...]) -> str:
    """Said of zips inside the zip: probe 61's zip of a zip was told "1 other file", where the CLI names it."""
    zips = sum(1 for name in names if PurePosixPath(name).suffix.lower() == ".zip")
    if not zips:
        return ""
    if zips == len(names) == 1:
        return "; it is a zip inside the zip, which is not read: upload it on its own, or zip its photos with the rest"
    return (f"; {zips} of them {'is a zip' if zips == 1 else 'are zips'} inside the zip, not read: upload "
            f"{'it' if zips == 1 else 'each'} on its own, or zip the photos with the rest")


def _phone_photos_note(names: tuple[str, ...]) -> str:
    """Said of files named as HEIC or AVIF photos: probe 34's zip of iPhone photos was told it held "no image file",
    where one such photo uploaded alone is named as a HEIC to convert."""
    phone = sum(1 for name in names if PurePosixPath(name).suffix.lower().removeprefix(".") in PHONE_PHOTO_SUFFIXES)
    return (f"; {phone} of them named as HEIC or AVIF photos, a format this app does not read: convert them to JPEG "
            "first" if phone else "")


def _suffix(parts: tuple[str, ...]) -> str:
    return PurePosixPath(parts[-1]).suffix.lower().removeprefix(".")


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One entry's bytes, never more than it declares (zipfile stops there too and checks the CRC)."""
    try:
        with archive.open(info) as source:
            data = source.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError) as error:
        raise ZipImportError(f"zip entry {info.filename!r} cannot be read ({error})") from None
    if len(data) > info.file_size:
        raise ZipImportError(f"zip entry {info.filename!r} is larger than it declares; refused")
    return data
