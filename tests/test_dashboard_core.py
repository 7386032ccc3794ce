"""The dashboard's Streamlit-free pieces: the server's training slot, the run feed, figures, scenario guide."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from PIL import Image

from receipt_core.data.document import Document, Word
from receipt_core.plots.figures import document_figure, label_colors, prediction_figure
from receipt_core.plots.run_charts import SERIES_COLORS, cost_quality_figure, curve_figure, kept_series_colors
from receipt_core.model.freeze import PRESETS
from receipt_core.training.events import EvalEvent, FailedEvent, FinishedEvent, PhaseEvent, StepEvent, flatten_metrics
from receipt_core.training.run_feed import RunFeed
from receipt_core.training.slot import JobBusyError, JobSlot
from receipt_core.model.scenario_guide import GUIDES, guide_for, guide_markdown
from receipt_core.data.schema import DEFAULT_SCHEMA
from receipt_core.workspace.store import Workspace
from receipt_core.training.config import TrainConfig
from receipt_core.training.job import TrainingJob


def blocking_job(release: threading.Event, name: str) -> TrainingJob:
    """A real TrainingJob whose build waits for ``release`` and then fails (nothing to train here)."""
    def build():
        release.wait(10)
        raise RuntimeError(f"{name}: released")
    return TrainingJob(build, TrainConfig(scenario="full", backbone="tiny"), name=name)


def test_slot_lets_exactly_one_of_many_concurrent_starts_through():
    slot = JobSlot()
    release = threading.Event()
    started, refused = [], []
    barrier = threading.Barrier(6)

    def press_start(i: int) -> None:
        barrier.wait()
        try:
            active = slot.start(lambda: (f"run-{i}", blocking_job(release, f"run-{i}").start()), description=f"#{i}")
            started.append(active.run_id)
        except JobBusyError as error:
            refused.append(str(error))

    threads = [threading.Thread(target=press_start, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(started) == 1 and len(refused) == 5
    assert all(message.startswith(f"a run is in progress: {started[0]}") for message in refused)
    release.set()
    slot.current().job.join(10)
    assert slot.busy() is None and slot.current().status == "failed"
    # once the job ended, the next start goes through
    other = threading.Event()
    other.set()
    assert slot.start(lambda: ("run-next", blocking_job(other, "next").start())).run_id == "run-next"
    slot.current().job.join(10)


def test_slot_stays_free_when_launch_fails_and_control_checks_the_run_id():
    slot = JobSlot()

    def bad_launch():
        raise ValueError("dataset is empty")

    with pytest.raises(ValueError, match="dataset is empty"):
        slot.start(bad_launch)
    assert slot.current() is None
    release = threading.Event()
    slot.start(lambda: ("run-a", blocking_job(release, "a").start()))
    with pytest.raises(JobBusyError, match="run-b is not running"):
        slot.control("run-b", "stop")
    with pytest.raises(ValueError, match="unknown job action"):
        slot.control("run-a", "explode")
    slot.control("run-a", "stop")
    assert slot.current().job.control.should_stop
    slot.forget("run-a")  # still live: kept (Runs refuses to delete a live run)
    assert slot.current().run_id == "run-a"
    release.set()
    slot.current().job.join(10)
    slot.forget("run-b")  # another run's deletion leaves it
    assert slot.current().run_id == "run-a"
    slot.forget("run-a")  # its run deleted: the Train page and the sidebar stop showing it as "stopped"
    assert slot.current() is None


def test_run_feed_reads_only_new_events_and_builds_chart_tables(tmp_path):
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("feed", {"backbone": "tiny"})
    def store(event):
        ws.append_run_event(run_id, event.kind, event.to_json())

    store(PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("heads",), trainable_parameters=10,
                     total_parameters=40, reason="start"))
    store(StepEvent(step=1, epoch=1, loss=3.0, task_losses={"fields": 2.0, "quantity": 1.0}, lr=1e-4, phase=1))
    feed = RunFeed(run_id)
    assert feed.poll(ws) == 2
    assert feed.poll(ws) == 0
    store(EvalEvent(step=1, epoch=1, val_loss=2.5, task_val_losses={"fields": 1.8},
                    metrics={"fields.micro_f1": 0.4, "fields.per_label": {"TOTAL": {"f1": 1}},
                             "quantity.item_accuracy": 0.9}, phase=1))
    store(PhaseEvent(step=1, epoch=1, phase=2, trainable_groups=("heads", "layer.5"), trainable_parameters=20,
                     total_parameters=40, reason="phase 2"))
    store(FailedEvent(step=1, error="loss became NaN", error_type="NonFiniteLossError", traceback="",
                      checkpoint=None))
    assert feed.poll(ws) == 3
    curves = feed.curves()
    assert sorted(curves.train_loss["series"]) == ["fields", "quantity", "total"]
    assert set(curves.metrics["series"]) == {"fields.micro_f1", "quantity.item_accuracy"}
    assert curves.phases == ((0, 1), (1, 2))
    assert curves.trainable_parameters == 20 and curves.status == "failed" and curves.error == "loss became NaN"
    assert curves.last_seq == 5
    # a resume announces the phase it continues in: no second "phase 2" line where it resumed
    store(PhaseEvent(step=1, epoch=1, phase=2, trainable_groups=("heads", "layer.5"), trainable_parameters=20,
                     total_parameters=40, reason="resumed"))
    feed.poll(ws)
    assert feed.curves().phases == ((0, 1), (1, 2)) and feed.curves().error is None


def test_a_run_that_ended_where_a_phase_began_shows_the_phase_it_trained(tmp_path):
    """A walkthrough stopped a phased run at step 100, where phase 3 was announced: Train said "trainable 24.8M of
    24.8M" and drew a phase-3 marker, though its last evaluation (and every step) was phase 2's."""
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("feed", {"backbone": "tiny"})
    for event in (PhaseEvent(step=0, epoch=0, phase=1, trainable_groups=("heads",), trainable_parameters=10,
                             total_parameters=40, reason="start", phases=3),
                  StepEvent(step=1, epoch=1, loss=3.0, task_losses={}, lr=1e-4, phase=1),
                  PhaseEvent(step=1, epoch=1, phase=2, trainable_groups=("heads", "layer.5"), trainable_parameters=20,
                             total_parameters=40, reason="phase 2", phases=3),
                  StepEvent(step=2, epoch=2, loss=2.0, task_losses={}, lr=1e-4, phase=2),
                  PhaseEvent(step=2, epoch=2, phase=3, trainable_groups=("everything",), trainable_parameters=40,
                             total_parameters=40, reason="phase 3", phases=3)):
        ws.append_run_event(run_id, event.kind, event.to_json())
    feed = RunFeed(run_id)
    feed.poll(ws)
    live = feed.curves()  # still training: the new phase shows at once
    assert live.trainable_parameters == 40 and live.phases == ((0, 1), (1, 2), (2, 3))
    ws.append_run_event(run_id, "finished", FinishedEvent(step=2, epoch=2, reason="stopped", elapsed_s=9.0,
                                                          metrics={}, checkpoint=None).to_json())
    feed.poll(ws)
    stopped = feed.curves()
    assert stopped.trainable_parameters == 20 and stopped.phases == ((0, 1), (1, 2))


