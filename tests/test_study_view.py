"""Opening a finished scenario study: a real study (generated receipts, `tiny` backbone, two seeds, one broken
configuration) written by run_study + write_study, read back by receipt_core.study.view, shown on the Runs page's
Studies tab through the app.py router; and the errors for paths that hold no readable study."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from receipt_core.study.figures import curves_figure, quality_cost_figure
from receipt_core.study.files import StudyFileError, write_study
from receipt_core.study.reading import read_claims
from receipt_core.study.report import html_report, markdown_report
from receipt_core.study.runner import run_study
from receipt_core.study.settings import REFERENCE, StudyConfig, StudySettings
from receipt_core.study.view import find_studies, open_study, workspace_studies_dir
from receipt_core.training.events import HEADLINE_METRICS

REPO = Path(__file__).resolve().parent.parent
BROKEN = StudyConfig("no-such-backbone", "full")  # fails at once: its row says "failed", the notes say why
CONFIGS = (StudyConfig("tiny", "freeze-all"), StudyConfig("tiny", "freeze-backbone"), StudyConfig("tiny", "full"),
           StudyConfig("tiny", REFERENCE), BROKEN)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory, synth_receipts) -> Path:
    """A study of five configurations × two seeds on the session's six generated receipts, written to disk."""
    docs = [r.document for r in synth_receipts]
    out = tmp_path_factory.mktemp("study") / "tiny-study"
    settings = StudySettings(budget_minutes=1, epochs=2, repeats=2, batch_size=4, lr=1e-3)
    result = run_study(CONFIGS, settings, docs, docs, out, train_data="synth", eval_data="synth",
                       command="python -m receipt_core study (test)")
    write_study(result, out)
    return out


def _json(study_dir: Path) -> dict:
    return json.loads((study_dir / "study.json").read_text(encoding="utf-8"))


