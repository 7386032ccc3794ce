"""Issue 17, defects 4, 9 and 10: one hostile record beside a good one, through the real CLI and real files.

Each hostile file is written in ``tmp_path`` next to a good document; the import must exit 0, say one
``problem:`` line naming the hostile file, and store the good document (before the fix each of these aborted
the whole import with RecursionError, OverflowError, "cannot be stored as JSON", int() errors or a suffix error).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.datasets import DEFAULT_LIMITS, DatasetImportError, ImportLimits, load_dataset
from receipt_core.workspace.store import Workspace, WorkspaceError
from receipt_core.datasets.report import make_report

DEEP = 100_000


def native(doc_id: str, words: int = 1) -> dict:
    return Document(id=doc_id, width=200, height=100,
                    words=tuple(Word(text=f"w{i}", box=(10, 10, 60, 20), field="TOTAL") for i in range(words))
                    ).to_json()


def native_text(doc_id: str, **changes) -> str:
    """A native document as JSON text, with top-level changes or, for keys like ``word.line_id``, word changes;
    values given as raw JSON text (``NaN``, ``Infinity``, ``1e400``) go in verbatim."""
    data = native(doc_id)
    raw: dict[str, str] = {}
    for key, value in changes.items():
        target, name = (data["words"][0], key[5:]) if key.startswith("word_") else (data, key)
        if isinstance(value, Raw):
            target[name] = f"@@{name}@@"
            raw[f'"@@{name}@@"'] = value.text
        else:
            target[name] = value
    text = json.dumps(data)
    for marker, value in raw.items():
        text = text.replace(marker, value)
    return text


class Raw:
    def __init__(self, text: str) -> None:
        self.text = text


def cord(width: object = 100) -> dict:
    quad = {"x1": 10, "y1": 10, "x2": 40, "y2": 10, "x3": 40, "y3": 20, "x4": 10, "y4": 20}
    return {"meta": {"image_size": {"width": width, "height": 200}, "image_id": 1},
            "valid_line": [{"category": "menu.nm", "group_id": 1,
                            "words": [{"text": "Nasi", "is_key": 0, "row_id": 1, "quad": quad}]}]}


def cord_text(width_json: str) -> str:
    return json.dumps(cord()).replace('"width": 100', f'"width": {width_json}')


def deep_json(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def import_cli(folder: Path, fmt: str, capsys, *extra: str) -> tuple[int, list[str], str]:
    code = main(["import", "--format", fmt, str(folder), "--dataset", "incoming", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, [line for line in err.splitlines() if line.startswith("problem: ")], out + err


def stored_ids(home: Path) -> set[str]:
    return {s.id for s in Workspace(home).list_documents("incoming")}


# (format, hostile file name, its text, a phrase the problem line must hold)
NATIVE_CASES = {
    "deep": (deep_json(), "nests 100,000 levels deep"),
    "width-1e30": (native_text("x", width=10 ** 30), "page width"),
    "nan-box": (native_text("x", word_box=Raw("[NaN, 10, 60, 20]")), "NaN is not a JSON number"),
    "nan-confidence": (native_text("x", word_confidence=Raw("NaN")), "NaN is not a JSON number"),
    "infinite-quantity-value": (native_text("x", word_quantity_value=Raw("Infinity")),
                                "Infinity is not a JSON number"),
    "nan-meta": (native_text("x", meta=Raw('{"score": NaN}')), "NaN is not a JSON number"),
    "line-id-text": (native_text("x", word_line_id="abc"), "'line_id' must be a whole number"),
    "line-id-null": (native_text("x", word_line_id=None), "'line_id' must be a whole number"),
    "quantity-text": (native_text("x", word_quantity="false"), "'quantity' must be true or false"),
    "empty-id": (native_text(""), "'id' must be a non-empty string"),
    "blank-id": (native_text("   "), "'id' must be a non-empty string"),
    "id-ending-in-a-space": (native_text("nat-abc "), "starts or ends with a space"),  # beside 'nat-abc' (a probe)
    "huge-box": (native_text("x", word_box=Raw("[1e400, 10, 60, 20]")), "box value is inf, outside"),
    "group-id-huge": (native_text("x", word_group_id=10 ** 30), "'group_id' must be a whole number"),
}


@pytest.mark.parametrize("case", list(NATIVE_CASES))
def test_one_hostile_native_document_is_one_problem_and_the_good_one_imports(case, workspace_home, tmp_path, capsys):
    text, phrase = NATIVE_CASES[case]
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "a-good.json").write_text(json.dumps(native("good")))
    (folder / f"{case}.json").write_text(text)
    code, problems, output = import_cli(folder, "native", capsys)
    assert code == 0, output
    assert len(problems) == 1 and problems[0].startswith(f"problem: {case}.json: ") and phrase in problems[0], output
    assert stored_ids(workspace_home) == {"good"}


CORD_CASES = {
    "deep": (deep_json(), "nests 100,000 levels deep"),
    "width-1e30": (cord_text(str(10 ** 30)), "meta.image_size width"),
    "width-1e400": (cord_text(str(10 ** 400)), "meta.image_size width"),
    "width-nan": (cord_text("NaN"), "NaN is not a JSON number"),
    "x-1e30": (json.dumps(cord()).replace('"x1": 10', f'"x1": {10 ** 30}'), "no usable words"),
}


@pytest.mark.parametrize("case", list(CORD_CASES))
def test_one_hostile_cord_receipt_is_one_problem_and_the_good_one_imports(case, workspace_home, tmp_path, capsys):
    text, phrase = CORD_CASES[case]
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "receipt_00000.json").write_text(json.dumps(cord()))
    (folder / f"receipt_{case}.json").write_text(text)
    code, problems, output = import_cli(folder, "cord", capsys)
    assert code == 0, output
    mine = [p for p in problems if p.startswith(f"problem: receipt_{case}.json: ")]
    assert mine and mine[-1].endswith("; skipped") and phrase in " ".join(mine), output
    assert stored_ids(workspace_home) == {"cord-receipt_00000"}


def wildreceipt_folder(tmp_path: Path, lines: list[str], image_name: str = "good.jpg") -> Path:
    folder = tmp_path / "wildreceipt"
    folder.mkdir()
    (folder / "class_list.txt").write_text("0 Ignore\n1 Store_name_value\n")
    Image.new("RGB", (200, 100), "white").save(folder / image_name, format="JPEG")
    (folder / "train.txt").write_text("\n".join(lines) + "\n")
    return folder


def wildreceipt_line(file_name: str, width: object = 200) -> str:
    return json.dumps({"file_name": file_name, "height": 100, "width": width,
                       "annotations": [{"box": [10, 10, 60, 10, 60, 20, 10, 20], "text": "SHOP", "label": 1}]})


def test_a_wildreceipt_line_nested_100000_deep_is_one_problem_and_the_next_line_imports(workspace_home, tmp_path,
                                                                                         capsys):
    folder = wildreceipt_folder(tmp_path, [deep_json(), wildreceipt_line("good.jpg"),
                                           wildreceipt_line("big.jpg", width=10 ** 30)])
    code, problems, output = import_cli(folder, "wildreceipt", capsys)
    assert code == 0, output
    assert [p.split(":")[1].strip() for p in problems] == ["train.txt line 1", "train.txt line 3"], output
    assert "nests 100,000 levels deep" in problems[0] and "width" in problems[1]
    assert stored_ids(workspace_home) == {"wildreceipt-good"}


def test_a_broken_wildreceipt_line_is_placed_by_its_column_not_a_second_line_number(workspace_home, tmp_path,
                                                                                      capsys):
    """Probe 62 read "train.txt line 2: not valid JSON (Expecting value: line 2 column 1)" for a line that stopped
    early: the inner place counted the line's own newline as a line."""
    folder = wildreceipt_folder(tmp_path, [wildreceipt_line("good.jpg"), '{"broken":', '{"a": x}', '\ufeff{}'])
    code, problems, output = import_cli(folder, "wildreceipt", capsys)
    assert code == 0, output
    assert problems == ["problem: train.txt line 2: not valid JSON (the record stops early (expecting value)); "
                        "skipped",
                        "problem: train.txt line 3: not valid JSON (Expecting value at column 7); skipped",
                        # Python's "(decode using utf-8-sig)" is no advice for a person (probe 65)
                        "problem: train.txt line 4: not valid JSON (a byte-order mark (U+FEFF) opens it: save the "
                        "file as UTF-8 without one); skipped"], output
    # and the JSON kinds are named as JSON spells them (probe 62 read "got NoneType", "got True")
    from receipt_core.data.json_values import json_kind

    assert [json_kind(v) for v in (None, True, 12, 1.5, "x", [1], {"a": 1})] == [
        "null", "true", "the number 12", "the number 1.5", "a string", "a list", "an object"]


