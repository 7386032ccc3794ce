"""Plotly charts of runs: training curves (by step, epoch or wall clock, smoothed, with phase markers) and cost vs
quality, each run in one colour across charts. No Streamlit: plain data in, a figure out."""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from ..data.markup import escape_markup
from ..study.figures import score_range
from .chart_layout import TITLED_TOP, bottom_legend, figure_title


SERIES_COLORS = ("#4E79A7", "#F28E2B", "#E15759", "#59A14F", "#B07AA1", "#EDC948", "#76B7B2", "#FF9DA7",
                 "#9C755F", "#BAB0AC")
"""Tableau 10: a qualitative palette whose ten colours stay apart (lines of up to ten runs, scenarios' points).
Its teal comes after its purple and yellow: as the 4th and 5th colours, teal and green drew a chart's 4th and 5th
lines (the quantity metrics) in what a walkthrough read as two greens."""
SCENARIO_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")
# A curve's line style after its colour, so lines are told apart without colour (walkthrough 56: four metrics'
# lines, the same solid line and round marker each, apart only by red, orange and green); the dashed style is the
# phase markers' and is left out
SERIES_DASHES = ("solid", "dot", "dashdot", "longdash", "longdashdot")
UNCOLOURED_RUN = "#9E9E9E"  # a run the page draws in no colour elsewhere


def kept_series_colors(chosen: Sequence[str], kept: Mapping[str, str]) -> dict[str, str]:
    """A colour of ``SERIES_COLORS`` for each of ``chosen`` (at most ten): a run keeps the colour ``kept`` gave it,
    and a newly chosen run takes the first colour no other chosen run holds, so adding or removing one run never
    recolours the others."""
    colors = {key: kept[key] for key in chosen if kept.get(key) in SERIES_COLORS}
    taken: set[str] = set()
    for key in chosen:  # two kept runs with one colour (never from this function): the later one is given another
        if key in colors and colors[key] in taken:
            del colors[key]
        elif key in colors:
            taken.add(colors[key])
    free = [color for color in SERIES_COLORS if color not in taken]
    for key in chosen:
        if key not in colors:
            colors[key] = free.pop(0) if free else UNCOLOURED_RUN
    return {key: colors[key] for key in chosen}


CURVE_AXES = {"step": "step", "epoch": "epoch", "wall_s": "wall-clock seconds (pauses included)"}