def test_flatten_metrics_keeps_numbers_and_skips_per_label_tables():
    flat = flatten_metrics({"fields": {"micro_f1": 0.5, "per_label": {"TOTAL": {"f1": 1.0}}}, "documents": 3,
                            "note": "x", "ok": True})
    assert flat == {"fields.micro_f1": 0.5, "documents": 3.0}


def sample_doc() -> Document:
    words = (Word("2x", (10, 10, 30, 20), confidence=40.0).with_annotation("QUANTITY"),
             Word("COFFEE", (40, 10, 100, 20), confidence=95.0, field="ITEM_NAME"),
             Word("4.00", (150, 10, 190, 20), confidence=90.0, field="ITEM_PRICE"))
    return Document(id="d1", width=200, height=120, words=words)


def test_a_text_far_longer_than_its_box_is_written_cut_and_hovered_whole():
    """Probe 39 corrected a word's text to 80 characters: the drawing wrote it across the words beside it and off
    the page's edge. A text somewhat wider than its box (OCR boxes run tight) stays whole."""
    long = "**bold** <b>x</b> <img src=x onerror=alert(1)> [l](http://e.com) $x^2$ :red[red]"
    doc = sample_doc()
    doc = Document(id="d1", width=200, height=120,
                   words=(doc.words[0], Word(long, doc.words[1].box, field="ITEM_NAME"), doc.words[2]))
    fig = document_figure(doc)
    written = list(next(t for t in fig.data if t.mode == "text").text)
    assert written[0] == "2x" and written[2] == "4.00"
    assert written[1].endswith("…") and len(written[1]) < 40 and written[1].startswith("**bold** &lt;b&gt;")
    assert any(f"<b>{long.replace('<', '&lt;').replace('>', '&gt;')}</b>" in (t.hovertext or [""])[1]
               for t in fig.data if t.hovertext is not None and len(t.hovertext) > 1)


