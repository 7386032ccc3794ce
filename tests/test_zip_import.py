"""A dataset uploaded as a zip (datasets/zip_import.py): real CORD sample files, a WildReceipt file with its images,
the CLI's native and Label Studio exports round-trip; a hostile zip (``..``, an absolute path, a link, a bomb, too
many files) is refused whole and stores nothing; format recognition (datasets/detect.py) is the CLI's too."""

from __future__ import annotations

import dataclasses
import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from receipt_core.data.document import Document, Word
from receipt_core.cli.main import main
from receipt_core.datasets import load_dataset
from receipt_core.datasets.detect import detect_format
from receipt_core.datasets.report import DatasetImportError
from receipt_core.datasets.zip_import import (ZipImportError, ZipLimits, dataset_root, extract_zip, import_zip,
                                              zip_dataset_name)
from receipt_core.workspace.database import WorkspaceError
from receipt_core.workspace.store import Workspace

CORD_SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "cord-sample"
WILDRECEIPT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "wildreceipt"


def _zip(files: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    buffer.seek(0)
    return buffer


def _zip_folder(folder: Path, prefix: str = "") -> io.BytesIO:
    return _zip({prefix + file.relative_to(folder).as_posix(): file.read_bytes()
                 for file in sorted(folder.rglob("*")) if file.is_file()})


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def test_a_zipped_cord_folder_imports_as_the_folder_does(ws):
    upload = _zip_folder(CORD_SAMPLE / "dev", prefix="cord-sample/dev/")  # one top folder, as a zipped folder is
    direct = load_dataset(CORD_SAMPLE / "dev", "cord")

    result = import_zip(ws, upload, "cord-sample.zip")

    assert (result.dataset, result.format, result.format_detected) == ("cord-sample", "cord", True)
    assert result.files == len(list((CORD_SAMPLE / "dev" / "json").glob("*.json")))
    assert result.documents == len(direct.documents) > 0
    assert dict(result.label_counts) == dict(direct.label_counts)
    assert result.problems == direct.problems
    assert {d.id: d for d in ws.load_documents("cord-sample")} == {d.id: d for d in direct.documents}


def test_the_format_can_be_given_and_a_wrong_one_stores_nothing(ws, tmp_path, monkeypatch, capsys):
    files = {f"json/{p.name}": p.read_bytes() for p in sorted((CORD_SAMPLE / "dev" / "json").glob("*.json"))[:3]}

    result = import_zip(ws, _zip(files), "three.zip", format="cord", dataset="picked")
    assert (result.dataset, result.documents, result.format_detected) == ("picked", 3, False)

    with pytest.raises(ZipImportError, match=r"no native document files \(\*.json\) in three.zip$"):
        import_zip(ws, _zip(files), "three.zip", format="native", dataset="wrong")
    with pytest.raises(ZipImportError, match="no usable native documents in flat.zip .3 problem") as refused:
        import_zip(ws, _zip({name.removeprefix("json/"): data for name, data in files.items()}), "flat.zip",
                   format="native", dataset="wrong")
    assert [d.name for d in ws.datasets()] == ["picked"]
    assert len(refused.value.problems) == 3  # every one, for --all-problems and the page (the message shows three)

    # a fourth record: the message says how many more; the CLI's --all-problems prints every one (a probe saw 3 of 6)
    flat = {name.removeprefix("json/"): data for name, data in files.items()} | {"x.json": b"{}"}
    with pytest.raises(ZipImportError, match=r"\(4 problems: .*; … and 1 more\)$") as refused:
        import_zip(ws, _zip(flat), "flat.zip", format="native", dataset="wrong")
    (tmp_path / "flat.zip").write_bytes(_zip(flat).getvalue())
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    assert main(["import", str(tmp_path / "flat.zip"), "--format", "native", "--all-problems"]) == 2
    printed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("problem: ")]
    assert printed == [f"problem: {problem}" for problem in refused.value.problems]


