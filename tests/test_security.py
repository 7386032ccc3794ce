"""Issue 17, defects 1, 2, 5, 7: names that cannot escape, user strings never rendered as Markdown, run.json that
cannot be trusted into harm, exports that neither overwrite silently nor hide from the user's other tools."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.datasets.export_zip import export_zip_bytes
from receipt_core.model.checkpoint import RUN_FILE, CheckpointError, load_checkpoint, read_run_info
from receipt_core.model.checkpoint import checkpoint_step
from receipt_core.model.run_manifest import MANIFEST_KEY, signed_run_info
from receipt_core.ocr.engine import OcrResult
from receipt_core.workspace.store import Workspace, WorkspaceError
from ui.actions import ocr_and_store, store_ocr_results
from ui.literal import literal

REPO = Path(__file__).resolve().parent.parent
MARKDOWN_NAME = "[click me](https://evil.example/x) ![img](https://evil.example/t.png)"


def doc(doc_id: str = "r1") -> Document:
    return Document(id=doc_id, width=200, height=100, words=(Word(text="TOTAL", box=(10, 10, 60, 20), field="TOTAL"),))


# --- 1. a dataset name writes files anywhere -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../../../tmp/x/escape", "/tmp/x/escape", "..", "a/b", "a\\b"])
def test_upload_into_a_path_like_dataset_stores_nothing_and_export_stays_in_its_folder(name, workspace_home,
                                                                                       tmp_path):
    ws = Workspace(workspace_home)
    result = OcrResult(name="r.png", document=doc(), image=None, error=None)
    with pytest.raises(WorkspaceError, match="dataset name"):
        store_ocr_results(ws, name, [result], {"r.png": b"\x89PNG\r\n\x1a\nfake"})
    assert ws.list_documents() == [] and list(ws.images_dir.iterdir()) == []


@pytest.mark.parametrize("name, message", [
    ("café", "contains 'é'; use only ASCII letters (A-Z, a-z)"),  # é is a letter, just not an ASCII one
    ("cafe\u0301", "name 'cafe\\u0301' contains U+0301;"),  # a combining mark shown as its code, not on a quote
    ("cord  dev", "holds two spaces in a row, which show as one"),  # would look like 'cord dev' on every page
    # every bad character, not the first five (a walkthrough fixed five and was refused again)
    ("**ds** [a](http://x) :red[x] <b>b</b>", "contains '(', ')', '*', '/', ':', '<', '>', '[', ']'; use only"),
    ("!\"#$%&'()*+,/:;<=>?", "contains '!', '\"', '#', '$', '%', '&', \"'\", '(', ')', '*', '+', ',' and 7 more;"),
])
def test_a_refused_dataset_name_says_what_is_wrong_in_characters_a_reader_can_see(name, message):
    """Found by a probe."""
    from receipt_core.workspace.names import check_dataset_name

    with pytest.raises(WorkspaceError) as refused:
        check_dataset_name(name)
    assert message in str(refused.value)


def test_a_workspace_path_that_is_a_file_is_said_to_be_a_file(tmp_path):
    (tmp_path / "ws").write_text("not a folder")
    with pytest.raises(WorkspaceError, match="the workspace folder .*ws is a file, not a folder; point "
                                             "RECEIPT_STUDIO_HOME"):
        Workspace(tmp_path / "ws")


def test_a_refused_dataset_name_is_refused_before_any_ocr(workspace_home, monkeypatch):
    """The Data page's path: a name the workspace refuses costs no OCR time and writes nothing."""
    import ui.actions

    def no_ocr(*args, **kwargs):
        raise AssertionError("OCR ran for a dataset name that is refused")

    monkeypatch.setattr(ui.actions, "ocr_many", no_ocr)
    ws = Workspace(workspace_home)
    with pytest.raises(WorkspaceError, match="dataset name"):
        ocr_and_store(ws, "../../x", {"r.png": b"\x89PNG\r\n\x1a\nfake"})
    assert ws.list_documents() == [] and not (ws.home / "ocr-cache").exists()