def test_document_figure_on_a_blank_page_draws_boxes_text_quantity_and_low_confidence():
    fig = document_figure(sample_doc())
    names = [t.name for t in fig.data]
    # hatched as the overlay hatches it (walkthrough 27: a dotted magenta read as SUBTOTAL's pink)
    assert {"QUANTITY", "ITEM_NAME", "ITEM_PRICE", "quantity word", "low OCR confidence: 1"} <= set(names)
    hatched = next(t for t in fig.data if t.name == "low OCR confidence: 1")
    assert hatched.fillpattern.shape == "/"
    # the dark outline belongs to QUANTITY's legend entry: a second entry beside it read as a colour never drawn
    outline = next(t for t in fig.data if t.name == "quantity word")
    assert outline.showlegend is False and outline.legendgroup == "QUANTITY"
    texts = [t for t in fig.data if t.mode == "text"]
    assert texts and list(texts[0].text) == ["2x", "COFFEE", "4.00"]
    boxes = next(t for t in fig.data if t.name == "ITEM_NAME" and t.mode == "lines")
    assert list(boxes.x[:5]) == [40, 100, 100, 40, 40]
    # without pixels the view is the words and a margin (4 % of the page's longer side, 8 pixels here), not the
    # whole page: a CORD receipt's words drew tiny at the bottom of an empty figure (a walkthrough)
    assert fig.layout.yaxis.range == (28, 2) and fig.layout.xaxis.range == (2, 198)
    # drawn at the top of its room, not centred in it (walkthrough 38: a wide photo had 150 px of blank above it)
    assert (fig.layout.yaxis.constrain, fig.layout.yaxis.constraintoward) == ("domain", "top")
    assert fig.layout.uirevision == "doc-d1"
    assert not fig.layout.images
    with_image = document_figure(sample_doc(), image=Image.new("RGB", (200, 120), "white"))
    assert with_image.layout.yaxis.range == (120, 0) and with_image.layout.xaxis.range == (0, 200)


