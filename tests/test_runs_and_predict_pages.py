"""Issue 19 items 2-5 and 7 on the pages (AppTest) and in the core they call: runs with names, tags and notes,
headline metrics first and sorted, settings as a diff, curves by step/epoch/wall-clock with smoothing, "best" only
beyond the noise rule (runs and studies); a live sidebar and one status line; Predict with the run's validation,
item confidences, uncertain words and batch downloads; OCR workers that do not run the app; icons that render.

The trained run is test_app_pages' module fixture (the `tiny` backbone, 2 epochs on 4 generated receipts)."""

from __future__ import annotations

import dataclasses
import re

import csv
import io
import time
from types import SimpleNamespace

import plotly.io
import pytest

from receipt_core.data.document import Document, Word
from receipt_core.data.items import Item, assemble_items, parse_price
from receipt_core.evaluation.confidence import answered_words, quality_note, scored_items, uncertain_words
from receipt_core.evaluation.noise import clear_winner
from receipt_core.model.predict import DocumentPrediction, WordPrediction
from receipt_core.training.events import EvalEvent, FinishedEvent, PhaseEvent, ProgressEvent, StatusEvent
from receipt_core.training.run_summary import clear_best_runs
from receipt_core.workspace.run_labels import RunLabel, distinct_labels, display_name, run_labels, set_run_label
from receipt_core.workspace.database import WorkspaceError
from receipt_core.workspace.store import Workspace
from ui.literal import literal
from tests.test_app_pages import (app, demo_env, demo_home, fake_generation, fake_ocr, fresh_job_slot,  # noqa: F401
                                  no_errors, trained_run)


def _values(array) -> list[float]:
    """A Plotly JSON array: a list, or a typed array (``{"dtype", "bdata"}``, base64) as plotly.js reads it."""
    if isinstance(array, dict):
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def frame_with(at, *columns: str):
    """The first table on the page with these columns (read-only dataframes carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def _eval(step: int, f1: float, items: float) -> EvalEvent:
    return EvalEvent(step=step, epoch=1, val_loss=1.0, task_val_losses={}, phase=1,
                     metrics={"fields": {"micro_f1": f1}, "quantity": {"item_accuracy": items, "word_f1": 0.5}})


def _stored_run(ws: Workspace, name: str, f1: float, items: float, scenario: str = "full",
                eval_ids: tuple[str, ...] = tuple(f"e{i}" for i in range(12)),
                train_ids: tuple[str, ...] = tuple(f"doc-{i}" for i in range(100))) -> str:
    run_id = ws.create_run(name, {"backbone": "tiny", "scenario": scenario, "epochs": 2, "run_kind": "receipt",
                                  "train_ids": list(train_ids), "eval_ids": list(eval_ids),
                                  "train_documents": 100, "eval_documents": len(eval_ids)})
    ws.append_run_event(run_id, "phase", PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("heads",),
                                                    trainable_parameters=1000, total_parameters=5000,
                                                    reason="start").to_json())
    ws.append_run_event(run_id, "eval", _eval(4, f1, items).to_json())
    ws.append_run_event(run_id, "finished", FinishedEvent(step=4, epoch=2, reason="completed", elapsed_s=3.0,
                                                          metrics={}, checkpoint=None).to_json())
    ws.set_run_status(run_id, "finished")
    (ws.runs_dir / run_id).mkdir(parents=True, exist_ok=True)  # as a run makes it (no checkpoint in it here)
    return run_id


# --- noise rule ----------------------------------------------------------------------------------------


def test_best_is_marked_only_beyond_the_noise_rule():
    assert clear_winner({"a": [(0.5002, 0.0), (0.7, 0.0)], "b": [(0.5, 0.0), (0.7, 0.0)]}) is None  # 0.0002
    assert clear_winner({"a": [(0.60, 0.0), (0.7, 0.0)], "b": [(0.5, 0.0), (0.7, 0.0)]}) == "a"
    assert clear_winner({"a": [(0.60, 0.06), (0.7, 0.0)], "b": [(0.5, 0.05), (0.7, 0.0)]}) is None  # seeds' spread
    assert clear_winner({"a": [(0.70, 0.0), (0.5, 0.0)], "b": [(0.5, 0.0), (0.6, 0.0)]}) is None  # worse on one
    assert clear_winner({"a": [(0.7, 0.0), (0.7, 0.0)]}) is None  # nothing to beat
    rows = [{"run": "x", "eval set": "dev", "eval receipts": 50, "best fields.micro_f1": 0.5002,
             "best quantity.item_accuracy": 0.9},
            {"run": "y", "eval set": "dev", "eval receipts": 50, "best fields.micro_f1": 0.5,
             "best quantity.item_accuracy": 0.9},
            {"run": "z", "eval set": "dev", "eval receipts": 50, "best fields.micro_f1": None,
             "best quantity.item_accuracy": None}]
    assert clear_best_runs(rows) == set()
    rows[0]["best fields.micro_f1"] = 0.6
    assert clear_best_runs(rows) == {"x"}
    # a run scored on two other receipts is never compared with them, however high its numbers
    rows.append({"run": "tiny", "eval set": "two uploads", "eval receipts": 2, "best fields.micro_f1": 1.0,
                 "best quantity.item_accuracy": 1.0})
    assert clear_best_runs(rows) == {"x"}
    # nor starred among runs on the same few receipts: one receipt moves their scores beyond any rule (a
    # walkthrough's ★ stood on 3)
    rows.append({"run": "tiny-2", "eval set": "two uploads", "eval receipts": 2, "best fields.micro_f1": 0.1,
                 "best quantity.item_accuracy": 0.1})
    assert clear_best_runs(rows) == {"x"}


def test_the_cost_reading_names_the_run_worth_its_cost():
    """Walkthrough 40: the ★ weighs quality only, and nothing said whether phased's +0.029 field F1 was worth its
    2.3 times the training time of freeze-backbone. The reading under Cost vs quality says it in words."""
    from receipt_core.training.cost_reading import cost_reading
    from receipt_core.training.run_summary import TRAINING_TIME

    def row(run, f1, items, seconds, eval_set="dev", status="finished"):
        return {"run": run, "eval set": eval_set, "eval receipts": 50, "saved fields.micro_f1": f1,
                "saved quantity.item_accuracy": items, TRAINING_TIME: seconds, "status": status}

    names = {"fb": "text-minilm · freeze-backbone", "ph": "text-minilm · phased", "full": "text-minilm · full"}
    # no ★ (level within the noise): the cheaper run is the one worth its cost, never "scores best" (walkthrough 41
    # read "No run is marked best" above and "… scores best … worth its cost" below)
    level = cost_reading([row("fb", 0.938, 0.99, 26.0), row("ph", 0.940, 0.99, 61.0)], names)
    assert level == ("Scored on the same 50 receipts, no run is ahead of 'text-minilm · freeze-backbone' beyond the "
                     "noise (field F1 0.938, item quantity accuracy 0.990), and it trained fastest (26 s, to 61 s "
                     "for 'text-minilm · phased'): worth its cost.")
    # a ★ that costs more: what the extra time buys, both ways
    gap = cost_reading([row("fb", 0.911, 0.97, 26.0), row("ph", 0.940, 0.99, 61.0)], names)
    assert gap == ("Scored on the same 50 receipts, the ★ run 'text-minilm · phased' scores best (field F1 0.940, "
                   "item quantity accuracy 0.990) in 61 s of training; the cheapest run, 'text-minilm · "
                   "freeze-backbone', trained in 26 s (2.3 times less) with field F1 0.911, item quantity accuracy "
                   "0.970: weigh that against your volume of receipts.")
    # a run stopped by hand trained less, not faster: it is not the cheapest (walkthrough 48 read "3.1 times faster")
    stopped = cost_reading([row("fb", 0.585, 0.87, 7.0, status="stopped"), row("ph", 0.940, 0.99, 61.0),
                            row("full", 0.90, 0.97, 30.0)], names)
    assert "'text-minilm · freeze-backbone'" not in stopped and "the cheapest run, 'text-minilm · full'" in stopped
    # a ★ about as cheap as any
    fast = cost_reading([row("ph", 0.940, 0.99, 33.0), row("full", 0.90, 0.99, 30.0)], names)
    assert fast == ("Scored on the same 50 receipts, the ★ run 'text-minilm · phased' scores best (field F1 0.940, "
                    "item quantity accuracy 0.990) and trained about as fast as any (33 s): worth its cost.")
    # no ★ and the cheapest behind on one metric: said, not called worth it
    mixed = cost_reading([row("fb", 0.94, 0.95, 26.0), row("ph", 0.90, 0.99, 61.0)], names)
    assert mixed.startswith("Scored on the same 50 receipts, no run is ahead on both metrics; the cheapest, "
                            "'text-minilm · freeze-backbone', trained in 26 s")
    assert "worth its cost" not in mixed
    # nothing to weigh: one run, runs on other receipts, a run still training
    assert cost_reading([row("ph", 0.94, 0.99, 61.0)], names) is None
    assert cost_reading([row("ph", 0.94, 0.99, 61.0), row("fb", 0.91, 0.97, 26.0, eval_set="other")]) is None
    assert cost_reading([row("ph", 0.94, 0.99, 61.0), row("fb", 0.91, 0.97, 26.0, status="running")]) is None


def test_the_study_stars_no_best_row_on_a_0_0002_difference():
    from receipt_core.study.reading import best_summary
    from receipt_core.study.result import Spread

    def summary(name, f1, items, epochs=3.0):
        values = {"fields.micro_f1": f1, "quantity.item_accuracy": items, "epochs": epochs}
        return SimpleNamespace(runs=(SimpleNamespace(metrics={}, finished="completed"),),
                               config=SimpleNamespace(name=name, is_reference=False, scenario=name,
                                                      backbone="text-minilm"),
                               spread=lambda key: Spread.of([values[key]]))

    close = SimpleNamespace(summaries=(summary("full", 0.8002, 0.9), summary("phased", 0.8, 0.9)), eval_documents=50)
    assert best_summary(close) is None
    clear = SimpleNamespace(summaries=(summary("full", 0.85, 0.9), summary("phased", 0.8, 0.9)), eval_documents=50)
    assert best_summary(clear).config.name == "full"
    clear.eval_documents = 3  # one receipt moves such scores beyond any rule (a walkthrough's ★ stood on 3)
    assert best_summary(clear) is None
    # nor over a row that trained too little to judge, as the reading says (a walkthrough: ★ over 0.32 epochs)
    short = SimpleNamespace(summaries=(summary("full", 0.85, 0.9), summary("phased", 0.8, 0.9, epochs=0.32)),
                            eval_documents=50)
    assert best_summary(short) is None


# --- run labels ------------------------------------------------------------------------------------------


def test_a_renamed_runs_downloads_carry_its_name(workspace_home):
    """A walkthrough could not tell two renamed runs' checkpoint zips apart: they were named by run id alone."""
    from receipt_core.workspace.run_labels import download_stem

    ws = Workspace(workspace_home)
    run_id = ws.create_run("tiny · full", {"backbone": "tiny"})
    assert download_stem(ws.get_run(run_id), run_labels(ws)) == run_id
    set_run_label(ws, run_id, name="baseline run")
    assert download_stem(ws.get_run(run_id), run_labels(ws)) == f"baseline-run-{run_id}"
    set_run_label(ws, run_id, name="../**Demo** ·/ run")  # nothing of it a path or a mark
    assert download_stem(ws.get_run(run_id), run_labels(ws)) == f"Demo-run-{run_id}"


