"""Which of a Label Studio task's annotations or predictions its words and labels come from, and a prediction's
score read as a probability."""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..wording import counted
from ._common import shown
from .label_studio_template import OCR_MODEL_VERSION


def chosen_prediction(predictions: list[Mapping], notes: list[str]) -> Mapping:
    """The prediction a task with no annotation takes its words from: the one with the most regions (an export of
    ours lists the OCR's words first, then a run's suggestions for some of them), then our "ocr" one, then the
    highest-scoring, then the last listed; a note says so when that is not the first listed (a probe: the first
    listed won, and the regions only a later, higher-scoring model had were dropped without a word)."""
    readable = [p for p in predictions if isinstance(p.get("result"), list)] or predictions

    def regions(prediction: Mapping) -> int:
        results = prediction.get("result") if isinstance(prediction.get("result"), list) else []
        return len({shown(r.get("id")) for r in results if isinstance(r, Mapping) and r.get("type") != "relation"})

    # of two as full, this app's "ocr" one: it holds the OCR's confidences and the items, which a run's suggestions
    # for every word do not (a walkthrough's 167 confidences came back empty)
    chosen = max(enumerate(readable),
                 key=lambda item: (regions(item[1]), item[1].get("model_version") == OCR_MODEL_VERSION,
                                   probability(item[1].get("score")), item[0]))[1]
    if chosen is not readable[0]:
        notes.append(f"{len(readable)} predictions and no annotation; the words are those of "
                     f"{shown(chosen.get('model_version') or 'label-studio')} ({counted(regions(chosen), 'region')}, "
                     f"score {probability(chosen.get('score')):.2f}), the fullest; the others only suggest labels "
                     "for its words")
    return chosen


def chosen_annotation(annotations: list[Mapping], notes: list[str]) -> Mapping:
    """The annotation a task's words and labels come from: the ground-truth one, else the latest updated (or
    created), else the last listed; with several, a note says which (a probe: the older of two won by position)."""
    if len(annotations) == 1:
        return annotations[0]
    truth = [a for a in annotations if a.get("ground_truth") is True]
    pool = truth or annotations
    chosen = max(enumerate(pool), key=lambda item: (_when(item[1]), item[0]))[1]
    why = "the ground-truth one" if truth else "the latest updated" if _when(chosen) else "the last listed"
    notes.append(f"{len(annotations)} annotations; labels from {why} (id {shown(chosen.get('id'))})")
    return chosen


def _when(annotation: Mapping) -> str:
    """An annotation's updated_at (else created_at) as Label Studio writes them (ISO 8601, so they sort as text)."""
    stamp = annotation.get("updated_at") or annotation.get("created_at")
    return stamp if isinstance(stamp, str) else ""


def probability(value: Any) -> float:
    """A prediction's score as a probability: a number clamped to 0–1; 0 for anything else (10**400 raised
    OverflowError and lost the task)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    if isinstance(value, int):
        return 1.0 if value >= 1 else 0.0
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