def test_a_wildreceipt_image_with_an_odd_suffix_is_stored_under_its_real_type(workspace_home, tmp_path, capsys):
    folder = wildreceipt_folder(tmp_path, [wildreceipt_line("x.jpg_backup")], image_name="x.jpg_backup")
    code, problems, output = import_cli(folder, "wildreceipt", capsys)
    assert code == 0 and not problems, output
    ws = Workspace(workspace_home)
    doc = ws.get_document("wildreceipt-x")
    assert ws.image_path(doc.image_sha256).suffix == ".jpg"


def test_a_cord_file_linking_outside_the_folder_is_skipped_with_a_note(workspace_home, tmp_path, capsys):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(cord()))
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "receipt_00000.json").write_text(json.dumps(cord()))
    os.symlink(outside, folder / "receipt_00001.json")
    code, problems, output = import_cli(folder, "cord", capsys)
    assert code == 0
    assert problems == ["problem: receipt_00001.json: it is a link to a file outside the folder imported; skipped"]
    assert str(outside) not in output  # the target's path is not revealed
    assert stored_ids(workspace_home) == {"cord-receipt_00000"}


def test_cord_files_outside_the_json_folders_and_merged_splits_are_said(workspace_home, tmp_path, capsys):
    """A probe's zip held json/ and JSON/: the second folder's receipt was dropped without a word. A CORD root's
    train and dev merged into one dataset, also without a word (WildReceipt's split files said so)."""
    folder = tmp_path / "case"
    for sub, name in (("json", "receipt_00003.json"), ("JSON", "receipt_00005.json")):
        (folder / sub).mkdir(parents=True)
        (folder / sub / name).write_text(json.dumps(cord()))
    code, problems, _ = import_cli(folder, "cord", capsys)
    assert code == 0 and stored_ids(workspace_home) == {"cord-receipt_00003"}
    assert problems == ["problem: 1 JSON file under case left out (JSON/receipt_00005.json): CORD receipts are read "
                        "from the json folders only (json/ beside image/, or SPLIT/json/ in a CORD root); move them "
                        "there to import them"]
    root = tmp_path / "cord"
    for split, count in (("train", 3), ("dev", 2)):
        (root / split / "json").mkdir(parents=True)
        for i in range(count):
            (root / split / "json" / f"receipt_{split}{i}.json").write_text(json.dumps(cord()))
    (root / "manifest.json").write_text("{}")  # the shared CORD's: no receipt, and not said to be left out
    code, problems, _ = import_cli(root, "cord", capsys, "--all-problems")
    assert code == 0 and len(Workspace(workspace_home).list_documents("incoming")) == 1 + 5
    assert problems == [f"problem: cord: 2 split folders read into one dataset (dev 2 receipts, train 3 receipts); to "
                        f"keep a split apart for evaluation, import it on its own: its folder alone (for example "
                        f"{root / 'train'})"]


