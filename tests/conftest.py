"""Shared fixtures: where the real receipts live, an isolated workspace per test, and the expensive inputs every
module needs made once per session — the real CORD and WildReceipt splits parsed, the generated receipts rendered
and OCR'd, the `tiny` backbone built.

Session fixtures hand out immutable values (frozen documents and reports, tuples). The one mutable object, the
tiny backbone, is for reading (its tokenizer, its config, parameter counts): a test that trains builds its own
with ``load_backbone("tiny")``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RECEIPT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

# The one generated set every module shares: rendered and OCR'd once per session, in worker processes.
SYNTH_SEED = 7
SYNTH_COUNT = 6


def pytest_configure(config):
    """On pytest-xdist workers (``make test`` runs several), each worker's PyTorch gets its share of the physical
    cores, as local training processes would (``configure_torch_threads``), instead of each taking all.

    The share is also exported as ``OMP_NUM_THREADS``, which ``configure_torch_threads`` honours, so the processes a
    test starts (a live server, a CLI run, the benchmarks) keep to it too. Without it each of them took both
    cores beside the other worker, and OpenMP's threads waiting on each other made a watched `tiny` run in a
    browser test 3–4× slower than alone (135 s against 38 s; the whole suite 857 s against 680 s)."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if workers.isdigit() and int(workers) > 1:
        from receipt_core.training.threads import configure_torch_threads, torch_threads_for

        os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads_for(int(workers))))
        configure_torch_threads(processes=int(workers))