def test_a_name_that_differs_from_a_stored_dataset_only_in_case_is_refused_before_any_ocr(workspace_home,
                                                                                          monkeypatch):
    """Found by a probe: 'Demo' beside 'demo' read as one name on every page (and is one folder on macOS)."""
    import ui.actions

    def no_ocr(*args, **kwargs):
        raise AssertionError("OCR ran for a dataset name that is refused")

    ws = Workspace(workspace_home)
    ws.save_documents("demo", [doc("r1")])
    monkeypatch.setattr(ui.actions, "ocr_many", no_ocr)
    message = "already has a dataset 'demo', and 'DEMO' differs from it only in letter case"
    with pytest.raises(WorkspaceError, match=message):
        ocr_and_store(ws, "DEMO", {"r.png": b"\x89PNG\r\n\x1a\nfake"})
    with pytest.raises(WorkspaceError, match=message):
        ws.save_documents("DEMO", [doc("r2")])
    assert [d.name for d in ws.datasets()] == ["demo"] and ws.check_dataset_name("demo") == "demo"
    ws.save_documents("demo", [doc("r2")])  # the same name adds to it
    assert len(ws.load_documents("demo")) == 2


def test_export_zip_of_a_legacy_path_like_dataset_writes_only_inside_its_temporary_folder(workspace_home, tmp_path,
                                                                                          monkeypatch):
    """A dataset stored before names were checked (written straight into the database) still exports safely."""
    ws = Workspace(workspace_home)
    ws.save_documents("legacy", [doc("r1")])
    escape = tmp_path / "x" / "escape"
    with ws._write() as conn:
        conn.execute("UPDATE documents SET dataset = ?", (f"../../../../../..{escape}",))
    name = ws.datasets()[0].name
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    data = export_zip_bytes(ws, name, "native")
    assert not escape.exists() and not (tmp_path / "x").exists()
    names = zipfile.ZipFile(__import__("io").BytesIO(data)).namelist()
    assert names == ["dataset-native/r1.json"]


# --- 2. user strings rendered as Markdown -----------------------------------------------------------------------


def test_literal_wraps_any_text_in_one_code_span_it_cannot_leave():
    """CommonMark: a code span opened by N backticks closes only at a run of exactly N; inside it nothing is
    Markdown (links, images, emphasis, Streamlit directives). A blank line would end the paragraph: none remain."""
    import re

    for text in (MARKDOWN_NAME, "a ``` b `c`", "`x`", ":red[boom] :material/home:", "line\n\nnext **bold**", ""):
        shown = literal(text)
        fence = re.match(r"`+", shown).group(0)
        inner = shown[len(fence):-len(fence)]
        assert shown.endswith(fence) and inner.startswith(" ") and inner.endswith(" ")
        assert fence not in [run for run in re.findall(r"`+", inner)], shown
        assert "\n" not in shown
        assert inner.strip() == " ".join(text.split())
    # a right-to-left override would show "invoice\u202egnp.exe" as "invoiceexe.png": its escape is shown instead
    assert literal("invoice\u202egnp.exe") == "` invoice\\u202egnp.exe `"
    assert "\u2066" not in literal("a\u2066b")


def test_a_notice_shows_its_quotes_as_code_and_its_prose_plain_unless_the_prose_could_be_markup():
    """A walkthrough read Undo's notice entirely in code font; a user's text stays a code span either way."""
    from ui.literal import notice_markdown

    assert notice_markdown("Undid the last label change, which was word #1 'TOTAL'; the receipt is as it was "
                           "before it.") == ("Undid the last label change, which was word #1 ` TOTAL `; the receipt "
                                             "is as it was before it.")
    assert notice_markdown(f"word 4: text {MARKDOWN_NAME!r} -> \"it's\"") == \
        f"word 4: text {literal(MARKDOWN_NAME)} -> ` it's `"
    # an apostrophe in a word is prose, not a quote (a probe read "the workspace<code>s OCR cache … receipts</code>")
    assert notice_markdown("that is the workspace's OCR cache: import the receipts' images, or 'x' instead") == \
        "that is the workspace's OCR cache: import the receipts' images, or ` x ` instead"
    # a quote shows what was typed, not its Python escapes (a probe saw `foo\\` and `it\'s`); prose keeps no
    # invisible character
    assert notice_markdown(f"text {'foo' + chr(92)!r} and {chr(39) + 'x'!r}; a\u202eb") == \
        f"text {literal('foo' + chr(92))} and {literal(chr(39) + 'x')}; a\\u202eb"
    # a busy slot's message names the run without quotes: a run named like Markdown showed as a live link there
    from receipt_core.training.slot import ActiveJob, busy_message

    from types import SimpleNamespace

    busy = busy_message(ActiveJob(run_id="r1", job=SimpleNamespace(status="running"), started_at=0.0,
                                  description=f"resumed · {MARKDOWN_NAME}"))
    assert notice_markdown(busy) == literal(busy)
    # prose that Markdown or Streamlit could read as markup: the whole sentence is one code span
    for prose in (f"renamed to {MARKDOWN_NAME}", "moved :red[x]", "see https://evil.example/x", "1. first",
                  "a\n# heading", "a <b>bold</b>", "a :smile: b"):
        assert notice_markdown(prose) == literal(prose), prose



