"""The workspace store: documents, atomic word updates, concurrency, crash safety, images and runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from receipt_core.datasets import import_into_workspace
from receipt_core.data.document import NOT_LABELLED, Document, Word
from receipt_core.data.schema import OTHER, QUANTITY
from receipt_core.workspace.documents import DocumentsInAnotherDatasetError
from receipt_core.workspace.store import IMAGE_GRACE_S, NotFoundError, Workspace, WorkspaceError

REPO_ROOT = Path(__file__).resolve().parent.parent


def _doc(doc_id: str, words: int = 5) -> Document:
    return Document(id=doc_id, width=400, height=300, source="test", words=tuple(
        Word(text=f"w{i}", box=(10 * i, 5, 10 * i + 8, 15), line_id=0) for i in range(words)))


def test_open_uses_the_environment_and_creates_a_wal_database(workspace_home):
    ws = Workspace.open()
    assert ws.home == workspace_home and ws.database.is_file()
    with sqlite3.connect(ws.database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "runs", "run_events"} <= tables
    assert Workspace.open().integrity_check() == "ok"  # opening twice is harmless


def test_documents_save_load_update_replace_delete(tmp_path, cord_train_report):
    ws = Workspace(tmp_path / "ws")
    report = cord_train_report  # conftest: CORD train parsed once per session
    assert len(import_into_workspace(ws, "cord", report).documents) == 600
    ws.save_documents("mine", [_doc("a"), _doc("b", words=3)])

    assert ws.load_documents("cord") == list(report.documents)
    assert [d.id for d in ws.load_documents()][-2:] == ["a", "b"]
    summaries = {d.name: d for d in ws.datasets()}
    assert summaries["cord"].documents == 600 and summaries["cord"].words == 14530
    assert dict(summaries["cord"].label_counts) == dict(report.label_counts)
    assert summaries["mine"].label_counts == {NOT_LABELLED: 8}  # words nobody labelled are not counted as OTHER
    listed = ws.list_documents("mine")
    assert [(s.id, s.words, s.dataset) for s in listed] == [("a", 5, "mine"), ("b", 3, "mine")]

    # the one CORD image went into the store under its content hash
    doc = ws.get_document("cord-receipt_00001")
    image = ws.image_path(doc.image_sha256)
    assert image is not None and hashlib.sha256(image.read_bytes()).hexdigest() == doc.image_sha256

    updated = ws.update_word("a", 2, QUANTITY, quantity_value=3.0)
    assert updated == ws.get_document("a")
    assert updated.words[2].is_quantity and updated.words[2].quantity_value == 3.0 and updated.words[2].field == OTHER
    assert ws.update_word("a", 2, "TOTAL").words[2].annotation_label == "TOTAL"
    assert {d.name: d for d in ws.datasets()}["mine"].label_counts == {NOT_LABELLED: 7, "TOTAL": 1}
    with pytest.raises(WorkspaceError, match="unknown label 'PRICE'"):
        ws.update_word("a", 0, "PRICE")
    with pytest.raises(WorkspaceError, match="has 5 words; there is no word 5"):
        ws.update_word("a", 5, "TOTAL")
    with pytest.raises(NotFoundError, match="no document 'zzz'"):
        ws.update_word("zzz", 0, "TOTAL")

    ws.replace_document(_doc("b", words=7))
    assert len(ws.get_document("b").words) == 7 and ws.list_documents("mine")[1].words == 7
    with pytest.raises(NotFoundError):
        ws.replace_document(_doc("new"))
    ws.delete_document("b")
    with pytest.raises(NotFoundError):
        ws.get_document("b")
    assert ws.delete_dataset("cord") == 600
    assert [d.name for d in ws.datasets()] == ["mine"]
    with pytest.raises(NotFoundError, match="no dataset 'cord'"):
        ws.delete_dataset("cord")
    assert ws.integrity_check() == "ok"


def test_a_document_is_never_moved_to_another_dataset_by_storing_it_there(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_documents("mine", [_doc("a"), _doc("b")])
    labelled = ws.update_word("a", 0, "TOTAL")
    with pytest.raises(DocumentsInAnotherDatasetError) as refused:
        ws.save_documents("theirs", [_doc("new"), _doc("a"), _doc("b")])
    assert dict(refused.value.elsewhere) == {"a": "mine", "b": "mine"}
    assert str(refused.value) == (
        "2 of these receipts (for example 'a') are already in dataset 'mine'; a receipt belongs to one dataset, "
        "and storing it as 'theirs' would move it out and replace its labels, so nothing was stored. Store them "
        "into 'mine' to update them there, delete them from it first, or import them as copies with new ids "
        "(Data → Import's 'as copies', or `import --copies`).")
    assert [(d.name, d.documents) for d in ws.datasets()] == [("mine", 2)]  # not even "new"
    assert ws.get_document("a") == labelled
    assert ws.datasets_of(["a", "new", "b"]) == {"a": "mine", "b": "mine"}
    ws.save_documents("mine", [_doc("a", words=3)])  # in its own dataset a document is replaced
    assert len(ws.get_document("a").words) == 3
    many = [_doc(f"d{i}", words=1) for i in range(1200)]  # more ids than one query binds
    ws.save_documents("big", many)
    assert len(ws.datasets_of(d.id for d in many)) == 1200
    assert ws.holds_id_prefix("big", "d11") and not ws.holds_id_prefix("big", "ocr-")
    assert not ws.holds_id_prefix("mine", "d1") and ws.holds_id_prefix("mine", "")



def test_two_imports_of_the_same_receipts_at_once_count_what_each_replaced(tmp_path):
    """A probe imported one zip twice at once and both said they replaced nothing: the count was read before the
    write transaction. Counted inside it, the second to commit says it replaced all the first stored."""
    ws = Workspace(tmp_path)
    docs = [_doc(f"d{i}") for i in range(40)]
    barrier, replaced = threading.Barrier(2), []

    def import_them():
        barrier.wait()
        replaced.append(ws.import_documents("shop", docs, reviewed=set()))

    threads = [threading.Thread(target=import_them) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.receipts for r in replaced) == [0, 40]
    assert sorted(r.unchanged for r in replaced) == [0, 40]  # the same receipts again: nothing of them changed
    again = ws.import_documents("shop", docs[:3], reviewed={"d1"})
    assert (again.receipts, again.unchanged) == (3, 2)  # d1 came back marked done
    assert [ws.is_reviewed(f"d{i}") for i in range(3)] == [False, True, False]
    # the same words on a new photo (a rescan) is a change: written, not "left as it was" (a probe's was dropped)
    rescanned = dataclasses.replace(docs[0], image_sha256="f" * 64, source="rescan.jpg")
    changed = ws.import_documents("shop", [rescanned], reviewed=set())
    assert (changed.receipts, changed.unchanged) == (1, 0)
    assert (ws.get_document("d0").image_sha256, ws.get_document("d0").source) == ("f" * 64, "rescan.jpg")
    # the same file named through another folder (CORD's split folder, then the folder above it): the same receipt,
    # left as it was with its undo history (probe 36 read 200 receipts "which differed", their history cleared)
    renamed = dataclasses.replace(docs[1], source="cord:train/json/d1.json")
    ws.update_word("d1", 0, "TOTAL")
    same = ws.import_documents("shop", [dataclasses.replace(renamed, words=ws.get_document("d1").words)],
                               reviewed={"d1"})
    assert (same.receipts, same.unchanged) == (1, 1) and ws.undo("d1") is not None

def test_concurrent_writers_never_see_database_locked_and_lose_no_update(tmp_path):
    ws = Workspace(tmp_path / "ws")
    threads, per_thread = 8, 15
    ws.save_documents("d", [_doc("shared", words=threads * per_thread)])
    run_id = ws.create_run("concurrent", {})
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                index = t * per_thread + i
                ws.update_word("shared", index, "TOTAL" if index % 2 else QUANTITY)
                ws.append_run_event(run_id, "step", {"thread": t, "i": i})
                ws.save_documents(f"thread-{t}", [_doc(f"t{t}-{i}")])
                ws.list_documents()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    doc = ws.get_document("shared")  # every read-modify-write landed: none overwrote another
    assert [w.annotation_label for w in doc.words] == [
        "TOTAL" if i % 2 else QUANTITY for i in range(threads * per_thread)]
    assert [e.seq for e in ws.run_events(run_id)] == list(range(1, threads * per_thread + 1))
    assert sum(d.documents for d in ws.datasets()) == 1 + threads * per_thread
    assert ws.integrity_check() == "ok"


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from receipt_core.data.document import Document, Word
    from receipt_core.workspace.store import Workspace
    ws = Workspace(Path(sys.argv[1]))
    words = tuple(Word(text=f"w{i}", box=(i, 1, i + 1, 2)) for i in range(300))
    i = 0
    while True:
        ws.save_documents("crash", [Document(id=f"doc-{i}", width=400, height=10, words=words)])
        ws.update_word(f"doc-{i}", 0, "TOTAL")
        print(i, flush=True)  # only after both writes committed
        i += 1
""")