def _weight(item) -> int:
    """0 for modules driving a real browser (the longest: a live server each), 1 for other slow ones, 2 else."""
    if item.get_closest_marker("browser"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def pytest_collection_modifyitems(config, items):
    """Heaviest modules first, so that with ``--dist loadfile --no-loadscope-reorder`` (``make test``) the long
    ones start at once on the workers and the many short ones fill in after them, instead of one long module
    starting last and running alone. Within a module the order is kept."""
    weight: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        weight[module] = min(weight.get(module, 2), _weight(item))
    items.sort(key=lambda item: weight[item.nodeid.split("::")[0]])


def require_shared_data(*parts: str) -> Path:
    """Path into ../shared/data, failing (not skipping) with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"real receipt data not found at {path}. Tests read CORD and WildReceipt from ../shared/data "
            "beside the repo (CI provides it); set RECEIPT_SHARED_DATA to point elsewhere.",
            pytrace=False,
        )
    return path


@pytest.fixture(autouse=True)
def _keep_main_module():
    """AppTest.from_function runs its temporary script as ``__main__``; a later test in the same process whose
    OCR pool spawns workers would make each worker re-import that script (and fail). Put the real one back."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def _reference_machine_speed(monkeypatch):
    """The Train page scales its rough time guess by this machine's speed, timed (ui/machine_timing.py); page tests
    read the guess unscaled, whatever the machine's load. tests/test_estimate.py times the workload for real."""
    import ui.machine_timing

    monkeypatch.setattr(ui.machine_timing, "machine_factor", lambda: 1.0)


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture
def workspace_home(tmp_path, monkeypatch) -> Path:
    """An empty workspace folder, also exported as RECEIPT_STUDIO_HOME for code that reads the env."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("RECEIPT_STUDIO_HOME", str(home))
    return home


# --- real receipts, parsed once ---------------------------------------------------------------------------


def _load(*parts: str, format: str):
    from receipt_core.datasets import load_dataset

    return load_dataset(require_shared_data(*parts), format)


@pytest.fixture(scope="session")
def cord_train_report():
    """CORD train (600 receipts) as an ImportReport: documents, the one image, problems, label counts."""
    return _load("cord", "train", format="cord")


@pytest.fixture(scope="session")
def cord_train(cord_train_report):
    """The 600 CORD train documents, in file order."""
    return cord_train_report.documents


@pytest.fixture(scope="session")
def cord_dev_report():
    return _load("cord", "dev", format="cord")


@pytest.fixture(scope="session")
def cord_dev(cord_dev_report):
    """The 100 CORD dev documents, in file order."""
    return cord_dev_report.documents


@pytest.fixture(scope="session")
def wildreceipt_train_report():
    return _load("wildreceipt", "train.txt", format="wildreceipt")


@pytest.fixture(scope="session")
def wildreceipt_dev_report():
    return _load("wildreceipt", "dev.txt", format="wildreceipt")


# --- generated receipts, rendered and OCR'd once ------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedReceipts:
    """``generate_dataset(SYNTH_COUNT, seed=SYNTH_SEED, workers=2)`` and the progress calls it made."""

    seed: int
    receipts: tuple  # of synth.SyntheticReceipt, in index order
    progress: tuple[tuple[int, int], ...]


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> GeneratedReceipts:
    """The session's generated receipts: real renderer, real Tesseract (in 2 spawned worker processes).

    Made once for the whole run: under pytest-xdist the first worker to need them renders and OCRs them and keeps
    them as JSON beside the workers' temporary folders (under a lock); the other worker reads that file back."""
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent  # one folder above every worker's own
    path = shared / f"generated-{SYNTH_COUNT}-{SYNTH_SEED}.json"
    with open(shared / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            return _generated_from_json(json.loads(path.read_text(encoding="utf-8")))
        made = _generate()
        path.write_text(json.dumps(_generated_to_json(made)), encoding="utf-8")
        return made


def _generate() -> GeneratedReceipts:
    from receipt_core.datasets.synth import generate_dataset

    progress: list[tuple[int, int]] = []
    receipts = generate_dataset(SYNTH_COUNT, seed=SYNTH_SEED, workers=2,
                                progress=lambda done, total: progress.append((done, total)))
    return GeneratedReceipts(seed=SYNTH_SEED, receipts=tuple(receipts), progress=tuple(progress))


def _generated_to_json(made: GeneratedReceipts) -> dict:
    # the drawn tokens keep their boxes unrounded (the native format rounds them to 2 decimals)
    return {"seed": made.seed, "progress": made.progress,
            "receipts": [{"document": r.document.to_json(), "image": base64.b64encode(r.image_bytes).decode(),
                          "format": r.image_format, "rendered": [dataclasses.asdict(w) for w in r.rendered]}
                         for r in made.receipts]}


def _generated_from_json(data: dict) -> GeneratedReceipts:
    from receipt_core.data.document import Document, Word
    from receipt_core.datasets.synth import SyntheticReceipt

    receipts = tuple(SyntheticReceipt(document=Document.from_json(r["document"]),
                                      image_bytes=base64.b64decode(r["image"]), image_format=r["format"],
                                      rendered=tuple(Word(**{**w, "box": tuple(w["box"])}) for w in r["rendered"]))
                     for r in data["receipts"])
    return GeneratedReceipts(seed=data["seed"], receipts=receipts,
                             progress=tuple(tuple(step) for step in data["progress"]))


@pytest.fixture(scope="session")
def synth_receipts(generated) -> tuple:
    """The generated receipts (SyntheticReceipt: document with gold labels, JPEG bytes, rendered tokens)."""
    return generated.receipts


# --- the tiny backbone, built once ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_backbone():
    """``load_backbone("tiny")`` for reading only (tokenizer, config, sizes); never train or change it."""
    from receipt_core.model.backbones import load_backbone

    return load_backbone("tiny")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_backbone):
    return tiny_backbone.tokenizer


def copy_run_folder(source: Path, target: Path) -> None:
    """A run's checkpoint folder copied in as the checkpoint of another workspace run: its run.json says it was saved
    in ``target``'s folder and is signed again, as if that run had saved it (a plain copy is refused as another
    run's, probe 30)."""
    import shutil

    from receipt_core.model.run_manifest import SAVED_IN_KEY, signed_run_info

    shutil.copytree(source, target, dirs_exist_ok=True)
    info = json.loads((target / "run.json").read_text())
    info[SAVED_IN_KEY] = target.name
    (target / "run.json").write_text(json.dumps(signed_run_info(info)))