def test_a_value_from_a_link_shows_the_whitespace_that_kept_it_from_matching():
    """A probe's ``?dataset=dev%0A`` read "Dataset `dev` from the link is not in this workspace", beside a dataset
    named dev: a newline, tab or odd space shows as its escape, spaces at the ends are said in words."""
    assert literal("dev\n", exact=True) == "` dev\\n `" and literal("dev\n") == "` dev `"
    assert literal("a\tb\u3000", exact=True) == "` a\\tb\\u3000 `"
    assert literal(" dev  ", exact=True) == "` dev ` (1 space before it and 2 spaces after it)"
    assert literal("   ", exact=True) == "`   ` (3 spaces only)"
    assert literal("[x](y) z", exact=True) == "` [x](y) z `"

def test_zero_width_and_other_invisible_characters_show_as_escapes_in_plain_and_literal_text():
    """"zero\u200bwidth" showed as "zerowidth": every format character (Unicode Cf) is shown as its escape, as the
    bidirectional controls already were; other text (accents, CJK, emoji) is kept."""
    from receipt_core.data.markup import one_line
    from ui.literal import plain

    for char in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u061c", "\u2066"):
        assert plain(f"zero{char}width") == f"zero\\u{ord(char):04x}width"
        assert literal(f"zero{char}width") == f"` zero\\u{ord(char):04x}width `"
    assert plain("tag\U000e0041") == "tag\\U000e0041"
    assert plain("café 中文 🧾\u00a0x") == "café 中文 🧾\u00a0x"
    # a picker's option is one line: a line break or tab in it shows as its escape, as a carriage return does (probe
    # 26: a file "nl\nname\r….png" showed as "nlname\x0d….png"); a block keeps each line as a line of its own
    from ui.literal import plain_lines, plain_text

    assert plain("nl\nname\r\tx.png") == "nl\\x0aname\\x0d\\x09x.png"
    assert plain_lines(["a\nb.png: refused", "c.png: ok"]) == "a\\x0ab.png: refused\nc.png: ok"
    assert plain_text("notes: line one\nline two\u202e") == "notes: line one\nline two\\u202e"
    # a joiner between two non-ASCII characters does its job (an emoji sequence, a Devanagari or Persian word) and
    # stays; between Latin letters, at an end or beside a space it hides something and shows as its escape
    for kept in ("👩\u200d💻", "क्\u200dष", "می\u200cخواهم"):
        assert plain(kept) == kept and literal(kept) == f"` {kept} `"
    assert plain("\u200d👩 \u200d💻\u200d") == "\\u200d👩 \\u200d💻\\u200d"
    # letters that draw nothing though Python calls them printable (a probe's tag of two U+3164 was an empty cell)
    for char in ("\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"):
        escape = f"\\u{ord(char):04x}"
        assert plain(f"a{char}") == f"a{escape}" and literal(char * 2) == f"` {escape * 2} `"
        assert one_line(f"tag{char}\n") == f"tag{escape}\\x0a"
    assert plain("한국어") == "한국어"  # Hangul itself is left alone


def test_a_file_name_with_a_right_to_left_override_shows_its_escape_in_pickers_and_problem_lists(workspace_home):
    from streamlit.testing.v1 import AppTest

    from ui.literal import plain

    # a picker shows one line: the line break and tab as escapes too (probe 26)
    assert plain("invoice\u202efdp.exe.png\x00\nnext\tcell") == "invoice\\u202efdp.exe.png\\x00\\x0anext\\x09cell"
    ws = Workspace(workspace_home)
    ws.save_documents("rtl", [Document(id="ocr-1", width=10, height=10, words=(), source="invoice\u202efdp.exe.png")])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/data.py").run()
    picker = at.selectbox(key="data_doc")
    assert picker.format_func("ocr-1") == "invoice\\u202efdp.exe.png · ocr-1"


def test_the_data_page_shows_a_markdown_dataset_name_as_text(workspace_home):
    """Data → Receipts (caption) and Export (subheader) with a legacy dataset named like a Markdown link."""
    from streamlit.testing.v1 import AppTest

    ws = Workspace(workspace_home)
    ws.save_documents("legacy", [doc("r1")])
    with ws._write() as conn:
        conn.execute("UPDATE documents SET dataset = ?", (MARKDOWN_NAME,))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception
    shown = [e.value for e in at.caption] + [e.value for e in at.subheader]
    with_name = [text for text in shown if "evil.example" in text]
    assert len(with_name) >= 2, shown
    for text in with_name:
        assert literal(MARKDOWN_NAME) in text, text