@pytest.mark.parametrize("fmt", ["native", "label-studio"])
def test_the_clis_export_with_an_image_and_a_done_mark_comes_back_through_a_zip(fmt, ws, tmp_path, monkeypatch,
                                                                               capsys):
    docs = load_dataset(CORD_SAMPLE / "dev", "cord").documents[:4]
    first = docs[0]
    sha = ws.put_image(_png(first.width, first.height), ".png")
    ws.save_documents("cord-dev", [dataclasses.replace(first, image_sha256=sha), *docs[1:]])
    ws.set_reviewed(docs[1].id)  # a person's done mark travels in the document's meta and comes back
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    assert main(["export", "--format", fmt, "--out", str(tmp_path / "export"), "--dataset", "cord-dev"]) == 0
    assert "exported 4 documents (1 with images)" in capsys.readouterr().out
    if fmt == "label-studio":  # it named the hidden staging folder the CLI writes into first (a probe)
        readme = (tmp_path / "export" / "README.txt").read_text()
        assert '"/data/local-files/?d=export/images/"' in readme and ".partial" not in readme
    stored = ws.load_documents("cord-dev")
    ws.delete_dataset("cord-dev")
    before = len(ws.history())

    result = import_zip(ws, _zip_folder(tmp_path / "export", prefix="my-export/"), "my-export.zip")

    assert (result.format, result.documents, result.images, result.problems) == (fmt, 4, 1, ())
    assert ws.load_documents("my-export") == stored
    assert ws.image_path(sha) is not None
    assert ws.reviewed_ids("my-export") == {docs[1].id}
    assert ws.status_counts("my-export")["done"] == 4  # CORD's words are gold: done without the mark too
    assert len(ws.history()) == before  # an import is no undoable action, and neither is the mark it carries


@pytest.mark.parametrize("name", ["json", "__MACOSX"])
def test_a_dataset_named_as_an_import_convention_exports_a_zip_that_imports_back(name, ws):
    """The zip's folder is named as the zip (``json-native``): named ``json`` it was read as CORD's json/ folder,
    named ``__MACOSX`` as archive clutter, and the download did not import again (a probe)."""
    from receipt_core.datasets import EXPORT_FORMATS
    from receipt_core.datasets.export_zip import export_zip_bytes, export_zip_name

    ws.save_documents(name, load_dataset(CORD_SAMPLE / "dev", "cord").documents[:3])
    for fmt in EXPORT_FORMATS:
        data = export_zip_bytes(ws, name, fmt)
        assert {entry.split("/")[0] for entry in zipfile.ZipFile(io.BytesIO(data)).namelist()} == {f"{name}-{fmt}"}
        result = import_zip(ws, io.BytesIO(data), export_zip_name(name, fmt), dataset=name)  # updates it
        assert (result.format, result.documents) == (fmt, 3)


def test_a_wildreceipt_file_imports_with_its_images(ws):
    lines = (WILDRECEIPT / "train.txt").read_text(encoding="utf-8").splitlines()[:2]
    records = [json.loads(line) for line in lines]
    files = {"wild/class_list.txt": (WILDRECEIPT / "class_list.txt").read_bytes(),
             "wild/train.txt": "\n".join(lines).encode()}
    files.update({f"wild/{r['file_name']}": _png(r["width"], r["height"]) for r in records})

    result = import_zip(ws, _zip(files), "wild.zip")

    assert (result.format, result.documents, result.images) == ("wildreceipt", 2, 2)
    assert all(doc.image_sha256 and ws.image_path(doc.image_sha256) for doc in ws.load_documents("wild"))


@pytest.mark.parametrize("name, match", [("../evil.json", r"leads out of the folder \('\.\.'\)"),
                                         ("data/../../evil.json", r"leads out of the folder"),
                                         # inside, but refused all the same: said as what it is (probe 38)
                                         ("json/x/../evil.json", r"has a '\.\.' part, which is refused even inside"),
                                         ("/etc/evil.json", "is an absolute path"),
                                         ("C:/evil.json", "is an absolute path"),
                                         ("data\\..\\evil.json", "backslash")])
def test_an_entry_leading_outside_refuses_the_whole_zip(name, match, ws, tmp_path):
    good = (CORD_SAMPLE / "dev" / "json" / "receipt_00235.json").read_bytes()
    upload = _zip({"json/receipt_00235.json": good, name: good})

    with pytest.raises(ZipImportError, match=match):
        import_zip(ws, upload, "evil.zip", temp_root=tmp_path)
    assert ws.datasets() == [] and not (tmp_path / "evil.json").exists()
    assert list(tmp_path.glob("zip-import-*")) == []  # the temporary folder is gone too


