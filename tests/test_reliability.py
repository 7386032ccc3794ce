"""Reliability and security: every bad input through the CLI and the Data page, faults in the trainer thread,
two sessions at once, a real server killed with SIGKILL while it trains and annotations are being saved, and
nothing loaded that could run code (pickles, remote code).

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
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.model.checkpoint import checkpoint_step
from receipt_core.workspace.store import Workspace
from receipt_core.wording import counted
from ui.literal import literal

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
    assert len(lines) == 1 and lines[0].startswith(f"error: '{path}' "), err  # the file named once
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
        line = next(e for e in errors if e.startswith(f"error: '{folder / name}' "))
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
    "native-width-text": ("native", _native("b", width="wide"), "'width' must be a number, got a string"),
    "native-words-not-list": ("native", _native("c", words="TOTAL 5.75"), "words"),
    "native-not-json": ("native", "{\"id\": \"d\", \"words\": [", "not a readable JSON file"),
    "native-a-list": ("native", [1, 2, 3], "must be a JSON object, got a list"),
    "cord-missing-meta": ("cord", {"valid_line": []}, "missing required key meta.image_size"),
    "cord-lines-not-list": ("cord", _cord([], valid_line={"a": 1}), "valid_line must be a list of the receipt's "
                            "lines, got an object"),
    # absent, not "got NoneType" (probe 40)
    "cord-lines-missing": ("cord", {"meta": {"image_size": {"width": 10, "height": 10}}},
                           "missing required key valid_line (a list of the receipt's lines)"),
    "cord-zero-size": ("cord", _cord([_cord_word()], meta={"image_size": {"width": 0, "height": 10}}),
                       "must be positive whole pixels"),
    "cord-all-off-page": ("cord", _cord([_cord_word("gone", x=500, y=900)]), "entirely outside"),
    "cord-text-number": ("cord", _cord([_cord_word(5)]), "text must be a string, got the number 5"),
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
    assert main(["import", "--format", "native", str(folder), "--dataset", "incoming", "--max-words", "10000"]) == 0
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "imported 2 documents (10,002 words" in out
    assert "problem: edge.json: word 0 'wide': box extends outside the 200x100 page; clamped" in err
    assert "problem: edge.json: word 1 'gone'" in err and "dropped" in err
    assert "problem: broken.json: not a readable JSON file" in err
    ws = Workspace(seeded_home)
    assert [w.box for w in ws.get_document("edge").words] == [(150, 50, 200, 90), (1, 1, 9, 9)]
    assert len(ws.get_document("big").words) == 10_000
    assert {d.name: d.documents for d in ws.datasets()} == {"kept": 1, "incoming": 2}
    assert elapsed < 30


@pytest.mark.slow
def test_a_ten_thousand_word_receipt_trains_one_epoch_and_saves(tmp_path):
    """The 10,000-word document goes through the real encoder (overlapping 512-token windows) and trainer."""
    from receipt_core.training.events import FinishedEvent
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.job import TrainingJob
    from receipt_core.training.receipt_task import build_task

    words = tuple(Word(text=f"{i % 97}.{i % 10}0" if i % 4 == 3 else f"item{i}",
                       box=((i % 50) * 20, (i // 50) * 12, (i % 50) * 20 + 15, (i // 50) * 12 + 10),
                       field="ITEM_PRICE" if i % 4 == 3 else "ITEM_NAME") for i in range(10_000))
    big = Document(id="big", width=1000, height=2400, words=words)
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=8, lr=1e-3, seed=0)
    job = TrainingJob(lambda: build_task(config, [big], [], tmp_path / "run"), config)
    job.start()
    assert job.join(300), "one epoch over a 10,000-word receipt took over 5 minutes"
    assert isinstance(job.result, FinishedEvent), getattr(job.result, "error", job.result)
    assert job.result.step >= 5 and job.result.reason == "completed"  # > 20,000 tokens: many windows and batches
    assert (tmp_path / "run" / "run.json").is_file()


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


def test_every_image_case_through_the_data_page_upload(workspace_home):
    """The Data page's upload with the cases test_app_pages.py does not send: one specific error per bad file,
    no traceback, odd-but-valid files stored with their words, a note for the GIF, images by content hash only."""
    import hashlib

    from tests.test_app_pages import app
    from ui.shared import job_slot

    job_slot.clear()
    good = odd_but_valid_images()
    bad = {name: case for name, case in bad_images().items() if name not in ("empty.png", "notes.png", "scan.pdf")}
    uploads = [(f"../{name}", data, "image/png") for name, data in good.items()]
    uploads += [(name, data, "image/png") for name, (data, _) in bad.items()]
    at = app("data")
    at.file_uploader(key="upload_files").set_value(uploads).run()
    at.button(key="ocr_uploads").click().run(timeout=300)
    assert not at.exception
    assert [e.value for e in at.error] == [f"{counted(len(bad), 'file')} not stored:"]
    notes, errors = (c.value.splitlines() for c in at.code)  # one line per file, shown verbatim (st.code)
    assert len(errors) == len(bad), errors
    for name, (_, expected) in bad.items():
        assert any(e.startswith(f"{name!r} ") and expected in e for e in errors), (name, errors)  # named once
    assert not any("Traceback" in e for e in errors)
    assert any(f"Stored {counted(len(good), 'receipt')}" in s.value for s in at.success), [s.value for s in at.success]
    assert any("only the first frame was read" in note for note in notes)
    ws = Workspace(workspace_home)
    docs = ws.load_documents("uploads")
    assert len(docs) == len(good)
    assert all(any(w.text == "TOTAL" for w in doc.words) for doc in docs), [[w.text for w in d.words] for d in docs]
    stored = sorted(p.name for p in ws.images_dir.iterdir())
    assert stored == sorted(f"{hashlib.sha256(data).hexdigest()}.{ext}" for name, data in good.items()
                            for ext in [{"jpg": "jpg", "png": "png", "gif": "gif"}[name.rsplit(".", 1)[1]]])
    assert not (workspace_home.parent / "animated.gif").exists()


def test_the_data_page_import_of_only_bad_json_says_nothing_was_imported_and_why(seeded_home, tmp_path, monkeypatch):
    from tests.test_app_pages import app

    monkeypatch.setenv("RECEIPT_STUDIO_SERVER_FOLDERS", str(tmp_path))

    folder = tmp_path / "cord bad"
    folder.mkdir()
    (folder / "no_meta.json").write_text(json.dumps({"valid_line": []}))
    (folder / "text_number.json").write_text(json.dumps(_cord([_cord_word(5)])))
    before = snapshot(seeded_home)
    at = app("data")
    at.selectbox(key="import_format").set_value("cord").run()
    at.text_input(key="import_path").set_value(str(folder)).run()
    at.text_input(key="import_name").set_value("incoming").run()
    at.button(key="import_button").click().run()
    assert not at.exception and not at.success, [s.value for s in at.success]
    assert [e.value for e in at.error] == [f"Nothing imported from {literal(folder)}: no usable cord documents "
                                           "(3 problems below)."]
    problems = at.code[0].value
    assert "no_meta.json: missing required key meta.image_size" in problems
    assert ("text_number.json: valid_line[0].words[0] (menu.nm): text must be a string, got the number 5; dropped"
            in problems)
    assert snapshot(seeded_home) == before


# --- 3. and 4. faults in the trainer thread; two sessions at once (streamlit AppTest, real trainer) -------


@pytest.fixture(scope="module")
def cord_home(tmp_path_factory) -> Path:
    """A workspace with six real CORD dev receipts (no pixels) in dataset 'cord'."""
    from receipt_core.datasets import load_dataset
    from tests.conftest import require_shared_data

    home = tmp_path_factory.mktemp("cord") / "workspace"
    report = load_dataset(require_shared_data("cord", "dev"), "cord")
    Workspace(home).save_documents("cord", report.documents[:6])
    return home


@pytest.fixture
def cord_env(cord_home, monkeypatch) -> Workspace:
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(cord_home))
    from ui.shared import job_slot

    job_slot.clear()
    yield Workspace(cord_home)
    active = job_slot().current()
    if active is not None and active.is_live:
        active.job.stop()
        active.job.join(60)
    job_slot.clear()


def test_an_exception_in_the_trainer_thread_reaches_the_page_and_the_app_stays_usable(cord_env, tmp_path,
                                                                                       monkeypatch):
    """A local backbone folder that reads fine when the page counts its parameters, then loses its weights
    before Start: the failure happens inside the trainer thread, and the page shows its message."""
    from receipt_core.model.backbones import load_backbone
    from tests.test_app_pages import app, start_tiny_run, wait_for
    from ui.shared import job_slot

    monkeypatch.setenv("RECEIPT_STUDIO_SERVER_FOLDERS", str(tmp_path))
    folder = tmp_path / "my layoutlm"
    backbone = load_backbone("tiny")
    backbone.model.save_pretrained(folder)
    backbone.tokenizer.save_pretrained(folder)

    at = app("train", dataset="cord")
    at.selectbox(key="train_backbone").set_value("local folder…").run()
    at.text_input(key="train_backbone_dir").set_value(str(folder)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric  # the parameter count of the folder's model
    (folder / "model.safetensors").unlink()  # gone between reading the settings and training
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    active = job_slot().current()
    assert active is not None, [e.value for e in at.error]
    assert active.job.join(60)
    assert active.job.status == "failed"
    at.run()
    errors = [e.value for e in at.error]
    shown = next(e for e in errors if e.startswith("Training failed: "))
    assert str(folder) in shown and "Traceback" not in shown and not at.exception
    assert cord_env.get_run(active.run_id).status == "failed"

    # still usable: the same session starts a working run next
    at.selectbox(key="train_backbone").set_value("tiny").run()
    start_tiny_run(at, epochs=1)
    second = job_slot().current()
    assert second.run_id != active.run_id
    assert second.job.join(120) and second.job.status == "finished", second.job.result
    wait_for(lambda: cord_env.get_run(second.run_id).status == "finished", timeout=30)
    at.run()
    assert not at.exception and not any(e.value.startswith("Training failed") for e in at.error)


CHECKPOINT_SAVER = textwrap.dedent("""
    # Saves the checkpoint over and over, each time with every weight one higher, until it is killed.
    import sys
    from pathlib import Path
    import torch
    from receipt_core.model.checkpoint import load_checkpoint
    from receipt_core.model.checkpoint_save import save_checkpoint

    run_dir = Path(sys.argv[1])
    loaded = load_checkpoint(run_dir)
    saves = 0
    while True:
        with torch.no_grad():
            for parameter in loaded.model.parameters():
                parameter.add_(1.0)
        save_checkpoint(run_dir, loaded.model, dict(loaded.info))
        saves += 1
        print(saves, flush=True)
