"""The data commands through ``main([...])`` and through a real ``python -m receipt_core`` process."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from receipt_core.cli.main import main
from receipt_core.data.document import Document, Word
from receipt_core.training.config import TrainConfig
from receipt_core.datasets import load_dataset
from receipt_core.workspace.store import Workspace

REPO_ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECEIPT_STUDIO_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("RECEIPT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "receipt_core", *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=120)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_import_cord_prints_counts_and_problems(shared_data, workspace_home, capsys):
    assert main(["import", "--format", "cord", str(shared_data / "cord" / "train" / "json")]) == 0
    out, err = capsys.readouterr()
    assert f"imported 600 documents (14,530 words, 1 with images) into dataset 'cord-train' of {workspace_home}" in out
    assert "QUANTITY         1618" in out and "13 problems" in out
    assert "problem: receipt_00253.json: valid_line[3].words[0] (menu.nm): empty text; dropped" in err
    ws = Workspace.open()
    assert [(d.name, d.documents) for d in ws.datasets()] == [("cord-train", 600)]

    assert main(["import", "--dataset", "dev", str(shared_data / "cord" / "dev")]) == 0  # --format auto
    assert {d.name: d.documents for d in Workspace.open().datasets()} == {"cord-train": 600, "dev": 100}
    assert main(["import", str(shared_data / "cord" / "dev" / "json")]) == 2  # the same receipts: not moved
    assert "already in dataset 'dev'" in capsys.readouterr().err


def test_an_import_stopped_by_ctrl_c_stores_nothing_and_says_so(shared_data, workspace_home, capsys, monkeypatch):
    """A probe's Ctrl-C read only "error: interrupted"; the workspace held nothing of the import, which it did not
    say. The interrupt comes while the receipts are being stored, after the images."""
    from receipt_core.workspace.store import Workspace as Store

    def interrupted(self, dataset, documents, reviewed):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "import_documents", interrupted)
    assert main(["import", "--format", "cord", str(shared_data / "cord" / "dev" / "json")]) == 130
    assert capsys.readouterr().err == ("error: interrupted before the import finished; it stores all its receipts or "
                                       "none, so nothing of it was stored\n")
    monkeypatch.undo()
    assert Workspace.open().datasets() == []


def test_import_says_how_to_see_every_problem(tmp_path, workspace_home, capsys):
    """A probe read "56 problems (see stderr)" over 20 of them, with no way to the other 36."""
    from receipt_core.cli.data_commands import MAX_PROBLEMS_SHOWN

    folder = tmp_path / "native"
    folder.mkdir()
    for i in range(MAX_PROBLEMS_SHOWN + 5):
        (folder / f"bad{i:02}.json").write_text("{")
    (folder / "good.json").write_text(json.dumps({"id": "good", "width": 10, "height": 10, "words": []}))
    assert main(["import", "--format", "native", str(folder)]) == 0
    err = capsys.readouterr().err
    assert err.count("problem: bad") == MAX_PROBLEMS_SHOWN
    assert "problem: … and 5 more (--all-problems prints them all)" in err
    assert main(["import", "--format", "native", str(folder), "--all-problems"]) == 0
    err = capsys.readouterr().err
    assert err.count("problem: bad") == MAX_PROBLEMS_SHOWN + 5 and "more" not in err

def test_user_errors_are_one_line_with_exit_code_2(tmp_path, workspace_home, capsys):
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    cases = [
        (["import", "--format", "cord", str(tmp_path / "nowhere")], "does not exist"),
        # a probe: a path's terminal escapes retitled the window and recoloured the error
        (["import", str(tmp_path / "\x1b]0;TITLE\x07\x1b[31mred")], "\\x1b]0;TITLE\\x07\\x1b[31mred does not exist"),
        (["import", "--format", "native", str(tmp_path)], "no native document files"),
        (["import", str(tmp_path)], f"cannot tell the format of {tmp_path}: it holds no .json file"),
        # a second probe: auto mode hid why a JSON file could not be read
        (["import", str(tmp_path / "odd" / "latin1.json")],
         "cannot tell the format of latin1.json: not a readable JSON file (not UTF-8 text"),
        (["synth", "--out", str(tmp_path / "s"), "--count", "99999999999"], "over the 10,000 receipts"),
        # a ninth probe: synth took a seed no other command does, and a link loop read "does not exist"
        (["synth", "--out", str(tmp_path / "s"), "--count", "1", "--seed", str(10 ** 23)], "--seed must be from -9,"),
        (["import", str(tmp_path / "loop-a")], "loop-a is a link that leads nowhere (to itself, in a loop"),
        (["import", "--format", "cord", str(tmp_path / "loop-a")], "loop-a is a link that leads nowhere"),
        (["export", "--out", str(tmp_path / "out")], f"there is no workspace at {workspace_home} (no "
                                                     "workspace.sqlite3 in it); check RECEIPT_STUDIO_HOME"),
        (["export", "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "empty")],
         "holds no documents to export"),
        # a probe: '' wrote the workspace's files into the current folder
        (["export", "--out", str(tmp_path / "out"), "--workspace", ""], "argument --workspace: give a folder"),
        (["export", "--out", str(tmp_path / "out"), "--workspace", str(tmp_path / "empty"), "--dataset", "nope"],
         "no dataset 'nope'"),
        # a probe: --force wrote the export into the workspace's own folder and its content-addressed images/
        (["export", "--force", "--out", str(tmp_path / "empty"), "--workspace", str(tmp_path / "empty")],
         f"--out {tmp_path / 'empty'} is the workspace {tmp_path / 'empty'}, whose files would mix with what "
         "is written; choose a folder outside it"),
        (["export", "--out", str(tmp_path / "empty" / "images" / "x"), "--workspace", str(tmp_path / "empty")],
         "is inside the workspace"),
        # a second probe: synth's images in a workspace's store would be pruned as no document names them
        (["synth", "--out", str(tmp_path / "empty" / "images"), "--count", "1", "--force"],
         f"--out {tmp_path / 'empty' / 'images'} is inside the workspace {tmp_path / 'empty'}"),
        # a fourth probe: train --resume of a run kept in the workspace trained on while the workspace listed it
        # as failed at its old step and scores; a new run's --out there would mix with the workspace's own runs
        (["train", "--train", str(tmp_path), "--eval", str(tmp_path), "--resume", "--out",
          str(tmp_path / "empty" / "runs" / "r1")],
         f"--out {tmp_path / 'empty' / 'runs' / 'r1'} is a run kept in a workspace, which records its progress: "
         "resume it on the dashboard's Runs page, or copy the folder out of the workspace to continue it here"),
        (["train", "--train", str(tmp_path), "--eval", str(tmp_path), "--backbone", "tiny", "--out",
          str(tmp_path / "empty" / "runs" / "new")], f"is inside the workspace {tmp_path / 'empty'}"),
        # a twelfth probe: pretrain and reference wrote their --out into runs/, images/ and ocr-cache/
        (["pretrain", "--data", str(tmp_path), "--backbone", "tiny", "--out", str(tmp_path / "empty" / "runs" / "p")],
         f"--out {tmp_path / 'empty' / 'runs' / 'p'} is inside the workspace {tmp_path / 'empty'}, whose files would "
         "mix with what is written; choose a folder outside it or a new folder inside "
         f"{tmp_path / 'empty' / 'models'}"),
        (["reference", "--train", str(tmp_path), "--eval", str(tmp_path), "--backbone", "tiny", "--out",
          str(tmp_path / "empty" / "ocr-cache" / "r")], f"is inside the workspace {tmp_path / 'empty'}"),
        # a third probe: '' is the current folder ("cannot tell the format of .")
        (["import", ""], "argument PATH: is empty: give a file or folder"),
        (["train", "--train", "", "--eval", str(tmp_path), "--backbone", "tiny"],
         "--train is empty: give a dataset folder or file"),
        (["train", "--train", str(tmp_path), "--eval", str(tmp_path), "--backbone", ""],
         "--backbone is empty: give a backbone name"),
        (["import", str(tmp_path / "broken.zip")], "the zip holds no files"),  # read as a zip, not as JSON
        # a zip cut short is no zip to zipfile: it was read as JSON, "not UTF-8 text" (a probe)
        (["import", str(tmp_path / "cut.zip")], f"{tmp_path / 'cut.zip'}: not a readable zip file (File is not a "
                                                "zip file)"),
    ]
    (tmp_path / "broken.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty archive's end record, no entries
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + bytes(60))  # a local header and nothing after it
    Workspace.open(tmp_path / "empty")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "latin1.json").write_bytes('{"words": ["café"]}'.encode("latin-1"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys.readouterr().err)
    (tmp_path / "bad.json").write_text("{")
    assert main(["import", "--format", "native", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "problem: bad.json: not a readable JSON file" in err and "error: nothing imported" in err
    assert main(["synth", "--out", str(tmp_path), "--count", "0"]) == 2  # argparse usage error
    assert "must be at least 1" in capsys.readouterr().err
    assert not list(workspace_home.glob("images/*"))
    assert not (tmp_path / "empty" / "images" / "x").exists()


def test_the_data_commands_start_without_loading_torch():
    """`import`, `export`, `synth` and the help start in a fraction of a second: the command line loads PyTorch and
    transformers (3 s) only for a command that runs a model. An import of training.run_settings at the top of
    train_command once made every command load them (five CLI calls went from 2 s to 17 s in one test)."""
    code = ("import sys\nfrom receipt_core.cli.main import main\n"
            "for argv in (['import', '--help'], ['export', '--help'], ['synth', '--help'], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:]


@pytest.mark.slow
def test_import_and_export_through_python_dash_m(shared_data, tmp_path):
    home = tmp_path / "work space ü"  # spaces and non-ASCII in the workspace path
    done = _cli("import", "--format", "wildreceipt", str(shared_data / "wildreceipt" / "dev.txt"), home=home)
    assert done.returncode == 0, done.stderr
    assert "imported 50 documents (1,990 words, 50 with images) into dataset 'wildreceipt-dev'" in done.stdout
    assert "Traceback" not in done.stderr

    out = tmp_path / "export"
    done = _cli("export", "--out", str(out), "--dataset", "wildreceipt-dev", home=home)
    assert done.returncode == 0, done.stderr
    assert "exported 50 documents (50 with images)" in done.stdout
    images = sorted((out / "images").iterdir())
    assert len(images) == 50 and all(hashlib.sha256(p.read_bytes()).hexdigest() == p.stem for p in images)

    original = load_dataset(shared_data / "wildreceipt" / "dev.txt", "wildreceipt")
    exported = load_dataset(out, "native")
    assert exported.problems == ()
    assert list(exported.documents) == sorted(original.documents, key=lambda d: d.id)

    ws = Workspace(home)
    stored = ws.load_documents("wildreceipt-dev")
    # document ids are unique in a workspace: the export imported under another name would move the receipts
    # out of their dataset and replace their labels, so it is refused whole, naming the dataset that holds them
    done = _cli("import", "--format", "native", str(out), "--dataset", "again", home=home)
    assert done.returncode == 2
    assert "50 of these receipts" in done.stderr and "already in dataset 'wildreceipt-dev'" in done.stderr
    assert [d.name for d in ws.datasets()] == ["wildreceipt-dev"]
    # imported into their own dataset, they replace the stored ones, and the output says so
    done = _cli("import", "--format", "native", str(out), "--dataset", "wildreceipt-dev", home=home)
    assert done.returncode == 0, done.stderr
    # an export imported back unchanged is said as such (a walkthrough read "… are gone" as data lost)
    assert (f"nothing changed: the 50 documents were already in dataset 'wildreceipt-dev' of {home} as they are, "
            "undo history included") in done.stdout and "imported" not in done.stdout
    assert sorted(ws.load_documents("wildreceipt-dev"), key=lambda d: d.id) == sorted(stored, key=lambda d: d.id)
    assert ws.integrity_check() == "ok"

    done = _cli("import", "--format", "cord", str(tmp_path / "missing"), home=home)
    assert done.returncode == 2 and "does not exist" in _one_error_line(done.stderr)


def test_ocr_json_stopped_with_ctrl_c_prints_what_it_read(tmp_path, capsys, monkeypatch):
    """Probe 41 stopped `ocr --json` of five photos after three were read: 0 bytes on stdout. The documents read
    are printed, with an error entry saying how many were not read, and the exit code is 130."""
    import receipt_core.ocr.engine as engine
    from receipt_core.data.document import Document
    from receipt_core.ocr.engine import OcrResult
    from PIL import Image

    images = []
    for i in range(3):
        images.append(tmp_path / f"r{i}.png")
        Image.new("RGB", (40, 40), "white").save(images[-1])

    def two_then_ctrl_c(items, progress=None, on_result=None, **_):
        for name, _data in items[:2]:
            on_result(OcrResult(name=name, document=Document(id=f"ocr-{name[-6:-4]}", width=40, height=40, words=()),
                                image=None, error=None))
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "ocr_many", two_then_ctrl_c)
    assert main(["ocr", "--json", *map(str, images)]) == 130
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert len(printed["documents"]) == 2
    assert printed["errors"] == [{"name": None, "error": "interrupted: 1 of 3 images were not read"}]
    assert "error: interrupted" in err
    # the text output says it too (probe 43 read only "error: interrupted")
    assert main(["ocr", *map(str, images)]) == 130
    out, err = capsys.readouterr()
    assert out.count("== ") == 2 and "interrupted: 1 of 3 images were not read" in err


@pytest.mark.ocr
def test_ocr_prints_native_documents_and_reports_bad_files(shared_data, tmp_path, capsys):
    image = shared_data / "cord" / "train" / "image" / "receipt_00001.png"
    fake = tmp_path / "not an image ü.png"
    fake.write_text("hello, I am text")
    assert main(["ocr", str(image), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["errors"] == []
    (doc,) = printed["documents"]
    assert doc["format"] == "receipt-mtl/document"
    assert doc["image_sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert (doc["width"], doc["height"]) == (864, 1296)
    texts = " ".join(w["text"] for w in doc["words"])
    # prices printed on receipt_00001 (a dot-matrix photo on textured paper; RECEIPT_OCR reads most, not all: its
    # 58,000 comes out as "58 , G00")
    prices = ("58,000", "165,000", "195,000", "28,000", "35,000", "503,000")
    assert sum(price in texts for price in prices) >= 4, texts

    assert main(["ocr", str(fake), str(tmp_path / "missing.png")]) == 2
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "Traceback" not in err
    assert any(str(fake) in line and "not an image" in line for line in errors)
    assert any("missing.png' cannot be read (No such file or directory)" in line for line in errors)

    # a file name's terminal escapes are printed as escapes: "\x1b]0;TITLE\x07" retitled the window (a probe)
    hostile = tmp_path / "a\x1b[31mRED\x1b[0m\x1b]0;TITLE\x07.png"
    hostile.write_bytes(image.read_bytes())
    assert main(["ocr", str(hostile)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "\x1b" not in header and header.startswith(f"== {tmp_path}/a\\x1b[31mRED\\x1b[0m\\x1b]0;TITLE\\x07.png: ")



def test_ocr_prints_each_image_as_it_is_read_and_says_progress_every_ten_seconds(tmp_path, capsys, monkeypatch):
    """A probe ran `ocr` over 10,000 files: no progress line in 2 minutes (every 10%), and stopped, nothing printed
    (every document was printed at the end)."""
    import receipt_core.cli.data_commands as data_commands
    import receipt_core.ocr.engine as engine
    from receipt_core.ocr.engine import OcrResult

    images = []
    for name in ("first.png", "second.png"):
        images.append(tmp_path / name)
        images[-1].write_bytes(b"\x89PNG\r\n\x1a\n")
    from receipt_core.data.images import ImageLoadError

    def read_image_file(path):  # a third file that cannot be read: said at once, not after every image (a probe)
        if path.name == "third.png":
            raise ImageLoadError(f"'{path}' is not an image")
        return b"bytes"

    (tmp_path / "third.png").write_text("text")
    images.append(tmp_path / "third.png")
    monkeypatch.setattr(data_commands, "read_image_file", read_image_file)
    times = [0.0, 0.5, 11.0]  # the progress callback's start, then its two reports; later readers get 11.0

    def clock() -> float:
        return times.pop(0) if len(times) > 1 else times[0]

    monkeypatch.setattr(data_commands.time, "monotonic", clock)

    def stopped_after_one(items, progress=None, on_result=None, **_):
        progress(1, 100)  # 0.5 s after the start: not yet a line
        progress(2, 100)  # 11 s: a line, though not a tenth
        on_result(OcrResult(name=items[0][0], document=Document(id="d1", width=10, height=10, words=(
            Word(text="TEA", box=(1, 1, 5, 5)),)), image=None, error=None))
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "ocr_many", stopped_after_one)
    main(["ocr", *map(str, images)])
    out, err = capsys.readouterr()
    assert out.startswith(f"== {images[0]}: 1 word\n") and "TEA" in out  # "1 words" before
    assert "ocr: 2/100" in err and "ocr: 1/100" not in err
    assert f"error: '{tmp_path / 'third.png'}' is not an image" in err


@pytest.mark.slow
@pytest.mark.ocr
def test_synth_writes_a_native_dataset_with_images(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), "--count", "2", "--seed", "3"]) == 0
    assert "wrote 2 synthetic receipts" in capsys.readouterr().out
    report = load_dataset(out, "native")
    assert report.problems == () and len(report.documents) == 2 and set(report.images) == {
        d.id for d in report.documents}
    for doc in report.documents:
        assert doc.words and hashlib.sha256(report.images[doc.id].read_bytes()).hexdigest() == doc.image_sha256
    assert report.label_counts.get("ITEM_NAME", 0) > 0 and report.label_counts.get("TOTAL", 0) > 0


def test_synth_refuses_a_non_empty_out_before_generating(tmp_path, capsys, monkeypatch):
    import receipt_core.datasets.synth as synth

    monkeypatch.setattr(synth, "generate_dataset", lambda *a, **k: pytest.fail("receipts were generated"))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "synth-0-00000.json").write_text('{"precious": true}')
    assert main(["synth", "--out", str(out), "--count", "1"]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: --out {out} is not empty (it holds synth-0-00000.json); choose a new or empty folder, or pass "
        "--force to write into it (files of the same name are replaced)")
    assert [p.name for p in out.iterdir()] == ["synth-0-00000.json"]
    assert (out / "synth-0-00000.json").read_text() == '{"precious": true}'



def test_synth_that_cannot_write_says_where_and_leaves_no_part_of_a_dataset(tmp_path, capsys, monkeypatch):
    """A probe's synth on a full disk said only "error: No space left on device", and left 2 receipts of 20
    behind that imported as a dataset."""
    import errno

    import receipt_core.datasets.native as native

    real_write, calls = native.atomic_write, []

    def fills_the_disk(path, data):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(native, "atomic_write", fills_the_disk)
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), "--count", "3"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot write the receipts to {out}: No space left on device (free some space, or choose another "
        "--out); nothing was written there")
    assert len(calls) == 4 and list(out.iterdir()) == []


def test_two_writers_into_one_new_folder_do_not_mix_their_files(tmp_path, workspace_home, capsys, monkeypatch):
    """A probe started two exports of two datasets into one new --out at once: both said "exported", and the folder
    held both datasets' files. The one that finishes second is refused and writes nothing."""
    import receipt_core.cli.data_commands as commands
    from receipt_core.data.files import staged_into

    out = tmp_path / "out"
    out.mkdir()
    real = commands.staged_into

    @contextlib.contextmanager
    def another_writer_finishes_first(folder, sole_writer=False):
        with real(folder, sole_writer=sole_writer) as staging:
            yield staging
            with staged_into(folder, sole_writer=True) as other:  # began as out was empty, ends first
                (other / "other.json").write_text("{}")

    monkeypatch.setattr(commands, "staged_into", another_writer_finishes_first)
    assert main(["synth", "--out", str(out), "--count", "1"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot write the receipts to {out}: another command filled it while this one wrote (two writers "
        "into one folder); nothing was written there")
    assert [p.name for p in out.iterdir()] == ["other.json"]
    with staged_into(out) as forced:  # --force writes into a used folder, as before
        (forced / "more.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["more.json", "other.json"]

@pytest.mark.ocr
def test_synth_writes_into_a_new_or_empty_folder_and_into_a_used_one_with_force(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty"):
        assert main(["synth", "--out", str(out), "--count", "1"]) == 0, capsys.readouterr().err
        assert len(load_dataset(out, "native").documents) == 1
    used = tmp_path / "used"
    used.mkdir()
    (used / "synth-0-00000.json").write_text('{"precious": true}')
    (used / "notes.txt").write_text("mine")
    assert main(["synth", "--out", str(used), "--count", "1", "--force"]) == 0, capsys.readouterr().err
    assert json.loads((used / "synth-0-00000.json").read_text())["format"] == "receipt-mtl/document"
    assert (used / "notes.txt").read_text() == "mine"


def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path):
    """Found by a walkthrough: `ocr IMG | head` ended with "error: Broken pipe". A closed stdout is the reader's
    choice: exit 141 (128 + SIGPIPE) as Unix tools do, with nothing said."""
    import subprocess
    import sys

    script = ("import sys\nfrom receipt_core.cli import data_commands\n"
              "def cut_off(args):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
              "data_commands.run_ocr = cut_off\nfrom receipt_core.cli.main import main\n"
              "sys.exit(main(['ocr', 'receipt.png']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**os.environ, "RECEIPT_STUDIO_HOME": str(tmp_path / "ws"), "PYTHONPATH": str(REPO_ROOT)},
                          timeout=120)
    assert (done.returncode, done.stderr) == (141, ""), done.stderr


def test_every_option_of_every_command_says_what_it_is_for():
    """`train --help` listed `--out RUN_DIR` with no word on what goes there (nor did synth, export, evaluate,
    study): every option and argument of every command now carries its help."""
    import argparse

    from receipt_core.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    silent = [f"{name} {action.option_strings[0] if action.option_strings else action.dest}"
              for name, command in commands.items() for action in command._actions
              if not isinstance(action, argparse._HelpAction) and not action.help]
    assert silent == []

    # the defaults shown are the default scenario's; the epilog says where every other scenario's differ (a
    # walkthrough read contextual heads in the help and expected them of --scenario full)
    epilog = " ".join(commands["train"].epilog.split())
    assert epilog.startswith(f"The defaults shown are those of --scenario {TrainConfig().scenario}.")
    assert ("freeze-all, freeze-fields-head, freeze-quantity-head, full: no --head-lr (as lr) --head linear "
            "--layer-mix off --label-smoothing 0.0 --boxes line;") in epilog
    full = TrainConfig.for_scenario("full")
    assert (full.head, full.layer_mix, full.boxes, full.head_lr, full.label_smoothing) == (
        "linear", "off", "line", None, 0.0)
    assert (f"freeze-backbone: --epochs {TrainConfig.for_scenario('freeze-backbone').epochs} --label-smoothing 0.0 "
            "(options given override them)") in epilog


def test_an_out_folder_that_is_a_dangling_link_or_a_pipe_is_named_for_what_it_is(tmp_path, capsys):
    """A probe: a dangling symlink as --out said "cannot create the folder …: File exists", a FIFO "is a file"."""
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    assert main(["synth", "--out", str(link), "--count", "1"]) == 2
    assert f"--out {link} is a symbolic link to {tmp_path / 'nowhere'}, which does not exist" in capsys.readouterr().err
    (tmp_path / "loop1").symlink_to("loop2")  # a second probe: a loop was said to point at a missing target
    (tmp_path / "loop2").symlink_to("loop1")
    assert main(["synth", "--out", str(tmp_path / "loop1"), "--count", "1"]) == 2
    assert (f"--out {tmp_path / 'loop1'} is a symbolic link to loop2, which leads round a loop of links to no file "
            "or folder") in capsys.readouterr().err
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert main(["synth", "--out", str(pipe), "--count", "1"]) == 2
    assert f"--out {pipe} is not a regular file (a pipe, socket or device), not a folder" in capsys.readouterr().err


def test_an_unknown_dataset_is_said_with_its_look_alike_letter_or_the_closest_names(tmp_path, capsys):
    """A probe's `export --dataset bіg` (Cyrillic і) printed all 302 dataset names, 'big' among them looking the
    same; and `evaluate runs/nope` said an existing folder lacked a file."""
    from receipt_core.workspace.names import MAX_NAMES_LISTED, other_datasets

    names = ["big", *[f"one-{i:04}" for i in range(300)], "small"]
    assert other_datasets("b\u0456g", names).startswith("the dataset name 'b\u0456g' contains")
    said = other_datasets("bgi", names)
    assert said.startswith("closest: big; datasets: big, one-0000")
    assert said.endswith(f"and {302 - MAX_NAMES_LISTED} more")
    assert other_datasets("SMALL", names).startswith("closest: small;")  # probe 37: "CDEV" named no "cdev"
    assert main(["evaluate", str(tmp_path / "runs" / "nope"), "--data", str(tmp_path)]) == 2
    assert "does not exist: give a run's folder" in capsys.readouterr().err


def test_a_bare_name_of_a_workspace_dataset_reads_it_beside_a_folder_of_that_name(tmp_path, workspace_home, capsys,
                                                                                 monkeypatch):
    """A probe's `evaluate RUN --data d` read a one-receipt folder d/ of the current folder in place of the workspace
    dataset d of 50, unsaid; and `--data tests` from the repository root read the tests folder. A bare name of a
    workspace dataset is the dataset now, said; ./d is the folder."""
    import shutil

    from receipt_core.cli.sources import load_documents

    sample = REPO_ROOT / "assets" / "cord-sample" / "dev" / "json"
    assert main(["import", str(sample.parent), "--format", "cord", "--dataset", "d"]) == 0
    stored = len(Workspace(workspace_home).load_documents("d"))
    folder = tmp_path / "here" / "d" / "json"
    folder.mkdir(parents=True)
    shutil.copy(sorted(sample.glob("*.json"))[0], folder)
    monkeypatch.chdir(tmp_path / "here")
    capsys.readouterr()
    assert len(load_documents("d", "auto", None)) == stored > 1
    assert "note: data 'd' is the workspace dataset of that name; write ./d for the folder" in capsys.readouterr().err
    assert len(load_documents("./d", "cord", None)) == 1
    capsys.readouterr()
    assert len(load_documents("d", "cord", None)) == stored  # a probe's --format on a dataset name went unsaid
    assert ("note: --format cord is not used for data 'd': a workspace dataset is read as stored"
            in capsys.readouterr().err)


def test_export_or_synth_into_a_folder_whose_subfolder_is_a_link_writes_nothing_through_it(tmp_path, workspace_home,
                                                                                         capsys):
    """A probe: ``export --force`` into a folder whose ``json/`` (or ``images/``) linked elsewhere wrote its 200
    files into the link's target. Nothing is moved out of the staging folder until every file's folder is checked."""
    repo = Path(__file__).resolve().parents[1]
    assert main(["import", "--format", "cord", str(repo / "assets" / "cord-sample" / "dev"), "--dataset", "dev"]) == 0
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "json").symlink_to(elsewhere)
    capsys.readouterr()
    assert main(["export", "--format", "cord", "--out", str(out), "--force"]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: cannot write the export to {out}: its json/ is a link (to {elsewhere}), which would put files "
        "outside it; nothing was written there")
    assert list(elsewhere.iterdir()) == [] and [p.name for p in out.iterdir()] == ["json"]
    (out / "json").unlink()
    (out / "json").write_text("mine")  # a file where the export's folder goes
    assert main(["export", "--format", "cord", "--out", str(out), "--force"]) == 2
    assert "its json is a file where a folder goes; nothing was written there" in capsys.readouterr().err
    assert (out / "json").read_text() == "mine"


def test_an_export_names_the_receipts_without_words_its_format_cannot_carry_back(tmp_path, workspace_home, capsys):
    """A probe deleted every word of a receipt marked done: the Label Studio and CORD exports said "exported 1
    document", and their import read nothing back. Native keeps such a receipt and says nothing."""
    from receipt_core.data.document import Document, Word
    from receipt_core.workspace.store import Workspace

    ws = Workspace(workspace_home)
    ws.save_documents("shop", [Document(id="empty-1", width=50, height=50, words=()),
                               Document(id="full-1", width=50, height=50, words=(Word(text="x", box=(1, 1, 9, 9)),))])
    for fmt, warned in (("label-studio", True), ("cord", True), ("native", False)):
        assert main(["export", "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
        err = capsys.readouterr().err
        assert ("warning: 1 receipt without words ('empty-1'): the " in err) == warned, err


def test_import_from_images_says_why_no_image_could_be_read(tmp_path, capsys):
    """Walkthrough 54 linked WildReceipt's image folder beside a copy of its labels: "has no images (wildreceipt data
    without pixels)", while each record's note (the images lead outside the dataset's folder) was never printed."""
    from tests.conftest import require_shared_data

    wildreceipt = require_shared_data("wildreceipt")
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / "train.txt").write_text("".join((wildreceipt / "train.txt").read_text().splitlines(True)[:2]))
    (folder / "class_list.txt").write_text((wildreceipt / "class_list.txt").read_text())
    (folder / "image_files").symlink_to(wildreceipt / "image_files")
    assert main(["import", str(folder / "train.txt"), "--format", "wildreceipt", "--from-images",
                 "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert "problem: " in err and "none of the images of" in err and "notes above say why" in err, err
    assert "has no images (wildreceipt data without pixels)" not in err