def test_no_page_puts_a_dataset_name_in_markdown_unescaped():
    """A source scan: on the pages, a Markdown-rendering call with a dataset/target/name/path f-string field
    must wrap it in literal()."""
    import re

    risky = re.compile(r"st\.(markdown|caption|subheader|success|info|warning|error|toast)\(f[\"'].*\{(dataset|target"
                       r"|name|path|doc_id|problem|note)[^}]*\}")
    offenders = []
    for file in sorted((REPO / "pages").glob("*.py")) + sorted((REPO / "ui").glob("*.py")):
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if risky.search(line):
                offenders.append(f"{file.name}:{number}: {line.strip()}")
    assert offenders == []


# --- 5. run.json is trusted ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    from conftest import require_shared_data
    from receipt_core.datasets import load_dataset
    from receipt_core.training.config import TrainConfig
    from receipt_core.training.receipt_task import build_task
    from recorded_job import RecordedJob

    docs = load_dataset(require_shared_data("cord", "train"), "cord").documents[:4]
    config = TrainConfig(backbone="tiny", scenario="full", epochs=1, batch_size=4, lr=3e-3, seed=3)
    run_dir = tmp_path_factory.mktemp("run")
    job = RecordedJob(lambda: build_task(config, docs, (), run_dir), config)
    job.start()
    assert job.join(timeout=120)
    return run_dir


def edited(checkpoint: Path, tmp_path: Path, change, sign: bool) -> Path:
    run_dir = tmp_path / "copy"
    shutil.copytree(checkpoint, run_dir)
    info = json.loads((run_dir / RUN_FILE).read_text())
    change(info)
    (run_dir / RUN_FILE).write_text(json.dumps(signed_run_info(info) if sign else info))
    return run_dir


def test_a_saved_run_json_carries_its_content_hash_and_loads(checkpoint):
    info = read_run_info(checkpoint)
    assert len(info[MANIFEST_KEY]) == 64
    assert checkpoint_step(checkpoint) == info["state"]["global_step"] >= 1
    load_checkpoint(checkpoint)


def test_an_edited_head_dropout_is_detected(checkpoint, tmp_path):
    run_dir = edited(checkpoint, tmp_path, lambda info: info["model"].update(head_dropout=0.5), sign=False)
    with pytest.raises(CheckpointError, match="edited after it was saved"):
        load_checkpoint(run_dir)


def set_in(path: str, value):
    def change(info):
        target = info
        *parents, key = path.split(".")
        for parent in parents:
            target = target[parent]
        target[key] = value
    return change


# (dotted key, value, phrase): each re-signed, so only the schema can refuse it
HOSTILE_RUN_VALUES = {
    "huge-intermediate": ("backbone_config.intermediate_size", 200_000_000, "intermediate_size"),
    "huge-vocab": ("backbone_config.vocab_size", 10 ** 9, "vocab_size"),
    "many-layers": ("backbone_config.num_hidden_layers", 100_000, "num_hidden_layers"),
    "max-length-text": ("config.max_length", "abc", "config.max_length"),
    "dropout-text": ("model.head_dropout", "0.1", "head_dropout"),
    "fields-huge": ("model.num_fields", 10 ** 30, "num_fields"),
    "layout-text": ("model.uses_layout", "yes", "uses_layout"),
    "step-negative": ("state.global_step", -1, "global_step"),
    # a probe: each of these was read unchecked, and failed later in a resume, the Runs table or the estimate
    "items-seen-text": ("state.items_seen", "abc", "'state.items_seen' must be a whole number"),
    "step-in-epoch-fraction": ("state.step_in_epoch", 1.5, "'state.step_in_epoch' must be a whole number"),
    "phase-started-list": ("state.phase_started_epoch", [1], "'state.phase_started_epoch' must be a whole number"),
    "phase-four": ("state.phase", 4, "'state.phase' must be a whole number from 1 to 3"),
    "elapsed-negative": ("state.elapsed_s", -5, "'state.elapsed_s' must be a number from 0"),
    "best-loss-text": ("state.best_val_loss", "low", "'state.best_val_loss' must be a number"),
    "metrics-list": ("state.last_metrics", [], "'state.last_metrics' must be an object"),
    "last-metric-text": ("state.last_metrics", {"val_loss": "low"}, "'state.last_metrics.val_loss' must be a number"),
    # a twelfth probe: evaluate and predict failed with "unexpected TypeError", and a score of "abc" loaded
    "run-metrics-list": ("metrics", [1, 2], "'metrics' must be an object of scores"),
    "run-metrics-null": ("metrics", None, "'metrics' must be an object of scores"),
    "run-metric-text": ("metrics", {"fields.micro_f1": "abc"}, "'metrics.fields.micro_f1' must be a number"),
    "run-metric-huge": ("metrics", {"documents": 10 ** 30}, "'metrics.documents' must be a number from -1e"),
    "per-label-text": ("metrics", {"fields.per_label": {"TOTAL": {"f1": "x"}}},
                       "'metrics.fields.per_label.TOTAL.f1' must be a number"),
    "metrics-too-deep": ("metrics", {"a": {"b": {"c": {"d": 1}}}}, "'metrics.a.b.c' nests scores deeper than a run "
                         "saves them"),
    # a probe: a bare "unexpected KeyError: 'bogus'" from building the model
    "activation-unknown": ("backbone_config.hidden_act", "bogus", "'backbone_config.hidden_act' 'bogus' is not an "
                           "activation transformers knows"),
}


