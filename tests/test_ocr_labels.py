"""Training documents from real WildReceipt images (real Tesseract): OCR words labelled from the gold segments,
checked against the raw annotation lines; ``import --from-images`` and ``train`` on several datasets at once."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from conftest import require_shared_data
from receipt_core.cli.main import main
from receipt_core.datasets import load_dataset
from receipt_core.ocr.engine import RECEIPT_OCR
from receipt_core.datasets.from_images import ocr_projected_report, ocr_reading_id, project_segment_labels
from receipt_core.data.quantity import parse_quantity
from receipt_core.data.schema import DEFAULT_SCHEMA, OTHER
from receipt_core.workspace.store import Workspace

# Small train.txt receipts (fast to OCR) that print item quantities.
RECEIPT_LINES = (14, 21, 61)

pytestmark = pytest.mark.ocr  # real Tesseract on real WildReceipt photos (the `projected` fixture, the CLI)


@pytest.fixture(scope="module")
def wildreceipt_subset(tmp_path_factory) -> Path:
    """A WildReceipt folder with a few real train receipts: class_list.txt, train.txt and their images."""
    source = require_shared_data("wildreceipt")
    root = tmp_path_factory.mktemp("wildreceipt")
    shutil.copy(source / "class_list.txt", root / "class_list.txt")
    lines = (source / "train.txt").read_text(encoding="utf-8").splitlines()
    chosen = [lines[i] for i in RECEIPT_LINES]
    for line in chosen:
        name = json.loads(line)["file_name"]
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / name, root / name)
    (root / "train.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def projected(wildreceipt_subset, tmp_path_factory):
    report = load_dataset(wildreceipt_subset / "train.txt", "wildreceipt")
    cache = tmp_path_factory.mktemp("ocr-cache")
    return report, ocr_projected_report(report, workers=2, cache_folder=cache), cache


def _raw_segments(folder: Path) -> dict[str, list[tuple[tuple[float, ...], str, str]]]:
    """Per image stem: (box, text, class name) of every non-empty gold segment, read from the raw lines."""
    classes = (folder / "class_list.txt").read_text(encoding="utf-8").split()
    segments = {}
    for line in (folder / "train.txt").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        rows = []
        for a in record["annotations"]:
            if a["text"].strip():
                xs, ys = a["box"][0::2], a["box"][1::2]
                rows.append(((min(xs), min(ys), max(xs), max(ys)), a["text"].strip(), classes[a["label"]]))
        segments[Path(record["file_name"]).stem] = rows
    return segments


def _holder(segments, centre):
    """The smallest raw segment holding ``centre``, or None."""
    inside = [s for s in segments if s[0][0] <= centre[0] <= s[0][2] and s[0][1] <= centre[1] <= s[0][3]]
    return min(inside, key=lambda s: (s[0][2] - s[0][0]) * (s[0][3] - s[0][1]), default=None)


def test_every_ocr_word_carries_the_label_of_the_gold_segment_it_lies_in(projected, wildreceipt_subset):
    gold, report, _ = projected
    assert report.problems == gold.problems  # every image read, no page-size mismatch
    assert [d.id for d in report.documents] == [ocr_reading_id(d.id) for d in gold.documents]
    raw = _raw_segments(wildreceipt_subset)
    fields, quantity_words, in_segments, words = set(), 0, 0, 0
    for doc, gold_doc in zip(report.documents, gold.documents):
        assert doc.meta["ocr_settings"] == RECEIPT_OCR.name and doc.image_sha256 == gold_doc.image_sha256
        segments = raw[Path(doc.meta["file"]).stem]
        assert doc.words, doc.id
        for word in doc.words:
            words += 1
            segment = _holder(segments, word.center)
            if segment is None:
                assert (word.field, word.is_quantity) == (OTHER, False), (doc.id, word)
                continue
            in_segments += 1
            _, text, name = segment
            if name == "Prod_quantity_value":
                quantity_words += 1
                assert word.is_quantity and word.field == OTHER, (doc.id, word, text)
                assert word.quantity_value == parse_quantity(text), (doc.id, word, text)
            else:
                assert not word.is_quantity and word.quantity_value is None, (doc.id, word, text)
                assert word.field == DEFAULT_SCHEMA.wildreceipt_fields.get(name, OTHER), (doc.id, word, name)
            fields.add(word.field)
    assert quantity_words > 0 and {"ITEM_NAME", "ITEM_PRICE", "TOTAL"} <= fields
    assert in_segments / words > 0.5  # real OCR of real receipts: most words lie in an annotated segment


def test_the_words_of_a_quantity_segment_read_its_quantity(projected, wildreceipt_subset):
    """The projection lines up with the picture: the OCR words that fall in a quantity segment print its value.

    (Tesseract misses some lone one-digit quantities entirely; such a segment has no word to check.)"""
    _, report, _ = projected
    raw = _raw_segments(wildreceipt_subset)
    read = seen = 0
    for doc in report.documents:
        segments = raw[Path(doc.meta["file"]).stem]
        for segment in segments:
            inside = [w for w in doc.words if _holder(segments, w.center) == segment]
            if segment[2] != "Prod_quantity_value" or not inside:
                continue
            seen += 1
            read += parse_quantity("".join(w.text for w in inside)) == parse_quantity(segment[1])
    assert seen >= 2 and read / seen >= 0.75, (read, seen)


def test_projection_refuses_an_image_of_another_size(projected):
    gold, report, _ = projected
    wider = dataclasses.replace(report.documents[0], width=report.documents[0].width * 2)
    with pytest.raises(ValueError, match="annotations describe a"):
        project_segment_labels(gold.documents[0], wider)


def test_import_from_images_stores_the_projected_documents_and_reuses_the_ocr_cache(
        projected, wildreceipt_subset, tmp_path, capsys):
    _, report, _ = projected
    home = tmp_path / "ws"
    args = ["import", str(wildreceipt_subset / "train.txt"), "--format", "wildreceipt", "--from-images",
            "--workspace", str(home)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert f"imported {len(RECEIPT_LINES)} documents" in out and "'wildreceipt-train-ocr'" in out
    assert "OCR of 3 images with the 'receipt' settings (--psm 6" in err
    stored = Workspace.open(home).load_documents("wildreceipt-train-ocr")
    assert [d.words for d in stored] == [d.words for d in report.documents]
    assert all(Workspace.open(home).image_path(d.image_sha256) for d in stored)
    cached = sorted((home / "ocr-cache").glob("*.json"))
    assert len(cached) == len(RECEIPT_LINES)
    stamps = [p.stat().st_mtime_ns for p in cached]
    assert main(args) == 0  # the second import reads the cache: no entry rewritten
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    assert [d.words for d in Workspace.open(home).load_documents("wildreceipt-train-ocr")] == [d.words for d in stored]
    # the gold annotations of the same receipts are other documents: importing them replaces no OCR reading
    capsys.readouterr()
    assert main(["import", str(wildreceipt_subset / "train.txt"), "--format", "wildreceipt", "--dataset", "gold",
                 "--workspace", str(home)]) == 0
    assert "were already in" not in capsys.readouterr().out
    sizes = {d.name: d.documents for d in Workspace.open(home).datasets()}
    assert sizes == {"wildreceipt-train-ocr": len(RECEIPT_LINES), "gold": len(RECEIPT_LINES)}


def test_an_end_to_end_run_says_why_a_datasets_images_were_not_taken(tmp_path):
    """A probe linked image_files/ to the shared photos and was told only "wildreceipt data without pixels"."""
    from receipt_core.evaluation.end_to_end import run_dataset_from_images

    shared = require_shared_data("wildreceipt")
    (tmp_path / "dev.txt").write_text((shared / "dev.txt").read_text(encoding="utf-8").splitlines()[0] + "\n")
    shutil.copy(shared / "class_list.txt", tmp_path / "class_list.txt")
    (tmp_path / "image_files").symlink_to(shared / "image_files")
    with pytest.raises(ValueError, match=r"has no usable images \(wildreceipt data without pixels: .* is not a file "
                                         r"inside .*; imported without pixels\)"):
        run_dataset_from_images(None, tmp_path / "dev.txt", "wildreceipt")


def test_import_from_images_needs_pixels(tmp_path, capsys):
    code = main(["import", str(require_shared_data("cord", "dev", "json")), "--format", "cord", "--from-images",
                 "--workspace", str(tmp_path / "ws")])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: --from-images:" in err and "has no images (cord data without pixels)" in err


def test_train_takes_several_datasets_and_refuses_one_given_twice(projected, wildreceipt_subset, tmp_path, capsys):
    _, report, _ = projected
    home = tmp_path / "ws"
    Workspace.open(home).save_documents("wr-ocr", report.documents)
    cord = tmp_path / "cord" / "json"
    cord.mkdir(parents=True)
    for file in sorted(require_shared_data("cord", "train", "json").glob("*.json"))[:2]:
        shutil.copy(file, cord / file.name)
    base = ["train", "--eval", "wr-ocr", "--workspace", str(home), "--backbone", "tiny", "--scenario", "full",
            "--epochs", "1", "--batch-size", "4", "--lr", "3e-3"]
    assert main(base + ["--train", "wr-ocr", str(cord.parent), "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert f"train mix: wr-ocr {len(report.documents)}, {cord.parent} 2" in err
    assert f"train: {len(report.documents) + 2} documents" in err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["state"]["global_step"] > 0
    gold = str(wildreceipt_subset / "train.txt")  # the same receipts' gold annotations mix with their OCR reading
    assert main(base + ["--train", "wr-ocr", gold, "--epochs", "1", "--out", str(tmp_path / "mixed")]) == 0
    assert f"train mix: wr-ocr {len(report.documents)}, {gold} {len(report.documents)}" in capsys.readouterr().err
    assert main(base + ["--train", "wr-ocr", "wr-ocr", "--out", str(tmp_path / "run2")]) == 2
    err = capsys.readouterr().err
    assert "is twice in 'wr-ocr'" in err and "Traceback" not in err


def test_the_data_page_imports_a_dataset_read_from_its_images(projected, wildreceipt_subset, workspace_home):
    """What `import --from-images` does, from Data → Import: the dashboard could store a WildReceipt dataset only as
    its annotators' words, so the recipe that prepares a model for photos needed the command line."""
    from streamlit.testing.v1 import AppTest

    from conftest import REPO_ROOT

    _, report, _ = projected
    folder = workspace_home / "incoming"  # inside the folders the server reads
    shutil.copytree(wildreceipt_subset, folder)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/data.py").run()
    at.text_input(key="import_path").set_value(str(folder / "train.txt")).run()
    at.checkbox(key="import_from_images").check().run()
    at.button(key="import_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("into dataset" in s.value and "wildreceipt-train-ocr" in s.value for s in at.success), \
        [s.value for s in at.success]
    stored = Workspace.open(workspace_home).load_documents("wildreceipt-train-ocr")
    assert [d.words for d in stored] == [d.words for d in report.documents]  # the CLI's reading, word for word
    assert all(d.id.endswith("-ocr") for d in stored)
    # the annotators' words go into the same dataset beside them: one dataset then trains on both readings
    at.checkbox(key="import_from_images").uncheck().run()
    at.text_input(key="import_name").set_value("wildreceipt-train-ocr").run()
    at.button(key="import_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert Workspace.open(workspace_home).datasets()[0].documents == 2 * len(RECEIPT_LINES)
