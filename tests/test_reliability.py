"""Reliability: every bad input through the CLI, faults in the trainer thread, two sessions at once, and a real
server killed with SIGKILL while it trains and annotations are being saved.

What the other test files already cover is not repeated here: the image loader's cases one by one
(test_images.py), malformed dataset records (test_datasets.py), checkpoint tampering and a full disk
(test_checkpoint.py, test_trainer.py), SIGKILL of a library writer (test_storage.py). This file drives the
same inputs through the user-facing entry points and checks what the user sees and what the workspace holds.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from receipt_core.cli import main
from receipt_core.document import Document, Word
from receipt_core.storage import Workspace

REPO = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


# --- inputs -----------------------------------------------------------------------------------------------


def receipt_image(size=(520, 300)) -> Image.Image:
    """A small receipt-like image Tesseract reads: three lines of large dark text on white."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    for row, text in enumerate(("COFFEE 3.50", "BAGEL 2.25", "TOTAL 5.75")):
        draw.text((24, 24 + row * 80), text, fill="black", font=font)
    return image


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with almost no pixel data (a decompression bomb's
    first bytes): costs nothing to make, and decoding it would need width*height*3 bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def odd_but_valid_images() -> dict[str, bytes]:
    """Files a phone, scanner or export tool produces that must be read (normalised), each holding the receipt."""
    receipt = receipt_image()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera held sideways; viewers rotate 90° clockwise to show it upright
    sideways = receipt.transpose(Image.Transpose.ROTATE_90)  # stored pixels as such a camera writes them
    frames = [receipt, Image.new("RGB", receipt.size, "black")]
    deep = Image.fromarray(np.asarray(receipt.convert("L"), dtype=np.uint16) * 257)  # 16-bit greyscale
    return {
        "cmyk.jpg": encode(receipt.convert("CMYK"), "JPEG", quality=95),
        "deep-16bit.png": encode(deep, "PNG"),
        "palette.png": encode(receipt.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG"),
        "phone-exif-rotated.jpg": encode(sideways, "JPEG", quality=95, exif=exif.tobytes()),
        "animated.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200),
        "my receipt é №5.png": encode(receipt, "PNG"),
    }


def bad_images() -> dict[str, tuple[bytes, str]]:
    """File name -> (bytes, what the one-line message must say)."""
    jpeg = encode(receipt_image(), "JPEG", quality=90)
    return {
        "empty.png": (b"", "0 bytes"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "truncated JPEG"),
        "notes.png": (b"milk, eggs, bread\nthis is a shopping list, not a photo\n", "not an image"),
        "scan.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "is a PDF"),
        "huge.png": (png_header_only(20_000, 20_000), "400,000,000 pixels"),
        "dot.png": (encode(Image.new("RGB", (1, 1), "white"), "PNG"), "too small"),
    }


def snapshot(home: Path) -> tuple[int, int, list[str]]:
    """(documents, words, files under the workspace except the database's own) — what an input may change."""
    ws = Workspace(home)
    summaries = ws.list_documents()
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()
                   and not p.name.startswith("workspace.sqlite"))
    return len(summaries), sum(s.words for s in summaries), files


@pytest.fixture
def seeded_home(workspace_home) -> Path:
    """A workspace that already holds one receipt with an image (so 'nothing changed' is a real comparison)."""
    ws = Workspace(workspace_home)
    sha = ws.put_image(encode(receipt_image(), "PNG"), ".png")
    ws.save_documents("kept", [Document(id="kept-1", width=520, height=300, image_sha256=sha,
                                        words=(Word(text="TOTAL", box=(24, 184, 140, 220), field="TOTAL"),))])
    return workspace_home