def test_run_labels_are_stored_cleaned_and_go_with_the_run(workspace_home):
    ws = Workspace(workspace_home)
    run_id = ws.create_run("tiny · full", {"backbone": "tiny"})
    assert run_labels(ws) == {}
    set_run_label(ws, run_id, name="  baseline   run ", tags="demo, ,demo, cpu ")
    set_run_label(ws, run_id, notes="first try")  # the rest stays
    label = run_labels(ws)[run_id]
    assert (label.name, label.tags, label.notes) == ("baseline run", ("demo", "cpu"), "first try")
    assert display_name(ws.get_run(run_id), run_labels(ws)) == "baseline run"
    from receipt_core.workspace.database import NotFoundError

    with pytest.raises(NotFoundError):
        set_run_label(ws, "20990101-000000-abcdef", name="x")
    with pytest.raises(WorkspaceError, match="at most"):
        set_run_label(ws, run_id, name="x" * 200)
    for field in ("name", "notes"):  # a second probe stored a NUL; notes keep their newlines
        with pytest.raises(WorkspaceError, match="control character"):
            set_run_label(ws, run_id, **{field: "a\x00b"})
    with pytest.raises(WorkspaceError, match="a tag cannot hold a control character"):
        set_run_label(ws, run_id, tags=["ok", "\x1b[31m"])
    set_run_label(ws, run_id, notes="line one\nline two")
    assert run_labels(ws)[run_id].notes == "line one\nline two"
    ws.set_run_status(run_id, "finished")
    ws.delete_run(run_id)
    assert run_labels(ws) == {}


# --- Runs page -------------------------------------------------------------------------------------------


def test_runs_page_names_sorts_diffs_and_marks_best_beyond_noise(workspace_home):
    ws = Workspace(workspace_home)
    low = _stored_run(ws, "tiny · full", 0.5, 0.7)
    alone = " ".join(c.value for c in app("runs").caption)  # one run: nothing to beat (a walkthrough)
    assert "★ marks the best run once two or more runs are evaluated" in alone and "No run is marked" not in alone
    high = _stored_run(ws, "tiny · full", 0.5002, 0.7, scenario="freeze-backbone")
    at = app("runs")
    no_errors(at)
    table = at.dataframe[0].value
    assert table["run"].tolist() == [high, low]  # sorted by field micro-F1, highest first
    assert set(table["best"]) == {""}  # 0.0002 apart: no best
    assert "No run is marked best" in " ".join(c.value for c in at.caption)
    assert table["name"].nunique() == 2  # two "tiny · full" runs told apart

    at.selectbox(key="runs_one").set_value(low).run()
    at.text_input(key=f"runs_name_{low}").set_value("n" * 81)  # over the limit: said, and the name kept as it was
    at.button(key=f"runs_label_save_{low}").click().run()
    assert any("a run name is at most 80 characters, got 81" in e.value for e in at.error)
    assert low not in run_labels(ws) or run_labels(ws)[low].name != "n" * 81
    at.text_input(key=f"runs_name_{low}").set_value("my baseline")
    at.text_input(key=f"runs_tags_{low}").set_value("T" * 200)  # the tag's fault, not the name's (probe 39)
    at.button(key=f"runs_label_save_{low}").click().run()
    assert [e.value for e in at.error if "a tag is at most" in e.value][0].startswith(
        "Saving the run's name, tags and notes failed: ")
    at.text_input(key=f"runs_tags_{low}").set_value("demo,, ,cpu ,  demo")
    at.button(key=f"runs_label_save_{low}").click().run()
    no_errors(at)
    assert run_labels(ws)[low].tags == ("demo", "cpu")
    # the box shows what was stored, empty and repeated tags gone (probe 60's stayed as typed until a reload)
    assert at.text_input(key=f"runs_tags_{low}").value == "demo, cpu"
    assert at.text_input(key=f"runs_name_{low}").value == "my baseline"
    table = at.dataframe[0].value
    assert table.set_index("run").loc[low, "name"] == "my baseline"
    assert table.set_index("run").loc[low, "tags"] == "demo, cpu"
    assert [t.value for t in at.toast] == [f"Saved the name, tags and notes of {literal('my baseline')}"]  # after the rerun

    # a tab drawn before another tab saved notes: its Save of a new name keeps those notes (a probe lost an hour's),
    # and notes it changed too are not overwritten unsaid
    set_run_label(ws, low, notes="Notes typed in tab A")
    at.text_input(key=f"runs_name_{low}").set_value("baseline, renamed in tab B")
    at.button(key=f"runs_label_save_{low}").click().run()
    no_errors(at)
    assert run_labels(ws)[low] == RunLabel(low, "baseline, renamed in tab B", ("demo", "cpu"), "Notes typed in tab A")
    assert at.text_area(key=f"runs_notes_{low}").value == "Notes typed in tab A"  # the form shows what is stored
    set_run_label(ws, low, notes="tab A again")
    at.text_area(key=f"runs_notes_{low}").set_value("tab B's own notes")
    at.button(key=f"runs_label_save_{low}").click().run()
    assert any("This run's notes changed in another tab or session since this form was drawn; nothing was saved"
               in e.value for e in at.error), [e.value for e in at.error]
    assert run_labels(ws)[low].notes == "tab A again"
    assert any("notes: tab A again" in c.value for c in at.code)  # what is stored now, to compare with the typed
    at.button(key=f"runs_label_save_{low}").click().run()  # again, knowingly: replaced
    assert run_labels(ws)[low].notes == "tab B's own notes"
    set_run_label(ws, low, name="my baseline")

    settings = frame_with(at, "setting", "this run")
    assert "training receipts (ids)" not in settings["setting"].tolist() and "backbone" in settings["setting"].tolist()
    assert "training receipts" in settings["setting"].tolist()  # in words, not train_documents (a walkthrough)
    assert list(settings.columns) == ["setting", "this run", "full defaults", "what it is"]  # its own defaults
    assert settings.set_index("setting").loc["epochs"].tolist() == ["2", "12", "epochs to train"]
    # every row whole: the default 400 px showed a fourth row's top sliver, read as a blank row (walkthrough 33)
    from ui.one_run import TABLE_HEADER_HEIGHT, settings_table_height

    assert settings_table_height(4, 66) == TABLE_HEADER_HEIGHT + 4 * 66 + 3
    assert settings_table_height(30, 66) == TABLE_HEADER_HEIGHT + 9 * 66 + 3  # whole rows up to 640 px, then scroll
    at.selectbox(key="runs_against").set_value(high).run()
    assert frame_with(at, "setting", "this run")["setting"].tolist() == ["scenario"]

    set_run_label(ws, high, name="")  # and a clear winner gets its star
    better = _stored_run(ws, "tiny · phased", 0.9, 0.9, scenario="phased")
    at = app("runs")
    table = at.dataframe[0].value
    assert table.iloc[0]["run"] == better and table.iloc[0]["best"] == "★"

    # a Save pressed in a form whose run another tab deleted saves nothing, and says no "Saved … of" another run
    at.selectbox(key="runs_one").set_value(low).run()
    at.text_input(key=f"runs_name_{low}").set_value("an edit of a run about to go")
    labels_before = run_labels(ws)
    ws.delete_run(low)  # another tab
    at.button(key=f"runs_label_save_{low}").click().run()
    assert not at.exception and not [t.value for t in at.toast if t.value.startswith("Saved")]
    assert run_labels(ws) == {k: v for k, v in labels_before.items() if k != low}
    assert any(f"The run you had chosen, {literal(low)}, is gone" in w.value for w in at.warning)  # said (a probe)
    at.run()
    assert not any("is gone" in w.value for w in at.warning)  # once

    # a name that is another run's shown label: still two labels, and two curves (a probe saw one of each)
    twin = _stored_run(ws, "tiny · phased", 0.8, 0.9, scenario="phased")  # two alike: told apart by their ids
    labels_now = app("runs").dataframe[0].value.set_index("run")["name"]
    assert labels_now[better] == f"tiny · phased · {better[-6:]}"
    # refused when typed now (probe 49: the pickers then pointed at the wrong run by it) ...
    with pytest.raises(WorkspaceError, match="that is how the pages tell apart runs of one name"):
        set_run_label(ws, high, name=labels_now[better])
    import sqlite3  # ... and one stored before that rule is still told apart

    set_run_label(ws, high, name="placeholder")
    with sqlite3.connect(ws.database) as conn:
        conn.execute("UPDATE run_labels SET name = ? WHERE run_id = ?", (labels_now[better], high))
    at = app("runs")
    names = at.dataframe[0].value.set_index("run")["name"]
    assert names[high] != names[better] != names[twin] and names.nunique() == len(names) == 3
    at.multiselect(key="runs_compare").set_value([high, better]).run()
    chart = next(c for c in at.get("plotly_chart") if c.key == "runs_overlay_2")  # fields micro-F1
    assert {names[high], names[better]} <= {t.name for t in plotly.io.from_json(chart.proto.spec).data}  # a curve each