def label_smoothing_note(smoothing: Mapping[str, float], quote: Callable[[str], str] = str,
                         validation_chart: bool = True) -> str | None:
    """Why the training losses of runs trained with different label smoothing (run name -> its smoothing) do not
    compare; None when they all share one. A walkthrough saw phased (smoothing 0.1) level off at 0.8 beside
    freeze-backbone's 0, with the higher F1, and read it as phased training worse."""
    if len(set(smoothing.values())) < 2:
        return None
    # the amount named (walkthrough 48 read "(0.1)" as unexplained)
    smoothed = ", ".join(f"{quote(name)} (smoothing {value})" for name, value in smoothing.items() if value > 0)
    compare = ("The validation loss is measured without smoothing, and compares them." if validation_chart else
               "Their scores compare them.")  # Race draws no validation loss (a walkthrough)
    return (f"The training losses do not compare: {smoothed} trained with label smoothing, whose targets are not "
            f"all 0 and 1, so that loss levels off well above 0 however well the run learns. {compare}")


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """An exponential moving average (TensorBoard's smoothing): ``weight`` 0 keeps the values, 0.99 smooths hard.
    Debiased, so the first points are not pulled towards 0."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, average, norm = [], 0.0, 0.0
    for value in values:
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(average / norm)
    return out


def curve_figure(points: pd.DataFrame, title: str, y_title: str, phases: Sequence[tuple[int, int]] = (),
                 uirevision: str = "curves", x: str = "step", log_y: bool = False,
                 smoothing: float = 0.0, colors: Mapping[str, str] | None = None) -> go.Figure:
    """Lines of ``points`` (columns ``x``, ``series``, ``value``; ``step`` too for phase markers on another
    axis), one per series in :data:`SERIES_COLORS`, phase starts as dashed lines.

    ``x`` is ``step``, ``epoch`` or ``wall_s`` (a RunFeed's curve columns). With ``smoothing`` (0…<1) each series is
    drawn faintly as measured under its exponential moving average. ``phases`` is ``[(step, phase number), …]``;
    phase 1 at step 0 is not drawn; each later phase gets a dashed line labelled inside the plot at its top, and
    the legend sits below the axis, so the two never overlap. ``uirevision`` must stay the same across redraws of
    the same chart so the user's zoom and hidden series survive live updates.
    """
    # The figure is assembled as plain dicts and validated once by the constructor: the Train page rebuilds these
    # charts every refresh while a run trains in the same process, and figure-by-figure updates (add_trace,
    # add_vline, update_layout: ~50 ms a chart) held the GIL the training thread needed.
    traces: list[dict] = []
    if not points.empty:
        for i, (series, group) in enumerate(points.dropna(subset=[x]).groupby("series", sort=False)):
            name = escape_markup(series)  # a run's name on the Runs page
            group = group.sort_values(x)
            color = (colors or {}).get(series) or SERIES_COLORS[i % len(SERIES_COLORS)]
            dash, symbol = SERIES_DASHES[i % len(SERIES_DASHES)], SCENARIO_SYMBOLS[i % len(SCENARIO_SYMBOLS)]
            mode = "lines+markers" if len(group) < 40 else "lines"
            xs, values = group[x].to_numpy(), group["value"].to_numpy()
            if smoothing > 0 and len(group) > 2:
                traces.append(dict(type="scatter", x=xs, y=values, mode="lines", name=name, legendgroup=name,
                                   showlegend=False, opacity=0.3, line=dict(color=color, width=1),
                                   hoverinfo="skip"))
                traces.append(dict(type="scatter", x=xs, y=smooth(values.tolist(), smoothing), mode="lines", name=name,
                                   legendgroup=name, line=dict(color=color, width=2, dash=dash)))
            else:
                traces.append(dict(type="scatter", x=xs, y=values, mode=mode, name=name,
                                   line=dict(color=color, dash=dash), marker=dict(size=6, color=color, symbol=symbol)))
    shapes, annotations = [], []
    for step, phase in phases:
        if phase > 1:
            at = _x_at_step(points, step, x)
            if at is None:
                continue
            shapes.append(dict(type="line", x0=at, x1=at, xref="x", y0=0, y1=1, yref="y domain",
                               line=dict(color="#555555", width=1, dash="dash")))
            # every other label a line lower: phases that start close together printed "phphase 3" (a walkthrough)
            annotations.append(dict(x=at, y=1, xref="x", yref="paper", yanchor="top", xanchor="left",
                                    yshift=-16 * (len(annotations) % 2), showarrow=False, text=f"phase {phase}",
                                    font=dict(size=11, color="#333333"), bgcolor="rgba(255,255,255,0.85)"))
    legend, bottom = bottom_legend([trace["name"] for trace in traces if trace.get("showlegend", True)])
    layout = dict(title=figure_title(title), height=230 + TITLED_TOP + bottom,
                  margin=dict(l=10, r=10, t=TITLED_TOP, b=bottom), uirevision=uirevision, legend=legend,
                  showlegend=True,  # also for one series: Plotly hides a lone trace's name (a race with one run left)
                  xaxis=dict(title=dict(text=CURVE_AXES.get(x, x), standoff=6)),
                  yaxis=dict(title=dict(text=y_title), **({"type": "log"} if log_y else {})),
                  shapes=shapes, annotations=annotations)
    values = points["value"].dropna() if "value" in points else pd.Series(dtype=float)
    if not log_y and len(values) and (values >= 0).all():
        # scores and losses are never negative: one point drew ticks from -0.5 (a walkthrough: "looks broken")
        layout["yaxis"]["rangemode"] = "nonnegative"
        if (values <= 1).all() and points[x].nunique() == 1:
            # one evaluation of 0–1 values: Plotly's ±1 around it ran the axis of an accuracy of 0.95 up to 2
            layout["yaxis"]["range"] = [0, 1.05]
    if x == "step" and len(points) and points[x].max() < 20:
        # whole steps only: a short run's axis read 2.5 and 3.5 (a walkthrough)
        layout["xaxis"].update(tick0=0, dtick=1 if points[x].max() < 10 else 2)
    if not traces:  # Plotly's empty axes run from -1 to 4: say what is coming instead
        layout["xaxis"]["range"], layout["yaxis"]["range"] = [0, 1], [0, 1]
        layout["annotations"] = [dict(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                      text="no points yet", font=dict(size=13, color="#777777"))]
    fig = go.Figure(data=traces, layout=layout)
    return fig


def _x_at_step(points: pd.DataFrame, step: int, x: str) -> float | None:
    """Where ``step`` falls on the ``x`` axis: the step itself, or the first point's ``x`` at or after it."""
    if x == "step":
        return step
    if points.empty or "step" not in points or x not in points:
        return None
    after = points[points["step"] >= step].dropna(subset=[x])
    return None if after.empty else float(after.sort_values("step")[x].iloc[0])


def _apart(side: pd.Series, x: pd.Series, y: pd.Series) -> pd.Series:
    """Labels of points close together (within 5 % of the x span and 0.04 in quality) take turns above, below and
    level with their points, on the side they lean to, from the highest point down: three freeze-backbone runs a few
    thousandths apart printed their names over each other (a walkthrough)."""
    x_near = max(float(x.max() - x.min()), 1e-12) * 0.05
    side = side.copy()
    placed: list[tuple[float, float]] = []
    for index in y.sort_values(ascending=False, kind="stable").index:  # highest first: its label goes above, the
        # next one's below (lowest first put the lower point's label above the higher one's: they crossed)
        near = sum(1 for px, py in placed if abs(px - x[index]) <= x_near and abs(py - y[index]) <= 0.04)
        lean = side[index].split()[1]  # kept: a label flipped to the other side was cut at the axis (a walkthrough)
        side[index] = (f"top {lean}", f"bottom {lean}", f"middle {lean}")[near % 3]
        placed.append((float(x[index]), float(y[index])))
    return side


def cost_quality_figure(runs: pd.DataFrame, cost: str, quality: str, cost_title: str, quality_title: str,
                        uirevision: str = "cost-quality", label: str = "run",
                        colors: Mapping[str, str] | None = None) -> go.Figure:
    """One point per run (columns ``label``, ``scenario``, ``cost``, ``quality``), coloured by scenario in
    :data:`SERIES_COLORS`, each labelled with its ``label`` column. With ``colors`` (label → colour: the runs
    another chart on the page draws in those colours) a point takes its run's colour, grey when it has none, and
    the scenario is told by the marker's shape instead; only the coloured runs are labelled then (every point
    names its run on hover).

    Labels lean away from the nearer side (right of the points in the left half, left of them in the right half)
    and are not clipped at the axes, and the margins leave them room, so none is cut off. The cost axis is
    logarithmic when costs span more than two orders of magnitude (trainable parameters do).
    """
    fig = go.Figure()
    data = runs.dropna(subset=[cost, quality])
    positive = data[cost][data[cost] > 0]
    log_x = bool(len(positive)) and positive.max() / max(positive.min(), 1e-12) > 100
    side = pd.Series("top center", index=data.index)
    if len(data):
        xs = data[cost].clip(lower=positive.min() if log_x else None).astype(float)
        position = xs.map(math.log10) if log_x else xs
        middle = (position.min() + position.max()) / 2
        side = position.map(lambda v: "top right" if v <= middle else "top left")
        side = _apart(side, position, data[quality].astype(float))
    for i, (scenario, group) in enumerate(data.groupby("scenario", sort=True)):
        names = group[label].map(escape_markup)
        # with colours, only the runs overlaid above are labelled (the grey ones by hover): thirteen labels in one
        # corner printed over each other (a walkthrough)
        shown = names if colors is None else names.where(group[label].isin(list(colors)), "")
        fig.add_trace(go.Scatter(x=group[cost], y=group[quality], mode="markers+text",
                                 text=shown, customdata=names,
                                 textposition=side[group.index].tolist(), name=escape_markup(scenario),
                                 cliponaxis=False,
                                 marker=dict(size=12, color=SERIES_COLORS[i % len(SERIES_COLORS)]) if colors is None
                                 else dict(size=12, symbol=SCENARIO_SYMBOLS[i % len(SCENARIO_SYMBOLS)],
                                           color=[colors.get(name, UNCOLOURED_RUN) for name in group[label]]),
                                 hovertemplate="%{customdata}<br>" + cost_title + " %{x:,}<br>" + quality_title
                                 + " %{y:.3f}<extra>" + escape_markup(scenario) + "</extra>",
                                 showlegend=colors is None))
        if colors is not None:  # the legend tells the scenario by shape alone: a grey marker, not a run's colour
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=escape_markup(scenario),
                                     marker=dict(size=12, symbol=SCENARIO_SYMBOLS[i % len(SCENARIO_SYMBOLS)],
                                                 color=UNCOLOURED_RUN), hoverinfo="skip"))
    if len(data) and data[quality].between(0, 1).all():  # a score: its own range with room, as the race's chart
        fig.update_yaxes(range=score_range(data[quality]))  # (0.87-0.93 on 0-1 read as a tie: a walkthrough)
    if log_x:
        fig.update_xaxes(type="log")
    elif len(data) and data[cost].max() - data[cost].min() <= 1e-9 * max(abs(data[cost].max()), 1.0):
        # every run costs the same: Plotly would zoom into a rounding error and tick 2.316364M, 2.3163645M, …
        center = float(data[cost].max())
        half = max(abs(center) * 0.5, 1.0)
        fig.update_xaxes(range=[center - half, center + half], tickformat="~s")
    fig.update_layout(height=420, margin=dict(l=60, r=60, t=60, b=40), xaxis_title=cost_title,
                      yaxis_title=quality_title, uirevision=uirevision, title=f"{quality_title} vs {cost_title}")
    if colors is not None:  # a grey legend marker beside red points read as a mismatch (a walkthrough)
        fig.update_layout(legend_title_text="scenario: the marker's shape<br>(colour: the run's, as above)")
    return fig