def test_a_document_over_the_word_cap_is_refused_with_the_option_to_raise_it(workspace_home, tmp_path, capsys):
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(native("good", words=3)))
    (folder / "long.json").write_text(json.dumps(native("long", words=60)))
    code, problems, output = import_cli(folder, "native", capsys, "--max-words", "50")
    assert code == 0, output
    assert problems == ["problem: long.json: the document has 60 words, over the limit of 50 per document "
                        "(raise it with --max-words); skipped"]
    assert stored_ids(workspace_home) == {"good"}
    code, problems, output = import_cli(folder, "native", capsys, "--max-words", "60")
    assert code == 0 and not problems and stored_ids(workspace_home) == {"good", "long"}
    assert DEFAULT_LIMITS.max_words == 5_000
    with pytest.raises(ValueError, match="max_words"):
        ImportLimits(max_words=0)


def test_a_file_over_the_record_size_limit_is_refused_before_it_is_parsed(tmp_path):
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(native("good")))
    (folder / "huge.json").write_text(json.dumps(native("huge", words=400)))
    report = load_dataset(folder, "native", limits=ImportLimits(max_record_bytes=20_000))
    assert [d.id for d in report.documents] == ["good"]
    assert len(report.problems) == 1 and "over the limit of 20,000" in report.problems[0]


def test_an_import_of_more_records_than_the_cap_is_refused_early_and_stores_nothing(workspace_home, tmp_path,
                                                                                      capsys):
    """Probe 62: a 10 MB Label Studio file of 3.5 million empty tasks took a minute and 1.3 GB, listing a problem
    for each; past MAX_RECORDS the import stops, said, and nothing is stored. The cap is the real one."""
    from receipt_core.datasets.report import MAX_RECORDS

    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "tasks.json").write_text("[" + ",".join(["{}"] * (MAX_RECORDS + 5)) + "]")
    assert main(["import", str(folder), "--format", "label-studio", "--dataset", "many"]) == 2
    err = capsys.readouterr().err
    assert (f"tasks.json task {MAX_RECORDS + 1}: an import reads at most 100,000 records (receipts, tasks or label "
            "lines), and this one holds more; nothing was stored: split the data into several imports") in err
    assert "many" not in [summary.name for summary in Workspace.open(workspace_home).datasets()]
    # counts are written with thousands separators, as the pages' others are (probe 62 read "3495253 problems")
    from receipt_core.wording import counted

    assert (counted(3495253, "problem"), counted(1, "problem"), counted(2.5, "minute")) == (
        "3,495,253 problems", "1 problem", "2.5 minutes")


@pytest.mark.parametrize("name", ["../x", "/tmp/x/escape", "", "a\nb", "a\tb", ".hidden", "x" * 101,
                                  "[click me](https://evil.example/x)", " padded ",
                                  # a probe's export zip held a folder CON/ that Windows cannot extract
                                  "CON", "nul", "COM1", "aux.txt", "a.", "-x"])
def test_a_bad_dataset_name_is_one_error_line_exit_2_and_nothing_is_read(name, workspace_home, tmp_path, capsys):
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(native("good")))
    assert main(["import", "--format", "native", str(folder), f"--dataset={name}"]) == 2  # "-x" too
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "dataset name" in lines[0], err
    assert Workspace(workspace_home).list_documents() == []
    with pytest.raises(WorkspaceError, match="dataset name"):
        Workspace(workspace_home).save_documents(name, [Document.from_json(native("good"))])


def test_valid_dataset_names_and_a_default_from_an_odd_folder_name(workspace_home, tmp_path, capsys):
    ws = Workspace(workspace_home)
    for name in ("uploads", "cord-train", "My receipts 2024", "a.b_c-d", "x" * 100):
        ws.save_documents(name, [Document.from_json(native(f"doc-{name}"))])
    folder = tmp_path / "Bons (März) [2024]"
    folder.mkdir()
    (folder / "good.json").write_text(json.dumps(native("good")))
    assert main(["import", "--format", "native", str(folder)]) == 0
    assert "native-Bons-M-rz-2024" in {d.name for d in ws.datasets()}