def test_sigkill_while_saving_loses_no_completed_write(tmp_path):
    home = tmp_path / "ws"
    Workspace(home)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(home)], stdout=subprocess.PIPE, text=True, env=env)
    completed = []
    deadline = time.monotonic() + 30
    while len(completed) < 25 and time.monotonic() < deadline:
        completed.append(int(writer.stdout.readline()))
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    completed += [int(line) for line in writer.stdout.read().split()]
    assert len(completed) >= 25

    ws = Workspace(home)
    assert ws.integrity_check() == "ok"
    stored = {d.id: d for d in ws.load_documents("crash")}
    for i in completed:
        assert stored[f"doc-{i}"].words[0].field == "TOTAL"
    # at most the one save in flight is there without its label: never half a document
    assert all(len(d.words) == 300 for d in stored.values())
    assert len(stored) - len(completed) <= 1


def test_images_are_stored_once_by_content_hash(tmp_path):
    ws = Workspace(tmp_path / "ws")
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
    sha = ws.put_image(data, ".PNG")
    assert sha == hashlib.sha256(data).hexdigest()
    assert ws.put_image(data, ".png") == sha
    assert [p.name for p in ws.images_dir.iterdir()] == [f"{sha}.png"]  # no leftover temporary files
    assert ws.image_path(sha).read_bytes() == data
    assert ws.image_path("../workspace.sqlite3") is None and ws.image_path("0" * 64) is None
    with pytest.raises(WorkspaceError, match="empty image"):
        ws.put_image(b"", ".png")
    with pytest.raises(WorkspaceError, match="not a plain extension"):
        ws.put_image(data, "./../x")