def test_run_labels_are_distinct_whatever_the_names():
    ids = ["20261203-000000-aaaaaa", "20261203-000000-bbbbbb", "20261203-000000-cccccc"]
    assert distinct_labels(dict(zip(ids, ["a", "b", "c"]))) == dict(zip(ids, ["a", "b", "c"]))
    assert distinct_labels(dict(zip(ids, ["a", "a", "c"]))) == dict(zip(ids, ["a · aaaaaa", "a · bbbbbb", "c"]))
    crafted = dict(zip(ids, ["a", "a", "a · bbbbbb"]))  # a name typed to be another run's label
    labels = distinct_labels(crafted)
    assert len(set(labels.values())) == 3 and labels[ids[0]] == "a · aaaaaa"
    hostile = {ids[0]: f"x · {ids[1]}", ids[1]: "x", ids[2]: f"x · {ids[1]}"}
    assert len(set(distinct_labels(hostile).values())) == 3


def test_runs_page_plots_curves_by_epoch_and_wall_clock_with_smoothing(demo_env, trained_run):
    at = app("runs", dataset="demo")
    at.multiselect(key="runs_compare").set_value([trained_run]).run()
    for axis in ("epoch", "wall_s"):
        at.radio(key="runs_x").set_value(axis).run()
        at.slider(key="runs_smoothing").set_value(0.5).run()
        no_errors(at)
        chart = next(c for c in at.get("plotly_chart") if c.key == "runs_overlay_0")
        figure = plotly.io.from_json(chart.proto.spec)
        assert figure.layout.xaxis.title.text == {"epoch": "epoch",
                                                  "wall_s": "wall-clock seconds (pauses included)"}[axis]
        xs = [x for trace in figure.data for x in _values(trace.x)]
        assert xs and max(xs) > 0
        assert len(figure.data) == 2  # faint measured points under the smoothed line
        # the evaluations are drawn as measured, so their curves end at the run's scores (walkthrough 49)
        f1 = plotly.io.from_json(next(c for c in at.get("plotly_chart") if c.key == "runs_overlay_2").proto.spec)
        assert len(f1.data) == 1
    # each task's loss overlaid too, as Train draws them (a walkthrough could overlay only the totals)
    assert at.radio(key="runs_loss").options == ["total", "field labels", "quantities"]
    at.radio(key="runs_loss").set_value("quantity").run()
    no_errors(at)
    chart = next(c for c in at.get("plotly_chart") if c.key == "runs_overlay_0")
    figure = plotly.io.from_json(chart.proto.spec)
    assert figure.layout.title.text == "training loss (quantities)" and figure.data
    table = at.dataframe[0].value
    assert list(table.columns)[:2] == ["run", "name"]  # the frame; the page's column_order puts metrics first
    order = at.dataframe[0].proto.column_order
    # the saved model's scores (what Train and Predict show) on screen first, and what they cost (a walkthrough
    # found the time past eight metric columns), then each metric's best
    # the scenario beside the name: a renamed run showed none at 1366 px (walkthrough 28)
    # and which data each run learned from (walkthrough 65's two runs, one with its corrected photos added, read
    # alike in every column)
    assert list(order[:14]) == ["best", "name", "scenario", "status", "saved fields.micro_f1",
                                "saved quantity.item_accuracy", "training time (s)", "answering 1", "trained on",
                                "eval receipts", "best fields.micro_f1", "best quantity.word_f1",
                                "best quantity.item_accuracy", "best quantity.item_accuracy_not_one"]
    trained_in = sorted(set(demo_env.datasets_of(demo_env.get_run(trained_run).config["train_ids"]).values()))
    assert trained_in and table.set_index("run").loc[trained_run, "trained on"] == " + ".join(trained_in)
    # beside the item accuracy, what answering 1 for every item scores on the run's receipts (a walkthrough's run
    # that read no quantity scored as full fine-tuning did)
    assert all(value is None or 0 <= value <= 1 for value in table["answering 1"])


# --- sidebar and status --------------------------------------------------------------------------------