def _without_plotly_ids(html: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", html)


def test_an_opened_study_shows_what_its_report_shows(study_dir):
    data = _json(study_dir)
    study = open_study(study_dir)
    assert open_study(study_dir / "study.json").rows == study.rows  # the folder or its file
    assert study.folder == study_dir.resolve() and study.best == data["best"]
    # the rebuilt result writes the very reports the study wrote (only Plotly's random div ids differ)
    assert markdown_report(study.result) == (study_dir / "report.md").read_text(encoding="utf-8")
    assert _without_plotly_ids(html_report(study.result)) == _without_plotly_ids(
        (study_dir / "report.html").read_text(encoding="utf-8"))
    # the table: every configuration in order, numbers from study.json's summaries
    assert [row.configuration for row in study.rows] == [c["name"] for c in data["configurations"]]
    for row, stored in zip(study.rows, data["configurations"]):
        if not stored["runs"]:
            assert row.failed and row.cells()[1] == "failed"
            continue
        summary = stored["summary"]
        assert len(summary["fields.micro_f1"]["values"]) == 2  # two seeds
        for key in HEADLINE_METRICS:
            assert row.metrics[key].mean == pytest.approx(summary[key]["mean"])
            assert row.metrics[key].std == pytest.approx(summary[key]["std"])
        cells = row.cells()
        assert cells[1] == f"{summary['fields.micro_f1']['mean']:.3f} ± {summary['fields.micro_f1']['std']:.3f}"
        assert cells[5:] == (f"{summary['train_s']['mean']:.0f}", f"{summary['epochs']['mean']:.1f}",
                             f"{int(summary['trainable_parameters']['mean']):,}")
        assert row.best == (row.configuration == data["best"])
    assert sum(row.best for row in study.rows) == (1 if data["best"] else 0)  # none when no row clears the noise
    # the broken configuration: a failed row and a note saying why
    assert [row.configuration for row in study.rows if row.failed] == [BROKEN.name]
    assert any(BROKEN.name in note for note in study.notes)
    # the reading: as stored, and the same as judging the rebuilt numbers again
    assert [(c.claim, c.verdict, c.evidence) for c in study.claims] == [
        (c["claim"], c["verdict"], c["evidence"]) for c in data["claims"]]
    assert list(study.claims) == read_claims(study.result)
    assert "Freezing everything learns nothing." in {c.claim for c in study.claims}
    assert study.report_path("html") == study.folder / "report.html"


def test_the_figures_carry_the_stored_numbers(study_dir):
    data = _json(study_dir)
    study = open_study(study_dir)
    measured = [c for c in data["configurations"] if c["runs"]]
    cost = study.quality_cost_figure()
    assert cost.to_plotly_json() == quality_cost_figure(study.result).to_plotly_json()
    points = {(t.name, t.xaxis): (t.x[0], t.y[0]) for t in cost.data}
    for stored in measured:
        summary = stored["summary"]
        assert points[(stored["name"], "x")] == pytest.approx(
            (summary["train_s"]["mean"], summary["fields.micro_f1"]["mean"]))
        assert points[(stored["name"], "x2")] == pytest.approx(
            (summary["train_s"]["mean"], summary["quantity.item_accuracy"]["mean"]))
    curves = study.curves_figure()
    assert curves.to_plotly_json() == curves_figure(study.result).to_plotly_json()
    for stored in measured:
        run = stored["runs"][0]
        f1 = next(t for t in curves.data if t.name == stored["name"] and t.xaxis == "x")
        assert list(f1.y) == [e["fields.micro_f1"] for e in run["curves"]["eval"]]
        loss = next(t for t in curves.data if t.name == stored["name"] and t.xaxis == "x4")
        assert list(loss.y) == [p["loss"] for p in run["curves"]["loss"]]
    full = next(c for c in measured if c["scenario"] == "full")["runs"][0]
    assert full["curves"]["loss"], "a trained configuration must have a loss curve to draw"


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nowhere", "does not exist"),
    (lambda d: d, "holds no study.json"),
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/study", "vers'), "is not valid JSON"),
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/run", "version": 1}'), "is not a scenario study"),
    (lambda d: _write(d / "study.json", '[1, 2]'), "is not a scenario study"),
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/study", "version": 2}'), "version 2, newer"),
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/study", "version": "1"}'), "version '1', which no version"),
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/study", "version": 1, "settings": {}}'),
     "is damaged \\(missing 'configurations'\\)"),
    # Python's words for a list where an object belongs said as what is wrong in the file (probe 28)
    (lambda d: _write(d / "study.json", '{"format": "receipt-mtl/study", "version": 1, "settings": {}, '
                                        '"configurations": [[1, 2]]}'),
     "is damaged \\(a value of the wrong type: a list where an object belongs"),
])
def test_a_path_without_a_readable_study_says_what_is_wrong(tmp_path, make, message):
    with pytest.raises(StudyFileError, match=message):
        open_study(make(tmp_path))


def test_a_run_missing_a_field_is_reported_as_damage(study_dir, tmp_path):
    data = _json(study_dir)
    del data["configurations"][1]["runs"][0]["metrics"]
    _write(tmp_path / "study.json", json.dumps(data))
    with pytest.raises(StudyFileError, match=r"damaged .*tiny · freeze-backbone.* 'metrics'"):
        open_study(tmp_path)
    with pytest.raises(StudyFileError, match="no study named"):
        open_study("  ")


def test_a_study_far_larger_than_a_study_writes_is_refused_and_long_curves_are_thinned(study_dir, tmp_path):
    """A probe's 40 MB study.json (800 configurations, 1,000 loss points a run) held the Studies tab for 42 s."""
    data = _json(study_dir)
    entry = data["configurations"][0]
    (tmp_path / "big").mkdir()
    (tmp_path / "long").mkdir()
    _write(tmp_path / "big" / "study.json", json.dumps({**data, "configurations": [entry] * 800}))
    with pytest.raises(StudyFileError, match=r"damaged \(it holds 800 configurations and .* more than a study "
                                             r"writes \(at most 64 and 400\)\)"):
        open_study(tmp_path / "big")
    run = entry["runs"][0]
    points = [{"step": i, "elapsed_s": i / 10, "loss": 1.0} for i in range(1, 5001)]
    long = {**run, "curves": {**run["curves"], "loss": points}}
    _write(tmp_path / "long" / "study.json",
           json.dumps({**data, "configurations": [{**entry, "runs": [long]}, *data["configurations"][1:]]}))
    [kept] = open_study(tmp_path / "long").result.summaries[0].runs
    assert len(kept.losses) <= 1_000 and kept.losses[-1][0] == 5000 and kept.losses[0][0] == 1