def test_finding_a_photos_receipts_by_its_hash_uses_an_index(tmp_path):
    ws = Workspace(tmp_path / "ws")
    sha = ws.put_image(b"\x89PNG" + bytes(32), ".png")
    ws.save_documents("a", [dataclasses.replace(_doc("a1"), image_sha256=sha), _doc("a2")])
    assert ws.receipts_with_image(sha) == {"a1": "a"}
    with sqlite3.connect(ws.database) as conn:
        plan = " ".join(row[-1] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id, dataset FROM documents WHERE image_sha256 = ?", (sha,)))
    assert "USING INDEX documents_image" in plan, plan  # not a scan of every receipt per uploaded photo


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_deleting_documents_deletes_the_images_nothing_refers_to(tmp_path):
    ws = Workspace(tmp_path / "ws")
    shared, own, fresh = (ws.put_image(b"\x89PNG" + bytes([n]) * 32, ".png") for n in (1, 2, 3))
    ws.save_documents("a", [dataclasses.replace(_doc("a1"), image_sha256=shared),
                            dataclasses.replace(_doc("a2"), image_sha256=own)])
    ws.save_documents("b", [dataclasses.replace(_doc("b1"), image_sha256=shared)])
    interrupted = ws.images_dir / f".{own}.x1y2.tmp"  # a write killed before its rename
    interrupted.write_bytes(b"half")
    for path in ws.images_dir.iterdir():
        _age(path, 2 * IMAGE_GRACE_S)
    _age(ws.image_path(fresh), 10)  # just uploaded: its document is still being OCR'd

    ws.delete_dataset("a")  # a2's image goes; a1's stays, b1 shares it
    assert ws.image_path(own) is None and not interrupted.exists()
    assert ws.image_path(shared) is not None and ws.image_path(fresh) is not None
    ws.put_image(b"\x89PNG" + bytes([1]) * 32, ".png")  # the shared image uploaded again: young again
    ws.delete_document("b1")
    assert ws.image_path(shared) is not None  # its new document may be on its way
    _age(ws.image_path(shared), 2 * IMAGE_GRACE_S)
    assert ws.prune_images() == [f"{shared}.png"]
    assert ws.prune_images(grace_s=0) == [f"{fresh}.png"] and list(ws.images_dir.iterdir()) == []


def test_deleting_receipts_deletes_what_their_ocr_said(tmp_path):
    """A deleted receipt's OCR results go with it at once (a probe found a deleted dataset's words in ocr-cache/ and
    imported them back), unless another receipt shares its image; entries no receipt refers to (a photo read before
    Predict stopped keeping them) go with the images' pruning."""
    from receipt_core.ocr.cache import OcrCache
    from receipt_core.ocr.engine import RECEIPT_OCR

    ws = Workspace(tmp_path / "ws")
    shared, own, stray = (ws.put_image(b"\x89PNG" + bytes([n]) * 32, ".png") for n in (1, 2, 3))
    cache = OcrCache(ws.ocr_cache_dir)
    for sha in (shared, own, stray):
        cache.put(dataclasses.replace(_doc(f"ocr-{sha[:6]}"), image_sha256=sha), RECEIPT_OCR)
    ws.save_documents("a", [dataclasses.replace(_doc("a1"), image_sha256=shared),
                            dataclasses.replace(_doc("a2"), image_sha256=own)])
    ws.save_documents("b", [dataclasses.replace(_doc("b1"), image_sha256=shared)])

    ws.delete_dataset("a")  # at once, whatever the grace: a2's words are gone, a1's stay for b1
    assert cache.get(own, RECEIPT_OCR) is None and cache.get(shared, RECEIPT_OCR) is not None
    ws.delete_document("b1")
    assert cache.get(shared, RECEIPT_OCR) is None
    assert cache.get(stray, RECEIPT_OCR) is not None  # young: its receipt may be on its way
    entry = cache.path(stray, RECEIPT_OCR)
    _age(entry, 2 * IMAGE_GRACE_S)
    assert f"{entry.name}" in ws.prune_images() and list(ws.ocr_cache_dir.iterdir()) == []


def test_runs_events_statuses_and_deletion(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert not ws.has_runs()
    first = ws.create_run("baseline", {"lr": 5e-5, "scenario": "full"})
    second = ws.create_run("frozen", {"scenario": "freeze-backbone"})
    assert first != second and ws.has_runs()
    assert [r.id for r in ws.list_runs()] == [second, first]
    run = ws.get_run(first)
    assert (run.name, run.status, dict(run.config), run.pid) == ("baseline", "running", {"lr": 5e-5, "scenario": "full"},
                                                                 os.getpid())
    folder = ws.run_dir(first)
    assert folder.is_dir() and folder.parent == ws.runs_dir

    version = ws.runs_version()  # what Runs polls to redraw: a new evaluation of a live run changes it, a step not
    assert ws.append_run_event(first, "step", {"loss": 1.5}) == 1
    assert ws.runs_version() == version
    assert ws.append_run_event(first, "eval", {"f1": 0.5}) == 2
    assert ws.runs_version() != version
    assert ws.append_run_event(first, "step", {"loss": 1.2}) == 3
    assert ws.append_run_event(second, "step", {"loss": 9.0}) == 1  # sequence numbers are per run
    assert [e.payload["loss"] for e in ws.run_events(first, kinds=["step"])] == [1.5, 1.2]
    assert [e.seq for e in ws.run_events(first, after_seq=1)] == [2, 3]
    with pytest.raises(WorkspaceError, match="cannot be stored as JSON"):
        ws.append_run_event(first, "step", {"loss": float("nan")})
    with pytest.raises(NotFoundError):
        ws.append_run_event("nope", "step", {})

    ws.set_run_status(first, "paused")
    version = ws.runs_version()
    ws.set_run_status(first, "finished", summary={"fields.micro_f1": 0.8})
    assert ws.runs_version() != version  # a run's end too
    run = ws.get_run(first)
    assert run.status == "finished" and run.summary == {"fields.micro_f1": 0.8}
    with pytest.raises(WorkspaceError, match="unknown run status 'done'"):
        ws.set_run_status(first, "done")

    with pytest.raises(WorkspaceError, match="is running; stop it before deleting it"):
        ws.delete_run(second)  # owned by this live process
    ws.delete_run(first)
    assert not folder.exists() and ws.run_events(first) == []
    with pytest.raises(NotFoundError):
        ws.get_run(first)


def test_runs_of_a_dead_process_are_marked_interrupted(tmp_path):
    home = tmp_path / "ws"
    ws = Workspace(home)
    mine = ws.create_run("live here", {})
    script = ("import sys; from pathlib import Path; from receipt_core.workspace.store import Workspace; "
              "ws = Workspace(Path(sys.argv[1])); r = ws.create_run('dies', {}); ws.set_run_status(r, 'paused'); "
              "print(r)")
    dead = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}).stdout.strip()
    finished = ws.create_run("done", {})
    ws.set_run_status(finished, "finished")

    assert ws.get_run(dead).status == "paused"
    assert ws.mark_interrupted_runs() == [dead]
    assert ws.get_run(dead).status == "interrupted"
    assert ws.get_run(mine).status == "running" and ws.get_run(finished).status == "finished"
    assert ws.mark_interrupted_runs() == []
    ws.delete_run(dead)  # an interrupted run can be deleted