def _router_with(monkeypatch, page_body) -> "AppTest":
    """The real router (ui/router.run_router) over one stand-in page whose ``run`` is ``page_body``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(st, "Page", lambda *args, **kwargs: None)
    monkeypatch.setattr(st, "navigation", lambda pages: SimpleNamespace(run=page_body, url_path="data"))

    def script():
        from ui.router import run_router

        run_router()

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    return at


def test_the_sidebar_shows_data_the_page_just_made(workspace_home, monkeypatch):
    """'No data yet' after demo receipts were generated: the sidebar ran before the page made them."""
    from ui.dataset_choice import select_dataset

    def page():
        ws = Workspace(workspace_home)
        for name in ("cord-sample-dev", "demo"):
            ws.save_documents(name, [Document(id=f"{name}-1", width=10, height=10, words=())])
        select_dataset("demo")

    at = _router_with(monkeypatch, page)
    assert not at.exception
    assert not any("No data yet" in i.value for i in at.sidebar.info)
    choice = at.sidebar.selectbox(key="dataset")
    assert choice.options == ["cord-sample-dev", "demo"] and choice.value == "demo"


def test_a_page_that_stops_early_keeps_its_sidebar(workspace_home, monkeypatch):
    import streamlit as st

    at = _router_with(monkeypatch, st.stop)
    assert not at.exception and any("No data yet" in i.value for i in at.sidebar.info)


class _FakeJob:
    """A job as the slot sees it, paused mid-run (no thread)."""

    def __init__(self, status: str = "paused") -> None:
        self.status = status
        self.is_alive = True
        self.control = SimpleNamespace(should_pause=status == "paused", should_stop=False)

    def stop(self) -> None:
        self.is_alive = False

    def join(self, timeout=None) -> bool:
        return True


def test_the_sidebar_and_status_line_say_paused_and_elapsed_stands(workspace_home):
    from ui.shared import job_slot

    ws = Workspace(workspace_home)
    run_id = ws.create_run("tiny · full", {"backbone": "tiny"})
    job = _FakeJob("paused")
    job_slot().start(lambda: (run_id, job), description="tiny · full")
    for step in range(1, 4):  # this launch's events (older ones would be an earlier launch's: a resumed run's)
        ws.append_run_event(run_id, "progress", ProgressEvent(step=step, total_steps=100, epoch=0, epochs=5,
                                                              elapsed_s=float(step), steps_per_s=1.0,
                                                              items_per_s=2.0, eta_s=5.0).to_json())
    ws.append_run_event(run_id, "status", StatusEvent(step=3, status="paused").to_json())
    at = app()  # (AppTest draws the router's sidebar on a session's first run only)
    # by the name Runs shows
    assert any("paused" in c.value and literal("tiny · full") in c.value for c in at.sidebar.caption)
    at.switch_page("app_pages/train.py").run()
    line = at.get("progress")[0].proto.text
    assert "step 3/100" in line and "epoch 0.1/5" in line and "paused" in line and "ETA" not in line
    time.sleep(1.2)
    at.run()
    assert at.get("progress")[0].proto.text == line  # paused: the elapsed time stands still
    job.stop()



def test_a_resumed_run_says_it_is_loading_until_its_first_step(workspace_home):
    """Found by a walkthrough: after Resume the status line showed the old step under a ticking clock and a falling
    ETA for the 25 s the checkpoint took to load."""
    from receipt_core.training.events import PhaseEvent
    from ui.shared import job_slot

    ws = Workspace(workspace_home)
    run_id = ws.create_run("tiny · full", {"backbone": "tiny"})
    for step in range(1, 4):  # the earlier launch's steps, before Resume
        ws.append_run_event(run_id, "progress", ProgressEvent(step=step, total_steps=100, epoch=0, epochs=5,
                                                              elapsed_s=float(step), steps_per_s=1.0,
                                                              items_per_s=2.0, eta_s=5.0).to_json())
    time.sleep(0.05)
    job = _FakeJob("running")
    job_slot().start(lambda: (run_id, job), description="resumed · tiny · full")
    ws.append_run_event(run_id, "phase", PhaseEvent(step=3, epoch=0, phase=1, trainable_groups=(),
                                                    trainable_parameters=1, total_parameters=2,
                                                    reason="resumed").to_json())
    at = app()
    at.switch_page("app_pages/train.py").run()
    line = at.get("progress")[0].proto.text
    assert line.startswith("Going on from step 3: loading the checkpoint and preparing the first steps (")
    ws.append_run_event(run_id, "progress", ProgressEvent(step=4, total_steps=100, epoch=0, epochs=5, elapsed_s=4.0,
                                                          steps_per_s=1.0, items_per_s=2.0, eta_s=5.0).to_json())
    at.run()
    assert at.get("progress")[0].proto.text.startswith("step 4/100")
    job.stop()

# --- Predict ---------------------------------------------------------------------------------------------


def _prediction() -> tuple[Document, DocumentPrediction]:
    words = [Word("2", (0, 0, 5, 5), line_id=1), Word("TEA", (6, 0, 20, 5), line_id=1),
             Word("10.000", (30, 0, 50, 5), line_id=1), Word("TOTAL", (0, 10, 20, 15), line_id=2),
             Word("RICE", (0, 20, 20, 25), line_id=3), Word("5.000", (30, 20, 50, 25), line_id=4)]
    doc = Document(id="d", width=60, height=30, words=tuple(words))
    answers = [("OTHER", 0.2, True, 0.9), ("ITEM_NAME", 0.8, False, 0.1), ("ITEM_PRICE", 0.6, False, 0.0),
               ("TOTAL", 0.3, False, 0.0), ("ITEM_NAME", 0.95, False, 0.0), ("ITEM_PRICE", 0.4, False, 0.0)]
    predicted = tuple(WordPrediction(w.text, w.box, field, score, quantity, 2.0 if quantity else None, q)
                      for w, (field, score, quantity, q) in zip(words, answers))
    items = (Item("TEA", 2.0, None, 10000.0, line_id=1, quantity_read=True), Item("RICE", 1.0, None, 5000.0, line_id=3))
    return doc, DocumentPrediction("d", predicted, items)


def test_item_confidence_is_its_least_confident_word():
    doc, prediction = _prediction()
    tea, rice = scored_items(doc, prediction, uncertain_below=0.5)
    assert tea.confidence == pytest.approx(0.6)  # quantity 0.9 (its quantity probability), name 0.8, price 0.6
    assert rice.confidence == pytest.approx(0.4) and rice.uncertain_words == 1  # its price on the line below
    # a quantity read on the line, or the implied 1 (a walkthrough could not tell them apart)
    assert (tea.quantity, tea.quantity_read, rice.quantity, rice.quantity_read) == (2.0, True, 1.0, False)
    assert rice.to_json()["quantity_read"] is False
    # said as the item was assembled: a quantity word that prints no number ("=") leaves the implied 1 unread
    equals = [Word("TEA", (0, 0, 20, 5), line_id=1), Word("=", (25, 0, 30, 5), line_id=1)]
    [item] = assemble_items(equals, ["ITEM_NAME", "OTHER"], [False, True], [None, None])
    assert (item.quantity, item.quantity_read) == (1.0, False)
    assert [w["text"] for w in uncertain_words(prediction, 0.5)] == ["TOTAL", "5.000"]
    assert [w["text"] for w in uncertain_words(prediction, 0.7)] == ["10.000", "TOTAL", "5.000"]
    doubted = dataclasses.replace(prediction, words=(*prediction.words[:5], dataclasses.replace(
        prediction.words[5], field="OTHER", field_score=0.43)))  # a price the model doubts is OTHER: listed too
    assert [(w["text"], w["answer"]) for w in uncertain_words(doubted, 0.5)] == [("TOTAL", "TOTAL"),
                                                                                ("5.000", "OTHER")]
    # the labelled-words table shows the score the uncertain count uses: the quantity word "2" has field_score 0.2
    # (OTHER) but its answer, QUANTITY, 0.9 (a walkthrough saw 0.05 listed beside an uncertain count without it)
    assert answered_words(prediction)[0] == {"word": 0, "text": "2", "answer": "QUANTITY", "confidence": 0.9,
                                             "quantity_value": 2.0, "answered by": "model"}
    assert prediction.to_json()["words"][0]["quantity_score"] == 0.9  # and the JSON download carries it
    assert quality_note({"fields.micro_f1": 0.2}).level == "low"
    assert "fewer than half" in quality_note({"fields.micro_f1": 0.2}).message
    assert quality_note(None).level == "unknown" and quality_note({"fields.micro_f1": 0.9}).level == "good"
    assert "roughly 4 field words in 10 are wrong or missed" in quality_note({"fields.micro_f1": 0.58}).message
    # scored on 3 receipts: a walkthrough read "good" at 0.879 above a run scored on 50
    few = quality_note({"fields.micro_f1": 0.879}, eval_receipts=3)
    assert few.level == "fair" and "These scores come from only 3 validation receipts" in few.message
    assert quality_note({"fields.micro_f1": 0.879}, eval_receipts=50).level == "good"
    # a perfect or near-perfect score on few receipts read "roughly 1 field word in 10 is wrong" (a probe)
    assert "was 1.00: no field word was wrong or missed;" in quality_note({"fields.micro_f1": 1.0}, 5).message
    assert "fewer than 1 field word in 10 was wrong" in quality_note({"fields.micro_f1": 0.97}, 5).message
    assert "roughly 1 field word in 10 is wrong" in quality_note({"fields.micro_f1": 0.9}, 5).message
    assert "only 3 validation receipts" in quality_note({"fields.micro_f1": 0.2}, eval_receipts=3).message
    # a word the line's arithmetic settled is not doubted, here or in its item (a walkthrough saw a quantity 4
    # listed as uncertain at 0.08 where 4 x 0.99 = 3.96)
    settled = dataclasses.replace(prediction, words=(*prediction.words[:5], dataclasses.replace(
        prediction.words[5], settled_by="line arithmetic")))
    assert [w["text"] for w in uncertain_words(settled, 0.5)] == ["TOTAL"]
    assert answered_words(settled)[-1]["answered by"] == "line arithmetic"
    assert scored_items(doc, settled, uncertain_below=0.5)[1].uncertain_words == 0
    # an item whose own numbers disagree says so (a walkthrough's "2.2 × 1.50 = 3.00", the quantity at 0.998)
    from receipt_core.evaluation.confidence import ScoredItem

    def item(quantity, unit_price, price, read=True):
        return ScoredItem("x", quantity, unit_price, price, 0.9, 0, quantity_read=read)

    assert item(2.2, 1.5, 3.0).check == item(2.2, 1.5, 3.0).to_json()["check"] == "2.2 × 1.5 ≠ 3"
    assert item(2, 1.5, 3.0).check == "" and item(1, None, 3.0).check == ""
    assert item(1, 3.0, 3.0, read=False).check == ""
    # the implied 1 too: "unit 4.00, price 2.99" with no quantity word went unflagged (a walkthrough)
    assert item(1, 4.0, 2.99, read=False).check == "1 (no quantity read) × 4 ≠ 2.99"
    assert item(1, None, -27.0).check == "negative price"
    # no price at all: often a line that is no item (a walkthrough's "Pizza Hut" and "Batch" at confidence 1.00)
    assert item(1, None, None).check == item(1, 68154.0, None).check == "no price read"
    # no letters in its name, or a price above the receipt's own total: a ZIP code or a date read as an item (a
    # walkthrough's "Rockwall, Tx" at 75087 and "'=" at 200716810)
    assert ScoredItem("'=", 1, None, 200716810.0, 0.9, 0).check == "no letters in its name"
    assert ScoredItem("Rockwall, Tx", 1, None, 75087.0, 0.9, 0, receipt_total=45.2).check == \
        "price above the receipt's total (45.2)"
    assert ScoredItem("TEA", 1, None, 45.2, 0.9, 0, receipt_total=45.2).check == ""
    words = [WordPrediction("TEA", (0, 0, 1, 1), "ITEM_NAME", 0.9, False, None),
             WordPrediction("75087", (2, 0, 3, 1), "ITEM_PRICE", 0.9, False, None),
             WordPrediction("TOTAL", (0, 2, 1, 3), "OTHER", 0.9, False, None),
             WordPrediction("12.50", (2, 2, 3, 3), "TOTAL", 0.9, False, None)]
    receipt = Document(id="r", width=10, height=10, words=tuple(Word(text=w.text, box=w.box) for w in words))
    scored = scored_items(receipt, DocumentPrediction(doc_id="r", words=tuple(words), items=(
        Item(name="TEA", quantity=1.0, unit_price=None, price=75087.0),)))
    assert [i.check for i in scored] == ["price above the receipt's total (12.5)"]

    def checks(total_texts, price):  # a probe's: a refund's total, a total split at its decimal point
        total_words = [WordPrediction(t, (2 + i, 2, 3 + i, 3), "TOTAL", 0.9, False, None)
                       for i, t in enumerate(total_texts)]
        line = words[:2] + total_words
        doc = Document(id="r", width=10, height=10, words=tuple(
            Word(text=w.text, box=w.box, line_id=0 if i < 2 else 1) for i, w in enumerate(line)))
        return [i.check for i in scored_items(doc, DocumentPrediction(doc_id="r", words=tuple(line), items=(
            Item(name="TEA", quantity=1.0, unit_price=None, price=price),)))]

    assert checks(["(12.00)"], 12.0) == checks(["0.00"], 3.5) == [""]  # no ceiling from a total of 0 or less
    assert checks(["$8", ".99"], 8.5) == [""]  # read as 8.99, as an item's price is
    # no amount read as TOTAL, a subtotal read: it bounds them (a walkthrough's "Rockwall, Tx" at 75087)
    subtotal = [WordPrediction("23.24", (2, 2, 3, 3), "SUBTOTAL", 0.9, False, None)]
    sub_doc = Document(id="r", width=10, height=10, words=tuple(
        Word(text=w.text, box=w.box, line_id=i) for i, w in enumerate(words[:2] + subtotal)))
    assert [i.check for i in scored_items(sub_doc, DocumentPrediction(doc_id="r", words=tuple(words[:2] + subtotal),
                                                                      items=(Item("TEA", 1.0, None, 75087.0),)))] == [
        "price above the receipt's subtotal (23.24)"]

    assert parse_price("9" * 400) is None  # not Infinity in the JSON downloads


def test_an_item_price_without_cents_among_prices_with_cents_is_flagged():
    """A walkthrough's photo, read by a CORD run: "West Dodge Rd ll" at 12300 (the street number) and "Omaha, NE" at
    68154 (the ZIP code), with no total read, had a blank check among items priced 5.99. A CORD receipt, whose
    prices print no cents ("25,000", and "48000" now and then), has nothing flagged."""
    def checks(rows):
        words, items = [], []
        for line, (name, price) in enumerate(rows):
            words += [WordPrediction(name, (0, line, 1, line + 1), "ITEM_NAME", 0.9, False, None),
                      WordPrediction(price, (2, line, 3, line + 1), "ITEM_PRICE", 0.9, False, None)]
            items.append(Item(name=name, quantity=1.0, unit_price=None, price=parse_price(price), line_id=line))
        doc = Document(id="r", width=10, height=10, words=tuple(
            Word(text=w.text, box=w.box, line_id=i // 2) for i, w in enumerate(words)))
        return [i.check for i in scored_items(doc, DocumentPrediction(doc_id="r", words=tuple(words),
                                                                      items=tuple(items)))]

    photo = [("BANANA", "1.47"), ("MILK", "5.99"), ("BREAD", "3,49"), ("West Dodge Rd ll", "12300")]
    assert checks(photo) == ["", "", "", "price 12300 has no cents, unlike the receipt's other prices"]
    assert checks(photo[2:]) == ["", ""]  # too few prices to tell
    # two prices with cents are enough (a walkthrough's "Fec. Actual:" at 15, read from the time "15:11")
    assert checks([("PAN", "35,80"), ("AGUA", "3,70"), ("Fec. Actual:", "15")])[2].startswith("price 15 has no cents")
    assert checks([("NASI", "25,000"), ("TEH", "48000"), ("ES", "13.000"), ("AYAM", "30,000")]) == [""] * 4


def test_predict_shows_validation_confidence_and_downloads_a_batch(demo_env, trained_run, synth_receipts, fake_ocr,
                                                                   monkeypatch):
    import ui.predict_uploads

    reads: list[int] = []  # images read (and decoded for display) per call
    caches = []  # the OCR cache of each call: it reads the workspace's, and keeps nothing of a Predict upload
    fixture_ocr_many = ui.predict_uploads.ocr_many
    monkeypatch.setattr(ui.predict_uploads, "ocr_many",
                        lambda items, *args, **kwargs: reads.append(len(items)) or caches.append(kwargs["cache"])
                        or fixture_ocr_many(items, *args, **kwargs))
    at = app("predict", dataset="demo")
    at.selectbox(key="predict_run").set_value(trained_run).run()
    shown = " ".join(m.label for m in at.metric)
    assert "field micro-F1" in shown
    assert at.warning or at.info  # what the tiny run's validation means for its output
    files = [(f"receipt {i}.jpg", synth_receipts[i].image_bytes, "image/jpeg") for i in (4, 5)]
    at.file_uploader(key="predict_upload").set_value(files).run()
    no_errors(at)
    assert len(fake_ocr) == 2
    assert caches and all(cache.writes is False for cache in caches)
    items = frame_with(at, "name", "confidence", "uncertain_words")
    assert {"confidence", "uncertain_words"} <= set(items.columns)
    assert items["confidence"].between(0, 1).all()
    downloads = {b.key: b for b in at.get("download_button")}
    assert {"predict_csv", "predict_json"} <= set(downloads)
    at.selectbox(key="predict_shown").set_value("receipt 5.jpg").run()
    no_errors(at)
    at.slider(key="predict_threshold").set_value(1.0).run()  # everything is uncertain under 1.0
    # every word (OTHER ones too, as the overlay counts them); its labelled ones the same rows with the same
    # confidences as the labelled-words table
    uncertain, labelled = [d.value for d in at.dataframe if {"answer", "confidence"} <= set(d.value.columns)]
    assert len(uncertain) >= len(labelled)
    assert uncertain[uncertain["answer"] != "OTHER"].reset_index(drop=True).equals(labelled.reset_index(drop=True))
    at.toggle(key="predict_large").set_value(True).run()
    figure = plotly.io.from_json(next(c for c in at.get("plotly_chart") if c.key == "predict_figure").proto.spec)
    assert figure.layout.height > 720
    # "labels only" draws labels only: no star, though every word is under the threshold (walkthrough 56)
    assert at.radio(key="predict_overlay").value == "labels only"
    assert not [t for t in figure.data if "unsure" in (t.name or "")], [t.name for t in figure.data]
    at.radio(key="predict_overlay").set_value("both").run()  # the confidence overlay (plots/overlay.py)
    no_errors(at)
    figure = plotly.io.from_json(next(c for c in at.get("plotly_chart") if c.key == "predict_figure").proto.spec)
    assert any((t.name or "").startswith("model unsure (< 1.00)") for t in figure.data)
    assert any("words the model is unsure of" in c.value for c in at.caption)
    assert len(fake_ocr) == 2  # redraws reuse the OCR and the predictions
    assert reads == [2]  # ... and the decoded photos: a probe's twelve large photos took 2–8 s per click
    # a third photo, and a copy of one under another name: only the new photo is read (a walkthrough's seventh
    # photo re-read all seven, and three copies of one were read three times)
    files.append(("receipt 3.jpg", synth_receipts[3].image_bytes, "image/jpeg"))
    files.append(("copy of 4\u202egpj.jpg", synth_receipts[4].image_bytes, "image/jpeg"))
    at.file_uploader(key="predict_upload").set_value(files).run()
    no_errors(at)
    assert reads == [2, 1] and len(fake_ocr) == 3
    # the copy is said and shown once, under its first name (probe 36: four copies listed four times, the CSV's
    # items four times each); its name as text: a probe's right-to-left override was drawn reversed
    assert set(at.selectbox(key="predict_shown").options) >= {"receipt 4.jpg", "receipt 3.jpg"}
    assert "copy of 4\\u202egpj.jpg" not in at.selectbox(key="predict_shown").options
    assert any(i.value.startswith("1 upload is the same image as one uploaded before, shown once under its first "
                                  "name: ") and "copy of 4\\u202egpj.jpg" in i.value and "(as " in i.value
               for i in at.info), [i.value for i in at.info]
    # whole epochs, not an epoch index; and which receipts, scored how (walkthrough 54 read 0.938 here beside the
    # 0.613 `evaluate --from-images` gave on the same photos)
    validation = (r"Validation of this run at step \d+, after \d+ complete epochs?, on \d+ receipts? of .+ as stored "
                  r"\(their annotated words, not an OCR of a photo; an item without a printed quantity counts as 1\)")
    assert any(re.match(validation, c.value) for c in at.caption), [c.value for c in at.caption]

    # a walkthrough renamed the run on Runs; the picture's title kept the name it was started with
    from receipt_core.workspace.run_labels import set_run_label
    set_run_label(demo_env, trained_run, name="renamed on Runs")
    at.run()
    figure = plotly.io.from_json(next(c for c in at.get("plotly_chart") if c.key == "predict_figure").proto.spec)
    # the receipt's name, then the run's on a line of its own (walkthrough 37 read "… · text-minilm · phase" cut)
    assert figure.layout.title.text.endswith(f"<br>renamed on Runs · {trained_run}") and figure.layout.margin.t == 78
    set_run_label(demo_env, trained_run, name="")

    # to Runs and back: the photos are still shown, unread again (the field empties: a walkthrough uploaded again)
    at.switch_page("app_pages/runs.py").run()
    at.switch_page("app_pages/predict.py").run()
    no_errors(at)
    assert not at.file_uploader(key="predict_upload").value
    assert set(at.selectbox(key="predict_shown").options) >= {"receipt 4.jpg", "receipt 3.jpg"}
    assert reads == [2, 1] and any("you uploaded before leaving this page" in c.value for c in at.caption)
    at.button(key="predict_clear_kept").click().run()  # and Clear lets them go
    assert not [c for c in at.caption if "you uploaded before leaving this page" in c.value]
    assert not [s for s in at.selectbox if s.key == "predict_shown"]

    # photos larger in all than the cap are said not to be kept, and are not shown again after another page
    monkeypatch.setattr(ui.predict_uploads, "MAX_KEPT_BYTES", len(synth_receipts[4].image_bytes))
    at.file_uploader(key="predict_upload").set_value(files[:2]).run()
    no_errors(at)
    assert any("are more than Predict keeps when you go to another page" in c.value for c in at.caption)
    at.switch_page("app_pages/runs.py").run()
    at.switch_page("app_pages/predict.py").run()
    assert not [s for s in at.selectbox if s.key == "predict_shown"]


def test_predict_names_a_damaged_receipt_and_keeps_its_picker(demo_env, trained_run):
    """A probe: Predict died with Streamlit's redacted error on a receipt whose row no longer reads, and, that
    receipt being the picker's first, no other receipt of the dataset could be reached."""
    import sqlite3

    word = (Word(text="TOTAL", box=(1, 1, 9, 9), field="TOTAL"),)
    demo_env.save_documents("damaged", [Document(id=f"dmg{i}", width=50, height=50, words=word) for i in range(2)])
    try:
        with sqlite3.connect(demo_env.database) as conn:
            conn.execute("UPDATE documents SET json = '[]' WHERE id = 'dmg0'")
        at = app("predict", dataset="damaged")
        at.selectbox(key="predict_run").set_value(trained_run).run()
        at.radio(key="predict_source").set_value("A receipt from the workspace").run()
        assert not at.exception
        assert any("receipt ` dmg0 `" in e.value and "is damaged" in e.value for e in at.error), at.error
        at.selectbox(key="predict_doc").set_value("dmg1").run()
        no_errors(at)
    finally:
        demo_env.delete_dataset("damaged")