@pytest.mark.parametrize("case", list(HOSTILE_RUN_VALUES))
def test_a_run_json_out_of_range_is_refused_before_anything_is_built(case, checkpoint, tmp_path, monkeypatch):
    key, value, phrase = HOSTILE_RUN_VALUES[case]
    run_dir = edited(checkpoint, tmp_path, set_in(key, value), sign=True)
    import receipt_core.model.backbones as backbones

    monkeypatch.setattr(backbones, "layoutlm_from_config",
                        lambda *a, **k: pytest.fail("a backbone was built from an invalid run.json"))
    with pytest.raises(CheckpointError, match=phrase):
        load_checkpoint(run_dir)


def test_a_files_entry_outside_the_run_folder_is_never_opened(checkpoint, tmp_path, monkeypatch):
    secret = tmp_path / "outside" / "secret.json"
    secret.parent.mkdir()
    secret.write_text("{}")

    def change(info):
        info["files"]["../../outside/secret.json"] = "0" * 64
    run_dir = edited(checkpoint, tmp_path, change, sign=True)
    import receipt_core.model.checkpoint as checkpoint_module

    opened = []
    real = checkpoint_module.sha256_file
    monkeypatch.setattr(checkpoint_module, "sha256_file", lambda path: opened.append(Path(path)) or real(path))
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(run_dir)
    assert "not a plain file name inside the run folder" in str(error.value)
    assert str(secret) not in str(error.value) and secret.resolve() not in [p.resolve() for p in opened]