@pytest.mark.parametrize("folder", ["Receipts:", "[x](http:", "http:"])
def test_a_folder_whose_name_ends_in_a_colon_is_a_folder_not_a_drive(folder, ws, tmp_path):
    """"Receipts:/a.json" is a legal name on Linux and macOS; a probe's zip of one was refused as an absolute path
    (only "C:" is a drive)."""
    good = (CORD_SAMPLE / "dev" / "json" / "receipt_00235.json").read_bytes()
    result = import_zip(ws, _zip({f"{folder}/json/receipt_00235.json": good}), "colon.zip", temp_root=tmp_path)
    assert result.documents == 1


def test_a_zip_inside_the_zip_is_named_as_left_out(ws, tmp_path):
    good = (CORD_SAMPLE / "dev" / "json" / "receipt_00235.json").read_bytes()
    inner = _zip({"json/receipt_00236.json": good}).getvalue()
    result = import_zip(ws, _zip({"json/receipt_00235.json": good, "json/more/inner.ZIP": inner}), "nested.zip",
                        temp_root=tmp_path)
    assert result.documents == 1
    assert any("nested.zip/json/more/inner.ZIP: a zip inside the zip is not read; left out" in problem
               for problem in result.problems), result.problems
    with pytest.raises(ZipImportError, match="inner.zip: a zip inside the zip is not read"):
        import_zip(ws, _zip({"inner.zip": inner}), "only-inner.zip", temp_root=tmp_path)


def test_a_symbolic_link_is_refused(ws, tmp_path):
    upload = _zip({"json/a.json": b"{}"}, links={"json/b.json": "/etc/passwd"})
    with pytest.raises(ZipImportError, match="is a symbolic link"):
        import_zip(ws, upload, "link.zip")
    with pytest.raises(ZipImportError, match="is a symbolic link"):
        extract_zip(_zip({}, links={"x": "../../outside"}), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_zip_bomb_is_refused_by_its_uncompressed_size_before_extraction(ws, tmp_path):
    zeros = b"\0" * (3 * 1024 * 1024)  # deflates about 1000x
    with pytest.raises(ZipImportError, match="over 100x.*zip bomb"):
        import_zip(ws, _zip({"bomb.json": zeros}), "bomb.zip")
    small = ZipLimits(max_total_bytes=1024 * 1024, max_ratio=10_000)
    with pytest.raises(ZipImportError, match="over 1,048,576 bytes once uncompressed"):
        extract_zip(_zip({"a.json": zeros}), tmp_path / "out", small)
    with pytest.raises(ZipImportError, match="more than 3 files"):
        extract_zip(_zip({f"{i}.json": b"{}" for i in range(4)}), tmp_path / "out", ZipLimits(max_files=3))
    assert not (tmp_path / "out").exists()


def _overlapping_zip(entries: int, kernel_bytes: int) -> bytes:
    """A "quoted overlap" zip bomb (Fifield): every entry's deflate stream quotes the next entry's local header as a
    stored block and then runs on into the same final kernel, so each entry declares a modest ratio while the whole
    file holds one kernel."""
    import struct
    import zlib

    kernel_out = b"\0" * kernel_bytes
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = packer.compress(kernel_out) + packer.flush()
    names = [f"bomb/f{i:04d}.json".encode() for i in range(entries)]

    def local_header(name: bytes, crc: int, packed: int, size: int) -> bytes:
        return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, packed, size, len(name), 0) + name

    sizes = [(0, 0, 0)] * entries  # (crc, compressed, uncompressed) of each entry, from the last back
    sizes[-1] = (zlib.crc32(kernel_out), len(kernel), kernel_bytes)
    headers = [b""] * entries
    headers[-1] = local_header(names[-1], *sizes[-1])
    quoted = b""
    for i in range(entries - 2, -1, -1):
        quoted = headers[i + 1] + quoted
        sizes[i] = (zlib.crc32(kernel_out, zlib.crc32(quoted)), 5 + len(headers[i + 1]) + sizes[i + 1][1],
                    len(headers[i + 1]) + sizes[i + 1][2])
        headers[i] = local_header(names[i], *sizes[i])
    body, offsets = b"", []
    for i in range(entries):
        offsets.append(len(body))
        body += headers[i]
        if i < entries - 1:  # a stored block's header that quotes the next local header
            body += struct.pack("<BHH", 0, len(headers[i + 1]), len(headers[i + 1]) ^ 0xFFFF)
    body += kernel
    directory = b"".join(
        struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, packed, size, len(name), 0, 0,
                    0, 0, 0o100644 << 16, offset) + name
        for (crc, packed, size), name, offset in zip(sizes, names, offsets))
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), len(body), 0)
    return body + directory + end


