"""A study on disk: :func:`write_study` writes ``study.json`` (shape documented in ``docs/STUDY.md``) with
``report.md`` and ``report.html``; :func:`load_study` reads a ``study.json`` back, checking its format tag and
version (:func:`receipt_core.study.view.open_study` rebuilds the result from it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..data.files import NotARegularFileError, atomic_write, read_regular_file
from ..datasets.bounded_json import json_depth
from ..training.events import HEADLINE_METRICS
from .reading import best_summary, read_claims
from .report import html_report, markdown_report
from .result import StudyResult
from .settings import REFERENCE

STUDY_FORMAT = "receipt-mtl/study"
STUDY_VERSION = 1


def study_json(result: StudyResult) -> dict[str, Any]:
    """The machine-readable study (see docs/STUDY.md for the shape)."""
    best = best_summary(result)
    return {
        "format": STUDY_FORMAT, "version": STUDY_VERSION, "command": result.command, "started": result.started,
        "finished": result.finished, "settings": result.settings.to_json(),
        "data": {"train": result.train_data, "eval": result.eval_data, "train_documents": result.train_documents,
                 "eval_documents": result.eval_documents},
        "metrics": list(HEADLINE_METRICS),
        "configurations": [{
            "name": s.config.name, "backbone": s.config.backbone, "scenario": s.config.scenario,
            "kind": REFERENCE if s.config.is_reference else "multitask",
            "summary": {key: s.spread(key).to_json() for key in (*HEADLINE_METRICS, "train_s", "wall_s",
                                                                            "trainable_parameters", "steps", "epochs")}
            if s.runs else {},
            "runs": [r.to_json() for r in s.runs]} for s in result.summaries],
        "best": best.config.name if best else None,
        "claims": [{"claim": c.claim, "verdict": c.verdict, "evidence": c.evidence} for c in read_claims(result)],
        "notes": list(result.notes),
        "stopped_at": result.stopped_at,
    }

def write_study(result: StudyResult, out_dir: Path) -> dict[str, Path]:
    """``report.md``, ``report.html`` and ``study.json`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "study.json"}
    _write(paths["json"], json.dumps(study_json(result), indent=1, ensure_ascii=False, allow_nan=False))
    _write(paths["markdown"], markdown_report(result))
    _write(paths["html"], html_report(result))
    return paths


def _write(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))  # a fresh temporary name: a planted report.md.tmp link is not followed


class StudyFileError(ValueError):
    """A path that does not hold a readable scenario study; the message says what is wrong and what to do."""


MAX_STUDY_FILE_BYTES = 64 * 1024 * 1024  # a ten-configuration, three-seed study is well under 1 MB
MAX_STUDY_DEPTH = 32  # study.json nests about 6 levels deep


def load_study(path: Path) -> dict[str, Any]:
    """Read a ``study.json`` (or the folder holding one), checking its format tag and version.

    Raises :class:`StudyFileError` for a missing path or file, a file that is not JSON, a file that is not a
    study, or a study written by a newer version of this project.
    """
    path = Path(path).expanduser()
    made_by = "the folder written by `python -m receipt_core study ... --out DIR`"
    if not path.exists():
        raise StudyFileError(f"{path} does not exist; give {made_by} (or its study.json)")
    if path.is_dir():
        if not (path / "study.json").is_file():
            raise StudyFileError(f"{path} holds no study.json, so it is not a study folder; give {made_by}")
        path = path / "study.json"
    try:  # a regular file, not a link nor a FIFO (a probe's typed FIFO blocked a server thread for good)
        text = read_regular_file(path, MAX_STUDY_FILE_BYTES).decode("utf-8")
    except NotARegularFileError as error:
        raise StudyFileError(f"{path} {error.strerror}; it is not a study this project wrote") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StudyFileError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    depth = json_depth(text)  # json.loads recurses once per level: a file nested 200,000 deep would crash it
    if depth > MAX_STUDY_DEPTH:
        raise StudyFileError(f"{path} nests {depth:,} levels deep, over the {MAX_STUDY_DEPTH} a study file has; it "
                             "is not a study this project wrote")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StudyFileError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                             "it may have been cut off while copying — copy it again or rerun the study") from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise StudyFileError(f"{path} is not a study this project wrote: {' '.join(str(error).split())[:200]}") \
            from None
    found = data.get("format") if isinstance(data, Mapping) else None
    if found != STUDY_FORMAT:
        raise StudyFileError(f"{path} is not a scenario study: its \"format\" is {found!r}, expected "
                             f"{STUDY_FORMAT!r} (written by `python -m receipt_core study`)")
    version = data.get("version")
    readable = f"version {STUDY_VERSION}" if STUDY_VERSION == 1 else f"versions 1 to {STUDY_VERSION}"
    if isinstance(version, int) and not isinstance(version, bool) and version > STUDY_VERSION:
        raise StudyFileError(f"{path} is study format version {version}, newer than this project reads ({readable}); "
                             "update the project, or rerun the study with this one")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StudyFileError(f"{path} has study format version {version!r}, which no version of the project writes "
                             f"(this one reads {readable}); the file is damaged — copy it again or rerun the study")
    return dict(data)