def test_json_with_a_utf8_byte_order_mark_imports_and_utf16_is_one_problem_saying_save_as_utf8(tmp_path):
    """Windows editors write a BOM before UTF-8 JSON; json.loads alone refuses it ("Unexpected UTF-8 BOM")."""
    folder = tmp_path / "native"
    folder.mkdir()
    (folder / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(native("bom")).encode("utf-8"))
    (folder / "wide.json").write_bytes(json.dumps(native("wide")).encode("utf-16"))
    report = load_dataset(folder, "native")
    assert [d.id for d in report.documents] == ["bom"]
    assert len(report.problems) == 1 and "wide.json" in report.problems[0]
    assert "save it as UTF-8" in report.problems[0]
    cord_folder = tmp_path / "cord"
    cord_folder.mkdir()
    (cord_folder / "receipt.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(cord()).encode("utf-8"))
    assert [w.text for w in load_dataset(cord_folder, "cord").documents[0].words] == ["Nasi"]


def test_a_wildreceipt_annotation_file_with_a_byte_order_mark_imports(shared_data, tmp_path):
    folder = tmp_path / "wild"
    folder.mkdir()
    source = shared_data / "wildreceipt"
    (folder / "class_list.txt").write_bytes(b"\xef\xbb\xbf" + (source / "class_list.txt").read_bytes())
    first = (source / "dev.txt").read_text(encoding="utf-8").splitlines()[0]
    (folder / "dev.txt").write_bytes(b"\xef\xbb\xbf" + first.encode("utf-8") + b"\n")
    plain = tmp_path / "plain" / "wild"
    plain.mkdir(parents=True)
    (plain / "class_list.txt").write_bytes((source / "class_list.txt").read_bytes())
    (plain / "dev.txt").write_text(first + "\n", encoding="utf-8")
    with_bom, without = load_dataset(folder, "wildreceipt"), load_dataset(plain, "wildreceipt")
    assert len(with_bom.documents) == 1 and with_bom.problems == without.problems  # (no images copied: noted)
    assert [w.field for w in with_bom.documents[0].words] == [w.field for w in without.documents[0].words]


@pytest.mark.parametrize("format", ["native", "cord", "label-studio"])
def test_a_named_pipe_called_json_in_the_folder_is_one_problem_not_a_hang(format, tmp_path):
    """Opening a FIFO waits for a writer forever: the import hung, in the CLI and on the Data page."""
    folder = tmp_path / format
    folder.mkdir()
    if format == "label-studio":
        good = {"data": {"ocr": "x.png"}, "annotations": []}  # a task without an image: a problem, not a hang
        (folder / "a.json").write_text(json.dumps([good]))
    else:
        (folder / "a.json").write_text(json.dumps(native("good") if format == "native" else cord()))
    os.mkfifo(folder / "pipe.json")
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result = pool.apply_async(_import_problems, (str(folder), format))
        problems = result.get(timeout=60)  # the hang made this time out
    assert any("pipe.json" in p and "not a regular file" in p for p in problems), problems
    assert not any("skipped; skipped" in p for p in problems), problems


def _import_problems(folder: str, format: str) -> list[str]:
    return list(load_dataset(Path(folder), format).problems)


def test_a_wildreceipt_class_list_with_names_wildreceipt_does_not_have_is_said(shared_data, tmp_path):
    """A probe lower-cased class_list.txt: every word imported as a checked OTHER, and nothing said. A line of more
    than two parts ("1 <img src=x …>") was read as a class named "1"."""
    source = shared_data / "wildreceipt"
    first = (source / "dev.txt").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "dev.txt").write_text(first + "\n", encoding="utf-8")
    (tmp_path / "class_list.txt").write_text((source / "class_list.txt").read_text(encoding="utf-8").lower())
    report = load_dataset(tmp_path, "wildreceipt")
    assert len(report.documents) == 1 and {w.field for w in report.documents[0].words} == {"OTHER"}
    said = [p for p in report.problems if p.startswith("class_list.txt")]
    assert said == ["class_list.txt names 26 classes WildReceipt does not have ('ignore', 'store_name_value', "
                    "'store_name_key', 'store_addr_value', 'store_addr_key', …): their words are imported as OTHER. "
                    "WildReceipt's names are case-sensitive, such as 'Prod_item_value'"]
    names = (source / "class_list.txt").read_text(encoding="utf-8").splitlines()
    names[1] = "1 <img src=x onerror=alert(1)>"
    (tmp_path / "class_list.txt").write_text("\n".join(names) + "\n")
    said = [p for p in load_dataset(tmp_path, "wildreceipt").problems if p.startswith("class_list.txt")]
    assert said == ["class_list.txt names 1 class WildReceipt does not have ('<img src=x onerror=alert(1)>'): their "
                    "words are imported as OTHER. WildReceipt's names are case-sensitive, such as 'Prod_item_value'"]
    (tmp_path / "class_list.txt").write_text((source / "class_list.txt").read_text(encoding="utf-8"))
    assert not [p for p in load_dataset(tmp_path, "wildreceipt").problems if p.startswith("class_list.txt")]


def test_a_wildreceipt_class_list_that_is_not_utf8_names_the_file(tmp_path):
    (tmp_path / "class_list.txt").write_bytes(b"\xff\xfe0 Ignore\n")
    (tmp_path / "dev.txt").write_text("")
    with pytest.raises(DatasetImportError, match=r"class_list\.txt is not UTF-8 text .*save it as UTF-8"):
        load_dataset(tmp_path, "wildreceipt")


def test_the_problem_heading_tells_skipped_records_from_notes_on_imported_ones(wildreceipt_dev_report):
    """Found in a walkthrough: importing WildReceipt dev said "29 problem(s) reported (those records were
    skipped)" above 29 notes on receipts that were all imported ("N segment(s) with empty text dropped")."""
    report = wildreceipt_dev_report
    assert len(report.documents) == 50 and report.problems and report.skipped == 0
    assert report.problems_heading() == f"{len(report.problems)} notes on records that were imported:"
    mixed = make_report(report.documents, {}, ("a.json: not JSON; skipped", "b.json: box clamped"))
    assert mixed.skipped == 1
    assert mixed.problems_heading() == ("2 problems reported: 1 record skipped, 1 note on records that "
                                        "were imported:")


# --- a probe's Label Studio and CORD records (2026-12-04) ------------------------------------------------------

def _ls_region(rid: str, x: float, text: str, label: str | None = None, kinds=("rectangle", "textarea")) -> list:
    value = {"x": x, "y": 10, "width": 10, "height": 5}
    results = [{"id": rid, "type": kind, "from_name": "transcription" if kind == "textarea" else "bbox",
                "original_width": 200, "original_height": 200,
                "value": {**value, **({"text": [text]} if kind == "textarea" else {})}} for kind in kinds]
    if label is not None:
        results.append({"id": rid, "type": "labels", "from_name": "label", "original_width": 200,
                        "original_height": 200, "value": {**value, "labels": [label]}})
    return results


def _ls_import(tmp_path: Path, tasks: list, limits: ImportLimits = DEFAULT_LIMITS):
    folder = tmp_path / "ls"
    folder.mkdir(exist_ok=True)
    (folder / "tasks.json").write_text(json.dumps(tasks))
    return load_dataset(folder, "label-studio", limits=limits)


def test_two_label_studio_regions_under_one_id_are_said_not_merged(tmp_path):
    """A probe gave two rectangles the id "a": one word came out, with Coffee's box and Tea's text."""
    tampered = _ls_region("a", 10, "Coffee", "ITEM_NAME") + _ls_region("a", 50, "Tea", "TOTAL")
    report = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": [
        *tampered, *_ls_region("b", 90, "4.00", "ITEM_PRICE")]}]}])
    [doc] = report.documents
    assert [w.text for w in doc.words] == ["4.00"]
    assert any("region a: two different boxes share this id" in p and p.endswith("dropped") for p in report.problems)