def test_a_zip_whose_entries_overlap_is_refused_before_a_byte_is_written(ws, tmp_path):
    """Found by the adversarial probe: 1,900 entries sharing one deflate kernel passed the ratio checks (each entry
    and the sum declared about 21x) and a 216 KB upload wrote 1.9 GB before the import failed."""
    bomb = _overlapping_zip(200, 200_000)
    assert len(bomb) < 60_000
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:  # a real bomb: zipfile reads every entry back in full
        infos = archive.infolist()
        assert archive.read(infos[0]).endswith(b"\0" * 1000) and len(archive.read(infos[0])) > 200_000
        assert sum(i.file_size for i in infos) > 40_000_000
        assert sum(i.file_size for i in infos) < 100 * sum(i.compress_size for i in infos)  # under the ratio rule
    with pytest.raises(ZipImportError, match="overlap in the file: refused as a zip bomb"):
        extract_zip(io.BytesIO(bomb), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ZipImportError, match="overlap"):
        import_zip(ws, io.BytesIO(bomb), "bomb.zip")
    assert ws.datasets() == []


def test_folder_entries_cost_no_work_and_too_many_entries_or_folders_are_refused_before_extraction(ws, tmp_path):
    """Found by the adversarial probe: a 4 MB zip of 50,000 empty folder entries plus one file took 79 s (a mkdir
    and rmdir each), and a 40 MB upload holds about 460,000 of them."""
    import time

    empty_folders = {f"{i:x}/": b"" for i in range(2_000)}
    out = tmp_path / "out"
    assert extract_zip(_zip({**empty_folders, "data/a.json": b"{}"}), out) == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["data", "data/a.json"]  # none made
    many = _zip({**{f"{i:x}/": b"" for i in range(100_001)}, "a.json": b"{}"})
    started = time.monotonic()
    with pytest.raises(ZipImportError, match="holds 100,002 entries, over 100,000"):
        import_zip(ws, many, "folders.zip")
    assert time.monotonic() - started < 10
    spread = _zip({f"d{i}/a.json": b"{}" for i in range(11)})
    with pytest.raises(ZipImportError, match="lie in more than 10 folders"):
        extract_zip(spread, tmp_path / "spread", ZipLimits(max_folders=10))
    deep = _zip({"/".join(f"d{i}" for i in range(11)) + "/a.json": b"{}"})  # 11 nested folders for one file
    with pytest.raises(ZipImportError, match="lie in more than 10 folders"):
        extract_zip(deep, tmp_path / "deep", ZipLimits(max_folders=10))
    assert not (tmp_path / "spread").exists() and not (tmp_path / "deep").exists() and ws.datasets() == []


def test_what_is_not_a_usable_zip_is_refused_with_its_reason(ws, tmp_path):
    with pytest.raises(ZipImportError, match="not a readable zip file"):
        import_zip(ws, io.BytesIO(b"PK\x03\x04 not really"), "broken.zip")
    with pytest.raises(ZipImportError, match="holds no files"):
        import_zip(ws, _zip({"__MACOSX/._a.json": b"x", ".DS_Store": b"x"}), "clutter.zip")
    with pytest.raises(ZipImportError, match="appears twice"):
        import_zip(ws, _zip({"a.json": b"{}", "./a.json": b"{}"}), "twice.zip")
    for notes in ("notes.md", "notes.txt"):  # a .txt is not WildReceipt unless named as its splits are
        with pytest.raises(ZipImportError, match="cannot tell the format of notes.zip: it holds no .json file .* and "
                                                 "no WildReceipt train.txt, dev.txt, test.txt or class_list.txt"):
            import_zip(ws, _zip({notes: b"hello"}), "notes.zip")
    with pytest.raises(WorkspaceError, match="contains '/'"):
        import_zip(ws, _zip({"a.json": b"{}"}), "a.zip", dataset="../x")
    assert ws.datasets() == []