""")


@pytest.mark.slow
def test_a_process_killed_at_any_moment_of_a_checkpoint_save_leaves_a_whole_checkpoint(cord_home, tmp_path):
    """What the kernel's out-of-memory killer does to a run: SIGKILL at an arbitrary point of a save. Each time,
    the folder still loads (hashes checked) as one whole checkpoint: every weight shifted by the same whole number."""
    import random

    import torch

    from receipt_core.model.checkpoint import load_checkpoint
    from receipt_core.training.events import FinishedEvent
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.job import TrainingJob
    from receipt_core.training.receipt_task import build_task

    docs = Workspace(cord_home).load_documents("cord")[:3]
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, seed=1)
    run_dir = tmp_path / "run"
    job = TrainingJob(lambda: build_task(config, docs, [], run_dir), config)
    job.start()
    assert job.join(120) and isinstance(job.result, FinishedEvent), job.result
    base = load_checkpoint(run_dir).model.state_dict()
    shifts = []
    rng = random.Random(7)
    for _ in range(3):
        saver = subprocess.Popen([sys.executable, "-c", CHECKPOINT_SAVER, str(run_dir)], cwd=REPO,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE, text=True)
        try:
            for _ in range(rng.randint(1, 3)):
                assert saver.stdout.readline().strip(), "the saver died before saving"
            time.sleep(rng.uniform(0.0, 0.15))  # somewhere inside the next save
        finally:
            saver.kill()
            saver.wait(30)
        loaded = load_checkpoint(run_dir)  # raises CheckpointError on any torn or mismatched file
        state = loaded.model.state_dict()  # (a half-written *.tmp may be left beside it: ignored, then replaced)
        deltas = {round(float((state[k] - base[k]).mean())) for k in base if base[k].is_floating_point()}
        assert len(deltas) == 1, deltas  # one save's weights, never a mix of two
        shift = deltas.pop()
        assert all(torch.allclose(state[k], base[k] + shift, atol=1e-3) for k in base if base[k].is_floating_point())
        base = state
        shifts.append(shift)
    assert all(shift >= 1 for shift in shifts), shifts


def test_one_session_annotates_while_another_trains_and_a_second_start_is_refused(cord_env):
    from tests.test_app_pages import app, start_tiny_run, wait_for
    from ui.shared import job_slot

    trainer = app("train", dataset="cord")
    start_tiny_run(trainer, epochs=200)
    active = job_slot().current()
    assert active is not None and active.is_live, [e.value for e in trainer.error]
    wait_for(lambda: cord_env.run_events(active.run_id, kinds=["step"]), timeout=120)

    annotator = app("annotate", dataset="cord")
    doc_id = annotator.selectbox(key="annotate_doc").value
    words = cord_env.get_document(doc_id).words
    labels = ("TOTAL", "ITEM_NAME", "ITEM_PRICE", "TAX")
    saved: dict[int, str] = {}
    steps_before = len(cord_env.run_events(active.run_id, kinds=["step"]))
    for index in range(min(12, len(words))):
        label = labels[index % len(labels)]
        picker = next(s for s in annotator.selectbox if s.key.startswith(f"annotate_word_{doc_id}_"))  # keyed by word
        picker.set_value(index).run()
        box = next(s for s in annotator.selectbox if s.key.startswith(f"annotate_label_{doc_id}_{index}_"))
        box.set_value(label).run()  # saved as soon as it is chosen
        saved[index] = label
    assert active.is_live  # the saves really overlapped the training run
    assert len(cord_env.run_events(active.run_id, kinds=["step"])) > steps_before

    both = [annotator, trainer]
    other = app("train", dataset="cord")  # a third tab, opened while the run trains: no Start to press, and why
    both.append(other)
    assert other.button(key="train_start").disabled
    assert any(c.value.startswith("A run trains on this server (below)") for c in other.caption)
    assert job_slot().current().run_id == active.run_id

    job_slot().control(active.run_id, "stop")
    assert active.job.join(60) and active.job.status == "stopped"
    stored = cord_env.get_document(doc_id)
    assert {i: stored.words[i].annotation_label for i in saved} == saved
    for at in both:
        at.run()
        shown = " ".join(e.value for e in at.error) + " ".join(str(e.value) for e in at.exception)
        assert "locked" not in shown.lower()
    events = cord_env.run_events(active.run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no event lost to a busy database
    assert cord_env.integrity_check() == "ok"


# --- 5. security ---------------------------------------------------------------------------------------


def _python_sources() -> list[Path]:
    files = sorted((REPO / "receipt_core").rglob("*.py")) + sorted((REPO / "ui").rglob("*.py"))
    return files + sorted((REPO / "app_pages").glob("*.py")) + [REPO / "app.py"]


def _keyword(call, name: str):
    import ast

    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else "<not a constant>"
    return None


def test_no_code_path_unpickles_or_runs_downloaded_code():
    """Every call in the package, the pages and the app: no pickle-family import, ``torch.load`` only with
    ``weights_only=True``, every ``from_pretrained`` offline (``local_files_only=True``) and without remote code."""
    import ast

    problems = []
    calls = {"from_pretrained": 0}
    for path in _python_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    if name and name.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "cloudpickle", "marshal",
                                                       "shelve"):
                        problems.append(f"{where}:{node.lineno} imports {name}")
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "load" and isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "torch":
                if _keyword(node, "weights_only") is not True:
                    problems.append(f"{where}:{node.lineno} torch.load without weights_only=True")
            if name == "from_pretrained":
                calls["from_pretrained"] += 1
                if _keyword(node, "local_files_only") is not True:
                    problems.append(f"{where}:{node.lineno} from_pretrained without local_files_only=True")
                if _keyword(node, "trust_remote_code") not in (None, False):
                    problems.append(f"{where}:{node.lineno} from_pretrained with trust_remote_code")
            if name in ("eval", "exec") and isinstance(func, ast.Name):
                problems.append(f"{where}:{node.lineno} calls {name}()")
    assert not problems, problems
    assert calls["from_pretrained"] >= 2  # the check saw the real loading code


def _evil_backbone_folder(folder: Path, marker: Path) -> None:
    """A real LayoutLM folder that also asks for remote code (``auto_map``) and ships that code."""
    from receipt_core.model.backbones import load_backbone

    backbone = load_backbone("tiny")
    backbone.model.save_pretrained(folder)
    backbone.tokenizer.save_pretrained(folder)
    payload = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('remote code ran')\n"
    (folder / "evil_model.py").write_text(payload + "from transformers import LayoutLMModel as EvilModel\n")
    (folder / "evil_tokenizer.py").write_text(payload + "from transformers import BertTokenizerFast as EvilTok\n")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil_model.EvilModel", "AutoConfig": "evil_model.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    tok_config = json.loads((folder / "tokenizer_config.json").read_text())
    tok_config["auto_map"] = {"AutoTokenizer": [None, "evil_tokenizer.EvilTok"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))


def test_a_model_folder_asking_for_remote_code_never_runs_it(tmp_path):
    from receipt_core.model.backbones import load_backbone

    marker = tmp_path / "pwned.txt"
    folder = tmp_path / "downloaded model"
    _evil_backbone_folder(folder, marker)
    try:
        backbone = load_backbone(str(folder))
    except Exception as error:  # refusing is as good as ignoring, if it says why
        assert str(folder) in str(error) or "remote code" in str(error) or "custom code" in str(error), error
    else:
        assert type(backbone.model).__name__ == "LayoutLMModel"
    assert not marker.exists(), "the folder's own Python code was executed"


def test_a_pickled_weights_file_is_never_unpickled(tmp_path):
    """A folder whose only weights are a ``pytorch_model.bin`` pickle that runs a command when unpickled."""
    import pickle

    from receipt_core.model.backbones import load_backbone

    marker = tmp_path / "pwned.txt"
    folder = tmp_path / "pickled model"
    _evil_backbone_folder(folder, marker)
    (folder / "model.safetensors").unlink()

    class Payload:
        def __reduce__(self):
            return (os.system, (f"echo pickle ran > '{marker}'",))

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": Payload()}))
    from receipt_core.model.backbones import BackboneError

    with pytest.raises(BackboneError, match="cannot load the LayoutLM checkpoint") as refused:
        load_backbone(str(folder))
    assert not marker.exists(), "a pickle in a model folder was executed"
    # said as what it is (a probe saw transformers' "from a TF 2.0 checkpoint, please set from_tf=True")
    assert "weights-only loader refused it" in str(refused.value) and "from_tf" not in str(refused.value)


def test_server_settings_keep_loopback_xsrf_an_upload_limit_and_no_tracebacks():
    import tomllib

    settings = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    server = settings["server"]
    assert server["address"] in ("127.0.0.1", "localhost")
    assert server["enableXsrfProtection"] is True and server.get("enableCORS", True) is True
    assert 1 <= server["maxUploadSize"] <= 200
    assert settings["client"]["showErrorDetails"] in ("none", False)
    # the tables' own CSV export wrote user text as live formulas; the pages' CSV downloads neutralise them
    assert settings["client"]["disableDataExport"] is True


# --- 2. crash safety: SIGKILL a real server while it trains and annotations are being saved ------------------

ANNOTATION_WRITER = textwrap.dedent("""
    # Saves labels one word at a time, as an annotator would; logs each save before it starts and after it returned.
    import os, sys
    from pathlib import Path
    from receipt_core.workspace.store import Workspace

    ws = Workspace(Path(sys.argv[1]))
    docs = ws.load_documents("cord")
    targets = [(doc.id, index) for doc in docs for index in range(min(8, len(doc.words)))]
    labels = ("TOTAL", "ITEM_NAME", "ITEM_PRICE", "TAX", "SUBTOTAL")
    with open(sys.argv[2], "a") as log:
        n = 0
        while True:
            doc_id, index = targets[n % len(targets)]
            label = labels[(n // len(targets) + index) % len(labels)]
            log.write(f"begin\\t{n}\\t{doc_id}\\t{index}\\t{label}\\n")
            log.flush()
            ws.update_word(doc_id, index, label)
            log.write(f"done\\t{n}\\n")
            log.flush()
            os.fsync(log.fileno())
            n += 1
""")


def start_server(home: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free loopback port with ``home`` as its workspace, in its own process group."""
    from benchmarks.live_app import free_port, wait_healthy

    port = free_port()
    env = dict(os.environ, RECEIPT_STUDIO_HOME=str(home), PYTHONUNBUFFERED="1")
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=180)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process, url


def poll(predicate, timeout: float, what: str, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f}s")


def last_saves(log_path: Path) -> tuple[dict[tuple[str, int], str], int, tuple[str, int, str] | None]:
    """From the writer's log: the label each word got by its last completed save, how many saves completed, and
    the save that had begun but not returned when the writer died (its word may hold either label)."""
    begun: dict[str, tuple[str, int, str]] = {}
    saved: dict[tuple[str, int], str] = {}
    completed = 0
    for line in log_path.read_text().splitlines():
        parts = line.split("\t")
        if parts[0] == "begin" and len(parts) == 5:
            begun[parts[1]] = (parts[2], int(parts[3]), parts[4])
        elif parts[0] == "done" and len(parts) == 2 and parts[1] in begun:
            doc_id, index, label = begun.pop(parts[1])
            saved[(doc_id, index)] = label
            completed += 1
    in_flight = next(iter(begun.values()), None)
    return saved, completed, in_flight


def select_run(page, run_id: str) -> None:
    """Make ``run_id`` the Runs page's "One run" choice (typing filters the options; Enter takes the match)."""
    from benchmarks.live_app import wait_idle

    run_box = page.get_by_role("combobox", name="Run", exact=True).first
    if run_id not in run_box.input_value():
        run_box.click()
        page.keyboard.type(run_id)
        page.keyboard.press("Enter")
        wait_idle(page)


@pytest.mark.browser
def test_sigkill_of_the_server_while_training_and_saving_loses_nothing_and_the_run_resumes(cord_home, tmp_path):
    import shutil

    from playwright.sync_api import sync_playwright

    from benchmarks.live_app import open_expander
    from benchmarks.live_app import CHROMIUM, CHROMIUM_ARGS, choose, open_page, set_number

    home = tmp_path / "workspace"
    shutil.copytree(cord_home, home)
    server_log, writer_log = tmp_path / "streamlit.log", tmp_path / "saves.tsv"
    writer_log.touch()
    ws = Workspace(home)
    server, url = start_server(home, server_log)
    writer = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            open_page(page, url, "train")
            choose(page, "Backbone", "tiny")
            set_number(page, "Epochs", 200)
            set_number(page, "Batch size", 1)
            earlier = {r.id: r.status for r in ws.list_runs()}  # the copied workspace may hold ended runs
            page.get_by_role("button", name="Start").click()
            run_id = poll(lambda: [r.id for r in ws.list_runs() if r.id not in earlier], 120, "the run was created")[0]
            writer = subprocess.Popen([sys.executable, "-c", ANNOTATION_WRITER, str(home), str(writer_log)],
                                      cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), start_new_session=True)

            def checkpointed_and_beyond():
                saved_at = [e.payload.get("step") for e in ws.run_events(run_id, kinds=["checkpoint"])]
                steps = [e.payload["step"] for e in ws.run_events(run_id, kinds=["step"])]
                return saved_at and steps and max(steps) > max(saved_at) and last_saves(writer_log)[1] >= 30

            poll(checkpointed_and_beyond, 240, "a checkpoint, steps after it and 30 saved annotations")
            assert ws.get_run(run_id).status == "running" and writer.poll() is None
            # the crash: the whole server process group and the annotator, mid-step and mid-save
            os.killpg(server.pid, signal.SIGKILL)
            os.killpg(writer.pid, signal.SIGKILL)
            server.wait(30)
            writer.wait(30)
            browser.close()

        # nothing committed is lost, nothing is torn
        assert ws.integrity_check() == "ok"
        saved, completed, in_flight = last_saves(writer_log)
        assert completed >= 30
        for (doc_id, index), label in saved.items():
            stored = ws.get_document(doc_id).words[index].annotation_label
            allowed = {label} | ({in_flight[2]} if in_flight and in_flight[:2] == (doc_id, index) else set())
            assert stored in allowed, (doc_id, index, stored, allowed)
        assert ws.get_run(run_id).status == "running"  # as the killed server left it
        # the step the run resumes from: a save the kill interrupted after its files were written rolls forward
        # when the checkpoint is read (checkpoint.read_run_info), so read it the way resuming will
        saved_step = checkpoint_step(ws.run_dir(run_id))
        assert saved_step > 0

        # restart: the first page view marks the run interrupted, and the Runs page shows it so
        server, url = start_server(home, server_log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            open_page(page, url, "runs")
            assert ws.get_run(run_id).status == "interrupted"
            assert {r.id: r.status for r in ws.list_runs() if r.id in earlier} == earlier  # ended runs untouched
            select_run(page, run_id)
            page.get_by_text("Status interrupted").first.wait_for()
            # an upload over server.maxUploadSize (40 MB) is refused with the limit named, and nothing is stored
            big = tmp_path / "scan 600dpi.png"
            big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(41 * 1024 * 1024))
            open_page(page, url, "data")
            page.locator('.st-key-upload_files input[type="file"]').set_input_files(str(big))
            page.get_by_text("File must be 40.0MB or smaller").wait_for()
            assert "uploads" not in {d.name for d in ws.datasets()}

            # Resume from the Runs page: the run continues from its last checkpoint, under the same id
            last_seq = ws.run_events(run_id)[-1].seq
            open_page(page, url, "runs")
            select_run(page, run_id)
            page.get_by_text("Status interrupted").first.wait_for()
            open_expander(page, "Resume this run from its last checkpoint")
            page.get_by_role("button", name="Resume", exact=True).click()
            try:
                resumed = poll(lambda: [e.payload["step"] for e in ws.run_events(
                    run_id, after_seq=last_seq, kinds=["step"])], 120, "resumed steps")
            except AssertionError as error:  # say what the page and the server showed instead
                alerts = page.locator('[data-testid="stAlert"], [data-testid="stException"]').all_inner_texts()
                events = [e.kind for e in ws.run_events(run_id, after_seq=last_seq)]
                raise AssertionError(f"{error}; run status {ws.get_run(run_id).status}, events since {events[-10:]}, "
                                     f"page alerts {alerts}, url {page.url}, server log tail "
                                     f"{server_log.read_text()[-2000:]!r}") from None
            assert resumed[0] == saved_step + 1
            assert ws.get_run(run_id).status == "running"
            page.wait_for_url("**/train")
            page.locator(".st-key-train_stop button").click()  # not the header's Stop of a page run
            poll(lambda: ws.get_run(run_id).status == "stopped", 90, "the resumed run stopped")
            browser.close()
        # XSRF protection is on in the running server: a cross-site upload without the token is refused
        request = urllib.request.Request(f"{url}/_stcore/upload_file/some-session/some-file", data=b"x",
                                         method="PUT")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        assert ws.integrity_check() == "ok"
        assert "database is locked" not in server_log.read_text()
    finally:
        for process in (server, writer):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)