def test_a_region_repeated_with_the_same_box_keeps_its_first_text_and_label_and_says_so(tmp_path):
    """Probe 30: a copy of region w0's results under its id, with the same box, text DUPLICATE and label TOTAL,
    replaced "BURGER"/OTHER without a word."""
    repeated = _ls_region("w0", 10, "BURGER", "OTHER") + _ls_region("w0", 10, "DUPLICATE", "TOTAL")
    report = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": [
        *repeated, *_ls_region("b", 90, "4.00", "ITEM_PRICE")]}]}])
    [doc] = report.documents
    assert [(w.text, w.field) for w in doc.words] == [("BURGER", "OTHER"), ("4.00", "ITEM_PRICE")]
    assert "region w0: two transcriptions share this id ('BURGER' and 'DUPLICATE'); kept the first" in " ".join(
        report.problems)
    assert "region w0: two labels share this id ('OTHER' and 'TOTAL'); kept the first" in " ".join(
        report.problems)
    same = _ls_region("s", 10, "Tea", "ITEM_NAME") + _ls_region("s", 10, "Tea", "ITEM_NAME")
    quiet = _ls_import(tmp_path, [{"id": 2, "data": {}, "annotations": [{"result": same}]}])
    assert [(w.text, w.field) for w in quiet.documents[0].words] == [("Tea", "ITEM_NAME")]
    assert not any("share this id" in p for p in quiet.problems)


def test_repeated_label_studio_results_keep_the_usable_one_and_say_what_they_did(tmp_path):
    """Probe 31: a blank transcription or a null quantity first under an id beat the usable one after it; "Bogus"
    then "TOTAL" said "left unlabelled" of a word stored as TOTAL; two different polygons under one id compared
    equal (cut to 30 characters), and the second was lost unsaid; a 200,000-character id was echoed whole."""
    blank = _ls_region("w0", 10, "   ") + _ls_region("w0", 10, "BURGER", "ITEM_NAME")[1:]
    report = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": blank}]}])
    assert [w.text for w in report.documents[0].words] == ["BURGER"], report.problems
    assert not any("share this id" in p for p in report.problems)

    labels = _ls_region("w0", 10, "TOTAL", "Bogus") + _ls_region("w0", 10, "TOTAL", "TOTAL")[2:]
    report = _ls_import(tmp_path, [{"id": 2, "data": {}, "annotations": [{"result": labels}]}])
    assert [w.field for w in report.documents[0].words] == ["TOTAL"]
    assert any("region w0: label 'Bogus' is not in schema 'receipt-v1'; kept 'TOTAL', its other label" in p
               for p in report.problems), report.problems

    def polygon(rid: str, points: list) -> list:
        return [{"id": rid, "type": kind, "from_name": name, "original_width": 200, "original_height": 200,
                 "value": {"points": points, **extra}}
                for kind, name, extra in (("polygonlabels", "label", {"polygonlabels": ["TOTAL"]}),
                                          ("textarea", "transcription", {"text": ["SAME"]}))]
    small = [[10.0, 10.0], [20.0, 10.0], [20.0, 15.0], [10.0, 15.0]]
    large = [[10.0, 10.0], [90.0, 10.0], [90.0, 95.0], [10.0, 95.0]]
    report = _ls_import(tmp_path, [{"id": 3, "data": {}, "annotations": [{"result": [
        *polygon("pp", small), *polygon("pp", large), *_ls_region("b", 50, "4.00", "TOTAL")]}]}])
    assert [w.text for w in report.documents[0].words] == ["4.00"]
    assert any("region pp: two different boxes share this id" in p for p in report.problems), report.problems

    long_id = "X" * 200_000
    report = _ls_import(tmp_path, [{"id": 4, "data": {}, "annotations": [{"result": [
        *_ls_region(long_id, 10, "Tea"), *_ls_region(long_id, 60, "Cake"), *_ls_region("b", 90, "4.00")]}]}])
    assert max(len(p) for p in report.problems) < 500, [len(p) for p in report.problems]
    assert any(f"region {'X' * 30}… (200,000 characters): two different boxes" in p for p in report.problems)


@pytest.mark.parametrize("fmt", ["auto", "label-studio"])
def test_a_nan_in_one_label_studio_task_skips_that_task_whatever_the_format_says(fmt, workspace_home, tmp_path,
                                                                                 capsys):
    """Probe 30: with the default --format auto, one NaN in tasks.json refused the whole export as "not a CORD,
    native or Label Studio record", where --format label-studio skipped that task and imported the other."""
    folder = tmp_path / "ls"
    folder.mkdir()
    bad = json.dumps({"id": 1, "data": {}, "annotations": [{"result": _ls_region("a", 10, "Tea", "ITEM_NAME")}]})
    good = json.dumps({"id": 2, "data": {}, "annotations": [{"result": _ls_region("b", 10, "4.00", "TOTAL")}]})
    bad = bad.replace('"x": 10', '"x": NaN', 1)
    (folder / "tasks.json").write_text(f"[{bad}, {good}]")
    code, problems, output = import_cli(folder, fmt, capsys)
    assert code == 0, output
    assert len(problems) == 1 and "task 1 (id 1)" in problems[0] and "NaN" in problems[0], output
    assert len(stored_ids(workspace_home)) == 1


def test_a_bad_prediction_costs_its_suggestion_not_the_persons_annotation(tmp_path):
    """A probe: a prediction's QUANTITY number of -7 skipped the whole task, its good annotation with it."""
    prediction = _ls_region("q", 50, "2", "QUANTITY") + [{"id": "q", "type": "number", "from_name": "quantity",
                                                          "value": {"number": -7}}]
    report = _ls_import(tmp_path, [{"id": 3, "data": {}, "annotations": [{"result": [
        *_ls_region("n", 10, "Tea", "ITEM_NAME"), *_ls_region("q", 50, "2")]}],
        "predictions": [{"model_version": "m", "result": prediction}]}])
    [doc] = report.documents
    assert [(w.text, w.annotation_label) for w in doc.words] == [("Tea", "ITEM_NAME"), ("2", "OTHER")]
    assert doc.words[1].suggestion is None
    assert any("prediction 'm', region q: quantity is -7; a quantity is not negative; suggestion dropped" in p
               for p in report.problems), report.problems