def test_a_study_written_before_box_modes_keeps_its_line_boxes(study_dir, tmp_path):
    data = _json(study_dir)
    del data["settings"]["boxes"]
    data["settings"]["line_boxes"] = True  # how studies recorded their boxes before --boxes word|line|row
    _write(tmp_path / "study.json", json.dumps(data))
    study = open_study(tmp_path)
    assert study.result.settings.boxes == "line" and "line boxes" in markdown_report(study.result)


def test_studies_copied_into_the_workspace_are_found(study_dir, tmp_path):
    folder = workspace_studies_dir(tmp_path / "workspace")
    assert folder == tmp_path / "workspace" / "studies" and find_studies(folder) == []
    shutil.copytree(study_dir, folder / "copied")
    (folder / "not-a-study").mkdir()
    _write(folder / "stray.json", "{}")
    found = find_studies(folder)
    assert [entry.name for entry in found] == ["copied"]
    assert open_study(found[0].folder).rows == open_study(study_dir).rows


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path.parent


# --- the Runs page's Studies tab --------------------------------------------------------------------------


def _runs_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown_table(at: AppTest, data: dict) -> None:
    """The page's study table lists every configuration with the report's numbers."""
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    table = next(d.value for d in at.dataframe if "configuration" in d.value.columns)
    assert list(table["configuration"]) == [c["name"] for c in data["configurations"]]
    for stored in data["configurations"]:
        row = table[table["configuration"] == stored["name"]].iloc[0]
        if not stored["runs"]:
            assert row["field micro-F1"] == "failed"
            continue
        f1, items = stored["summary"]["fields.micro_f1"], stored["summary"]["quantity.item_accuracy"]
        assert row["field micro-F1"] == f"{f1['mean']:.3f} ± {f1['std']:.3f}"
        assert row["item quantity acc."] == f"{items['mean']:.3f} ± {items['std']:.3f}"
        assert row["trainable parameters"] == f"{int(stored['summary']['trainable_parameters']['mean']):,}"
        assert (row["best"] == "★") == (stored["name"] == data["best"])
    reading = " ".join(m.value for m in at.markdown)
    for claim in data["claims"]:
        assert claim["claim"] in reading
    assert {"studies_cost", "studies_curves"} <= {c.key for c in at.get("plotly_chart")}


def test_runs_page_opens_a_study_without_any_run(study_dir, workspace_home):
    data = _json(study_dir)
    shutil.copytree(study_dir, workspace_studies_dir(workspace_home) / "tiny-study")
    at = _runs_page()
    assert any("No runs yet" in i.value for i in at.info)  # the Runs tab stops early; the Studies tab still works
    at.button(key="studies_pick_tiny-study").click().run()
    _shown_table(at, data)
    assert {"studies_download_html", "studies_download_markdown"} <= {b.key for b in at.get("download_button")}

    at.text_input(key="studies_path").set_value("tiny-study/study.json").run()  # typed: a name in the folder
    at.button(key="studies_open").click().run()
    _shown_table(at, data)


def test_runs_page_explains_a_bad_study_path(workspace_home, tmp_path):
    at = _runs_page()
    at.text_input(key="studies_path").set_value("no-such-study").run()
    at.button(key="studies_open").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Opening the study failed:") and "does not exist" in errors[0]
    broken = workspace_studies_dir(workspace_home) / "broken"
    broken.mkdir(parents=True)
    _write(broken / "study.json", "not json at all")
    at.text_input(key="studies_path").set_value("broken").run()
    at.button(key="studies_open").click().run()
    assert not at.exception and "is not valid JSON" in " ".join(e.value for e in at.error)
    assert not at.dataframe
    at.text_input(key="studies_path").set_value(str(tmp_path)).run()  # a server path outside: not probed
    at.button(key="studies_open").click().run()
    assert "studies open from" in " ".join(e.value for e in at.error)


def test_the_dashboard_opens_studies_only_inside_the_studies_folder(tmp_path):
    """The Studies tab must not tell whether an arbitrary server path exists or parses (issue 17)."""
    studies = tmp_path / "studies"
    studies.mkdir()
    for outside in ("/etc", "/etc/passwd", "../secret", str(tmp_path / "elsewhere"), "/no/such/folder"):
        with pytest.raises(StudyFileError, match="studies open from") as caught:
            open_study(outside, within=studies)
        assert "does not exist" not in str(caught.value) and "not valid" not in str(caught.value)