def test_figures_over_an_image_and_from_a_prediction():
    from PIL import Image

    prediction = {"id": "d1", "words": [
        {"text": "2x", "box": [10, 10, 30, 20], "field": "OTHER", "field_score": 0.3, "quantity": True,
         "quantity_value": 2.0},
        {"text": "COFFEE", "box": [40, 10, 100, 20], "field": "ITEM_NAME", "field_score": 0.9, "quantity": False,
         "quantity_value": None}], "items": []}
    fig = prediction_figure(200, 120, prediction, Image.new("RGB", (2000, 1200), "white"))
    assert len(fig.layout.images) == 1 and fig.layout.images[0].sizex == 200
    assert {"QUANTITY", "ITEM_NAME", "quantity word", "model unsure: 1"} <= {t.name for t in fig.data}
    star = next(t for t in fig.data if t.name == "model unsure: 1")  # a star, as on Annotate's overlay
    assert star.marker.symbol == "star" and list(zip(star.x, star.y)) == [(30, 10)]
    assert not [t for t in fig.data if t.mode == "text"]
    assert set(label_colors(DEFAULT_SCHEMA)) == set(DEFAULT_SCHEMA.annotation_labels)
    # the quantity word is drawn with the quantity head's score when the prediction has it (its field score is
    # OTHER's): 0.3 flagged it low-confidence before
    scored = {**prediction, "words": [{**prediction["words"][0], "quantity_score": 0.8}, prediction["words"][1]]}
    assert not any((t.name or "").startswith("model unsure") for t in prediction_figure(200, 120, scored).data)
    # a word nobody labelled is "not labelled" in the legend, as in the word table and label counts, not OTHER
    from receipt_core.data.document import Document, Word
    from receipt_core.plots.figures import document_figure

    doc = Document(id="u", width=200, height=120, words=(Word(text="x", box=(1, 1, 9, 9)),))
    assert {t.name for t in document_figure(doc).data if t.showlegend is not False} == {"not labelled"}


def test_curve_figure_marks_phases_and_keeps_uirevision():
    points = pd.DataFrame({"step": [1, 2, 3, 1, 3], "series": ["train"] * 3 + ["validation"] * 2,
                           "value": [3.0, 2.0, 1.5, 2.5, 1.8]})
    fig = curve_figure(points, "loss", "loss", phases=[(0, 1), (2, 2), (3, 3)], uirevision="run-1")
    assert [t.name for t in fig.data] == ["train", "validation"]
    # told apart without colour too, by line style and marker (walkthrough 56), none dashed as the phase lines are
    assert [(t.line.dash, t.marker.symbol) for t in fig.data] == [("solid", "circle"), ("dot", "square")]
    assert len(fig.layout.shapes) == 2 and fig.layout.shapes[0].x0 == 2
    assert all(shape.line.dash == "dash" for shape in fig.layout.shapes)
    assert fig.layout.uirevision == "run-1"
    empty = curve_figure(points.iloc[0:0], "loss", "loss")
    assert not empty.data
    # not Plotly's -1 to 4 (a race's F1 chart before its first evaluation showed it), and it says why it is empty
    assert empty.layout.yaxis.range == (0, 1) and [a.text for a in empty.layout.annotations] == ["no points yet"]
    # one score point: no axis below 0 (a walkthrough read ticks from -0.5 under an F1 of 0.07 as broken)
    one = curve_figure(pd.DataFrame({"step": [1], "series": ["field micro-F1"], "value": [0.07]}), "F1", "score")
    assert one.layout.yaxis.rangemode == "nonnegative"
    assert one.layout.yaxis.range == (0, 1.05)  # not Plotly's ±1 around it: an accuracy of 0.95 ran to 2
    below = curve_figure(pd.DataFrame({"step": [1, 2], "series": ["x", "x"], "value": [-1.0, 1.0]}), "x", "x")
    assert below.layout.yaxis.rangemode is None
    # whole steps on a short run's axis (a walkthrough read 2.5 and 3.5); a long run keeps Plotly's own ticks
    assert (fig.layout.xaxis.tick0, fig.layout.xaxis.dtick) == (0, 1)
    long = pd.DataFrame({"step": range(1, 200), "series": ["train"] * 199, "value": [1.0] * 199})
    assert curve_figure(long, "loss", "loss").layout.xaxis.dtick is None