def test_a_bad_typed_count_or_a_megabyte_word_costs_itself_not_the_receipt(tmp_path):
    """A probe: an annotation's QUANTITY number of -5 skipped the whole task, and so did one 1,000,000-character
    word, while a CORD count printed "-2" only lost its value. The typed value and the word go, each said."""
    annotation = [*_ls_region("n", 10, "Tea", "ITEM_NAME"), *_ls_region("q", 50, "2", "QUANTITY"),
                  {"id": "q", "type": "number", "from_name": "quantity", "value": {"number": -5}},
                  *_ls_region("h", 90, "A" * 1_000_000, "OTHER")]
    report = _ls_import(tmp_path, [{"id": 21, "data": {}, "annotations": [{"result": annotation}]}])
    [doc] = report.documents
    assert [(w.text, w.annotation_label, w.quantity_value) for w in doc.words] == [
        ("Tea", "ITEM_NAME", None), ("2", "QUANTITY", 2.0)]  # as its text prints
    assert any("region q: quantity is -5; a quantity is not negative; the typed value was dropped, the word stays "
               "a quantity" in p for p in report.problems), report.problems
    assert any("1 word over the limit of 500 characters for one word left out (word 2: 1,000,000 characters)" in p
               for p in report.problems), report.problems
    assert report.skipped == 0


@pytest.mark.parametrize("typed", ["3", True, [1], {"a": 1}, "NaN"])
def test_a_typed_count_that_is_no_number_is_named_not_dropped_unsaid(typed, tmp_path):
    """A probe: a typed quantity of "3", true, [1], {"a": 1} or "NaN" was dropped without a note (the word's text was
    read instead), while the same values in the item field were each named."""
    annotation = [*_ls_region("q", 50, "2", "QUANTITY"),
                  {"id": "q", "type": "number", "from_name": "quantity", "value": {"number": typed}}]
    report = _ls_import(tmp_path, [{"id": 22, "data": {}, "annotations": [{"result": annotation}]}])
    [doc] = report.documents
    assert [(w.text, w.annotation_label, w.quantity_value) for w in doc.words] == [("2", "QUANTITY", 2.0)]
    assert any("region q: the typed quantity" in p and "is not a number" in p and "the typed value was dropped" in p
               for p in report.problems), report.problems


def test_a_label_studio_word_is_counted_once_against_the_word_limit(tmp_path):
    """This app's own export of a 4,116-word receipt did not import again: each word is 4–5 results (rectangle,
    transcription, label, numbers), and the limit counted results ("20,578 words")."""
    results = [r for i in range(4) for r in _ls_region(f"w{i}", 10 + 20 * i, f"w{i}", "OTHER")]
    assert len(results) == 12
    report = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": results}]}],
                        ImportLimits(max_words=4))
    assert len(report.documents) == 1 and len(report.documents[0].words) == 4
    over = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": results}]}],
                      ImportLimits(max_words=3))
    assert not over.documents and any("the document has 4 words, over the limit of 3" in p for p in over.problems)


def test_a_quantity_printed_negative_or_in_exponent_form_is_no_count_and_said(tmp_path):
    """A probe's CORD cnt "-2" was stored as 2 and "1e308" as 1; a Label Studio QUANTITY "-3" as 3."""
    words = [{"text": text, "quad": {"x1": 10, "y1": 10 + 20 * i, "x2": 30, "y2": 10 + 20 * i, "x3": 30,
                                     "y3": 20 + 20 * i, "x4": 10, "y4": 20 + 20 * i}}
             for i, text in enumerate(["-2", "1e308", "3"])]
    record = {"meta": {"image_size": {"width": 100, "height": 100}}, "valid_line": [
        {"category": "menu.cnt", "group_id": 1, "words": [word]} for word in words]}
    (tmp_path / "cord").mkdir()
    (tmp_path / "cord" / "receipt_1.json").write_text(json.dumps(record))
    record["valid_line"][2]["group_id"] = -1  # dropped unsaid before (Label Studio's importer said it)
    (tmp_path / "cord" / "receipt_1.json").write_text(json.dumps(record))
    report = load_dataset(tmp_path / "cord", "cord")
    assert [w.quantity_value for w in report.documents[0].words] == [None, None, 3.0]
    assert [w.group_id for w in report.documents[0].words] == [1, 1, None]
    assert any("valid_line[2] has group_id -1, not a whole number from 0 to 1,000,000,000; its words are in no "
               "item" in p
               for p in report.problems), report.problems
    noted = [p for p in report.problems if "its number is no count" in p]
    assert len(noted) == 2 and "'-2'" in noted[0] and "'1e308'" in noted[1]
    ls = _ls_import(tmp_path, [{"id": 1, "data": {}, "annotations": [{"result": _ls_region("q", 10, "-3",
                                                                                           "QUANTITY")}]}])
    assert ls.documents[0].words[0].quantity_value is None
    assert any("region q '-3': labelled as a quantity but its number is no count" in p for p in ls.problems)


def test_word_texts_are_cleaned_as_a_typed_word_must_be_and_said(tmp_path):
    """A probe imported words holding NUL, a newline, a terminal escape, a tab, DEL and a line separator unsaid;
    Corrections refuses the same from a person."""
    texts = ["A\x00B", "A\nB", "\x1b[31mRED\x1b[0m", "tab\there", "\x7f", "a\u2028b", "ok"]
    words = [{"text": text, "quad": {"x1": 10, "y1": 10 + 20 * i, "x2": 30, "y2": 10 + 20 * i, "x3": 30,
                                     "y3": 20 + 20 * i, "x4": 10, "y4": 20 + 20 * i}} for i, text in enumerate(texts)]
    (tmp_path / "cord").mkdir()
    (tmp_path / "cord" / "r.json").write_text(json.dumps({"meta": {"image_size": {"width": 100, "height": 200}},
                                                          "valid_line": [{"category": "menu.nm", "words": words}]}))
    report = load_dataset(tmp_path / "cord", "cord")
    assert [w.text for w in report.documents[0].words] == ["AB", "A B", "[31mRED[0m", "tab here", "a b", "ok"]
    assert report.problems == ("r.json: 5 words held line breaks, tabs or control characters, cleaned as a typed "
                               "word must be (for example word 0 'A\\x00B' → 'AB'); 1 word without text (empty, or "
                               "only spaces or control characters) dropped",)


