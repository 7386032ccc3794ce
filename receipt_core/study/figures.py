"""The scenario study's Plotly figures, shared by ``report.html`` and the dashboard's Runs page.

Both take a :class:`~receipt_core.study.result.StudyResult` — the one a study just ran, or the one rebuilt from its
``study.json`` (:mod:`receipt_core.study.view`) — so the page draws exactly what the report draws.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data.markup import escape_markup
from .result import StudyResult
from .settings import StudyConfig

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
_COST_PANELS = ((1, "fields.micro_f1"), (2, "quantity.item_accuracy"))  # (row, metric)
SAME_TIME = 1.1  # training times within this factor of each other: the budget decided them, not the scenario
_CURVE_PANELS = (((1, 1), "fields.micro_f1"), ((1, 2), "quantity.item_accuracy"), ((2, 1), "quantity.word_f1"))


def config_colours(result: StudyResult) -> dict[StudyConfig, str]:
    """Each configuration's colour, by its place in the study (failed ones keep theirs), the same in every figure
    and in a race's live curves (a walkthrough saw full red in the curves and green in the cost chart)."""
    return {s.config: COLOURS[i % len(COLOURS)] for i, s in enumerate(result.summaries)}


def quality_cost_figure(result: StudyResult) -> go.Figure:
    """Field micro-F1 and item quantity accuracy against training seconds, one marker per configuration
    (error bars: the seeds' std; marker size: trainable parameters); against training seconds per epoch when every
    configuration trained for the same time (a budget; a walkthrough saw a race's axis run from 10.12 to 10.16 s).
    Failed configurations are left out."""
    rows = [s for s in result.summaries if s.runs]
    largest = max((s.spread("trainable_parameters").mean for s in rows), default=0.0)
    seconds = [s.spread("train_s").mean for s in rows]
    # when a time budget gave every run the same seconds (a race), they say nothing: an epoch's cost does. So too
    # when the budget ended every run, whatever their closing evaluations added (a walkthrough's race read 60 to
    # 74 s, phased as the dearest, off a 60-second budget each run overran by its last evaluation)
    budget_ended_all = bool(result.settings.budget_minutes) and all(
        run.finished == "time budget" for s in rows for run in s.runs)
    per_epoch = len(rows) > 1 and (max(seconds) <= SAME_TIME * max(min(seconds), 1e-9) or budget_ended_all)
    # one panel above the other, the legend below them: side by side, the panels' titles, axis titles and point
    # labels overlapped on a narrow screen and the legend took half its width (a walkthrough at 414 px)
    figure = make_subplots(rows=2, cols=1, vertical_spacing=0.2,
                           subplot_titles=("field micro-F1", "item quantity accuracy"))
    colours = config_colours(result)
    xs = [s.seconds_per_epoch() if per_epoch else s.spread("train_s").mean for s in rows]
    # each point is named by its colour in the legend and on hover, not by a label beside it: labels ran under the
    # other markers and into the panels' titles on a narrow screen (two walkthroughs)
    for s, x in zip(rows, xs):
        trainable = s.spread("trainable_parameters").mean
        name = escape_markup(s.config.name)
        colour = colours[s.config]  # the configuration's colour in both panels and in the curves
        for row, key in _COST_PANELS:
            figure.add_trace(go.Scatter(
                x=[x], y=[s.spread(key).mean],
                mode="markers", name=name, legendgroup=name, cliponaxis=False,
                showlegend=row == 1,
                error_y={"type": "data", "array": [s.spread(key).std], "visible": len(s.runs) > 1, "color": colour},
                marker={"size": 8 + 22 * math.sqrt(trainable / max(largest, 1)), "color": colour},
                hovertext=f"{name}: {int(trainable):,} trainable parameters"),
                row=row, col=1)
    figure.update_xaxes(title_text="training seconds per epoch (one budget for all)" if per_epoch
                        else "training seconds")
    for row, key in _COST_PANELS:  # a score's own range: one run alone was drawn on an axis from 0 to 1.5
        figure.update_yaxes(range=score_range([s.spread(key).mean for s in rows]), row=row, col=1)
    figure.update_layout(title="Quality vs cost", height=760, margin={"l": 40, "r": 20, "t": 70, "b": 40},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.1, "x": 0,
                                 "title": {"text": "marker size: trainable parameters", "side": "top"}})
    return figure


def score_range(values) -> list[float] | None:
    """A y range around scores (0–1) with room for the markers, never past 0 or 1.02; None for no scores. A spread
    of 0.87–0.93 on a 0–1 axis read as a tie (a walkthrough); a lone point is not drawn on 0 to 1.5 either."""
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    pad = max(0.02, (max(values) - min(values)) * 0.25)
    return [max(0.0, min(values) - pad), min(1.02, max(values) + pad)]


def curves_figure(result: StudyResult) -> go.Figure:
    """Field micro-F1, item quantity accuracy, quantity word F1 and training loss against training seconds,
    overlaid per configuration (each configuration's first seed)."""
    figure = make_subplots(rows=2, cols=2, subplot_titles=("field micro-F1", "item quantity accuracy",
                                                           "quantity word F1", "training loss"))
    colours = config_colours(result)
    for s in (s for s in result.summaries if s.runs):
        run = s.runs[0]
        name = escape_markup(s.config.name)
        colour = colours[s.config]
        for (r, c), key in _CURVE_PANELS:
            points = [e for e in run.evaluations if key in e]
            figure.add_trace(go.Scatter(x=[e["elapsed_s"] for e in points], y=[e[key] for e in points],
                                        mode="lines+markers", name=name, legendgroup=name,
                                        showlegend=(r, c) == (1, 1), line={"color": colour}), row=r, col=c)
        # markers too while there are few points: a 5-second race run's one loss point drew nothing (a walkthrough)
        figure.add_trace(go.Scatter(x=[p[1] for p in run.losses], y=[p[2] for p in run.losses],
                                    mode="lines+markers" if len(run.losses) < 40 else "lines",
                                    name=name, legendgroup=name, showlegend=False,
                                    line={"color": colour}), row=2, col=2)
    figure.update_xaxes(title_text="training seconds")
    figure.update_yaxes(rangemode="nonnegative")  # scores and losses: one point drew ticks from -0.5
    figure.update_xaxes(rangemode="nonnegative")  # seconds: one loss point at 0 drew an axis from -1
    figure.update_layout(title=f"Curves (seed {result.settings.seed})", height=800)
    return figure


__all__ = ["quality_cost_figure", "curves_figure", "config_colours", "COLOURS"]