def test_the_dataset_is_the_one_folder_everything_sits_in(tmp_path):
    (tmp_path / "a" / "b" / "json").mkdir(parents=True)
    assert dataset_root(tmp_path) == tmp_path / "a" / "b"  # CORD's json/ stays below the dataset
    (tmp_path / "a" / "b" / "image").mkdir()
    assert dataset_root(tmp_path) == tmp_path / "a" / "b"
    assert zip_dataset_name("cord-sample.zip", "cord") == "cord-sample"
    assert zip_dataset_name("my receipts (2).zip", "cord") == "cord-my-receipts-2"
    # from the name's text alone: "..zip" gave the server's working folder's name (a probe)
    assert [zip_dataset_name(name, "cord") for name in ("..zip", "...zip", "CON.zip")] == ["cord", "cord", "cord-CON"]


def test_formats_are_recognised_for_the_cli_and_the_upload_alike(tmp_path):
    assert detect_format(CORD_SAMPLE) == "cord"
    assert detect_format(CORD_SAMPLE / "dev" / "json" / "receipt_00235.json") == "cord"
    docs = load_dataset(CORD_SAMPLE / "dev", "cord").documents[:2]
    from receipt_core.datasets import export_documents

    for fmt, expected in (("native", "native"), ("label-studio", "label-studio")):
        export_documents(docs, tmp_path / fmt, fmt)
        assert detect_format(tmp_path / fmt) == expected
    (tmp_path / "wild").mkdir()
    (tmp_path / "wild" / "class_list.txt").write_text("0 Ignore\n")
    assert detect_format(tmp_path / "wild") == "wildreceipt"
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "x.json").write_text("[1, 2]")
    with pytest.raises(DatasetImportError, match=r"none of x.json is a CORD, native or Label Studio record"):
        detect_format(tmp_path / "odd")


def test_a_folder_of_two_datasets_is_refused_naming_both_and_a_manifest_beside_splits_is_no_dataset(tmp_path):
    """A probe: a native file beside CORD's json/ imported the one native receipt and left the 100 CORD ones out
    without a word; a native file beside a Label Studio tasks.json read the tasks as one bad native document."""
    import shutil

    from receipt_core.datasets import export_documents

    docs = load_dataset(CORD_SAMPLE / "dev", "cord").documents[:2]
    export_documents(docs[:1], tmp_path / "native", "native")
    export_documents(docs, tmp_path / "ls", "label-studio")
    native_file = next((tmp_path / "native").glob("*.json"))
    (tmp_path / "beside-cord").mkdir()
    shutil.copytree(CORD_SAMPLE / "dev" / "json", tmp_path / "beside-cord" / "json")
    shutil.copy(native_file, tmp_path / "beside-cord")
    with pytest.raises(DatasetImportError, match=r"beside-cord holds two datasets: native files at its top .* and "
                                                 r"cord files in json/; import each folder on its own"):
        detect_format(tmp_path / "beside-cord")
    shutil.copy(native_file, tmp_path / "ls")
    with pytest.raises(DatasetImportError, match=r"ls holds files of more than one format: native \(.*\.json\) and "
                                                 r"label-studio \(tasks.json\)|ls holds files of more than one format: "
                                                 r"label-studio \(tasks.json\) and native"):
        detect_format(tmp_path / "ls")
    # a tasks.json sorted after the files detection samples (probe 37: three native files, then the tasks read as
    # one bad document, and half a dataset imported)
    (tmp_path / "many").mkdir()
    export_documents(docs, tmp_path / "many", "native")
    for index, file in enumerate(sorted((tmp_path / "many").glob("*.json"))):
        shutil.copy(file, tmp_path / "many" / f"a{index}.json")  # four native files before tasks.json
    shutil.copy(tmp_path / "ls" / "tasks.json", tmp_path / "many" / "tasks.json")
    with pytest.raises(DatasetImportError, match=r"many holds files of more than one format: native \(a0\.json\) "
                                                 r"and a JSON list, as Label Studio exports its tasks \(tasks\.json\)"):
        detect_format(tmp_path / "many")
    (tmp_path / "splits" / "dev").mkdir(parents=True)
    shutil.copytree(CORD_SAMPLE / "dev" / "json", tmp_path / "splits" / "dev" / "json")
    (tmp_path / "splits" / "manifest.json").write_text('{"files": 50}')  # the shared CORD folder's layout
    assert detect_format(tmp_path / "splits") == "cord"