def test_ids_that_look_alike_in_two_unicode_forms_are_one_id(tmp_path):
    """A probe imported 'café' composed and decomposed as two receipts that every picker showed alike; the
    decomposed one is stored composed (NFC), so it is the same id, which a native import takes once, and both
    notes say so."""
    from receipt_core.datasets.native import save_native

    word = (Word(text="TOTAL", box=(1, 1, 9, 9), field="TOTAL"),)
    folder = tmp_path / "native"
    save_native([Document(id="caf\u00e9", width=50, height=50, words=word),
                 Document(id="cafe\u0301", width=50, height=50, words=word)], folder)
    report = load_dataset(folder, "native")
    assert [d.id for d in report.documents] == ["caf\u00e9"]
    assert any("document id 'cafe\\u0301' stored in composed Unicode (NFC) as 'caf\\xe9'" in p
               for p in report.problems), report.problems
    assert any("was already imported from caf-" in p and p.endswith(
        "in this import; skipped (each receipt needs its own id)") for p in report.problems), report.problems


def test_a_json_object_naming_a_key_twice_is_refused_not_read_one_way(tmp_path):
    """A probe: {"text": "1", "text": "7"} imported as "7" unsaid (json.loads keeps the last)."""
    folder = tmp_path / "native"
    folder.mkdir()
    good = Document(id="ok", width=50, height=50, words=(Word(text="TOTAL", box=(1, 1, 9, 9), field="TOTAL"),))
    (folder / "ok.json").write_text(json.dumps(good.to_json()))
    (folder / "twice.json").write_text('{"id": "twice", "width": 50, "height": 50, "words": '
                                       '[{"text": "1", "text": "7", "box": [1, 1, 9, 9]}]}')
    report = load_dataset(folder, "native")
    assert [d.id for d in report.documents] == ["ok"]
    assert report.problems == ("twice.json: not a readable JSON file (an object names the key 'text' twice; which "
                               "one is meant cannot be known, so remove one); skipped",), report.problems


def test_an_export_never_names_a_file_as_a_windows_device():
    """A receipt id "CON" (or "nul.txt", "r1.") gave an export file Windows cannot write; such ids get a safe stem
    with their hash, as ids with odd characters do."""
    from receipt_core.data.files import file_stems

    assert not file_stems(["ТОТАЛ-id"])["ТОТАЛ-id"].startswith("-")  # probe 34: "-id-…" read as an option
    stems = file_stems(["CON", "nul.txt", "r1.", "cord-ok"])
    assert stems["cord-ok"] == "cord-ok"
    assert all(stems[name] != name and stems[name].split("-")[0] in ("CON", "nul.txt", "r1")
               for name in ("CON", "nul.txt", "r1.")), stems


def test_a_huge_meta_is_dropped_and_said_not_stored(tmp_path):
    """A probe's Label Studio tasks each carried 25 MB of data.meta: imported unsaid, the database grew to 80 MB."""
    task = {"id": 1, "data": {"meta": {"junk": "A" * 100_000}}, "annotations": [{"result": _ls_region("w", 10, "ok")}]}
    report = _ls_import(tmp_path, [task, {**task, "id": 2, "data": {"meta": {"note": "kept"}}}])
    big, small = report.documents
    assert big.meta == {} and small.meta == {"note": "kept"}
    assert [p for p in report.problems if "meta" in p] == [
        "tasks.json task 1 (id 1): its meta holds 100,012 bytes, over the 65,536 kept for a receipt; dropped"]


def test_a_file_name_with_terminal_escapes_is_printed_escaped(workspace_home, tmp_path, capsys):
    """A probe: a downloaded dataset's file names reached the terminal raw in the problem lines, so a name could
    clear the screen, retitle the window or print a fake line of its own."""
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "receipt_00000.json").write_text(json.dumps(cord()))
    (folder / "\x1b]0;PWNED\x07\x1b[31mRED.json").write_text(json.dumps(cord()))
    (folder / "\x1b[2J\nproblem: fake.json").write_text("{bad")
    code, problems, output = import_cli(folder, "cord", capsys)
    assert code == 0 and not any(c in output for c in "\x1b\x07"), output
    assert "problem: \\x1b[2J\\x0aproblem: fake.json: not a readable JSON file" in output
    assert "the document id 'cord-\\x1b]0;PWNED\\x07\\x1b[31mRED' holds a control character (such as a newline, tab, " \
           "NUL or escape)" in output


def test_a_native_confidence_outside_0_to_100_and_an_empty_word_are_said(tmp_path):
    """A probe's native file: a word of confidence 200 was stored as is, and a word with text "" kept its TOTAL
    label, while "   " was dropped."""
    words = [{"text": "TOTAL", "box": [1, 1, 9, 9], "confidence": 200},
             {"text": "", "box": [10, 1, 19, 9], "field": "TOTAL"},
             {"text": "4.00", "box": [20, 1, 29, 9], "confidence": 87.5},
             {"text": "   ", "box": [30, 1, 39, 9]}]
    (tmp_path / "n.json").write_text(json.dumps({"id": "n", "width": 40, "height": 20, "words": words}))
    report = load_dataset(tmp_path, "native")
    [doc] = report.documents
    assert [(w.text, w.confidence) for w in doc.words] == [("TOTAL", None), ("4.00", 87.5)]
    assert sorted(report.problems) == [
        "n.json: 1 word with a confidence outside 0–100 (word 0: 200) read as having none",
        "n.json: 2 words without text (empty, or only spaces or control characters) dropped"]  # not "held tabs"