def cli_process(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECEIPT_STUDIO_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("RECEIPT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "receipt_core", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)


# --- 1. bad input through the CLI --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(bad_images()))
def test_each_bad_image_is_one_specific_error_line_with_exit_code_2(name, seeded_home, tmp_path, capsys):
    data, expected = bad_images()[name]
    path = tmp_path / name
    path.write_bytes(data)
    before = snapshot(seeded_home)
    started = time.perf_counter()
    assert main(["ocr", str(path)]) == 2
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("ocr: ")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), err
    assert expected in lines[0] and "Traceback" not in err + out
    assert out.strip() == ""
    assert snapshot(seeded_home) == before
    if name == "huge.png":
        assert "before decoding" in lines[0]
        assert elapsed < 5, f"a 20,000×20,000 header took {elapsed:.1f}s: it was decoded, not refused"


def test_odd_and_bad_images_in_one_real_cli_process(seeded_home, tmp_path):
    """``python -m receipt_core ocr`` over every case at once: good-but-odd files are read (the receipt's words
    come back, upright), bad ones get one ``error:`` line each, exit code 2, and no traceback anywhere."""
    folder = tmp_path / "up loads"
    folder.mkdir()
    paths = {}
    for name, data in odd_but_valid_images().items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    blank = folder / "blank white.png"
    blank.write_bytes(encode(Image.new("RGB", (400, 600), "white"), "PNG"))
    for name, (data, _) in bad_images().items():
        (folder / name).write_bytes(data)
    before = snapshot(seeded_home)

    result = cli_process("ocr", *sorted(str(p) for p in folder.iterdir()), home=seeded_home)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad_images()), result.stderr
    for name, (_, expected) in bad_images().items():
        line = next(e for e in errors if e.startswith(f"error: {folder / name}: "))
        assert expected in line
    sections = _ocr_sections(result.stdout)
    for name, path in paths.items():
        header, text = sections[str(path)]
        assert "TOTAL" in text and "5.75" in text, (name, text)
    assert "only the first frame was read" in sections[str(paths["animated.gif"])][0]
    assert sections[str(blank)] == (f"== {blank}: 0 words; the image holds no readable text", "")
    assert snapshot(seeded_home) == before  # ocr reads; it never writes into the workspace


def _ocr_sections(stdout: str) -> dict[str, tuple[str, str]]:
    """``== name: N words…`` headers of the ocr command's output -> (header, the text below it)."""
    sections: dict[str, tuple[str, str]] = {}
    name = None
    for line in stdout.splitlines():
        if line.startswith("== "):
            name = re.match(r"== (.*): \d+ words", line).group(1)
            sections[name] = (line, "")
        elif name is not None:
            header, text = sections[name]
            sections[name] = (header, (text + "\n" + line).strip())
    return sections


def _native(doc_id: str, **changes) -> dict:
    data = Document(id=doc_id, width=200, height=100,
                    words=(Word(text="TOTAL", box=(10, 10, 60, 20), field="TOTAL"),)).to_json()
    data.update(changes)
    return data


def _cord(words: list, **top) -> dict:
    data = {"meta": {"image_size": {"width": 100, "height": 200}, "image_id": 1},
            "valid_line": [{"category": "menu.nm", "group_id": 1, "words": words}]}
    data.update(top)
    return data


def _cord_word(text: object = "Nasi", x: float = 10, y: float = 10, w: float = 30, h: float = 10) -> dict:
    return {"text": text, "is_key": 0, "row_id": 1,
            "quad": {"x1": x, "y1": y, "x2": x + w, "y2": y, "x3": x + w, "y3": y + h, "x4": x, "y4": y + h}}


# (format, file content, the problem line must contain): files that hold nothing importable
UNUSABLE_JSON = {
    "native-missing-words": ("native", {k: v for k, v in _native("a").items() if k != "words"},
                             "missing key 'words'"),
    "native-width-text": ("native", _native("b", width="wide"), "'width' must be int, got str"),
    "native-words-not-list": ("native", _native("c", words="TOTAL 5.75"), "words"),
    "native-not-json": ("native", "{\"id\": \"d\", \"words\": [", "not a readable JSON file"),
    "native-a-list": ("native", [1, 2, 3], "must be a JSON object, got list"),
    "cord-missing-meta": ("cord", {"valid_line": []}, "missing required key meta.image_size"),
    "cord-lines-not-list": ("cord", _cord([], valid_line={"a": 1}), "missing required key valid_line (a list)"),
    "cord-zero-size": ("cord", _cord([_cord_word()], meta={"image_size": {"width": 0, "height": 10}}),
                       "must be positive whole pixels"),
    "cord-all-off-page": ("cord", _cord([_cord_word("gone", x=500, y=900)]), "entirely outside"),
    "cord-text-number": ("cord", _cord([_cord_word(5)]), "text must be a string, got int"),
}