@pytest.mark.parametrize("round_", range(20))
def test_many_threads_opening_a_fresh_workspace_at_once(tmp_path, round_):
    """Eight threads create one brand-new workspace together. SQLite's switch to WAL on a fresh database fails at
    once with "database is locked" (no busy wait) for the losers of the race — about one round in 16 before the
    retry — so the race runs twenty times."""
    home = tmp_path / "fresh"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_and_write(t: int) -> None:
        try:
            start.wait()
            Workspace(home).save_documents("d", [_doc(f"d{t}")])
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    workers = [threading.Thread(target=open_and_write, args=(t,)) for t in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(Workspace(home).load_documents("d")) == 8


def test_dropping_events_at_a_resume_never_reuses_a_sequence_number(tmp_path):
    """A reader's cursor (RunFeed.last_seq) may stand on the last event the crashed attempt logged: the resumed
    run's events must come after it, or the reader would never see them."""
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("resume", {})
    for step in range(1, 7):
        ws.append_run_event(run_id, "step", {"step": step})
    cursor = ws.run_events(run_id)[-1].seq
    assert ws.drop_run_events_after(run_id, 4) == 2
    ws.append_run_event(run_id, "step", {"step": 5})  # the resumed run
    after = ws.run_events(run_id, after_seq=cursor)
    assert [(e.kind, e.payload.get("step")) for e in after] == [("step", 5)]
    steps = [e.payload["step"] for e in ws.run_events(run_id, kinds=["step"])]
    assert steps == [1, 2, 3, 4, 5]  # one point per step
    note = [e for e in ws.run_events(run_id, kinds=["status"])]
    assert len(note) == 1 and "dropped" in note[0].payload["message"]


def test_a_workspace_from_before_schema_3_recounts_its_labels_on_open(tmp_path):
    """label_counts of schema 2 counted the words nobody labelled as OTHER (Home and Data showed 217 OTHER words on
    an upload where one was labelled OTHER); opening the workspace counts them again."""
    import json
    import sqlite3

    ws = Workspace(tmp_path / "ws")
    ws.save_documents("mine", [_doc("a"), _doc("b", words=3)])
    ws.update_word("a", 0, "TOTAL")
    with sqlite3.connect(ws.database) as conn:  # as a schema-2 workspace stored them
        conn.execute("UPDATE documents SET label_counts = ?", (json.dumps({OTHER: 8}),))
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    assert {d.name: d for d in Workspace(tmp_path / "ws").datasets()}["mine"].label_counts == {
        NOT_LABELLED: 7, "TOTAL": 1}


def test_a_damaged_or_unwritable_database_is_said_plainly_in_the_cli_and_the_app(tmp_path, monkeypatch):
    """A probe: random bytes or a truncated file as the database said "unexpected DatabaseError: file is not a
    database" (exit 1) and every page showed Streamlit's redacted error; a read-only workspace, "unexpected
    OperationalError: attempt to write a readonly database"."""
    from receipt_core.cli.main import main
    from tests.test_app_pages import app
    from ui.literal import literal

    noise = tmp_path / "noise"
    noise.mkdir()
    (noise / "workspace.sqlite3").write_bytes(os.urandom(20_000))
    truncated = tmp_path / "truncated"
    ws = Workspace(truncated)
    ws.save_documents("demo", [_doc(f"d{i}", words=200) for i in range(40)])
    with sqlite3.connect(ws.database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(ws.database, "r+b") as file:
        file.truncate(8192)
    for home, reason in ((noise, "file is not a database"), (truncated, "database disk image is malformed")):
        expected = (f"the workspace database {home / 'workspace.sqlite3'} is damaged ({reason}): restore it from a "
                    "backup, or move it aside to start an empty workspace in that folder")
        with pytest.raises(WorkspaceError) as said:
            Workspace(home).list_runs()
        assert str(said.value) == expected
        assert main(["export", "--workspace", str(home), "--out", str(tmp_path / "out")]) == 2
        monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(home))
        for page in ("home", "runs"):
            at = app(page)
            assert not at.exception
            assert [e.value for e in at.error] == [f"The workspace cannot be used: {literal(expected)}. Then reload "
                                                   "this page."]

    writable = tmp_path / "read-only"
    Workspace(writable).save_documents("demo", [_doc("d1")])
    for path in (writable, *writable.iterdir()):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:  # as root only dropped capabilities make the mode bits count
        prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, sys.executable, "-m", "receipt_core", "export", "--workspace", str(writable),
                               "--out", str(tmp_path / "out")], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=120)
    finally:
        for path in (writable, *writable.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: the workspace {writable} cannot be written (attempt to write a readonly "
                                  "database): every command and the app write to its database"), done.stderr
    # on a read-only mount SQLite cannot make its WAL files and says "unable to open database file" (a probe got
    # "unexpected OperationalError"); a private mount namespace makes one where the machine allows it (root)
    if os.geteuid() == 0 and subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0:
        script = (f"mount --bind '{writable}' '{writable}' && mount -o remount,bind,ro '{writable}' && "
                  f"'{sys.executable}' -m receipt_core export --workspace '{writable}' --out '{tmp_path / 'out'}'")
        done = subprocess.run(["unshare", "--mount", "sh", "-c", script], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"error: the workspace {writable} cannot be written (unable to open database "
                                      "file): every command and the app write to its database"), done.stderr


def test_one_damaged_run_record_is_named_and_leaves_every_page_usable(tmp_path, monkeypatch):
    """A probe edited one run's config to '[1,2': every page showed Streamlit's redacted error (the sidebar lists
    the runs) and `predict RUN` said "Expecting ',' delimiter". The run is left out of every list and named on
    Runs with a way to delete it; asked for by id, it says what is wrong."""
    from tests.test_app_pages import app

    ws = Workspace(tmp_path / "ws")
    good = ws.create_run("good", {"scenario": "full"})
    for damage in ("[1,2", "null"):
        bad = ws.create_run("bad", {"scenario": "full"})
        with sqlite3.connect(ws.database) as conn:
            conn.execute("UPDATE runs SET config = ?, status = 'failed' WHERE id = ?", (damage, bad))
        assert [r.id for r in ws.list_runs()] == [good]
        with pytest.raises(WorkspaceError, match=f"run '{bad}': its config in the workspace database is damaged"):
            ws.get_run(bad)
        monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
        for page in ("home", "train", "runs"):
            at = app(page)
            assert not at.exception, (page, [e.value for e in at.exception])
        assert any(bad in w.value and "is damaged" in w.value for w in at.warning), [w.value for w in at.warning]
        at.button(key=f"runs_delete_damaged_{bad}").click().run()
        assert ws.damaged_runs() == []


def test_summary_cells_edited_by_hand_leave_the_workspace_readable(tmp_path, monkeypatch):
    """A probe set one receipt's label_counts cell to '{oops': every page's sidebar and every CLI command that lists
    datasets failed with a bare JSON error naming neither the receipt nor a fix. The cells a write recomputes
    (label counts, word counts) read as empty when damaged; a run's tags, an event's payload and an undo's
    history likewise never break a page."""
    from receipt_core.training.events import EvalEvent, stored_event
    from receipt_core.workspace.run_labels import run_labels, set_run_label
    from tests.test_app_pages import app

    def run_events_of(ws, run_id):
        return [e for r in ws.run_events(run_id) if (e := stored_event(r.kind, r.payload)) is not None]

    ws = Workspace(tmp_path / "ws")
    word = (Word(text="TOTAL", box=(1, 1, 9, 9), field="TOTAL"),)
    ws.save_documents("a", [Document(id="a1", width=50, height=50, words=word)])
    ws.save_documents("b", [Document(id="b1", width=50, height=50, words=word),
                            Document(id="b2", width=50, height=50, words=word)])
    ws.update_word("b2", 0, OTHER)
    run = ws.create_run("r", {"scenario": "full"})
    set_run_label(ws, run, name="named", tags=["x"])
    for step in (1, 2, 3):
        event = EvalEvent(step=step, epoch=step, val_loss=1.0, task_val_losses={}, phase=0,
                          metrics={"fields": {"micro_f1": 0.5}})
        ws.append_run_event(run, event.kind, event.to_json())
    with sqlite3.connect(ws.database) as conn:
        conn.execute("UPDATE documents SET label_counts = '{oops', words = 'many' WHERE id = 'b1'")
        conn.execute("UPDATE run_labels SET tags = '[1,' WHERE run_id = ?", (run,))
        conn.execute("UPDATE run_events SET payload = 'null' WHERE run_id = ? AND seq = 1", (run,))
        conn.execute("UPDATE run_events SET payload = '{\"step\": 2}' WHERE run_id = ? AND seq = 2", (run,))
        conn.execute("UPDATE annotation_history SET before = '{'")
    summaries = {d.name: d for d in ws.datasets()}
    assert summaries["a"].label_counts == {"TOTAL": 1} and summaries["b"].documents == 2
    assert summaries["b"].words == 1 and summaries["b"].label_counts == {"OTHER": 1}  # b1's cells count as none
    assert [s.words for s in ws.list_documents("b")] == [0, 1]
    assert ws.get_document("b1").words == word  # the receipt itself reads from its own JSON
    assert run_labels(ws)[run].name == "named" and run_labels(ws)[run].tags == ()
    assert [e.payload["step"] for e in ws.run_events(run)] == [2, 3]  # not an object: left out
    assert [e.step for e in run_events_of(ws, run)] == [3]  # not an event: left out
    with pytest.raises(WorkspaceError, match="the history of the last change on 'b2' is damaged"):
        ws.undo("b2")
    assert ws.get_document("b2").words[0].field == OTHER  # nothing undone
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    for page in ("home", "data", "train", "runs", "annotate", "predict"):
        at = app(page)
        assert not at.exception and not at.error, (page, [e.value for e in [*at.exception, *at.error]])



def test_events_of_the_wrong_type_or_size_are_left_out_and_runs_still_draws_every_run(tmp_path, monkeypatch):
    """A probe inserted a step event of step "abc": Runs said "Drawing the curves failed: unsupported operand type(s)
    for /: str and float" for every run, and the downloads failed too; one of step 1e300 stretched the loss axis so
    that every other run lay on one line at 0. Each is now left out as it is read, and the pages draw."""
    from receipt_core.training.events import StepEvent, event_from_json, stored_event
    from tests.test_app_pages import app

    good = StepEvent(step=1, epoch=1, loss=2.0, task_losses={"fields": 1.5, "quantity": 0.5}, lr=1e-3, phase=1)
    assert event_from_json("step", good.to_json()) == good
    nan_loss = {**good.to_json(), "loss": None, "task_losses": {"fields": None}}  # how a NaN loss is stored
    assert stored_event("step", nan_loss) is not None
    hostile = [("step", {**good.to_json(), "step": "abc"}), ("step", {**good.to_json(), "step": 1e300}),
               ("step", {**good.to_json(), "step": 10**20}), ("step", {**good.to_json(), "loss": "low"}),
               ("step", {**good.to_json(), "task_losses": {"fields": 1e309}}), ("step", {**good.to_json(), "lr": True}),
               ("step", {**good.to_json(), "epoch": -1}), ("step", [1, 2, 3]), ("evil", {"x": 1}),
               ("phase", {"step": 1, "epoch": 1, "phase": 2, "trainable_groups": "heads", "trainable_parameters": 5,
                          "total_parameters": 9, "reason": "r"})]
    for kind, payload in hostile:
        assert stored_event(kind, payload) is None, (kind, payload)
    with pytest.raises(ValueError, match="step event field 'step' must be a whole number from 0 to"):
        event_from_json("step", {**good.to_json(), "step": "abc"})

    ws = Workspace(tmp_path / "ws")
    runs = [ws.create_run(name, {"scenario": "full"}) for name in ("tampered", "plain")]
    for run in runs:
        for step in (1, 2, 3):
            event = dataclasses.replace(good, step=step)
            ws.append_run_event(run, event.kind, event.to_json())
    with sqlite3.connect(ws.database) as conn:
        seq = conn.execute("SELECT max(seq) FROM run_events WHERE run_id = ?", (runs[0],)).fetchone()[0]
        for offset, (kind, payload) in enumerate(hostile, start=1):
            conn.execute("INSERT INTO run_events (run_id, seq, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                         (runs[0], seq + offset, kind, json.dumps(payload), 0.0))
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    at = app("runs")
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]


def test_claiming_a_run_for_a_resume_writes_the_settings_it_changed(tmp_path):
    """A walkthrough resumed a run with a longer time budget: the live status read the old one from the run's
    config and said "ETA 0s" for 30 s while the run went on."""
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("r", {"scenario": "phased", "max_minutes": 1.0, "epochs": 12})
    ws.set_run_status(run_id, "stopped")
    ws.claim_run(run_id, {"max_minutes": 1.5})
    config = ws.get_run(run_id).config
    assert (config["max_minutes"], config["epochs"], ws.get_run(run_id).status) == (1.5, 12, "running")
    ws.set_run_status(run_id, "stopped")
    ws.claim_run(run_id, {"max_minutes": None})
    assert ws.get_run(run_id).config["max_minutes"] is None
    ws.set_run_status(run_id, "stopped")
    with pytest.raises(WorkspaceError, match="not a run setting"):
        ws.claim_run(run_id, {"max_minutes') || ('": 1})


def test_a_workspace_locked_by_another_process_is_said_plainly(tmp_path, monkeypatch):
    """A probe held a write transaction open on the workspace database: every command waited, then said
    "unexpected OperationalError: database is locked" with exit code 1, as for a bug."""
    import sqlite3

    from receipt_core.workspace import database

    ws = Workspace(tmp_path / "ws")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(ws.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WorkspaceError, match=r"stayed locked by another process for 0\.2 s \(database is locked\): "
                                                 r"wait for it .* then try again"):
            ws.create_run("r", {"backbone": "tiny"})
    finally:
        holder.rollback()
        holder.close()
    assert ws.create_run("r", {"backbone": "tiny"})  # free again: as before


def test_a_run_name_can_neither_hide_characters_nor_take_another_runs_tag(tmp_path):
    """Probe 49: a run named "alpha · 1204fd" (run 1204fd's label where two runs share a name) made every picker,
    legend and chart point at the wrong run by it; and a name holding U+202E showed reversed in its own text box
    while every other view escaped it."""
    from receipt_core.workspace.run_labels import RunLabel, run_labels, save_label_edit, set_run_label

    ws = Workspace(tmp_path / "ws")
    first, second = ws.create_run("a", {}), ws.create_run("b", {})
    with pytest.raises(WorkspaceError, match=f'cannot end in " · {first[-6:]}": that is how the pages tell apart '
                                             "runs of one name, and it is the end of another run's id"):
        set_run_label(ws, second, name=f"alpha · {first[-6:]}")
    with pytest.raises(WorkspaceError, match=f'cannot end in " · {first[-6:]}"'):
        save_label_edit(ws, second, RunLabel(second, "", (), ""), f"alpha · {first[-6:]}", "", "")
    set_run_label(ws, second, name=f"alpha · {second[-6:]}")  # its own tag, or any other word, is a name
    set_run_label(ws, first, name="beta · v2 · final")
    for bad, code in (("evil\u202egnp.exe", "202e"), ("zero\u200bwidth", "200b")):
        with pytest.raises(WorkspaceError, match="a run name cannot hold a character that shows as nothing or "
                                                 f"reorders the text around it \\(it reads .*\\\\u{code}"):
            set_run_label(ws, first, name=bad)
        with pytest.raises(WorkspaceError, match="a tag cannot hold a character that shows as nothing"):
            set_run_label(ws, first, tags=[bad])
    set_run_label(ws, first, name="line\r\nbreak", tags=["a\r\nb"])  # whitespace collapses as before, not refused
    assert run_labels(ws)[first].name == "line break" and run_labels(ws)[first].tags == ("a b",)
    set_run_label(ws, first, name="family \U0001f468\u200d\U0001f469\u200d\U0001f467")  # an emoji's joiner stays
    assert run_labels(ws)[first].name.startswith("family ")