def test_a_roll_forward_never_renames_files_outside_the_run_folder(checkpoint, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(checkpoint, run_dir)
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    planted = tmp_path / "victim.txt.tmp"
    planted.write_text("planted")
    import hashlib

    info = json.loads((run_dir / RUN_FILE).read_text())
    info["files"] = {"../victim.txt": hashlib.sha256(b"planted").hexdigest()}
    (run_dir / (RUN_FILE + ".tmp")).write_text(json.dumps(info))
    read_run_info(run_dir)
    assert victim.read_text() == "original" and planted.exists()
    assert not (run_dir / (RUN_FILE + ".tmp")).exists()


def test_a_run_json_nested_deep_or_huge_is_a_checkpoint_error(checkpoint, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(checkpoint, run_dir)
    (run_dir / RUN_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nests 100,000 levels deep"):
        load_checkpoint(run_dir)


def test_an_old_checkpoint_without_the_hash_loads_with_a_warning(checkpoint, tmp_path, caplog):
    run_dir = edited(checkpoint, tmp_path, lambda info: info.pop(MANIFEST_KEY), sign=False)
    with caplog.at_level("WARNING"):
        load_checkpoint(run_dir)
    assert "no manifest_sha256" in caplog.text
    def unsigned_and_huge(info):
        info.pop(MANIFEST_KEY)
        info["backbone_config"]["intermediate_size"] = 2 * 10 ** 8
    bad = edited(checkpoint, tmp_path / "b", unsigned_and_huge, sign=False)
    with pytest.raises(CheckpointError, match="intermediate_size"):  # the schema still applies to old files
        load_checkpoint(bad)


# --- 7. export into an existing folder; file modes ---------------------------------------------------------------


def test_export_refuses_a_non_empty_folder_unless_forced_and_files_follow_the_umask(workspace_home, tmp_path, capsys):
    Workspace(workspace_home).save_documents("d", [doc("r1")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "r1.json").write_text("mine")
    assert main(["export", "--out", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err and (out / "r1.json").read_text() == "mine"
    old = os.umask(0o022)
    try:
        assert main(["export", "--out", str(out), "--force"]) == 0
        assert main(["export", "--out", str(tmp_path / "fresh")]) == 0
    finally:
        os.umask(old)
    assert json.loads((out / "r1.json").read_text())["id"] == "r1"
    assert stat.S_IMODE((tmp_path / "fresh" / "r1.json").stat().st_mode) == 0o644
    (tmp_path / "a-file").write_text("x")
    assert main(["export", "--out", str(tmp_path / "a-file")]) == 2
    assert "is a file" in capsys.readouterr().err


# --- 8. train --out onto a file ------------------------------------------------------------------------------


def test_train_out_onto_a_file_fails_at_once_before_loading_anything(tmp_path, capsys, monkeypatch):
    import receipt_core.cli.train_command as train_command  # patched where it is used: a patch of cli.sources

    # taken by a first import of train_command under it stayed in that worker, and failed a later test there
    monkeypatch.setattr(train_command, "load_training_documents", lambda *a, **k: pytest.fail("documents were loaded"))
    target = tmp_path / "model.bin"
    target.write_text("not a folder")
    assert main(["train", "--train", str(tmp_path), "--eval", str(tmp_path), "--format", "native", "--backbone", "tiny",
                 "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --out {target} is a file, not a folder; choose a new or empty "
                                        "folder"]
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("command", [
    ["reference", "--train", "DATA", "--eval", "DATA", "--backbone", "tiny", "--epochs", "1"],
    ["pretrain", "--data", "DATA", "--backbone", "tiny", "--epochs", "1"],
    ["study", "--train", "DATA", "--eval", "DATA"]])
def test_every_command_that_trains_refuses_out_onto_a_file_before_training(command, tmp_path, capsys):
    """Found by the adversarial probe: reference and pretrain trained to the end, then failed to save."""
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "model.bin"
    target.write_text("not a folder")
    argv = [str(data) if arg == "DATA" else arg for arg in command] + ["--format", "native", "--out", str(target)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --out {target} is a file, not a folder; choose a new or empty folder"]
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "-1"], "error: argument --epochs: must be at least 1, got -1 (see: python -m receipt_core "
                                  "train --help)"),
    (["study", "--repeats", "0"], "error: argument --repeats: must be at least 1, got 0 (see: python -m "
                                  "receipt_core study --help)"),
    (["nosuch"], "error: argument COMMAND: invalid choice: 'nosuch'")])
def test_a_usage_error_is_one_line_without_the_usage_block(argv, message, capsys):
    """Found by the adversarial probe: argparse printed its ~20-line usage block before the error."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_a_special_file_is_named_as_such_not_as_missing(capsys):
    assert main(["import", "/dev/null"]) == 2
    assert capsys.readouterr().err.strip() == ("error: /dev/null is not a folder or a regular file; give a dataset "
                                               "folder or file")


def test_train_out_into_a_folder_of_other_files_is_refused_before_loading_anything(tmp_path, capsys, monkeypatch):
    import receipt_core.cli.train_command as train_command  # patched where it is used: a patch of cli.sources

    # taken by a first import of train_command under it stayed in that worker, and failed a later test there
    monkeypatch.setattr(train_command, "load_training_documents", lambda *a, **k: pytest.fail("documents were loaded"))
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "IMG_1.jpg").write_bytes(b"mine")
    assert main(["train", "--train", str(tmp_path), "--eval", str(tmp_path), "--format", "native", "--backbone",
                 "tiny", "--out", str(tmp_path / "photos")]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "photos").iterdir()] == ["IMG_1.jpg"]


# --- a server path typed on a page (Data → Import, Train's LayoutLM folder) ---------------------------------


def test_server_folders_keep_a_typed_path_inside_them_whatever_it_names(tmp_path):
    from receipt_core.workspace.server_folders import (SERVER_FOLDERS_ENV, OutsideServerFoldersError,
                                                        ServerFolders)

    home = tmp_path / "workspace"
    (home / "import" / "cord").mkdir(parents=True)
    (home / "link-out").symlink_to("/etc")
    folders = ServerFolders.for_workspace(home, environ={})
    assert folders.roots[0] == home.resolve()
    assert folders.resolve(f"  {home}/import/cord ") == home / "import" / "cord"
    assert folders.resolve(f"{home}/not-yet") == home / "not-yet"  # inside: its absence is the next check's to say
    refusals = set()
    for typed in ("/etc/passwd", "/no/such/folder", f"{home}/../outside", f"{home}/link-out/passwd", "~nobody-x/y",
                  ""):
        with pytest.raises(OutsideServerFoldersError) as refused:
            folders.resolve(typed)
        # one message but for the path as typed (made absolute, its links not followed): nothing else told
        refusals.add(str(refused.value).replace(os.path.normpath(typed), "PATH", 1) if typed else str(refused.value))
    assert len(refusals - {"type the path of a folder or file on the server"}) == 1, refusals
    said = next(iter(refusals - {"type the path of a folder or file on the server"}))
    assert said.startswith("PATH is outside the folders the dashboard reads (") and SERVER_FOLDERS_ENV in said
    assert "upload it as a zip" not in said  # Train's LayoutLM folder has no upload (walkthrough 52)
    # a relative path is read from the workspace first (walkthrough 52's runs/<id>/backbone was refused)
    assert folders.resolve("import/cord") == home.resolve() / "import" / "cord"
    with pytest.raises(OutsideServerFoldersError, match=f"^{re.escape(str(home.resolve().parent))}/outside is "):
        folders.resolve("../outside")
    # a link inside that loops is said to loop (probe 68 read "is outside the folders" of one in the workspace), one
    # outside is refused in the one message, which tells nothing of it
    (home / "loop").symlink_to(home / "loop")
    (tmp_path / "outside-loop").symlink_to(tmp_path / "outside-loop")
    for typed in (f"{home}/loop", "loop", f"{home}/./loop"):
        with pytest.raises(OutsideServerFoldersError, match=f"^{re.escape(str(home))}/loop is a symbolic link that "
                                                            "loops"):
            folders.resolve(typed)
    with pytest.raises(OutsideServerFoldersError, match="is outside the folders the dashboard reads"):
        folders.resolve(f"{tmp_path}/outside-loop")
    # each with its own cause, not a list of three (probe 44)
    with pytest.raises(OutsideServerFoldersError, match="cannot name a file: it holds a NUL character$"):
        folders.resolve(f"{home}/a\x00b")
    with pytest.raises(OutsideServerFoldersError, match="cannot name a file: one of its names is 300 characters "
                                                        "long, over the 255 a file name may have$"):
        folders.resolve(f"{home}/{'a' * 300}")  # inside, but the file system would answer "[Errno 36]"
    with pytest.raises(OutsideServerFoldersError,
                       match="it is [0-9,]+ characters long, over the 4,096 a path may have$"):
        folders.resolve(f"{home}/" + "/".join(["a" * 200] * 25))
    only = ServerFolders.for_workspace(home, environ={SERVER_FOLDERS_ENV: f"{tmp_path}/models{os.pathsep} "})
    assert only.roots == ((tmp_path / "models").resolve(),)
    with pytest.raises(OutsideServerFoldersError):
        only.resolve(str(home))
    # the OCR cache holds what every OCR'd receipt said, deleted and Predict-only ones once: a probe imported it
    (home / "ocr-cache").mkdir()
    (home / "to-cache").symlink_to(home / "ocr-cache")
    listed = ServerFolders.for_workspace(home, environ={SERVER_FOLDERS_ENV: str(home)})
    for typed in (f"{home}/ocr-cache", f"{home}/ocr-cache/", f"{home}/import/../ocr-cache/x.json", f"{home}/to-cache"):
        for server in (folders, listed):
            with pytest.raises(OutsideServerFoldersError, match="the workspace's OCR cache"):
                server.resolve(typed)


def test_a_missing_shared_data_folder_is_named_not_silently_left_out(tmp_path, monkeypatch):
    """A walkthrough's checkout had no ../shared/data beside it: the folder the README promised was just not listed."""
    from receipt_core.workspace import server_folders as module

    checkout = tmp_path / "elsewhere" / "checkout"
    (checkout / "assets").mkdir(parents=True)
    monkeypatch.setattr(module, "_CHECKOUT", checkout)
    lonely = module.ServerFolders.for_workspace(tmp_path / "home", environ={})
    assert lonely.absent_shared == tmp_path / "elsewhere" / "shared" / "data"
    assert lonely.roots == ((tmp_path / "home").resolve(), (checkout / "assets").resolve())
    (tmp_path / "elsewhere" / "shared" / "data").mkdir(parents=True)
    beside = module.ServerFolders.for_workspace(tmp_path / "home", environ={})
    assert beside.absent_shared is None and len(beside.roots) == 3
    chosen = module.ServerFolders.for_workspace(tmp_path / "home", environ={module.SERVER_FOLDERS_ENV: str(tmp_path)})
    assert chosen.absent_shared is None  # the folders were named: nothing is missing from them


def test_the_data_page_imports_only_inside_the_server_folders(workspace_home, tmp_path):
    from streamlit.testing.v1 import AppTest

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "tasks.json").write_text("[]")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/data.py").run()
    errors = []
    for typed in (str(outside), "/etc/passwd", "/no/such/folder"):
        at.text_input(key="import_path").set_value(typed).run()
        at.button(key="import_button").click().run()
        assert not at.exception and not at.success
        errors.append([e.value for e in at.main.error])
    # the same whatever the path, but for the path itself (walkthrough 52 could not tell what path was checked)
    assert all(len(e) == 1 for e in errors) and len({e[0].replace(typed, "PATH") for e, typed in zip(
        errors, (str(outside), "/etc/passwd", "/no/such/folder"))}) == 1, errors
    assert "is outside the folders the dashboard reads" in errors[0][0] and str(outside) in errors[0][0]
    assert str(workspace_home.resolve()) in errors[0][0] and "(or upload it as a zip)" in errors[0][0]
    at.text_input(key="import_path").set_value(str(workspace_home / "missing")).run()
    at.button(key="import_button").click().run()
    assert any("does not exist" in e.value for e in at.main.error)



def test_a_users_error_is_one_log_line_and_a_bug_keeps_its_traceback(caplog):
    from receipt_core.workspace.server_folders import OutsideServerFoldersError
    from ui.shared import user_errors

    with caplog.at_level("WARNING", logger="receipt_studio"):
        with user_errors("Import"):
            raise OutsideServerFoldersError("the dashboard reads server paths only inside /w")
        with user_errors("Drawing"):
            raise ZeroDivisionError("division by zero")
        # what a user typed reaches the log escaped, as the CLI's error lines: a probe's study folder name
        # "\x1b]0;PWNED\x07…" retitled and cleared the terminal running the server
        with user_errors("Opening the study"):
            raise FileNotFoundError("/w/studies/\x1b]0;PWNED\x07\x1b[2J does not exist")
        with user_errors("Reading"):
            raise KeyError("\x1b[31mred")
    user, bug, typed, typed_bug = [r for r in caplog.records if r.name == "receipt_studio"]
    assert (user.levelname, user.getMessage(), user.exc_info) == (
        "WARNING", "Import failed: the dashboard reads server paths only inside /w", None)
    assert bug.levelname == "ERROR" and bug.getMessage().startswith("Drawing failed\nTraceback (most recent call")
    assert bug.getMessage().endswith("ZeroDivisionError: division by zero")  # the traceback kept, line by line
    assert "\x1b" not in typed.getMessage() and "\\x1b]0;PWNED\\x07\\x1b[2J" in typed.getMessage()
    assert "\x1b" not in typed_bug.getMessage() and "\\x1b[31mred" in typed_bug.getMessage()


def test_a_checkpoint_zip_leaves_out_links_and_linked_folders(tmp_path):
    """A probe linked a run folder's notes.txt to /etc/passwd and a tokenizer file to a secret: Runs' checkpoint
    zip packed both targets in."""
    import io
    import zipfile

    from receipt_core.data.files import zip_folder

    run = tmp_path / "runs" / "r1"
    (run / "tokenizer").mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"weights")
    (run / "tokenizer" / "tokenizer.json").write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    (run / "notes.txt").symlink_to(secret)
    (run / "tokenizer" / "added_tokens.json").symlink_to(secret)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_text("root:x:0:0")
    (run / "linked-folder").symlink_to(tmp_path / "elsewhere")
    with zipfile.ZipFile(io.BytesIO(zip_folder(run))) as archive:
        assert sorted(archive.namelist()) == ["r1/model.safetensors", "r1/tokenizer/tokenizer.json"]


def test_a_checkpoint_zip_refuses_a_linked_run_folder_and_one_grown_past_its_size(tmp_path):
    """A probe linked a run folder to a folder outside the workspace holding a secret: the Runs page's zip packed
    that folder's files, and a link to a large tree would have been read whole into the server's memory."""
    from receipt_core.data.files import zip_folder

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "r1").symlink_to(outside)
    with pytest.raises(ValueError, match="r1 is a link to another folder"):
        zip_folder(tmp_path / "runs" / "r1")
    (outside / "model.safetensors").write_bytes(bytes(3000))
    with pytest.raises(ValueError, match="more than the 0 MB"):
        zip_folder(outside, max_bytes=2000)
    assert len(zip_folder(outside, max_bytes=4000)) > 0
