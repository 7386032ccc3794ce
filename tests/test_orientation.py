"""A photo whose text is turned (upside down, on its side) is said so wherever it is read: Data's upload notes,
Annotate, Predict and the command line (probe 46 uploaded a receipt turned 180°; it was stored as 47 words of
nonsense with nothing to say why). Real Tesseract, on generated receipts turned with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from receipt_core.cli.main import main
from receipt_core.data.images import load_image
from receipt_core.datasets.synth import generate_dataset
from receipt_core.ocr import orientation
from receipt_core.ocr.engine import RECEIPT_OCR, ocr_image
from receipt_core.ocr.merge import OcrWord
from receipt_core.ocr.orientation import LOOKS_TURNED, reads_badly, reads_better, turn_to_try, turned_note_of

pytestmark = pytest.mark.ocr


@pytest.fixture(scope="module")
def receipts() -> list[Image.Image]:
    return [Image.open(io.BytesIO(r.image_bytes)).convert("RGB") for r in generate_dataset(2, seed=5, workers=1)]


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_a_turned_receipt_is_said_turned_and_an_upright_one_is_not(receipts):
    upright, other = receipts
    assert LOOKS_TURNED not in ocr_image(load_image(png(upright))).meta
    # Pillow turns counter-clockwise: the page then reads upright turned that much clockwise
    assert ocr_image(load_image(png(other.rotate(180, expand=True)))).meta[LOOKS_TURNED] == 180
    assert ocr_image(load_image(png(upright.rotate(90, expand=True)))).meta[LOOKS_TURNED] == 90
    assert ocr_image(load_image(png(upright.rotate(270, expand=True)))).meta[LOOKS_TURNED] == 270
    # words stay as read, and settings without the check never ask
    from dataclasses import replace

    assert LOOKS_TURNED not in ocr_image(load_image(png(other.rotate(180, expand=True))),
                                         replace(RECEIPT_OCR, check_orientation=False)).meta


def test_the_check_is_asked_only_of_a_page_that_reads_badly_and_said_only_when_turning_reads_better(monkeypatch):
    def words(*confidences):
        return [OcrWord(text="x", box=(0, 0, 1, 1), confidence=c, line=0) for c in confidences]

    assert reads_badly([]) and reads_badly(words(40, 60)) and not reads_badly(words(60, 70))
    assert reads_better(words(40, 40), words(55, 45)) and not reads_better(words(40, 40), words(45, 45))
    assert not reads_better(words(40), [])
    # Tesseract's answer when it names a turn, however unsure; else 180, the commonest mistake (reads_better decides)
    answers = iter([{"Rotate": "90", "Orientation confidence": "0.4"}, {"Rotate": "270"},
                    {"Rotate": "0", "Orientation confidence": "9"}, {}, {"Rotate": "x"}])
    monkeypatch.setattr(orientation, "run_osd", lambda page, dpi, timeout: next(answers))
    assert [turn_to_try("page", 96, 10) for _ in range(5)] == [90, 270, 180, 180, 180]
    assert turned_note_of({}) is None and turned_note_of({LOOKS_TURNED: 45}) is None
    assert turned_note_of({LOOKS_TURNED: 180}) == ("the text looks upside down, so Tesseract read it poorly: turn the "
                                                   "photo upright (a phone's photo editor does) and upload it again")
    assert turned_note_of({LOOKS_TURNED: 90}, then="read it again").startswith(
        "the text looks on its side (it reads upright turned 90° clockwise)")


def test_upload_and_command_line_say_it(receipts, tmp_path, capsys):
    from receipt_core.workspace.store import Workspace
    from ui.actions import ocr_and_store

    turned = png(receipts[1].rotate(180, expand=True))
    report = ocr_and_store(Workspace(tmp_path / "ws"), "photos", {"upside.png": turned, "fine.png": png(receipts[0])})
    assert report.notes == ("upside.png: the text looks upside down, so Tesseract read it poorly: turn the photo "
                            "upright (a phone's photo editor does) and upload it again, then delete this reading of "
                            "it (Receipts tab → Delete this receipt)",)
    (tmp_path / "upside.png").write_bytes(turned)
    assert main(["ocr", str(tmp_path / "upside.png")]) == 0
    assert f"note: {tmp_path / 'upside.png'}: the text looks upside down, so Tesseract read it poorly: turn the " \
        "photo upright (a phone's photo editor does) and read it again" in capsys.readouterr().err


def test_ocr_gives_one_document_per_image_and_names_the_copies(receipts, tmp_path, capsys):
    """Probe 46: four byte-identical photos under four names were four documents of one id in `ocr --json`."""
    import json

    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(png(receipts[0]))
    assert main(["ocr", "--json", str(tmp_path / "a.png"), str(tmp_path / "b.png")]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["documents"]) == 1
    assert f"note: {tmp_path / 'b.png'}: the same image as {tmp_path / 'a.png'}; its document is given once" \
        in captured.err