def test_the_cli_imports_a_downloaded_zip_as_data_import_does(ws, tmp_path, monkeypatch, capsys):
    """A probe: ``import export.zip`` said the zip was "not UTF-8 text"; the command reads it as Data → Import."""
    from receipt_core.datasets.export_zip import export_zip_bytes

    ws.save_documents("gold", load_dataset(CORD_SAMPLE / "dev", "cord").documents[:3])
    (tmp_path / "gold-native.zip").write_bytes(export_zip_bytes(ws, "gold", "native"))
    ws.delete_dataset("gold")
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    assert main(["import", str(tmp_path / "gold-native.zip")]) == 0
    out = capsys.readouterr().out
    words = sum(len(d.words) for d in ws.load_documents("gold-native"))
    assert f"imported 3 documents ({words} words, 0 with images) from" in out and "were already in" not in out
    assert [(d.name, d.documents) for d in ws.datasets()] == [("gold-native", 3)]
    # imported again over a person's label: said, as a folder import says it (a probe's zip import said nothing)
    first, second = ws.load_documents("gold-native")[:2]
    ws.update_word(first.id, 0, "TOTAL")
    ws.update_word(second.id, 0, "TOTAL")
    ws.undo(second.id)  # back as the file has it, with an undo history of its own
    assert main(["import", str(tmp_path / "gold-native.zip")]) == 0
    assert ("3 of these receipts were already in the dataset 'gold-native': 1 of them now holds the file's words, "
            "labels, items and done marks in place of the dataset's, which differed, and its undo history is cleared "
            "(2 came back the same and were left as they were)") in capsys.readouterr().out
    assert ws.get_document(first.id).words[0].label_source == "import"
    # once more, nothing differs: the result says so, for Data → Import to say "Nothing changed" (a walkthrough)
    from receipt_core.datasets.zip_import import import_zip

    again = import_zip(ws, tmp_path / "gold-native.zip", "gold-native.zip", dataset="gold-native")
    assert again.nothing_changed and again.documents == 3
    assert main(["import", str(tmp_path / "gold-native.zip")]) == 0  # and the command says it so
    assert "nothing changed: the 3 documents of " in capsys.readouterr().out
    # the unchanged one keeps its history: Redo brings the person's label back (a walkthrough's round trip lost it)
    assert ws.redo(second.id) is not None and ws.get_document(second.id).words[0].field == "TOTAL"
    assert main(["import", str(tmp_path / "gold-native.zip"), "--from-images"]) == 2
    assert "unzip" in capsys.readouterr().err


def test_a_zip_whose_name_cannot_name_a_dataset_says_where_its_receipts_went(ws):
    """A probe's `ｄｅｍｏ.zip` and `...zip` both went into `cord`, the second beside the first's receipts,
    unsaid."""
    files = sorted((CORD_SAMPLE / "dev" / "json").glob("*.json"))
    first = import_zip(ws, _zip({f"json/{files[0].name}": files[0].read_bytes()}), "ｄｅｍｏ.zip")
    assert first.dataset == "cord"
    assert first.name_note.startswith("The zip's name 'ｄｅｍｏ' cannot name a dataset (the dataset name")
    assert "so the receipts went into 'cord'." in first.name_note and "held" not in first.name_note
    second = import_zip(ws, _zip({f"json/{files[1].name}": files[1].read_bytes()}), "...zip")
    assert second.name_note.endswith("Dataset 'cord' held 1 receipt already: the zip's were added beside them. To "
                                     "keep them apart, import again with a dataset name of their own.")
    assert import_zip(ws, _zip({f"json/{files[2].name}": files[2].read_bytes()}), "shop.zip").name_note is None
    assert import_zip(ws, _zip({f"json/{files[3].name}": files[3].read_bytes()}), "x.zip",
                      dataset="cord").name_note is None  # a name the user chose: nothing to explain


def test_one_receipt_imported_again_is_said_in_the_singular():
    """A walkthrough read "1 of these receipts were already in the dataset uploads"."""
    from types import MappingProxyType

    from receipt_core.datasets.report import ImportReport

    def note(replaced, unchanged):
        return ImportReport(documents=(), images=MappingProxyType({}), problems=(), label_counts=MappingProxyType({}),
                            replaced=replaced, replaced_unchanged=unchanged).replaced_note("uploads")

    assert note(1, 1) == ("1 of these receipts was already in the dataset 'uploads', with the same words, labels, "
                          "items and done marks: it was left as it was, undo history included")
    assert note(2, 2).startswith("2 of these receipts were already") and "they were left as they were" in note(2, 2)