# --- issue 17: resume after a crash keeps one point per step -------------------------------------------------


def test_a_resume_from_an_earlier_checkpoint_drops_the_steps_logged_after_it(workspace_home):
    """A process killed at step N after its last checkpoint at step C < N had logged steps C+1..N; the resume
    trains them again. The run's events then hold each step once (not C+1..N twice), and so do the CSV rows."""
    from receipt_core.datasets import load_dataset
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.events import FinishedEvent
    from receipt_core.training.runs import resume_run, start_run
    from tests.conftest import require_shared_data

    workspace = Workspace.open(workspace_home)
    workspace.save_documents("cord-train", load_dataset(require_shared_data("cord", "train"), "cord").documents[:16])
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=1, batch_size=8, lr=3e-3)
    job = start_run(workspace, config, workspace.load_documents("cord-train"), [])
    assert job.join(timeout=120) and isinstance(job.result, FinishedEvent)
    checkpoint_step = job.result.step  # 2: the checkpoint of epoch 1
    for step in (3, 4):  # what the killed process had logged after that checkpoint, before SIGKILL
        workspace.append_run_event(job.run_id, "step", {"step": step, "epoch": 2, "loss": 9.9, "task_losses": {},
                                                        "lr": 0.001, "phase": 1})
    workspace.append_run_event(job.run_id, "failed", {"step": 4, "error": "killed", "error_type": "SIGKILL",
                                                      "traceback": "", "checkpoint": None})
    workspace.set_run_status(job.run_id, "interrupted")
    again = resume_run(workspace, job.run_id, config=TrainConfig(**{**config.to_json(), "epochs": 2}))
    assert again.join(timeout=120) and isinstance(again.result, FinishedEvent), again.result
    steps = [e.payload["step"] for e in workspace.run_events(job.run_id, kinds=["step"])]
    assert checkpoint_step == 2 and steps == [1, 2, 3, 4]
    assert all(e.payload["loss"] != 9.9 for e in workspace.run_events(job.run_id, kinds=["step"]))
    assert [e.kind for e in workspace.run_events(job.run_id, kinds=["failed"])] == ["failed"]  # why it stopped stays


