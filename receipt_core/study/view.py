"""Open a finished scenario study (a folder written by ``python -m receipt_core study --out DIR``) for display.

:func:`open_study` reads ``DIR/study.json`` (checked by :func:`receipt_core.study.files.load_study`), rebuilds the
:class:`~receipt_core.study.result.StudyResult` it was written from — every run with its metrics, costs and curves is
stored, so nothing is estimated — and returns an :class:`OpenedStudy`: the report's table rows, its reading of
the claims (as stored), and the same Plotly figures ``report.html`` embeds. :func:`find_studies` lists the study
folders under a folder (the dashboard looks in ``<workspace>/studies/``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..data.boxes import stored_box_mode
from ..data.files import fits_a_file_system, read_regular_file
from ..training.events import FIELD_WORDS, ITEMS_SCORED
from ..wording import counted
from .files import StudyFileError, load_study
from .reading import read_claims
from .result import Claim, ConfigSummary, RunResult, StudyResult
from .settings import StudyConfig, StudySettings
from .table import TableRow, settings_paragraph, table_rows

STUDIES_FOLDER = "studies"  # under the workspace folder: studies copied there are listed on the Runs page


@dataclass(frozen=True)
class OpenedStudy:
    """A study read back from its folder: what its report shows, ready for a page."""

    folder: Path
    result: StudyResult
    claims: tuple[Claim, ...]  # as the study wrote them (its reading when it ran)
    best: str | None  # the best multi-task configuration's name

    @property
    def rows(self) -> list[TableRow]:
        return table_rows(self.result)

    @property
    def intro(self) -> str:
        """The report's first paragraph (data, budget, hyperparameters, seeds, dates), as Markdown."""
        return settings_paragraph(self.result)

    @property
    def command(self) -> str:
        return self.result.command

    @property
    def notes(self) -> tuple[str, ...]:
        """Runs that failed, with their error."""
        return self.result.notes

    def report_path(self, kind: str) -> Path | None:
        """``report.md`` (``kind="markdown"``) or ``report.html`` (``"html"``) next to study.json, if it is a
        regular file of at most :data:`MAX_REPORT_BYTES` (a probe linked one to /etc/passwd, and two of 400 MB
        took the server from 0.6 to 1.4 GB). Read it with :func:`read_report`, when it is downloaded."""
        path = self.folder / {"markdown": "report.md", "html": "report.html"}[kind]
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        return path

    def quality_cost_figure(self):
        from .figures import quality_cost_figure

        return quality_cost_figure(self.result)

    def curves_figure(self):
        from .figures import curves_figure

        return curves_figure(self.result)


MAX_REPORT_BYTES = 64 * 1024 * 1024  # a report.html with its charts is a few MB
MAX_STUDY_CONFIGURATIONS = 64  # a study runs 12 by default; each is a row and a curve of the page
MAX_STUDY_RUNS = 400  # configurations × seeds (20 seeds at most)
MAX_CURVE_POINTS = 1_000  # of one run's curve: a study writes at most 400 loss points


def read_report(path: Path) -> bytes:
    """A report file's bytes, checked again as it is read: a regular file, not a link, within the limit."""
    return read_regular_file(path, MAX_REPORT_BYTES)


@dataclass(frozen=True)
class StudyEntry:
    """A study folder found on disk (not opened yet)."""

    name: str
    folder: Path
    modified: float  # study.json's modification time (seconds since the epoch)


def open_study(path: Path | str, within: Path | None = None) -> OpenedStudy:
    """The study in ``path`` (its folder or its study.json); :class:`StudyFileError` says what is wrong.

    With ``within`` (the dashboard passes the workspace's studies folder), ``path`` is a name inside that folder
    and anything that resolves outside it is refused before the file system is asked about it, so the page cannot
    be used to probe which server paths exist."""
    if not str(path).strip():
        raise StudyFileError("no study named: pick one of the studies listed, or type the name of a study folder "
                             "(one a race or a study wrote)")
    text = str(path)  # not stripped: a folder's own name may end in a space (a probe's CLI study); callers strip
    # what a person typed
    if not fits_a_file_system(text):
        raise StudyFileError("that is not a study folder's name (too long, or it holds a NUL character): pick one "
                             "of the studies listed, or type the name of a study folder")
    path = Path(text).expanduser()
    if within is not None:
        root = Path(within).resolve()
        path = (root / path).resolve()
        if path == root or not path.is_relative_to(root):
            raise StudyFileError(f"studies open from {root} only: write the study there "
                                 f"(`study ... --out {root}/NAME`) or copy its folder there, then pick it")
    data = load_study(path)
    folder = path if path.is_dir() else path.parent
    where = folder / "study.json"
    try:
        result = result_from_json(data)
        claims = tuple(_claim(c) for c in data["claims"]) if "claims" in data else tuple(read_claims(result))
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:  # 1e999 parameters: overflow
        # Python's own words for a list where an object was ("list indices must be integers or slices, not str")
        # said as what is wrong in the file (a probe)
        detail = (f"missing {error}" if isinstance(error, KeyError)
                  else "a value of the wrong type: a list where an object belongs, a text where a number does, or "
                       "the reverse" if isinstance(error, (TypeError, AttributeError)) else str(error))
        raise StudyFileError(f"{where} is damaged ({detail}); copy it again from the study's folder or rerun "
                             "the study") from None
    best = data.get("best")
    return OpenedStudy(folder=folder.resolve(), result=result, claims=claims,
                       best=best if isinstance(best, str) else None)