def test_a_long_legend_gets_room_below_the_axis_title_at_the_narrowest_width():
    """A walkthrough at 1024 pixels: the x-axis title "step" sat under the first entry of a five-entry legend."""
    from receipt_core.plots.chart_layout import AXIS_ROOM, LEGEND_ROW, legend_rows

    names = ["field micro-precision", "field micro-recall", "field micro-F1", "field accuracy",
             "item qty acc. (qty ≠ 1)"]
    assert legend_rows(["train", "validation"]) == 1 and legend_rows(names) >= 4 and legend_rows(names, 2000) == 1
    points = pd.DataFrame({"step": [1, 2] * 5, "series": [n for n in names for _ in range(2)], "value": [0.5] * 10})
    short, long = (curve_figure(points[points["series"].isin(chosen)], "t", "score")
                   for chosen in (names[:1], names))
    assert long.layout.legend.yref == "container" and long.layout.legend.yanchor == "bottom"
    assert long.layout.margin.b >= AXIS_ROOM + LEGEND_ROW * legend_rows(names)
    # the plot keeps its height: the figure grows by the legend's rows
    assert long.layout.height - long.layout.margin.b == short.layout.height - short.layout.margin.b
    assert long.layout.title.xref == "container"  # a long title starts at the figure's edge, not the plot's


def test_a_photo_wider_than_tall_gets_a_figure_in_proportion_and_a_receipt_the_full_height():
    """A walkthrough: a 4:3 photo filled 230 of a 720-pixel figure, blank above and below it."""
    from receipt_core.plots.figures import FIGURE_HEIGHT, WIDE_PAGE_SHARE, page_figure_height

    def drawn(width: int, height: int) -> int:
        return document_figure(Document(id="p", width=width, height=height, words=[])).layout.height

    assert drawn(300, 900) == drawn(500, 500) == FIGURE_HEIGHT
    assert drawn(400, 300) == int(FIGURE_HEIGHT * 0.75) == page_figure_height(400, 300)
    assert drawn(1000, 100) == int(FIGURE_HEIGHT * WIDE_PAGE_SHARE)  # a strip is not drawn as a sliver


def test_cost_quality_figure_uses_a_log_axis_for_parameter_counts():
    runs = pd.DataFrame({"run": ["a", "b", "c"], "scenario": ["freeze-backbone", "full", "full"],
                         "cost": [5_000, 24_000_000, None], "quality": [0.4, 0.8, 0.9]})
    fig = cost_quality_figure(runs, "cost", "quality", "trainable parameters", "F1")
    assert sum(len(t.x) for t in fig.data) == 2
    assert fig.layout.xaxis.type == "log"
    same = cost_quality_figure(runs.assign(cost=[2_316_365] * 3), "cost", "quality", "trainable parameters", "F1")
    assert same.layout.xaxis.range == (2_316_365 * 0.5, 2_316_365 * 1.5)  # not a zoom into a rounding error
    # labels of runs a few thousandths apart take turns around their points (a walkthrough read them over each
    # other); a run alone keeps its side
    close = pd.DataFrame({"run": ["a", "b", "c", "d"], "scenario": ["freeze-backbone"] * 3 + ["full"],
                          "cost": [666_011, 666_011, 666_011, 24_000_000], "quality": [0.570, 0.571, 0.574, 0.9]})
    positions = {text: position for t in cost_quality_figure(close, "cost", "quality", "p", "F1").data
                 for text, position in zip(t.text, t.textposition)}
    # from the highest down: the highest's label above, the next one's below, the third level with its point (a
    # walkthrough saw two close runs' labels crossed, the higher one's below the lower one's)
    assert positions == {"c": "top right", "b": "bottom right", "a": "middle right", "d": "top left"}