def test_a_resume_on_other_receipts_records_them(workspace_home):
    """A probe resumed a run on another dataset: Predict still said its scores came from the first dataset's 5
    validation receipts where its final evaluation had scored 2 of the new one, and a later resume "on its own
    receipts" would have read the first dataset again."""
    from receipt_core.datasets import load_dataset
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.events import FinishedEvent
    from receipt_core.training.run_documents import eval_ids, train_ids
    from receipt_core.training.runs import resume_run, start_run
    from tests.conftest import require_shared_data

    workspace = Workspace.open(workspace_home)
    docs = load_dataset(require_shared_data("cord", "train"), "cord").documents[:16]
    first, other = docs[:10], docs[10:]
    config = TrainConfig(backbone="tiny", scenario="freeze-backbone", epochs=1, batch_size=8, lr=3e-3)
    job = start_run(workspace, config, first[:8], first[8:])
    assert job.join(timeout=120) and isinstance(job.result, FinishedEvent)
    again = resume_run(workspace, job.run_id, other[:4], other[4:],
                       config=TrainConfig(**{**config.to_json(), "epochs": 2}))
    assert again.join(timeout=120) and isinstance(again.result, FinishedEvent), again.result
    recorded = workspace.get_run(job.run_id).config
    assert train_ids(recorded) == [d.id for d in other[:4]] and eval_ids(recorded) == [d.id for d in other[4:]]
    assert (recorded["train_documents"], recorded["eval_documents"], recorded["epochs"]) == (4, 2, 2)
    assert again.result.metrics["documents"] == 2