def test_a_number_of_thousands_of_digits_is_named_without_pythons_advice(tmp_path):
    """A probe's native width of 5,000 digits said "use sys.set_int_max_str_digits() to increase the limit"."""
    (tmp_path / "n.json").write_text('{"id": "n", "width": ' + "9" * 5000 + ', "height": 10, "words": []}')
    [problem] = load_dataset(tmp_path, "native").problems
    assert "a number of more than 4,300 digits, which no receipt value needs" in problem
    assert "sys." not in problem


def test_huge_values_in_a_record_are_named_short_not_echoed_whole(tmp_path):
    """A probe's WildReceipt box of a million numbers came back whole in one problem line (megabytes on the Data
    page); a CORD group id or category of a million characters, and a huge image name, likewise."""
    line = json.loads(wildreceipt_line("a.jpg"))
    line["annotations"][0]["box"] = list(range(10 ** 6))
    huge_name = json.loads(wildreceipt_line("x" * 10 ** 6 + ".jpg"))
    folder = wildreceipt_folder(tmp_path, [json.dumps(line), json.dumps(huge_name)])
    report = load_dataset(folder, "wildreceipt")
    assert all(len(p) < 300 for p in report.problems), [p[:300] for p in report.problems]
    assert "got a list of 1,000,000 items ([0, 1, 2" in report.problems[0]
    assert "got 'wildreceipt-xxxxxxxxxxxxxxxxxx'… (1,000,012 characters)" in report.problems[-1]
    word = {"text": "2", "quad": {"x1": 1, "y1": 1, "x2": 9, "y2": 1, "x3": 9, "y3": 9, "x4": 1, "y4": 9}}
    record = {"meta": {"image_size": {"width": 100, "height": 100}}, "valid_line": [
        {"category": "c" * 10 ** 6, "group_id": "g" * 10 ** 6, "words": [word]}]}
    (tmp_path / "cord").mkdir()
    (tmp_path / "cord" / "receipt_1.json").write_text(json.dumps(record))
    problems = load_dataset(tmp_path / "cord", "cord").problems
    assert len(problems) == 2 and all(len(p) < 300 for p in problems), [p[:300] for p in problems]


def test_a_folder_whose_json_files_are_in_subfolders_says_where_they_are(tmp_path):
    """A probe's folder of two subfolders of native files read "it holds no .json file"."""
    from receipt_core.datasets.detect import detect_format

    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "doc.json").write_text("{}")
    with pytest.raises(DatasetImportError, match="; its subfolders one/, two/ hold .json files: import each of them "
                                                 "on its own$"):
        detect_format(tmp_path)
    with pytest.raises(DatasetImportError, match=r"no native document files \(\*\.json\) in .*; its subfolders one/"):
        load_dataset(tmp_path, "native")
    (tmp_path / "two" / "doc.json").unlink()
    with pytest.raises(DatasetImportError, match="; its subfolder one/ holds .json files: import that folder$"):
        detect_format(tmp_path)
    # deeper down too: probe 48's zip of json/sub/x.json read "it holds no .json file", and nothing more
    deep = tmp_path / "deep"
    (deep / "json" / "sub").mkdir(parents=True)
    (deep / "json" / "sub" / "x.json").write_text("{}")
    with pytest.raises(DatasetImportError, match="it holds no .json file at its top or in json/ .*; .json files lie "
                                                 "deeper, in json/sub/ and perhaps beside it: import that folder, or "
                                                 "put CORD's files directly in json/$"):
        detect_format(deep)


def test_format_detection_reads_no_file_a_link_takes_out_of_the_folder(tmp_path):
    """A probe linked x.json in an imported folder to /etc/passwd, and to a Label Studio export outside: detection
    parsed both ("x.json: not a readable JSON file", "holds files of more than one format") before the import
    refused the link."""
    from receipt_core.datasets.detect import detect_format

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tasks.json").write_text(json.dumps([{"data": {"ocr": "x.png"}, "annotations": []}]))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(cord()))
    (folder / "b.json").symlink_to(outside / "tasks.json")
    (folder / "c.json").symlink_to("/etc/passwd")
    assert detect_format(folder) == "cord"  # the links are not read, so the one file inside decides
    (folder / "a.json").unlink()
    with pytest.raises(DatasetImportError) as refused:
        detect_format(folder)
    assert "it holds no .json file" in str(refused.value)  # the links are none of its files
    assert "c.json" not in str(refused.value) and "more than one format" not in str(refused.value)


def test_json_files_of_any_extension_case_are_read_and_those_left_out_are_said(tmp_path):
    """A probe's json/receipt_70001.JSON beside a .json: one receipt imported, nothing said; a native zip with 2 of
    its 8 documents in subfolders: 6 imported, nothing said."""
    cord_root = tmp_path / "cord" / "json"
    cord_root.mkdir(parents=True)
    (cord_root / "receipt_70000.json").write_text(json.dumps(cord()))
    (cord_root / "receipt_70001.JSON").write_text(json.dumps(cord()))
    report = load_dataset(tmp_path / "cord", "cord")
    assert len(report.documents) == 2 and not report.problems
    folder = tmp_path / "native"
    (folder / "sub").mkdir(parents=True)
    for name in ("a", "b"):
        (folder / f"{name}.json").write_text(json.dumps(native(name)))
    (folder / "C.Json").write_text(json.dumps(native("c")))
    (folder / "sub" / "d.json").write_text(json.dumps(native("d")))
    (folder / "sub" / "E.JSON").write_text(json.dumps(native("e")))
    report = load_dataset(folder, "native")
    assert sorted(d.id for d in report.documents) == ["a", "b", "c"]
    assert report.problems == ("2 JSON files under native left out (sub/E.JSON, sub/d.json): a native folder's "
                               "documents are the .json files at its top (Export writes them so); import a "
                               "subfolder on its own",)