def test_a_studys_notes_and_data_paths_show_as_text_not_markdown(study_dir, workspace_home):
    """Found by a probe: a note in a copied study.json rendered as a live link, and a data path holding a backtick
    closed the intro's code span early (a real `study --train 'd`[CLICK](…)`'` did it, no file editing needed)."""
    from receipt_core.data.markup import code_span

    evil = workspace_studies_dir(workspace_home) / "evil"
    shutil.copytree(study_dir, evil)
    data = _json(evil)
    note = "run failed: [NOTELINK](http://evil.example/note) **bold** :red[RED]"
    path = "/tmp/d`[CLICK](http://evil.example/)`x"
    data["notes"] = [note]
    data["data"]["train"] = path
    (evil / "study.json").write_text(json.dumps(data), encoding="utf-8")
    at = _runs_page()
    at.button(key="studies_pick_evil").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == [code_span(note)]
    intro = next(m.value for m in at.markdown if m.value.startswith("Train:"))
    assert intro.startswith(f"Train: {code_span(path)} (")
    assert code_span(path).startswith("`` ")  # one backtick more than the path's longest run


def test_a_copied_studys_dates_settings_and_folder_name_cannot_carry_markup(study_dir, workspace_home):
    """Found by a probe: "started"/"finished" went into the intro as raw Markdown (a live link, a remote image the
    browser fetched); a folder named like a link showed as its text on its picker button."""
    from receipt_core.data.markup import escape_markdown

    studies = workspace_studies_dir(workspace_home)
    evil = studies / "[x](https:evil.example)"
    shutil.copytree(study_dir, evil)
    data = _json(evil)
    data["started"] = "[click me](https://evil.example/x) ![img](https://evil.example/i.png) <img src=x>"
    data["finished"] = "**bold** :red[RED] invoice\u202egnp"
    (evil / "study.json").write_text(json.dumps(data), encoding="utf-8")
    at = _runs_page()
    button = at.button(key=f"studies_pick_{evil.name}")
    assert button.label == escape_markdown(evil.name) == "\\[x\\](https:\u2060evil.example)"
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    intro = next(m.value for m in at.markdown if m.value.startswith("Train:"))
    intro = intro.replace("\u2060", "")  # the word joiners that keep a URL or :red[ inert (escape_markdown)
    assert "Started \\[click me\\](https://evil.example/x) !\\[img\\](https://evil.example/i.png) \\<img src=x\\>," in intro
    assert "finished \\*\\*bold\\*\\* :red\\[RED\\] invoice\\\\u202egnp." in intro
    for setting, value in (("lr_schedule", "[l](https://evil.example)"), ("loss_weighting", "<b>x</b>")):
        broken = {**data, "settings": {**data["settings"], setting: value}}
        (evil / "study.json").write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(StudyFileError, match="damaged"):
            open_study(evil)


def test_a_study_file_nested_deep_or_a_name_too_long_is_one_clear_refusal(tmp_path):
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "study.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(StudyFileError, match="nests 200,000 levels deep"):
        open_study(deep)
    for name in ("a" * 5000, "x\x00y"):
        with pytest.raises(StudyFileError, match="not a study folder's name"):
            open_study(name, within=tmp_path)


def test_a_copied_study_whose_seed_is_not_a_number_is_refused_as_damaged(tmp_path):
    """Found by a probe: the seed went into the report's first paragraph unchecked, Markdown and all."""
    from tests.test_security_browser import HOSTILE_STUDY

    for seed in ("1 ![pixel](http://127.0.0.1:9/seed.png)", 1.5, True):
        folder = tmp_path / f"s{len(str(seed))}"
        folder.mkdir()
        data = {**HOSTILE_STUDY, "settings": {**HOSTILE_STUDY["settings"], "seed": seed}}
        (folder / "study.json").write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(StudyFileError, match="is damaged \\(seed must be a whole number"):
            open_study(folder)


