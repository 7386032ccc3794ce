"""A stored image is its content: a link or changed bytes under an image's hash are never served or exported as
the receipt's image, storing the image again repairs it, and an export that fails writes nothing (a probe linked
a stored image to /etc/passwd, and Label Studio and CORD exports copied that file as the receipt's image)."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.datasets.export_zip import export_zip_bytes
from receipt_core.workspace.images import DamagedImageError
from receipt_core.workspace.store import Workspace


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (120, 80), shade).save(buffer, "PNG")
    return buffer.getvalue()


def _receipt(ws: Workspace, doc_id: str, shade: int) -> Document:
    sha = ws.put_image(_png(shade), ".png")
    doc = Document(id=doc_id, width=120, height=80, words=(Word("TOTAL", (10, 10, 60, 30), field="TOTAL"),),
                   source=f"{doc_id}.png", image_sha256=sha)
    ws.save_documents("photos", [doc])
    return doc


@pytest.fixture
def two_receipts(tmp_path) -> tuple[Workspace, Document, Document]:
    ws = Workspace(tmp_path / "ws")
    return ws, _receipt(ws, "first", 255), _receipt(ws, "second", 200)


def test_a_link_in_place_of_a_stored_image_is_not_the_image(two_receipts, tmp_path):
    ws, first, _ = two_receipts
    stored = ws.image_path(first.image_sha256)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    stored.unlink()
    stored.symlink_to(secret)
    assert ws.image_path(first.image_sha256) is None
    for format in ("native", "cord", "label-studio"):
        with zipfile.ZipFile(io.BytesIO(export_zip_bytes(ws, "photos", format))) as archive:
            assert not any(archive.read(name).startswith(b"root:") for name in archive.namelist()), format


def test_changed_bytes_under_an_images_hash_refuse_every_export_naming_the_receipt(two_receipts):
    ws, _, second = two_receipts
    ws.image_path(second.image_sha256).write_bytes(_png(0))  # another picture under the old name
    for format in ("native", "cord", "label-studio"):
        with pytest.raises(DamagedImageError, match="receipt 'second': the stored image .* was changed on disk"):
            export_zip_bytes(ws, "photos", format)


def test_storing_the_image_again_repairs_a_link_or_changed_bytes(two_receipts, tmp_path):
    ws, first, second = two_receipts
    (tmp_path / "other.png").write_bytes(_png(0))
    ws.image_path(first.image_sha256).unlink()
    (ws.images_dir / f"{first.image_sha256}.png").symlink_to(tmp_path / "other.png")
    ws.image_path(second.image_sha256).write_bytes(_png(0))
    assert ws.put_image(_png(255), ".png") == first.image_sha256
    assert ws.put_image(_png(200), ".png") == second.image_sha256
    for doc, shade in ((first, 255), (second, 200)):
        path = ws.checked_image_path(doc.image_sha256)
        assert not path.is_symlink() and path.read_bytes() == _png(shade)
    assert (tmp_path / "other.png").read_bytes() == _png(0)  # the link's target is left alone


def test_a_failed_cli_export_leaves_its_out_folder_as_it_was(two_receipts, tmp_path, capsys):
    ws, _, second = two_receipts
    ws.image_path(second.image_sha256).write_bytes(_png(0))
    out = tmp_path / "export"
    assert main(["export", "--format", "native", "--out", str(out), "--workspace", str(ws.home)]) == 2
    assert "receipt 'second'" in capsys.readouterr().err
    assert list(out.iterdir()) == []  # nothing half-written: a rerun is not refused as "not empty"
    ws.put_image(_png(200), ".png")  # repaired
    assert main(["export", "--format", "native", "--out", str(out), "--workspace", str(ws.home)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["first.json", "images", "second.json"]


def test_an_interrupted_cli_export_writes_nothing(two_receipts, tmp_path, monkeypatch, capsys):
    ws, _, _ = two_receipts
    from receipt_core.datasets import native

    written = []

    def interrupted(path, data):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)

    monkeypatch.setattr(native, "atomic_write", interrupted)
    out = tmp_path / "export"
    assert main(["export", "--format", "native", "--out", str(out), "--workspace", str(ws.home)]) == 130
    assert "error: interrupted" in capsys.readouterr().err
    assert written and list(out.iterdir()) == []


def test_ctrl_c_while_the_commands_load_is_one_line(monkeypatch, capsys):
    from receipt_core.cli import main as cli_main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", interrupted)
    assert cli_main.main(["export", "--help"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_pages_draw_a_receipt_whose_image_is_gone_or_changed_on_a_blank_page_and_say_why(two_receipts):
    from ui.receipt_images import CHANGED_IMAGE_NOTE, MISSING_IMAGE_NOTE, NO_IMAGE_NOTE, receipt_picture

    ws, first, second = two_receipts
    assert receipt_picture(ws, first).source.startswith("data:image/") and receipt_picture(ws, first).note is None
    ws.image_path(second.image_sha256).write_bytes(_png(0))
    assert receipt_picture(ws, second) == type(receipt_picture(ws, second))(None, CHANGED_IMAGE_NOTE)
    ws.image_path(first.image_sha256).unlink()
    assert receipt_picture(ws, first).note == MISSING_IMAGE_NOTE
    assert receipt_picture(ws, dataclasses.replace(first, image_sha256=None)).note == NO_IMAGE_NOTE