@pytest.mark.parametrize("case", list(UNUSABLE_JSON))
def test_unusable_dataset_json_is_a_problem_line_an_error_line_and_stores_nothing(case, seeded_home, tmp_path,
                                                                                   capsys):
    fmt, content, expected = UNUSABLE_JSON[case]
    folder = tmp_path / case
    folder.mkdir()
    (folder / f"{case}.json").write_text(content if isinstance(content, str) else json.dumps(content))
    before = snapshot(seeded_home)
    assert main(["import", "--format", fmt, str(folder), "--dataset", "incoming"]) == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err
    assert lines[-1].startswith("error: nothing imported from"), err
    problems = [line for line in lines if line.startswith(f"problem: {case}.json: ")]
    assert problems and any(expected in p for p in problems), err
    assert all(line.startswith(("problem: ", "error: ")) for line in lines), err
    assert snapshot(seeded_home) == before
    assert "incoming" not in {d.name for d in Workspace(seeded_home).datasets()}


def test_boxes_off_the_page_and_ten_thousand_words_import_with_problems_named(seeded_home, tmp_path, capsys):
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "edge.json").write_text(json.dumps(_native("edge", words=[
        {"text": "wide", "box": [150, 50, 260, 90]}, {"text": "gone", "box": [500, 500, 600, 600]},
        {"text": "kept", "box": [1, 1, 9, 9]}])))
    big = [{"text": f"w{i}", "box": [(i % 50) * 20, (i // 50) * 12, (i % 50) * 20 + 15, (i // 50) * 12 + 10],
            "field": "ITEM_NAME" if i % 3 else "OTHER"} for i in range(10_000)]
    (folder / "big.json").write_text(json.dumps(_native("big", width=1000, height=2400, words=big)))
    (folder / "broken.json").write_text("{")
    started = time.perf_counter()
    assert main(["import", "--format", "native", str(folder), "--dataset", "incoming"]) == 0
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "imported 2 documents (10002 words" in out
    assert "problem: edge.json: word 0 'wide': box extends outside the 200x100 page; clamped" in err
    assert "problem: edge.json: word 1 'gone'" in err and "dropped" in err
    assert "problem: broken.json: not a readable JSON file" in err
    ws = Workspace(seeded_home)
    assert [w.box for w in ws.get_document("edge").words] == [(150, 50, 200, 90), (1, 1, 9, 9)]
    assert len(ws.get_document("big").words) == 10_000
    assert {d.name: d.documents for d in ws.datasets()} == {"kept": 1, "incoming": 2}
    assert elapsed < 30


def test_hostile_document_ids_and_file_names_are_stored_by_content_hash_only(seeded_home, tmp_path):
    """A native dataset whose ids hold ``../``, spaces and non-ASCII, imported by a real CLI process: the images
    land in the workspace as ``<sha256>.<ext>`` and nothing is written outside the workspace."""
    from receipt_core.datasets.native import save_native

    ids = ["../../escape", "my receipt (1)", "Käse-Bon №5 ../x"]
    images = {doc_id: encode(receipt_image((300 + 10 * i, 200)), "PNG") for i, doc_id in enumerate(ids)}
    docs = [Document(id=doc_id, width=300 + 10 * i, height=200,
                     words=(Word(text="TOTAL", box=(10, 10, 80, 30), field="TOTAL"),))
            for i, doc_id in enumerate(ids)]
    source = tmp_path / "in" / "native set"
    save_native(docs, source, images=images)
    outside_before = sorted(p for p in tmp_path.rglob("*") if seeded_home not in p.parents)
    result = cli_process("import", "--format", "native", str(source), "--dataset", "hostile", home=seeded_home)
    assert result.returncode == 0, result.stderr
    ws = Workspace(seeded_home)
    stored = {doc.id: doc for doc in ws.load_documents("hostile")}
    assert set(stored) == set(ids)
    import hashlib

    for doc_id, data in images.items():
        sha = hashlib.sha256(data).hexdigest()
        assert stored[doc_id].image_sha256 == sha
        assert ws.image_path(sha) == ws.images_dir / f"{sha}.png"
    names = [p.name for p in ws.images_dir.iterdir()]
    assert all(len(n.split(".")[0]) == 64 and n.split(".")[1] in ("png", "jpg") for n in names), names
    assert sorted(p for p in tmp_path.rglob("*") if seeded_home not in p.parents) == outside_before
    assert not (tmp_path / "escape").exists() and not (seeded_home.parent / "escape").exists()
