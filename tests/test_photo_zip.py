"""A zip of receipt photos on Data → Upload & OCR (a walkthrough found no way to bring one in): its images read by the
real Tesseract and stored, its other files named in a note, a bad zip one problem beside the other files, and the
dataset zip's safety checks on every entry."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from conftest import require_shared_data
from receipt_core.datasets.detect import resolve_format
from receipt_core.datasets import photo_zip
from receipt_core.datasets.photo_zip import open_zips
from receipt_core.datasets.report import DatasetImportError
from receipt_core.datasets.zip_import import ZipImportError
from receipt_core.workspace.store import Workspace
from ui.actions import ocr_and_store


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _wildreceipt_photos(count: int) -> list[tuple[str, bytes]]:
    root = require_shared_data("wildreceipt")
    lines = (root / "dev.txt").read_text(encoding="utf-8").splitlines()[:count]
    return [(json.loads(line)["file_name"], (root / json.loads(line)["file_name"]).read_bytes()) for line in lines]


@pytest.mark.ocr
def test_a_zip_of_real_photos_is_read_and_stored_with_its_other_files_named(tmp_path):
    photos = _wildreceipt_photos(2)
    upload = _zip({**{f"receipts/{name.rsplit('/', 1)[-1]}": data for name, data in photos},
                   "receipts/notes.txt": b"shop visits, March", "__MACOSX/._x.jpg": b"clutter"})
    opened = open_zips([("march.zip", upload)], max_images=100)
    assert [name for name, _ in opened.images] == [f"march.zip/receipts/{n.rsplit('/', 1)[-1]}" for n, _ in photos]
    assert opened.notes == ("march.zip: 1 file left out, not images by its name (.jpg, .png, .webp, .tif …): "
                            "march.zip/receipts/notes.txt",)
    workspace = Workspace(tmp_path)
    report = ocr_and_store(workspace, "march", dict(opened.images))
    stored = workspace.load_documents("march")
    assert len(report.saved) == 2 and len(stored) == 2 and not report.problems
    assert all(len(doc.words) > 20 and doc.meta["file_name"].startswith("march.zip/receipts/") for doc in stored)


def test_a_bad_zip_is_one_problem_and_the_other_files_go_on():
    opened = open_zips([("a.png", b"png bytes"), ("broken.zip", b"not a zip"),
                        ("empty.zip", _zip({"readme.md": b"# hi"}))], max_images=10)
    assert opened.images == (("a.png", b"png bytes"),)
    assert opened.problems[0].startswith("broken.zip is not a readable zip file")
    assert opened.problems[1].startswith("empty.zip holds no image file (.jpg, .png, .webp, .tif …; 1 other file)")
    # a zip of iPhone photos: named as what they are (probe 34 was told it held "no image file")
    iphone = open_zips([("iphone.zip", _zip({"IMG_0001.HEIC": b"x", "IMG_0002.heic": b"x"}))], max_images=10)
    assert iphone.problems[0].startswith("iphone.zip holds no image file (.jpg, .png, .webp, .tif …; 2 other files; "
                                         "2 of them named as HEIC or AVIF photos, a format this app does not read: "
                                         "convert them to JPEG first)")
    # a zip of a zip: named as what it is (probe 61 was told "1 other file", where the CLI's import names it)
    nested = open_zips([("nested.zip", _zip({"inner.zip": _zip({"a.png": b"x"})}))], max_images=10)
    assert nested.problems == ("nested.zip holds no image file (.jpg, .png, .webp, .tif …; 1 other file; it is a zip "
                               "inside the zip, which is not read: upload it on its own, or zip its photos with the "
                               "rest): zip the receipt photos themselves, or import a labelled dataset zip on the "
                               "Import tab",)
    mixed = open_zips([("mixed.zip", _zip({"a.png": b"x", "inner.zip": b"zip", "b.txt": b"t"}))], max_images=10)
    assert mixed.notes == ("mixed.zip: 2 files left out, not images by their names (.jpg, .png, .webp, .tif …; 1 of "
                           "them is a zip inside the zip, not read: upload it on its own, or zip the photos with the "
                           "rest): mixed.zip/inner.zip, mixed.zip/b.txt",)


def test_a_link_or_special_file_in_a_zip_of_photos_is_left_out_and_its_other_photos_are_read():
    """Probe 26: one entry linking to /etc/passwd refused a zip of four photos whole, none of them read; a link is
    never followed, so it is left out, named, as a file of another kind is (a dataset zip still refuses it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.png", b"png bytes")
        archive.writestr("dir/", b"")
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (0o120777 << 16)  # a symbolic link, as `zip --symlinks` stores one
        archive.writestr(link, "/etc/passwd")
    opened = open_zips([("photos.zip", buffer.getvalue())], max_images=10)
    assert opened.images == (("photos.zip/a.png", b"png bytes"),) and not opened.problems
    assert opened.notes == ("photos.zip: 1 entry left out, not read: a symbolic link or a special file, not a photo "
                            "(zip the photos themselves): photos.zip/link.png",)
    # a FIFO or a device as well (probe 27: "not a plain file or folder; refused", the good photos unread)
    special = io.BytesIO()
    with zipfile.ZipFile(special, "w") as archive:
        archive.writestr("a.png", b"png bytes")
        for name, kind in (("pipe.png", 0o010644), ("dev.png", 0o020644)):
            entry = zipfile.ZipInfo(name)
            entry.external_attr = kind << 16
            archive.writestr(entry, b"")
    opened = open_zips([("odd.zip", special.getvalue())], max_images=10)
    assert opened.images == (("odd.zip/a.png", b"png bytes"),) and not opened.problems
    assert opened.notes[0].startswith("odd.zip: 2 entries left out, not read") and "odd.zip/dev.png" in opened.notes[0]
    only = io.BytesIO()
    with zipfile.ZipFile(only, "w") as archive:
        archive.writestr(link, "/etc/passwd")
    opened = open_zips([("links.zip", only.getvalue())], max_images=10)
    assert opened.problems == ("links.zip: the zip holds no files, only 1 link(s) or special file(s), which are not "
                               "read (zip the files themselves)",)


def test_the_upload_limit_counts_the_images_inside_zips_before_reading_any():
    """A probe's three 26 MB zips of 20 MB images took the server to 4.5 GB before the count refused them: the
    zips' directories are counted first, and nothing is read from a refused upload."""
    with pytest.raises(ZipImportError, match="3 images in this upload, its zips opened; one upload reads at most 2"):
        open_zips([("big.zip", _zip({f"{i}.jpg": b"x" for i in range(3)}))], max_images=2)
    with pytest.raises(ZipImportError, match="3 images in this upload, its zips opened; one upload reads at most 2"):
        open_zips([("a.jpg", b"x"), ("two.zip", _zip({"b.jpg": b"y", "c.JPEG": b"z"}))], max_images=2)


def test_an_upload_over_its_bytes_is_refused_before_a_byte_is_read(monkeypatch):
    def never(*_):
        raise AssertionError("an image was read from a refused upload")

    monkeypatch.setattr(photo_zip, "MAX_UPLOAD_IMAGE_BYTES", 1000)
    monkeypatch.setattr(photo_zip, "_read_bounded", never)
    with pytest.raises(ZipImportError, match="come to 0 MB once uncompressed, over the 0 MB one upload reads"):
        open_zips([("a.zip", _zip({"a.png": b"x" * 600})), ("b.zip", _zip({"b.png": b"y" * 600}))], max_images=10)


def test_an_image_over_its_limit_is_left_out_and_the_zips_other_photos_are_read(monkeypatch):
    """A probe's zip with one 42 MB scan lost its two good photos with it, unsaid."""
    monkeypatch.setattr(photo_zip, "MAX_IMAGE_BYTES", 100)
    opened = open_zips([("photos.zip", _zip({"good1.png": b"a", "huge_scan.tif": b"\0" * 200, "good2.png": b"b"}))],
                       max_images=10)
    assert [name for name, _ in opened.images] == ["photos.zip/good1.png", "photos.zip/good2.png"]
    assert opened.notes == ("photos.zip: 1 image left out, over the 0 MB an image may have (crop or scale it down): "
                            "photos.zip/huge_scan.tif",)


@pytest.mark.parametrize("entry, refusal", [("../up.jpg", "leads out of the folder"),
                                            ("/etc/x.jpg", "absolute path"),
                                            ("a\\b.jpg", "backslash")])
def test_a_photo_zip_gets_the_dataset_zips_checks(entry, refusal):
    opened = open_zips([("evil.zip", _zip({entry: b"x"})), ("ok.png", b"png")], max_images=10)
    assert opened.images == (("ok.png", b"png"),) and refusal in opened.problems[0]
    assert opened.problems[0].startswith("evil.zip: ")


def test_a_zip_bomb_of_photos_is_refused_before_it_is_read():
    bomb = _zip({"huge.jpg": b"\0" * (5 * 1024 * 1024)})  # 5 MB of zeros compress a thousandfold
    opened = open_zips([("bomb.zip", bomb)], max_images=10)
    assert not opened.images and "zip bomb" in opened.problems[0]


def test_importing_a_folder_of_photos_says_where_photos_go(tmp_path):
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "r1.jpg").write_bytes(b"x")
    with pytest.raises(DatasetImportError, match="upload them, or a zip of them, on Data → Upload & OCR"):
        resolve_format(tmp_path / "shots", "auto")


def test_a_damaged_entry_is_named_and_the_zips_other_photos_are_read():
    """A probe's zip with a bad CRC in its second photo kept the first, dropped the last two unsaid, and lost the
    zip's notes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:  # stored: its bytes findable
        for name, content in {"p0.png": b"a" * 50, "p1.png": b"b" * 50, "p2.png": b"c" * 50,
                              "notes.txt": b"x"}.items():
            archive.writestr(name, content)
    data = bytearray(buffer.getvalue())
    data[bytes(data).index(b"b" * 50)] ^= 0xFF  # p1's data no longer matches its CRC
    opened = open_zips([("photos.zip", bytes(data))], max_images=10)
    assert [name for name, _ in opened.images] == ["photos.zip/p0.png", "photos.zip/p2.png"]
    assert opened.problems[0].startswith("photos.zip: zip entry 'p1.png' cannot be read") and \
        opened.problems[0].endswith("; the zip's other photos were read")
    assert opened.notes and "notes.txt" in opened.notes[0]