@pytest.mark.parametrize("fmt", ["native", "label-studio"])
def test_an_export_imports_into_a_new_dataset_as_copies_when_asked(fmt, ws, tmp_path, monkeypatch, capsys):
    """Walkthrough 19 exported a dataset for Label Studio and imported it into a new dataset, as a new Label Studio
    project takes it: refused whole, each receipt belonging to the first dataset. With copies asked for, each
    receipt held there is stored as ``<id>-copy``, its labels, done mark and photo with it, and the first dataset is
    left as it is; imported again, the copies are replaced, not copied again."""
    from receipt_core.datasets.export_zip import export_zip_bytes, export_zip_name
    from receipt_core.workspace.documents import DocumentsInAnotherDatasetError

    docs = load_dataset(CORD_SAMPLE / "dev", "cord").documents[:3]
    sha = ws.put_image(_png(docs[0].width, docs[0].height), ".png")
    ws.save_documents("uploads", [dataclasses.replace(docs[0], image_sha256=sha), *docs[1:]])
    ws.set_reviewed(docs[1].id)
    before = ws.load_documents("uploads")
    data = export_zip_bytes(ws, "uploads", fmt)
    with pytest.raises(DocumentsInAnotherDatasetError, match="import them as copies"):
        import_zip(ws, io.BytesIO(data), export_zip_name("uploads", fmt), dataset="roundtrip")

    result = import_zip(ws, io.BytesIO(data), export_zip_name("uploads", fmt), dataset="roundtrip", copies=True)

    assert (result.documents, result.images, result.problems) == (3, 1, ())  # as asked: no problem
    assert result.copied_note.startswith("3 of these receipts are already in dataset 'uploads': imported as copies "
                                         "with new ids")
    copies = ws.load_documents("roundtrip")
    assert [c.id for c in copies] == [f"{d.id}-copy" for d in before]
    assert [c.meta["copy_of"] for c in copies] == [d.id for d in before]  # what each copies
    assert [dataclasses.replace(c, id=d.id, meta=d.meta) for c, d in zip(copies, before)] == before  # labels, photo
    assert ws.reviewed_ids("roundtrip") == {f"{docs[1].id}-copy"}
    assert ws.load_documents("uploads") == before
    again = import_zip(ws, io.BytesIO(data), export_zip_name("uploads", fmt), dataset="roundtrip", copies=True)
    assert again.nothing_changed and [c.id for c in ws.load_documents("roundtrip")] == [c.id for c in copies]
    # and into a third dataset: "-copy" is taken there by "roundtrip", so "-copy2"
    (tmp_path / "export.zip").write_bytes(data)
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    assert main(["import", str(tmp_path / "export.zip"), "--dataset", "third", "--copies"]) == 0
    printed = capsys.readouterr()
    assert "imported 3 documents" in printed.out and "imported as copies with new ids" in printed.out
    assert "problem" not in printed.err + printed.out  # as asked (a probe read "1 problem (see stderr)")
    assert [d.id for d in ws.load_documents("third")] == [f"{d.id}-copy2" for d in before]


