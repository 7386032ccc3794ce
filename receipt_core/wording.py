"""Wording of the messages users read: counts that agree (``counted(3, "receipt")`` is "3 receipts", never
"3 receipt(s)"), a message from the core (lower case, for the middle of a CLI line) begun as a sentence, and a
stored timestamp as a person reads it, and epochs done in tenths."""

from __future__ import annotations

import datetime as _dt
import math


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun that agrees with it (``plural`` defaults to ``singular`` + "s"); a whole number with
    thousands separators, as the pages' other counts (probe 62 read "3495253 problems" beside "3,495,253")."""
    shown = f"{n:,}" if isinstance(n, int) else str(n)
    return f"{shown} {singular if n == 1 else plural or singular + 's'}"


def as_sentence(message: str) -> str:
    """``message`` with its first letter in upper case (the rest as it is: it may quote names)."""
    return message[:1].upper() + message[1:]


def epochs_done(epochs: float) -> str:
    """Epochs done, in tenths rounded down: 0.96 is "0.9" (not a whole "1.0" epoch), as Train's status line and
    Predict's "after 2 complete epochs" count them (a walkthrough read "epoch 0.9/12" on Train and "after 1.0
    epochs" in the race's report for one run)."""
    return f"{math.floor(epochs * 10 + 1e-9) / 10:.1f}"


def minutes_said(minutes: float) -> str:
    """A time budget given in minutes as a person says it: ``40 s``, ``1 min``, ``1 min 30 s``, ``2 h 5 min`` (a
    race of 40 seconds a run read "in 0.666667 min of training each", a walkthrough)."""
    seconds = max(int(round(minutes * 60)), 0)
    if seconds < 60:
        return f"{seconds} s"
    whole_minutes, seconds = divmod(seconds, 60)
    if whole_minutes >= 60:
        hours, whole_minutes = divmod(whole_minutes, 60)
        return f"{hours} h" + (f" {whole_minutes} min" if whole_minutes else "")
    return f"{whole_minutes} min" + (f" {seconds} s" if seconds else "")


def readable_time(stamp: str) -> str:
    """An ISO 8601 timestamp as stored (``2026-12-03T14:46:31+00:00``) as a person reads it (``2026-12-03 14:46
    UTC``); any other text as it is (a copied file may hold anything)."""
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return stamp
    if when.tzinfo is not None:
        return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")