@pytest.mark.parametrize("metrics, run, why", [
    ({"fields.micro_f1": float("nan")}, {}, "metric fields.micro_f1 is nan, not a finite number"),
    ({"fields.micro_f1": 0.5, "quantity.items": -5}, {}, "metric quantity.items is -5, not a positive count"),
    ({"fields.micro_f1": 0.5, "quantity.items": 0}, {}, "metric quantity.items is 0, not a positive count"),
    ({"fields.micro_f1": 7.0}, {}, "metric fields.micro_f1 is 7.0, outside 0–1"),
    ({"fields.micro_f1": 0.5}, {"trainable_parameters": -10 ** 18}, "trainable_parameters is -1000000000000000000"),
    ({"fields.micro_f1": 0.5}, {"trainable_parameters": float("inf")}, "trainable_parameters is inf"),
    ({"fields.micro_f1": 10 ** 400}, {}, "int too large to convert to float"),
])
def test_a_hand_edited_study_with_impossible_numbers_is_damaged_not_a_verdict(metrics, run, why, tmp_path):
    """A probe: a copied study.json with a count of items of -5 or 0 took away the one-item margin and turned a
    "mixed" reading into "held"; NaN read "did not hold: nan vs nan"; 1e999 or -1e18 parameters raised
    OverflowError or "math domain error" as "Opening the study failed"."""
    from tests.test_security_browser import HOSTILE_STUDY

    data = json.loads(json.dumps(HOSTILE_STUDY))
    data.pop("claims")  # the reading is computed from the numbers
    data["configurations"][0]["runs"][0].update({"metrics": metrics, **run})
    (tmp_path / "study.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StudyFileError, match="is damaged") as refused:
        open_study(tmp_path)
    assert why in str(refused.value)


def test_escaped_markdown_keeps_bare_links_colours_and_codes_inert():
    """Streamlit makes links of bare URLs and e-mail addresses, colour of :red[…] and emoji or icons of :codes:
    after the Markdown is parsed, where a backslash no longer counts: a word joiner breaks each."""
    from receipt_core.data.markup import escape_markdown

    shown = escape_markdown("see http://x.example www.x.example a@b.example :red[x] :smile: :material/home:")
    assert shown.replace("\u2060", "") == ("see http://x.example www.x.example a@b.example :red\\[x\\] :smile: "
                                           ":material/home:")
    for live in ("http://", "www.", "a@b", ":red", ":smile", ":material"):
        assert live not in shown
    # a time, a colon before a space, an @ alone keep no invisible character (a walkthrough copied "17:<joiner>19")
    assert escape_markdown("17:19 UTC (full): field @ 3") == "17:19 UTC (full): field @ 3"
    assert ":100:" not in escape_markdown("good :100:")  # an emoji code of digits stays inert


def test_a_linked_or_oversized_report_is_not_offered_and_a_fifo_or_linked_study_file_is_refused(study_dir, tmp_path,
                                                                                                 monkeypatch):
    """A probe linked a copied study's report.md to /etc/passwd and downloaded it from Runs → Studies, made two
    400 MB reports that every rerun read, and typed the name of a FIFO, which blocked a server thread for good."""
    import os
    import threading

    from receipt_core.study import view

    studies = tmp_path / "studies"
    linked = studies / "linked"
    shutil.copytree(study_dir, linked)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (linked / "report.md").unlink()
    (linked / "report.md").symlink_to(secret)
    study = open_study("linked", within=studies)
    assert study.report_path("markdown") is None and study.report_path("html") is not None
    assert view.read_report(study.report_path("html")).startswith(b"<")
    with pytest.raises(OSError, match="is a link"):
        view.read_report(linked / "report.md")
    monkeypatch.setattr(view, "MAX_REPORT_BYTES", 10)
    assert study.report_path("html") is None  # over the limit: not offered

    (linked / "study.json").rename(tmp_path / "study.json")
    (linked / "study.json").symlink_to(tmp_path / "study.json")
    with pytest.raises(StudyFileError, match="is a link, not a file of its own"):
        open_study("linked", within=studies)

    os.mkfifo(studies / "pipe")
    refused = []
    opener = threading.Thread(target=lambda: refused.append(pytest.raises(StudyFileError, open_study, "pipe",
                                                                          within=studies)), daemon=True)
    opener.start()
    opener.join(10)
    assert not opener.is_alive(), "opening a FIFO as a study blocked"
    assert "is not a regular file" in str(refused[0].value)