def test_the_runs_page_charts_give_a_run_one_colour_in_every_chart():
    """Found by a walkthrough: the overlay charts coloured runs in selection order and the cost chart by scenario, so
    phased was blue in one and orange in the other; and a run with no point yet in one chart shifted the others."""
    colors = {"run a": "#111111", "run b": "#222222"}
    curves = pd.DataFrame({"step": [1, 2, 1, 2], "x": [1, 2, 1, 2], "series": ["run b"] * 2 + ["run a"] * 2,
                           "value": [0.5, 0.6, 0.7, 0.8]})
    fig = curve_figure(curves, "F1", "F1", x="x", colors=colors)
    assert {t.name: t.line.color for t in fig.data} == {"run b": "#222222", "run a": "#111111"}
    runs = pd.DataFrame({"name": ["run a", "run b", "run c"], "scenario": ["phased", "freeze-backbone", "phased"],
                         "cost": [10, 20, 30], "quality": [0.4, 0.8, 0.9]})
    cost = cost_quality_figure(runs, "cost", "quality", "cost", "F1", label="name", colors=colors)
    points = {t.name: (t.marker.symbol, tuple(t.marker.color)) for t in cost.data if t.x[0] is not None}
    assert points["phased"][1] == ("#111111", "#9E9E9E") and points["freeze-backbone"][1] == ("#222222",)
    assert points["phased"][0] != points["freeze-backbone"][0]
    # only the overlaid (coloured) runs are labelled; the grey one is named on hover (a walkthrough read thirteen
    # labels over each other)
    labels = {name: text for t in cost.data if t.x[0] is not None for name, text in zip(t.customdata, t.text)}
    assert labels == {"run a": "run a", "run b": "run b", "run c": ""}
    # the legend shows each scenario's shape in grey (not the colour of its first run), once
    legend = [(t.name, t.marker.symbol, t.marker.color) for t in cost.data if t.showlegend is not False]
    assert sorted(legend) == sorted([("phased", points["phased"][0], "#9E9E9E"),
                                     ("freeze-backbone", points["freeze-backbone"][0], "#9E9E9E")])
    assert cost.layout.yaxis.range == pytest.approx((0.275, 1.02))  # a score's own range, with room


def test_a_run_keeps_its_colour_while_others_are_added_or_removed():
    """Found by a walkthrough: colours followed the selection's order, so removing the first run recoloured all."""
    first = kept_series_colors(["a", "b", "c"], {})
    assert list(first.values()) == list(SERIES_COLORS[:3])
    second = kept_series_colors(["b", "c", "d"], first)  # a removed, d added: d takes the colour a left
    assert (second["b"], second["c"], second["d"]) == (first["b"], first["c"], first["a"])
    assert len(set(kept_series_colors(list("abcdefghij"), second).values())) == 10
    assert kept_series_colors(["x", "y"], {"x": "#4E79A7", "y": "#4E79A7"}) == {"x": "#4E79A7", "y": "#F28E2B"}


def test_every_preset_has_a_guide():
    assert [g.preset for g in GUIDES] == list(PRESETS)
    for preset in PRESETS:
        guide = guide_for(preset)
        assert guide.advantages and guide.disadvantages and guide.implies
        assert guide.title in guide_markdown(preset)
    with pytest.raises(ValueError, match="known: freeze-all"):
        guide_for("freeze-nothing")


def test_the_live_view_rebuilds_a_chart_only_when_its_points_or_phases_change(monkeypatch):
    """The Train page's live view refreshes every few seconds in the process that trains: a chart whose points
    did not change is shown from the figure built before, not built again."""
    from ui import live_run

    shown, builds = [], []
    monkeypatch.setattr(live_run.st, "session_state", {})
    monkeypatch.setattr(live_run.st, "plotly_chart", lambda figure, key, width: shown.append((key, figure)))

    def build():
        builds.append(1)
        return curve_figure(points, "Field labels: loss", "loss")

    points = pd.DataFrame({"step": [1, 2], "epoch": [0.5, 1.0], "wall_s": [0.1, 0.2], "series": ["train"] * 2,
                           "value": [2.0, 1.5]})
    live_run._chart("loss", points, ("run-1", ()), build)
    live_run._chart("loss", points.copy(), ("run-1", ()), build)
    assert len(builds) == 1 and shown[0][1] is shown[1][1]
    points = pd.concat([points, pd.DataFrame({"step": [3], "epoch": [1.5], "wall_s": [0.3], "series": ["train"],
                                              "value": [1.2]})], ignore_index=True)
    live_run._chart("loss", points, ("run-1", ()), build)  # a new point
    live_run._chart("loss", points, ("run-1", ((3, 2),)), build)  # phase 2 began
    live_run._chart("loss", points, ("run-2", ((3, 2),)), build)  # another run with the same numbers
    assert len(builds) == 4
    assert len(shown[-1][1].data[0].x) == 3


