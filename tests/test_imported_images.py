"""An import's image files pass the upload checks (datasets/imported_images.py): an SVG, a decompression bomb, a
truncated PNG and a GIF Pillow trips over are not stored (their documents import without pixels, one problem line
each, naming the file), a good PNG is stored as .png, and an image that does not fit its document's page is kept
with a note. Through the CLI's ``import`` and the zip upload, which share ``import_into_workspace``."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.datasets.imported_images import ImportedImage, size_mismatch
from receipt_core.datasets.native import save_native
from receipt_core.datasets.zip_import import import_zip
from receipt_core.workspace.store import Workspace

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><rect width="9" height="9"/></svg>'


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A PNG whose header claims side×side pixels, with (almost) no pixel data: a bomb costs nothing to make."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


def doc(doc_id: str, width: int = 200, height: int = 100) -> Document:
    return Document(id=doc_id, width=width, height=height,
                    words=(Word(text="TOTAL", box=(10, 10, 60, 20), field="TOTAL"),))


# document id -> (image file suffix, its bytes, the document's page)
CASES = {
    "svg": (".svg", SVG, (200, 100)),
    "bomb": (".png", bomb_png(), (200, 100)),
    "truncated": (".png", png(200, 100)[:60], (200, 100)),
    "good": (".png", png(200, 100), (200, 100)),
    "thumbnail": (".png", png(8, 12), (800, 1200)),  # the page's shape, far too few pixels
    # Pillow's GIF parser raises IndexError on it (a fuzzer's find): it aborted the whole import
    "damaged": (".gif", (Path(__file__).parent / "damaged_images" / "gif-index-out-of-range.gif").read_bytes(),
                (120, 80)),
}


def native_folder(folder: Path) -> Path:
    """A native dataset folder with one document per case, its image under images/<sha256><suffix>."""
    save_native([doc(doc_id, *page) for doc_id, (_, _, page) in CASES.items()], folder)
    for doc_id, (suffix, data, page) in CASES.items():
        sha = hashlib.sha256(data).hexdigest()
        (folder / "images").mkdir(exist_ok=True)
        (folder / "images" / f"{sha}{suffix}").write_bytes(data)
        file = next(f for f in folder.glob("*.json") if f'"id": "{doc_id}"' in f.read_text())
        file.write_text(file.read_text().replace('"image_sha256": null', f'"image_sha256": "{sha}"'))
    return folder


def check_stored(ws: Workspace, problems: list[str]) -> None:
    docs = {d.id: d for d in ws.load_documents("svgtest")}
    assert set(docs) == set(CASES)  # every document imports, with or without its pixels
    assert {d for d in docs if docs[d].image_sha256} == {"good", "thumbnail"}
    assert sorted(path.suffix for path in ws.images_dir.iterdir()) == [".png", ".png"]
    assert ws.image_path(docs["good"].image_sha256).read_bytes() == CASES["good"][1]

    def about(doc_id: str) -> str:
        lines = [p for p in problems if f"document {doc_id!r}:" in p]
        assert len(lines) == 1, problems
        return lines[0]
    svg_name = hashlib.sha256(SVG).hexdigest() + ".svg"
    assert svg_name in about("svg") and "is an SVG (vector) image, a format this app does not read" in about("svg")
    assert about("svg").endswith("; imported without pixels")
    assert "900,000,000 pixels, over the limit of 40,000,000" in about("bomb")
    assert about("bomb").endswith("; imported without pixels")
    assert "truncated PNG" in about("truncated") and about("truncated").endswith("; imported without pixels")
    assert "is a damaged GIF file" in about("damaged") and about("damaged").endswith("; imported without pixels")
    assert "is 8×12 pixels but the document's page is 800×1200" in about("thumbnail")
    assert "under a quarter of the page's pixels" in about("thumbnail")
    assert not [p for p in problems if "'good'" in p]


def test_the_cli_import_stores_only_images_that_pass_the_upload_checks(workspace_home, tmp_path, capsys):
    folder = native_folder(tmp_path / "native")

    code = main(["import", str(folder), "--format", "native", "--dataset", "svgtest"])

    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in out + err, out + err
    assert "imported 6 documents (6 words, 2 with images)" in out
    assert "5 problems (see stderr)" in out
    check_stored(Workspace(workspace_home), [line.removeprefix("problem: ") for line in err.splitlines()])


def test_the_zip_import_stores_only_images_that_pass_the_upload_checks(tmp_path):
    folder = native_folder(tmp_path / "native")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.writestr(f"export/{file.relative_to(folder).as_posix()}", file.read_bytes())
    buffer.seek(0)
    ws = Workspace.open(tmp_path / "ws")

    result = import_zip(ws, buffer, "export.zip", dataset="svgtest")

    assert (result.documents, result.images) == (len(CASES), 2)
    check_stored(ws, list(result.problems))
    assert not [p for p in result.problems if str(tmp_path) in p]  # the zip named, not the temporary folder


@pytest.mark.parametrize("image, page, note", [
    ((200, 100), (200, 100), None),
    ((2000, 1000), (200, 100), None),  # larger, same shape: scaled onto the page
    ((100, 200), (200, 100), "a different shape"),  # turned a quarter: aspect off 4×
    ((1600, 1200), (1200, 1600), "a different shape"),  # a 4:3 photo turned a quarter: off 1.78×
    ((1195, 1600), (801, 1600), "a different shape"),  # another receipt's photo (probe 58): off 1.49×
    ((115, 100), (100, 100), None),  # aspect off 1.15×: within the rule (a scan's margins cropped)
    ((90, 90), (200, 200), "under a quarter"),  # 8,100 of 40,000 pixels
    ((100, 100), (200, 200), None),  # exactly a quarter
])
def test_the_size_rule(image, page, note):
    found = size_mismatch(doc("x", *page), ImportedImage(b"", ".png", *image), "x.png")
    assert (found is None) if note is None else (note in found)