def result_from_json(data: Mapping[str, Any]) -> StudyResult:
    """The :class:`StudyResult` a ``study.json`` was written from (the inverse of :func:`receipt_core.study.files.study_json`)."""
    known = {f.name for f in dataclasses.fields(StudySettings)}
    stored = dict(data.get("settings") or {})
    stored["boxes"] = stored_box_mode(stored)
    settings = StudySettings(**{k: (tuple(v) if k in ("freeze", "given") else v) for k, v in stored.items()
                                if k in known})
    summaries = []
    configurations = data["configurations"]
    runs_in_file = sum(len(entry.get("runs") or ()) for entry in configurations if isinstance(entry, Mapping))
    if len(configurations) > MAX_STUDY_CONFIGURATIONS or runs_in_file > MAX_STUDY_RUNS:
        # a probe's 40 MB study.json of 800 configurations held the Studies tab for 42 s and 0.4 GB of memory
        raise ValueError(f"it holds {counted(len(configurations), 'configuration')} and {counted(runs_in_file, 'run')}, "
                         f"more than a study writes (at most {MAX_STUDY_CONFIGURATIONS} and {MAX_STUDY_RUNS})")
    for number, entry in enumerate(configurations, 1):
        config = StudyConfig(str(entry["backbone"]), str(entry["scenario"]))
        try:
            runs = tuple(run_from_json(config, run) for run in entry["runs"])
        except KeyError as error:
            raise ValueError(f"configuration {number} ({config.name}) has a run without {error}") from None
        summaries.append(ConfigSummary(config, runs))
    source = data.get("data") or {}
    return StudyResult(settings=settings, summaries=tuple(summaries), train_data=str(source.get("train", "")),
                       eval_data=str(source.get("eval", "")), train_documents=int(source.get("train_documents", 0)),
                       eval_documents=int(source.get("eval_documents", 0)), command=str(data.get("command", "")),
                       started=str(data.get("started", "")), finished=str(data.get("finished", "")),
                       notes=tuple(str(n) for n in data.get("notes", ())),
                       stopped_at=stopped if isinstance(stopped := data.get("stopped_at"), str) else None)


def run_from_json(config: StudyConfig, run: Mapping[str, Any]) -> RunResult:
    """One run of ``config`` from its ``RunResult.to_json()`` (a study.json run, or a race's finished run)."""
    curves = run.get("curves") or {}
    return RunResult(config=config, seed=int(run["seed"]),
                     metrics={k: _metric(k, v) for k, v in run["metrics"].items()},
                     train_s=_count("train_s", run["train_s"]),
                     wall_s=_count("wall_s", run.get("wall_s", run["train_s"])),
                     trainable_parameters=int(_count("trainable_parameters", run["trainable_parameters"])),
                     total_parameters=int(_count("total_parameters", run.get("total_parameters", 0))),
                     steps=int(_count("steps", run.get("steps", 0))), epochs=_count("epochs", run["epochs"]),
                     finished=str(run.get("finished", "")),
                     evaluations=tuple(dict(e) for e in _spaced(curves.get("eval", ()))),
                     losses=tuple((int(p["step"]), float(p["elapsed_s"]), float(p["loss"]))
                                  for p in _spaced(curves.get("loss", ()))),
                     run_dir=run.get("run_dir"), phases=tuple(dict(p) for p in _spaced(run.get("phases", ()))))


def _spaced(points: Sequence[Any], limit: int = MAX_CURVE_POINTS) -> Sequence[Any]:
    """At most ``limit`` of a curve's points, evenly spaced, the last one kept (a study writes 400 loss points a
    run: more is a file written by hand, and each point is drawn)."""
    points = list(points)
    if len(points) <= limit:
        return points
    step = math.ceil(len(points) / limit)
    return points[::step][:limit - 1] + [points[-1]]


def _metric(name: str, value: Any) -> float:
    """A run's metric as the study wrote it: a finite number (a score in [0, 1]; an item or field-word count a
    positive whole number); ValueError otherwise, so a hand-edited NaN or a count of -5 reads "damaged", never as a
    verdict (a probe: a count of 0 took away the one-item margin and turned "mixed" into "held")."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"metric {name} is {value!r}, not a finite number")
    if name in (ITEMS_SCORED, FIELD_WORDS) and (number < 1 or not number.is_integer()):
        raise ValueError(f"metric {name} is {value!r}, not a positive count")
    if name not in (ITEMS_SCORED, FIELD_WORDS) and not 0 <= number <= 1:
        raise ValueError(f"metric {name} is {value!r}, outside 0–1")
    return number


def _count(name: str, value: Any) -> float:
    """A run's seconds, parameters, steps or epochs: a finite number not below 0 (a probe's -10**18 parameters
    broke the cost chart with "math domain error")."""
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} is {value!r}, not a finite number of at least 0")
    return number


def _claim(entry: Mapping[str, Any]) -> Claim:
    return Claim(claim=str(entry["claim"]), verdict=str(entry["verdict"]), evidence=str(entry.get("evidence", "")))


def find_studies(folder: Path) -> list[StudyEntry]:
    """Study folders directly under ``folder`` (those holding a study.json), newest first; [] when it is absent."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        marker = child / "study.json"
        if child.is_dir() and marker.is_file():
            found.append(StudyEntry(name=child.name, folder=child, modified=marker.stat().st_mtime))
    return sorted(found, key=lambda e: (-e.modified, e.name))


def workspace_studies_dir(home: Path) -> Path:
    """Where a workspace keeps studies to open from the dashboard: ``<workspace>/studies``."""
    return Path(home) / STUDIES_FOLDER


__all__ = ["OpenedStudy", "StudyEntry", "StudyFileError", "open_study", "result_from_json", "run_from_json",
           "find_studies", "workspace_studies_dir", "STUDIES_FOLDER"]