def test_while_a_run_trains_the_watched_receipt_is_redrawn_at_most_every_few_seconds(monkeypatch):
    """The watched receipt's figure (its image and a box per word) is the live view's costliest redraw; a short
    epoch brings a new prediction every refresh. While the run trains, a newer prediction waits until the figure
    is PREDICTION_REDRAW_S old, and the items table stays of the step the figure shows; once the run has ended
    the last prediction is drawn at once."""
    from types import SimpleNamespace

    from receipt_core.training.events import PredictionEvent
    from ui import live_run

    clock, built, tables = [100.0], [], []
    import streamlit

    captions = []
    fake_st = SimpleNamespace(session_state={}, subheader=lambda *a, **k: None, toggle=lambda *a, **k: False,
                              column_config=streamlit.column_config, caption=captions.append)
    monkeypatch.setattr(live_run, "st", fake_st)
    monkeypatch.setattr(live_run, "figure_and_tables", lambda stacked: (
        SimpleNamespace(plotly_chart=lambda figure, key, width: None),
        SimpleNamespace(caption=lambda text: None, dataframe=lambda table, **k: tables.append(table))))
    monkeypatch.setattr(live_run.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(live_run, "receipt_display_image", lambda ws, doc: None)
    monkeypatch.setattr(live_run, "prediction_figure", lambda *a, title, **k: built.append(title) or title)
    ws = SimpleNamespace(get_document=lambda doc_id: SimpleNamespace(id=doc_id, source="", width=100, height=200,
                                                                      words=()),
                         get_run=lambda run_id: SimpleNamespace(config={"train_ids": ["t1"], "eval_ids": ["r1"]}))

    def show(step: int, live: bool = True) -> None:
        item = {"name": f"item at {step}", "quantity": "1", "unit_price": None, "price": "2"}
        event = PredictionEvent(step=step, epoch=step, doc_id="r1", prediction={"items": [item]})
        live_run._predictions(SimpleNamespace(predictions={"r1": event}), ws, live, "run")

    show(1)
    clock[0] += 2.0
    show(2)  # a newer prediction two seconds later: the figure and its items stay at step 1
    assert built == ["r1 at step 1"] and tables[-1]["name"].tolist() == ["item at 1"]
    clock[0] += live_run.PREDICTION_REDRAW_S
    show(3)
    assert built == ["r1 at step 1", "r1 at step 3"] and tables[-1]["name"].tolist() == ["item at 3"]
    show(4, live=False)  # the run ended: its last prediction is drawn at once
    assert built[-1] == "r1 at step 4" and tables[-1]["name"].tolist() == ["item at 4"]
    # an item whose quantity no word gave shows none, as on Predict (a walkthrough read an invented 1 here)
    read = {"name": "TEA", "quantity": 2.0, "unit_price": None, "price": 4.0, "quantity_read": True}
    implied = {"name": "ADES", "quantity": 1.0, "unit_price": None, "price": 3.0, "quantity_read": False}
    event = PredictionEvent(step=5, epoch=5, doc_id="r1", prediction={"items": [read, implied]})
    live_run._predictions(SimpleNamespace(predictions={"r1": event}), ws, False, "run")
    assert captions[-1] == "A receipt the run evaluates on and never trains on."
    assert tables[-1]["quantity"].tolist()[0] == 2.0 and pd.isna(tables[-1]["quantity"].tolist()[1])


def test_a_share_of_the_model_never_rounds_a_frozen_head_away():
    """A walkthrough read "100% of the model" for freeze-quantity-head (24,142,475 of 24,143,245 parameters)."""
    from ui.shared import fmt_share

    assert fmt_share(24_142_475 / 24_143_245) == "99.9968"
    assert fmt_share(666_011 / 24_143_245) == "2.759"
    assert (fmt_share(1.0), fmt_share(0.0)) == ("100", "0")