def test_predict_says_when_the_chosen_run_is_still_training(demo_env, trained_run):
    """A walkthrough's second tab showed a training run's checkpoint scores with nothing to say it was training."""
    status = demo_env.get_run(trained_run).status
    try:
        demo_env.set_run_status(trained_run, "running")
        at = app("predict")
        at.selectbox(key="predict_run").set_value(trained_run).run()
        assert any(i.value.startswith("This run is still training (running)") for i in at.info), \
            [i.value for i in at.info]
    finally:
        demo_env.set_run_status(trained_run, status)


def test_predict_warns_before_reading_a_receipt_of_thousands_of_words(demo_env, trained_run):
    """A probe's 19,000-word receipt kept Predict spinning for 4 minutes with nothing said (Annotate warns)."""
    words = tuple(Word(text=f"w{i}", box=(i % 50 * 10, i // 50 * 10, i % 50 * 10 + 8, i // 50 * 10 + 8))
                  for i in range(1_200))
    demo_env.save_documents("long", [Document(id="long-1", width=520, height=260, words=words)])
    try:
        at = app("predict", dataset="long")
        at.selectbox(key="predict_run").set_value(trained_run).run()
        at.radio(key="predict_source").set_value("A receipt from the workspace").run()
        no_errors(at)
        assert any("has 1,200 words, more than any receipt prints" in w.value for w in at.warning), at.warning
    finally:
        demo_env.delete_dataset("long")

def test_predict_batch_downloads_hold_every_receipt():
    from receipt_core.evaluation.confidence import items_table

    doc, prediction = _prediction()
    rows = items_table([("a.jpg", scored_items(doc, prediction)), ("b.jpg", scored_items(doc, prediction))])
    assert [r["receipt"] for r in rows] == ["a.jpg", "a.jpg", "b.jpg", "b.jpg"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert buffer.getvalue().count("\n") == 5


# --- logs and icons ----------------------------------------------------------------------------------------


def test_a_spawned_worker_does_not_run_the_app():
    """multiprocessing's spawn re-imports the main module (app.py while a page runs) in each OCR worker."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    probe = ("import sys, types\n"
             "from concurrent.futures import ProcessPoolExecutor\n"
             "from multiprocessing import get_context\n"
             f"main = types.ModuleType('__main__'); main.__file__ = {str(repo / 'app.py')!r}\n"
             "sys.modules['__main__'] = main\n"
             "with ProcessPoolExecutor(1, mp_context=get_context('spawn')) as pool:\n"
             "    print(pool.submit(eval, \"sorted(k for k in ('streamlit', 'ui.router') "
             "if k in __import__('sys').modules)\").result())\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]" and "ScriptRunContext" not in out.stderr


def test_scenario_guide_icons_are_material_icons():
    from receipt_core.model.scenario_guide import guide_markdown

    text = guide_markdown("freeze-backbone")
    assert ":material/add:" in text and ":material/remove:" in text
    assert "➕" not in text and "➖" not in text


def test_a_real_run_replayed_event_by_event_keeps_one_consistent_status_line(demo_env, trained_run):
    """The trained tiny run's stored events, read one at a time as a live tab would: elapsed never behind the
    clock nor going back, the epoch never going back, and the end equal to the FinishedEvent."""
    from receipt_core.training.events import event_from_json
    from receipt_core.training.run_status import RunClock, status_line

    records = demo_env.run_events(trained_run)
    started = demo_env.get_run(trained_run).created_at
    clock = RunClock(started_at=started)
    elapsed, epochs = [], []
    for record, following in zip(records, [*records[1:], None]):
        clock.add(event_from_json(record.kind, record.payload), record.created_at)
        now = following.created_at if following else record.created_at  # until the next event arrives
        line = status_line(clock.timing(), now)
        elapsed.append(line.elapsed_s)
        epochs.append(line.epoch)
        if record.kind == "progress":  # never behind the loop's own clock (storage latency aside)
            assert line.elapsed_s >= record.payload["elapsed_s"] - 0.05
    assert epochs == sorted(epochs)
    assert all(b >= a - 0.05 for a, b in zip(elapsed, elapsed[1:])), elapsed  # never back (beyond latency)
    finished = next(event_from_json(r.kind, r.payload) for r in records if r.kind == "finished")
    end = status_line(clock.timing(), time.time() + 100, live=False)
    assert end.ended and end.elapsed_s == finished.elapsed_s and end.epoch == 2.0 and end.fraction == 1.0


def test_runs_page_shows_a_right_to_left_override_in_a_run_name_and_tag_as_its_escape(workspace_home):
    """Found by a probe: U+202E in a run name reversed the text around it in the table and the overlay chips. A name
    typed now is refused one (probe 49); one stored before that rule still shows as its escape."""
    import json
    import sqlite3

    ws = Workspace(workspace_home)
    run_id = _stored_run(ws, "plain", 0.5, 0.5)
    set_run_label(ws, run_id, name="placeholder")
    with sqlite3.connect(ws.database) as conn:
        conn.execute("UPDATE run_labels SET name = ?, tags = ? WHERE run_id = ?",
                     ("invoice\u202egnp.exe", json.dumps(["t\u202eag"]), run_id))
    at = app("runs")
    no_errors(at)
    table = frame_with(at, "name", "tags")
    assert list(table["name"]) == ["invoice\\u202egnp.exe"] and list(table["tags"]) == ["t\\u202eag"]
    assert at.multiselect(key="runs_compare").format_func(run_id) == "invoice\\u202egnp.exe"


def test_the_runs_page_opens_one_run_on_the_starred_run_not_the_newest(workspace_home):
    """A walkthrough: "One run" opened on the newest run, a 1-epoch try at F1 0.11, over the starred one."""
    ws = Workspace(workspace_home)
    starred = _stored_run(ws, "text-minilm · phased", 0.9, 0.9, scenario="phased")
    _stored_run(ws, "tiny · full", 0.11, 0.5)  # the newest
    at = app("runs")
    no_errors(at)
    assert at.selectbox(key="runs_one").value == starred
    # and it shows the run's own scores and cost (a walkthrough: settings, phases and downloads, but no score)
    scores = next(d.value for d in at.dataframe if list(d.value.columns) == ["figure", "value"])
    shown = dict(zip(scores["figure"], scores["value"]))
    assert shown["saved model's field micro-F1"] == "0.900", shown


def test_run_pickers_start_on_the_starred_run_not_the_newest(workspace_home, monkeypatch):
    """Found in a walkthrough: after a race, Predict and Annotate opened on its newest run, its weakest scenario."""
    ws = Workspace(workspace_home)
    _stored_run(ws, "tiny · full", 0.5, 0.7)
    better = _stored_run(ws, "tiny · phased", 0.9, 0.9, scenario="phased")
    _stored_run(ws, "tiny · full", 0.3, 0.6)  # the newest

    import ui.run_choice

    # not AppTest.from_function: its script becomes __main__, and the OCR pool's spawned workers of later tests in
    # this process re-import __main__. The picker's selectbox is stood in for: it returns the option it starts on.
    state: dict = {}
    monkeypatch.setattr(ui.run_choice.st, "session_state", state)
    drawn = []
    monkeypatch.setattr(ui.run_choice.st, "selectbox", lambda label, options, format_func, key, index=0, **_:
                        drawn.append([format_func(o) for o in options]) or state.setdefault(key, options[index]))
    runs = ws.list_runs()
    assert ui.run_choice.run_picker(runs, "picker").id == better
    assert drawn[0][1] == f"{better} · tiny · phased"  # id and name, no status
    state["picker"] = runs[0].id
    assert ui.run_choice.run_picker(runs, "picker").id == runs[0].id  # once the picker has a choice, it keeps it
    state["picker"] = f"{runs[0].id} · tiny · full · running"  # a stale option text, as the browser sends it back
    assert ui.run_choice.run_picker(runs, "picker").id == better
    # no ★ (0.002 apart is within the noise rule): the highest field F1 still, not the newest (a demo opened on a
    # race's weakest run)
    close = _stored_run(ws, "tiny · phased", 0.902, 0.9, scenario="phased")
    _stored_run(ws, "tiny · full", 0.3, 0.6)
    state.clear()
    assert ui.run_choice.run_picker(ws.list_runs(), "picker").id == close
    # a ★ is per evaluation set: the newest ★, the best of two weak runs on other receipts, is not the first choice
    # over a ★ at 0.945 (a walkthrough's Predict opened on a run at 0.32)
    strong = _stored_run(ws, "text-minilm · phased", 0.945, 0.99, scenario="phased")
    demo = tuple(f"demo-{i}" for i in range(12))
    _stored_run(ws, "tiny · full", 0.1, 0.5, eval_ids=demo)
    _stored_run(ws, "my first stop test", 0.32, 0.6, eval_ids=demo)
    state.clear()
    assert ui.run_choice.run_picker(ws.list_runs(), "picker").id == strong
    # Annotate asks for a run trained on the receipt's dataset first, and every option names its datasets (a
    # walkthrough's photos got suggestions from the CORD run, every option reading "text-minilm · freeze-backbone")
    word = (Word(text="TOTAL", box=(1, 1, 9, 9), field="TOTAL"),)
    ws.save_documents("photos", [Document(id=f"photo-{i}", width=50, height=50, words=word) for i in range(3)])
    mine = _stored_run(ws, "tiny · freeze-backbone", 0.6, 0.6, train_ids=("photo-0", "photo-1"))
    state.clear()
    drawn.clear()
    assert ui.run_choice.run_picker(ws.list_runs(), "picker").id == strong  # no dataset asked: the ★
    assert f"{mine} · tiny · freeze-backbone · on photos" in drawn[-1]
    state.clear()
    assert ui.run_choice.run_picker(ws.list_runs(), "picker", "photos").id == mine
    # a choice the rule made is made again when a new run comes; the person's own is kept
    state.clear()
    assert ui.run_choice.run_picker(ws.list_runs(), "picker", "photos").id == mine
    newer = _stored_run(ws, "tiny · freeze-backbone", 0.8, 0.8, train_ids=("photo-0", "photo-1", "photo-2"))
    assert ui.run_choice.run_picker(ws.list_runs(), "picker", "photos").id == newer
    state.pop("picker_auto")  # as the selectbox's on_change does when the person picks
    state["picker"] = mine
    _stored_run(ws, "tiny · freeze-backbone", 0.9, 0.9, train_ids=("photo-0",))
    assert ui.run_choice.run_picker(ws.list_runs(), "picker", "photos").id == mine


def test_a_run_of_another_process_is_steered_there_and_marked_interrupted_once_that_process_is_gone(workspace_home,
                                                                                                   monkeypatch):
    """``train`` without ``--out`` keeps its run in the workspace: Runs lists it while it trains, says where it is
    paused and stopped, refuses to delete it, and marks it interrupted once its process is gone (killed while the
    app was up: before, it stayed "running" until the server restarted)."""
    import subprocess
    import sys

    import psutil

    ws = Workspace(workspace_home)
    run_id = _stored_run(ws, "tiny · phased", 0.5, 0.7, scenario="phased")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)"])  # killed below
    try:
        with ws._write() as conn:  # as `train` in that process would have left it
            conn.execute("UPDATE runs SET status = 'running', pid = ?, process_started = ?, config = json_set(config, "
                         "'$.started_from', 'command line') WHERE id = ?",
                         (other.pid, psutil.Process(other.pid).create_time(), run_id))
        assert ws.get_run(run_id).live_in_another_process()
        (ws.run_dir(run_id) / "run.json").write_text("{}")  # a checkpoint, as far as the page looks …
        import receipt_core.model.checkpoint as checkpoint

        # … and whole (zip offered)
        monkeypatch.setattr(checkpoint, "checkpoint_problem", lambda folder, run_id=None: None)
        at = app("runs")
        no_errors(at)
        note = next(i.value for i in at.info if "another process" in i.value)
        assert f"running in another process (pid {other.pid}, started on the command line)" in note
        assert (f"Ctrl-Z in its terminal pauses it, and Ctrl-C there (or `kill {other.pid}`) stops it after "
                "saving") in note
        assert at.button(key="runs_zip_prepare").disabled  # a zip taken while it saves mixed two saves (a probe)
        ws.set_run_status(run_id, "paused")  # (its pid becomes this process's: put the other one back)
        with ws._write() as conn:
            conn.execute("UPDATE runs SET pid = ?, process_started = ? WHERE id = ?",
                         (other.pid, psutil.Process(other.pid).create_time(), run_id))
        at.run()
        assert any("paused in another process" in i.value and "Ctrl-Z in its terminal resumes it" in i.value
                   for i in at.info)
        assert at.checkbox(key=f"runs_delete_confirm_{run_id}").disabled
        assert at.button(key="runs_delete").disabled
        assert not at.button(key="runs_zip_prepare").disabled  # paused: no save rewrites its files
        at.button(key="runs_refresh").click().run()
        assert ws.get_run(run_id).status == "paused"  # left alone: its process lives
        sidebar = [c.value for c in at.sidebar.caption]
        # by the name Runs shows (a walkthrough read the id here and the name on Runs)
        assert (f"Training: none here; run {literal('tiny · phased')} is paused in another process (pid {other.pid})"
                in sidebar), sidebar
        import ui.router as router  # this server's last run ended: said, and the other process's run beside it

        ended = SimpleNamespace(run_id="20261206-000000-abcdef", status="finished", is_live=False,
                                job=SimpleNamespace(control=None))
        slot = router.job_slot
        monkeypatch.setattr(router, "job_slot", lambda: SimpleNamespace(current=lambda: ended, busy=lambda: None))
        at.run()
        sidebar = [c.value for c in at.sidebar.caption]
        assert f"Elsewhere: run {literal('tiny · phased')} is paused in another process (pid {other.pid})" in sidebar, \
            sidebar
        assert any(c.startswith("Training: ") and c.endswith("run `20261206-000000-abcdef` — finished")
                   for c in sidebar), sidebar
        monkeypatch.setattr(router, "job_slot", slot)
        train = app("train")  # a run started now shares the cores with it: said before Start
        assert any(f"is paused in another process (pid {other.pid}). A run started here shares the CPU cores"
                   in c.value for c in train.caption), [c.value for c in train.caption]
    finally:
        other.kill()
        other.wait()
    at.run()
    assert ws.get_run(run_id).status == "interrupted"
    assert not [i for i in at.info if "another process" in i.value]
    assert not at.checkbox(key=f"runs_delete_confirm_{run_id}").disabled
    assert not at.button(key="runs_zip_prepare").disabled


def test_the_runs_overlaid_are_kept_across_a_visit_to_another_page(workspace_home):
    """A walkthrough picked four runs to overlay, went to Train (or Data) and back: the newest three were shown."""
    ws = Workspace.open(workspace_home)
    ids = []
    for i in range(4):
        ids.append(_stored_run(ws, f"run {i}", 0.5, 0.5))
        time.sleep(1.05)  # run ids are by the second
    at = app("runs")
    at.multiselect(key="runs_compare").set_value(ids).run()
    for page in ("train", "data"):
        at.switch_page(f"app_pages/{page}.py").run()
        at.switch_page("app_pages/runs.py").run()
        assert sorted(at.multiselect(key="runs_compare").value) == sorted(ids), page


def test_folders_copied_into_the_runs_folder_by_hand_are_said_not_listed(workspace_home):
    """Probe 39 put eight folders in the workspace's runs folder (a copied run, damaged ones, an empty one, a file):
    Runs listed only the run it knew, and nothing said the rest were there or how to read them."""
    ws = Workspace.open(workspace_home)
    assert ws.stray_run_folders() == ([], 0)
    run_id = _stored_run(ws, "known", 0.5, 0.5)
    ws.run_dir(run_id)  # its own folder: not stray
    for name in ("copy-of-run", "**md** <b>x<", "empty-dir", ".hidden"):
        (ws.runs_dir / name).mkdir()
    (ws.runs_dir / "stray-file.txt").write_text("x")
    assert ws.stray_run_folders() == (["**md** <b>x<", "copy-of-run", "empty-dir"], 4)  # dot files aside
    at = app("runs")
    [note] = [c.value for c in at.caption if "no run of this workspace" in c.value]
    assert note.startswith("4 entries of the workspace's runs folder are no run of this workspace: ")
    assert literal("**md** <b>x<", limit=60, exact=True) in note and " and 1 more." in note
    assert "evaluate FOLDER --data DATASET" in note
    assert list(at.dataframe[0].value["run"]) == [run_id]


def test_the_first_overlay_holds_the_starred_run_beside_the_newest_three(workspace_home):
    """Left alone since an earlier walkthrough: "Runs to overlay" opened on the three newest runs, and the ★ run,
    older, was not among the curves the table had just ranked first."""
    ws = Workspace.open(workspace_home)
    ids = []
    for i, score in enumerate((0.9, 0.3, 0.3, 0.3)):  # the oldest is clearly best
        ids.append(_stored_run(ws, f"run {i}", score, score))
        time.sleep(1.05)  # run ids are by the second
    at = app("runs")
    table = at.dataframe[0].value.set_index("run")
    assert table.loc[ids[0], "best"] == "★"
    assert sorted(at.multiselect(key="runs_compare").value) == sorted(ids)  # the newest three and the ★ one
    # the reading under Cost vs quality (walkthrough 40)
    assert any(m.value.startswith("Scored on the same ") and "the ★ run ` run 0 ` scores best (field F1 0.900" in
               m.value for m in at.markdown), [m.value for m in at.markdown]
    at.multiselect(key="runs_compare").set_value(ids[1:]).run()  # taken out: it stays out
    at.switch_page("app_pages/train.py").run()
    at.switch_page("app_pages/runs.py").run()
    assert sorted(at.multiselect(key="runs_compare").value) == sorted(ids[1:])
    # a pre-training run is listed, and overlaid only when asked: its masked-word loss is no task of the others
    # (walkthrough 50's took a race run's place among the curves)
    time.sleep(1.05)
    pretraining = ws.create_run("pre-training", {"backbone": "layout-minilm", "run_kind": "pretrain", "epochs": 1})
    ws.set_run_status(pretraining, "finished")
    fresh = app("runs")
    assert pretraining in list(fresh.dataframe[0].value["run"])
    assert pretraining not in fresh.multiselect(key="runs_compare").value
    assert "pre-training" in fresh.multiselect(key="runs_compare").options  # offered, by its name


def test_runs_take_their_colours_in_the_order_they_were_made_as_a_race_colours_them(workspace_home):
    """Walkthrough 40 raced full then freeze-fields-head: blue then orange on Race, the other way round on Runs,
    which coloured the newest first. Runs now colours them oldest first, first look and new runs alike."""
    from receipt_core.plots.run_charts import SERIES_COLORS

    ws = Workspace.open(workspace_home)
    first = []
    for name in ("a", "b"):
        first.append(_stored_run(ws, name, 0.5, 0.5))
        time.sleep(1.05)  # run ids are by the second
    at = app("runs")
    colors = at.session_state["runs_colors"]
    assert [colors[run] for run in first] == list(SERIES_COLORS[:2])
    raced = []
    for name in ("race entry 1", "race entry 2"):
        raced.append(_stored_run(ws, name, 0.5, 0.5))
        time.sleep(1.05)
    at.switch_page("app_pages/train.py").run()
    at.switch_page("app_pages/runs.py").run()
    colors = at.session_state["runs_colors"]
    assert [colors[run] for run in raced] == list(SERIES_COLORS[2:4])  # entry 1 before entry 2, as on Race


def test_runs_new_since_the_last_look_are_overlaid_and_runs_taken_out_stay_out(workspace_home):
    """A walkthrough ran a race of two runs and came back to Runs: the table listed them, the overlay still held
    only the one run of its first visit."""
    ws = Workspace.open(workspace_home)
    first = [_stored_run(ws, "first", 0.5, 0.5)]
    time.sleep(1.05)  # run ids are by the second
    first.append(_stored_run(ws, "second", 0.6, 0.5))
    at = app("runs")
    assert sorted(at.multiselect(key="runs_compare").value) == sorted(first)
    at.multiselect(key="runs_compare").set_value([first[1]]).run()  # "first" taken out
    time.sleep(1.05)
    raced = _stored_run(ws, "raced", 0.7, 0.5)
    at.switch_page("app_pages/train.py").run()
    at.switch_page("app_pages/runs.py").run()
    assert at.multiselect(key="runs_compare").value == [raced, first[1]]
    at.run()
    assert at.multiselect(key="runs_compare").value == [raced, first[1]]  # added once, not on every rerun


def test_a_run_its_time_budget_ended_says_why_runs_offers_no_resume(workspace_home):
    """A walkthrough looked for Resume under a run its 2-minute budget had ended after 0.7 of 20 epochs."""
    ws = Workspace(workspace_home)
    run_id = _stored_run(ws, "budgeted", 0.5, 0.7)
    ws.set_run_status(run_id, "finished", summary={"reason": "time budget", "step": 4})
    at = app("runs")
    at.selectbox(key="runs_one").set_value(run_id).run()
    no_errors(at)
    assert any(c.value.startswith("This run ended at its time budget") for c in at.caption)
    ws.set_run_status(run_id, "finished", summary={"reason": "completed", "step": 4})
    at.run()
    assert not any(c.value.startswith("This run ended at its time budget") for c in at.caption)


def test_runs_and_the_train_feed_show_each_phase_with_what_trained_and_why(demo_env):
    """A walkthrough found the phase lines ("phase 2: heads + top 2 encoder layers (25% of the time budget used)")
    only in the database: Runs drew "phase 2" on the charts and nothing of why. A real phased `tiny` run from the
    command line, three phases of one epoch each: Runs lists them with the step each began at, what trained and
    why, and the Train page's feed carries the same events."""
    from receipt_core.cli.main import main
    from receipt_core.training.run_feed import RunFeed
    from ui.phase_table import WHY

    before = {r.id for r in demo_env.list_runs()}
    assert main(["train", "--train", "demo", "--eval", "demo", "--backbone", "tiny", "--scenario", "phased",
                 "--epochs", "3", "--epochs-per-phase", "1", "--batch-size", "4",
                 "--workspace", str(demo_env.home)]) == 0
    run_id = next(r.id for r in demo_env.list_runs() if r.id not in before)
    at = app("runs")
    at.selectbox(key="runs_one").set_value(run_id).run()
    no_errors(at)
    table = frame_with(at, "from step", WHY)
    assert list(table[WHY]) == ["phase 1: heads only",
                                "phase 2: heads + top 2 encoder layers (after 1 epoch of phase 1)",
                                "phase 3: everything (after 1 epoch of phase 2)"]
    assert list(table["epochs done"]) == [0, 1, 2] and table["from step"].is_monotonic_increasing
    assert table["trainable parameters"].iloc[-1].split(" of ")[0] == table["trainable parameters"].iloc[-1].split(
        " of ")[1]  # everything trains in phase 3
    feed = RunFeed(run_id)
    feed.poll(demo_env)
    assert [p.reason for p in feed.curves().phase_events] == list(table[WHY])


def test_the_same_bad_file_uploaded_under_two_names_is_reported_under_each():
    """A probe uploaded one non-image as 'x\u202e.png' and as 'y.png': both lines named the first, as the error
    quotes the name as repr() writes it (escaped), and only the raw name was replaced."""
    from receipt_core.data.images import ImageLoadError, load_image
    from receipt_core.ocr.engine import OcrResult
    from ui.predict_uploads import _named

    for first in ("x\u202e.png", "plain.png"):
        with pytest.raises(ImageLoadError) as refused:
            load_image(b"not an image", first)
        result = OcrResult(name=first, document=None, image=None, error=str(refused.value))
        renamed, _ = _named(result, None, "y.png")
        assert renamed.name == "y.png" and renamed.error.startswith("'y.png' is not an image"), renamed.error


def test_predict_links_the_photos_it_stored_to_annotate(demo_env, trained_run, synth_receipts, fake_ocr):
    """Walkthrough 36 stored its photos for correction, went to Annotate by the sidebar and landed on a receipt of
    another dataset: a link opens the stored receipts, their dataset and first receipt in its address."""
    at = app("predict", dataset="demo")
    at.selectbox(key="predict_run").set_value(trained_run).run()
    files = [("receipt 4.jpg", synth_receipts[4].image_bytes, "image/jpeg")]
    at.file_uploader(key="predict_upload").set_value(files).run()
    at.text_input(key="predict_store_dataset").set_value("to-correct").run()
    at.button(key="predict_store").click().run()
    no_errors(at)
    stored = demo_env.load_documents("to-correct")
    try:
        links = [link for link in at.get("page_link") if link.proto.label == "Open the stored receipts on Annotate"]
        assert len(stored) == 1 and len(links) == 1
        # the sidebar shows the stored dataset now, and its ?dataset= goes along with any link, bound to the query:
        # named in the link too, it read "?dataset=to-correct&dataset=to-correct" (walkthrough 65)
        assert at.session_state["dataset"] == "to-correct"
        assert links[0].proto.page.endswith("annotate") and links[0].proto.query_string == f"receipt={stored[0].id}"
        # the success alone, not beside "1 of these photos is already a receipt …; there is nothing to store."
        assert [m.value for m in at.success][-1].startswith("Stored 1 receipt in dataset")
        assert not [c.value for c in at.caption if "already a receipt" in c.value]
        at.run()  # the next run: what holds it now
        assert [c.value for c in at.caption if "already a receipt" in c.value and "nothing to store" in c.value]
        at.selectbox(key="dataset").set_value("demo").run()  # the sidebar on another dataset: the link names it
        links = [link for link in at.get("page_link") if link.proto.label == "Open the stored receipts on Annotate"]
        assert links[0].proto.query_string == f"dataset=to-correct&receipt={stored[0].id}"
        at.selectbox(key="dataset").set_value("to-correct").run()
        # other photos uploaded since: no link to the ones stored before under "the stored receipts"
        at.file_uploader(key="predict_upload").set_value(
            [("receipt 5.jpg", synth_receipts[5].image_bytes, "image/jpeg")]).run()
        assert not [link for link in at.get("page_link") if link.proto.label.startswith("Open the stored")]
        at.file_uploader(key="predict_upload").set_value(files).run()
        at.switch_page("app_pages/annotate.py").run()  # by the sidebar: the dataset it shows is the stored one
        assert at.session_state["dataset"] == "to-correct"
        assert at.selectbox(key="annotate_doc").value == stored[0].id
    finally:
        demo_env.delete_dataset("to-correct")