def test_copies_never_replace_another_receipt_and_go_back_to_their_own_copies(ws, tmp_path):
    """A probe's dataset held a receipt of its own named 'r1-copy': a copies import of another dataset's 'r1'
    replaced it, as if it were an earlier copy. And after a lower copy id was freed (its dataset deleted), importing
    the same export again stored every receipt a second time under new ids."""
    from receipt_core.datasets import export_documents, import_into_workspace

    tea = Document(id="r1", width=50, height=50, words=(Word(text="TEA", box=(1, 1, 9, 9), field="ITEM_NAME"),))
    coffee = Document(id="r1-copy", width=50, height=50, words=(Word(text="COFFEE", box=(1, 1, 9, 9)),))
    ws.save_documents("shopA", [tea])
    ws.save_documents("shopB", [coffee])
    export_documents(ws.load_documents("shopA"), tmp_path / "a", "native")
    stored = import_into_workspace(ws, "shopB", load_dataset(tmp_path / "a", "native"), copies=True)
    assert [d.id for d in stored.documents] == ["r1-copy2"] and stored.replaced == 0
    assert ws.get_document("r1-copy").words[0].text == "COFFEE"  # its own receipt, untouched

    import_into_workspace(ws, "copyA", load_dataset(tmp_path / "a", "native"), copies=True)  # r1-copy3
    import_into_workspace(ws, "copyB", load_dataset(tmp_path / "a", "native"), copies=True)  # r1-copy4
    ws.delete_dataset("copyA")
    again = import_into_workspace(ws, "copyB", load_dataset(tmp_path / "a", "native"), copies=True)
    assert [d.id for d in ws.load_documents("copyB")] == ["r1-copy4"] and again.nothing_changed  # replaced
    # an export of copies, imported as copies where the originals' copies are, goes to them (a second probe's
    # stored every receipt twice: copy_of named the copy, not the original)
    export_documents(ws.load_documents("copyB"), tmp_path / "b", "native")
    import_into_workspace(ws, "shopB", load_dataset(tmp_path / "b", "native"), copies=True)
    assert sorted(d.id for d in ws.load_documents("shopB")) == ["r1-copy", "r1-copy2"]
    # and a copy_of a file names is trusted only for a copy id this import gives: a receipt of the dataset's own
    # whose meta claims to copy r1 is never replaced
    mine = Document(id="mine", width=50, height=50, words=(Word(text="MINE", box=(1, 1, 9, 9)),),
                    meta={"copy_of": "r1"})
    ws.save_documents("own", [mine])
    import_into_workspace(ws, "own", load_dataset(tmp_path / "a", "native"), copies=True)
    assert ws.get_document("mine").words[0].text == "MINE" and len(ws.load_documents("own")) == 2
    # a file holding a receipt and a copy of it, imported as copies again and again: the same copies each time
    # (a probe's dataset grew by two at every import)
    export_documents([*ws.load_documents("shopA"), *ws.load_documents("copyB")], tmp_path / "both", "native")
    for _ in range(3):
        import_into_workspace(ws, "Z", load_dataset(tmp_path / "both", "native"), copies=True)
    assert len(ws.load_documents("Z")) == 2


def test_two_imports_of_copies_at_once_both_store_their_copies(ws, tmp_path, monkeypatch):
    """A probe's two `import --copies` of 3,000 receipts at once: one was refused, told to import them as copies,
    as it had: the ids are chosen before the transaction that stores them. They are chosen again."""
    import receipt_core.datasets.import_copies as import_copies
    from receipt_core.datasets import export_documents, import_into_workspace

    ws.save_documents("orig", [Document(id=f"r{i}", width=50, height=50, words=(Word(text="x", box=(1, 1, 9, 9)),))
                               for i in range(3)])
    export_documents(ws.load_documents("orig"), tmp_path / "a", "native")
    report = load_dataset(tmp_path / "a", "native")
    real = import_copies._free_id
    raced = []

    def taken_meanwhile(*args):  # the other import stores its copies between choice and store
        chosen = real(*args)
        if not raced:
            raced.append(chosen)
            import_into_workspace(ws, "race2", report, copies=True)
        return chosen

    monkeypatch.setattr(import_copies, "_free_id", taken_meanwhile)
    import_into_workspace(ws, "race1", report, copies=True)
    assert len(ws.load_documents("race1")) == len(ws.load_documents("race2")) == 3


def test_an_export_names_a_label_of_no_schema_instead_of_writing_a_receipt_that_will_not_import(ws, tmp_path,
                                                                                                 monkeypatch, capsys):
    """A probe's tampered workspace held a Cyrillic lookalike of ITEM_NAME: the native and Label Studio exports wrote
    it silently, and their import back skipped the receipt; the CORD export said "maps no CORD category onto
    'ІTEM_NAME'", naming no receipt."""
    words = (Word(text="RICE", box=(1, 1, 9, 9), field="\u0406TEM_NAME", label_source="person"),)
    ws.save_documents("shop", [Document(id="r1", width=50, height=50, words=words)])
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(ws.home))
    for fmt in ("native", "cord", "label-studio"):
        assert main(["export", "--format", fmt, "--out", str(tmp_path / fmt), "--dataset", "shop"]) == 2
        err = capsys.readouterr().err
        assert "nothing exported: receipt 'r1', word #0 ('RICE'): its label '\\u0406TEM_NAME'" in err, err
