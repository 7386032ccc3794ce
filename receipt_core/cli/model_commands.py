"""Model commands: ``train``, ``evaluate`` and ``predict`` (see ``python -m receipt_core COMMAND --help``).

``DATA`` is a dataset folder (``--format cord|wildreceipt|native``; ``auto``, the default, recognises each by
its files) or the name of a workspace dataset. Training progress goes to stderr; ``--json`` output to stdout.
``train`` also runs data-parallel, unchanged, under ``accelerate launch -m receipt_core train …``: only the
main process prints and writes the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .main import CommandError
from ..datasets import FORMATS, load_dataset
from ..data.document import Document
from ..model.encoding import BOX_MODES
from ..training.schedules import LR_SCHEDULES

FORMAT_CHOICES = ("auto", *FORMATS)


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..model.backbones import DEFAULT_BACKBONE
    from ..model.freeze import PRESETS

    train = subparsers.add_parser(
        "train", help="fine-tune the multi-task model", description="Fine-tune the field and quantity heads (and "
        "whatever the freeze scenario lets train); writes RUN_DIR/model.safetensors and RUN_DIR/run.json.")
    train.add_argument("--train", required=True, nargs="+", metavar="DATA",
                       help="training data: one or more folders or workspace datasets, trained on together (each "
                            "folder's format is --format, or recognised from its files)")
    train.add_argument("--eval", required=True, metavar="DATA", help="evaluation data: a folder or workspace dataset")
    _add_format(train)
    train.add_argument("--backbone", default=DEFAULT_BACKBONE, metavar="NAME|PATH",
                       help="layout-minilm (default), text-minilm, tiny, or a local LayoutLM folder")
    train.add_argument("--scenario", default="full", choices=PRESETS, help="freeze preset (default: full)")
    train.add_argument("--freeze", nargs="+", default=[], metavar="GROUP", help="groups to freeze on top of it")
    train.add_argument("--unfreeze", nargs="+", default=[], metavar="GROUP", help="groups to unfreeze on top of it")
    train.add_argument("--epochs", type=_non_negative_int, default=3, metavar="N")
    train.add_argument("--max-minutes", type=_positive_float, default=None, metavar="M",
                       help="stop training after M minutes (evaluates and saves first)")
    train.add_argument("--batch-size", type=_positive_int, default=8, metavar="B")
    train.add_argument("--lr", type=_positive_float, default=5e-5, metavar="LR")
    train.add_argument("--seed", type=int, default=0, metavar="S")
    train.add_argument("--decay-factor", type=float, default=2.6, metavar="F",
                       help="discriminative learning rates: each lower group's rate is the one above / F")
    train.add_argument("--loss-weighting", choices=("fixed", "uncertainty"), default="fixed")
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                       help="constant, or linear: warm up, then decay to 0 at the run's end (its epochs or "
                            "--max-minutes, whichever comes first)")
    train.add_argument("--warmup", type=_fraction, default=0.06, metavar="FRACTION",
                       help="linear schedule: the fraction of the run spent warming up (default 0.06)")
    add_box_arguments(train)
    train.add_argument("--phased-top-k", type=_positive_int, default=2, metavar="K",
                       help="phased: encoder layers unfrozen in phase 2 (default 2)")
    train.add_argument("--epochs-per-phase", type=_positive_int, default=None, metavar="N",
                       help="phased: a phase ends after N epochs (default 1 unless --patience is given)")
    train.add_argument("--patience", type=_positive_int, default=None, metavar="N",
                       help="phased: a phase ends after N evaluations without a better validation loss")
    train.add_argument("--eval-every", type=_non_negative_int, default=0, metavar="STEPS",
                       help="evaluate every STEPS steps as well as after each epoch")
    train.add_argument("--max-length", type=_positive_int, default=512, metavar="TOKENS")
    train.add_argument("--resume", action="store_true", help="continue the checkpoint already in RUN_DIR")
    train.add_argument("--no-feature-cache", dest="feature_cache", action="store_false",
                       help="run frozen bottom layers every step instead of caching their output once per window "
                            "(same losses, much slower; for comparison)")
    train.add_argument("--out", required=True, type=Path, metavar="RUN_DIR")
    _add_workspace(train)
    train.set_defaults(handler=run_train)

    evaluate = subparsers.add_parser("evaluate", help="score a trained run on labelled data",
                                     description="Field and quantity metrics of a run's model on DATA.")
    evaluate.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    evaluate.add_argument("--data", required=True, metavar="DATA")
    _add_format(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--from-images", action="store_true",
                          help="end to end: OCR DATA's images, predict, and score against its gold segments "
                               "(a dataset with pixels, e.g. WildReceipt; see receipt_core/image_eval.py)")
    evaluate.add_argument("--ocr-cache", type=Path, metavar="DIR",
                          help="with --from-images: keep the OCR results in DIR and reuse them (e.g. "
                               "<workspace>/ocr-cache, where import --from-images keeps its own)")
    evaluate.add_argument("--item-errors", action="store_true",
                          help="also list every item whose predicted quantity is wrong, with its words' gold and "
                               "predicted labels (not with --from-images)")
    evaluate.add_argument("--erase-layout", action="store_true",
                          help="give every word the whole page as its box before predicting: the drop from the "
                               "plain scores is what the model takes from layout (not with --from-images)")
    evaluate.add_argument("--no-reconcile", action="store_true",
                          help="score the words as decoded one by one, without settling lines that contradict "
                               "themselves (receipt_core/reconcile.py): the difference is what reconciling buys")
    _add_workspace(evaluate)
    evaluate.set_defaults(handler=run_evaluate)

    predict = subparsers.add_parser("predict", help="predict fields, quantities and items",
                                    description="Run a trained model on a dataset's documents or on receipt images "
                                                "(OCR'd with Tesseract).")
    predict.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    predict.add_argument("images", nargs="*", type=Path, metavar="IMAGE")
    predict.add_argument("--data", metavar="DATA", help="predict on a dataset's documents instead of images")
    _add_format(predict)
    predict.add_argument("--json", action="store_true", help='print {"documents": [...]}')
    _add_workspace(predict)
    predict.set_defaults(handler=run_predict)


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMAT_CHOICES, default="auto",
                        help="format of DATA folders (default: recognised from the files)")


def _add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", type=Path, metavar="DIR",
                        help="workspace for dataset names (default: $RECEIPT_STUDIO_HOME, else ./workspace)")


def _positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number, got {text!r}") from None


# --- data -------------------------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """cord, wildreceipt or native, from a dataset folder's (or file's) contents."""
    if path.is_file():
        if path.suffix == ".txt":
            return "wildreceipt"
        files = [path]
    else:
        if list(path.glob("*.txt")) and not list(path.glob("*.json")):
            return "wildreceipt"
        files = sorted(path.glob("*.json"))[:3] or sorted(path.glob("json/*.json"))[:3] or sorted(
            path.glob("*/json/*.json"))[:3]
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "valid_line" in data:
            return "cord"
        if isinstance(data, dict) and (data.get("format") == "receipt-mtl/document" or "words" in data):
            return "native"
    raise CommandError(f"cannot tell the format of {path}; give --format {'|'.join(FORMATS)}")


def add_box_arguments(parser: argparse.ArgumentParser, scope: str = "") -> None:
    """``--boxes word|line|row`` and its older spelling ``--line-boxes`` (= ``--boxes line``)."""
    parser.add_argument("--boxes", choices=BOX_MODES, default="word",
                        help="the box each word is encoded with: its own (word), its OCR line's, as LayoutLMv3 and "
                             "LiLT do (line), or its own left/right edges with its line's top/bottom (row)" + scope)
    parser.add_argument("--line-boxes", action="store_const", const="line", dest="boxes", help="same as --boxes line")


def load_documents(data: str, format: str, workspace: Path | None, role: str = "data",
                   quiet: bool = False) -> list[Document]:
    """Documents from a dataset folder/file, else from the workspace dataset of that name."""
    path = Path(data).expanduser()
    if path.exists():
        fmt = detect_format(path) if format == "auto" else format
        report = load_dataset(path, fmt)
        for problem in [] if quiet else report.problems[:10]:
            print(f"warning: {problem}", file=sys.stderr)
        if len(report.problems) > 10 and not quiet:
            print(f"warning: … and {len(report.problems) - 10} more problems in {path}", file=sys.stderr)
        documents = list(report.documents)
    else:
        from ..workspace.store import Workspace

        ws = Workspace.open(workspace)
        names = [summary.name for summary in ws.datasets()]
        if data not in names:
            raise CommandError(f"{role} {data!r} is neither a folder nor a dataset of the workspace {ws.home} "
                               f"(datasets: {', '.join(names) or 'none'})")
        documents = ws.load_documents(data)
    if not documents:
        raise CommandError(f"{role} {data!r} holds no documents")
    return documents


def load_training_documents(sources: Sequence[str], format: str, workspace: Path | None,
                            quiet: bool = False) -> list[Document]:
    """The documents of every ``--train`` source, in the order given; a document id in two sources is refused
    (the same data given twice, or two datasets that overlap) rather than trained on twice."""
    documents: list[Document] = []
    origin: dict[str, str] = {}
    for source in sources:
        for doc in load_documents(source, format, workspace, role="--train", quiet=quiet):
            if doc.id in origin:
                where = "twice in" if origin[doc.id] == source else f"in both {origin[doc.id]!r} and"
                raise CommandError(f"--train: document {doc.id!r} is {where} {source!r}; give each dataset once "
                                   "and datasets that do not overlap")
            origin[doc.id] = source
            documents.append(doc)
    if len(sources) > 1 and not quiet:
        counts = Counter(origin.values())
        print("train mix: " + ", ".join(f"{source} {counts[source]}" for source in sources), file=sys.stderr)
    return documents


# --- train ------------------------------------------------------------------------------------------------


class ProgressPrinter:
    """Prints a run's events as short lines on stderr (step lines at most every ``interval`` seconds)."""

    def __init__(self, stream=None, interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._last_step = None

    def __call__(self, event) -> None:
        kind = event.kind
        if kind == "step":
            self._last_step = event
        elif kind == "progress":
            now = time.monotonic()
            if now - self._last >= self.interval or event.step == event.total_steps:
                self._last = now
                self._print_step(event)
        elif kind == "eval":
            shown = {k: v for k, v in event.metrics.items() if k in _HEADLINE and isinstance(v, (int, float))}
            parts = [f"{k} {v:.4f}" for k, v in shown.items()]
            self._print(f"eval  step {event.step} (epoch {event.epoch}): " + ", ".join(parts or ["no eval data"]))
        elif kind == "phase":
            what = event.reason if event.reason.startswith("phase") else f"phase {event.phase}: {event.reason}"
            self._print(f"{what}; trainable {event.trainable_parameters:,} of "
                        f"{event.total_parameters:,} parameters ({', '.join(event.trainable_groups) or 'none'})")
        elif kind == "status" and event.message:
            self._print(f"note: {event.message}")
        elif kind == "status":
            self._print(f"status: {event.status}")
        elif kind == "finished":
            self._print(f"finished ({event.reason}) at step {event.step} after {event.elapsed_s:.1f}s; "
                        f"checkpoint {event.checkpoint}")

    def _print_step(self, progress) -> None:
        step = self._last_step
        losses = ""
        if step is not None:
            tasks = ", ".join(f"{k} {v:.4f}" for k, v in step.task_losses.items())
            losses = f" loss {step.loss:.4f} ({tasks})"
        eta = "" if progress.eta_s is None else f" ETA {_duration(progress.eta_s)}"
        self._print(f"step  {progress.step}/{progress.total_steps} epoch {min(progress.epoch + 1, progress.epochs)}/"
                    f"{progress.epochs}{losses} {progress.steps_per_s:.2f} steps/s "
                    f"{progress.items_per_s:.1f} windows/s{eta}")

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


_HEADLINE = ("val_loss", "fields.micro_f1", "quantity.word_f1", "quantity.item_accuracy",
             "quantity.item_accuracy_not_one")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def run_train(args: argparse.Namespace) -> int:
    from ..training.events import FailedEvent
    from ..training.config import TrainConfig
    from ..training.job import TrainingJob
    from ..training.receipt_task import build_resumed_task, build_task

    from ..training.threads import configure_torch_threads

    accelerator = _accelerator()
    configure_torch_threads(accelerator.num_processes)  # one thread per physical core, split between processes
    is_main = accelerator.is_main_process
    epochs_per_phase = args.epochs_per_phase if args.epochs_per_phase or args.patience else 1
    config = TrainConfig(backbone=args.backbone, scenario=args.scenario, freeze=tuple(args.freeze),
                         unfreeze=tuple(args.unfreeze), phased_top_k=args.phased_top_k,
                         epochs_per_phase=epochs_per_phase, patience=args.patience, epochs=args.epochs,
                         max_minutes=args.max_minutes, batch_size=args.batch_size, lr=args.lr,
                         decay_factor=args.decay_factor, loss_weighting=args.loss_weighting, seed=args.seed,
                         max_length=args.max_length, eval_every=args.eval_every, cache_frozen=args.feature_cache,
                         lr_schedule=args.lr_schedule, warmup=args.warmup, boxes=args.boxes)
    train_docs = load_training_documents(args.train, args.format, args.workspace, quiet=not is_main)
    eval_docs = load_documents(args.eval, args.format, args.workspace, role="--eval", quiet=not is_main)
    if is_main:
        print(f"train: {len(train_docs)} documents, eval: {len(eval_docs)} documents; backbone {config.backbone}, "
              f"scenario {config.scenario}" + (f", {accelerator.num_processes} processes"
                                               if accelerator is not None and accelerator.num_processes > 1 else ""),
              file=sys.stderr, flush=True)
    run_dir = args.out
    if args.resume:
        build = lambda: build_resumed_task(run_dir, train_docs, eval_docs, config, accelerator=accelerator)  # noqa: E731
    else:
        if (run_dir / "run.json").exists():
            raise CommandError(f"{run_dir} already holds a checkpoint; pass --resume to continue it or choose "
                               "another --out")
        build = lambda: build_task(config, train_docs, eval_docs, run_dir, accelerator=accelerator)  # noqa: E731
    job = TrainingJob(build, config, accelerator=accelerator, name=str(run_dir))
    if is_main:
        job.add_listener(ProgressPrinter())
    job.start()
    try:
        while not job.join(timeout=0.5):
            pass
    except KeyboardInterrupt:
        print("interrupted: stopping after the current step (press Ctrl-C again to abort)", file=sys.stderr)
        job.stop()
        job.join()
    result = job.result
    if isinstance(result, FailedEvent):
        raise CommandError(f"training failed at step {result.step}: {result.error}")
    return 0


def _accelerator():
    """``accelerate.Accelerator``: a no-op wrapper in one process (on a GPU when there is one), data-parallel when
    launched with several processes. Without CUDA it is asked for CPU mode, which makes a multi-process launch
    use gloo (``accelerate launch --multi_gpu --num_processes 2`` on a CPU-only machine gives 2 CPU processes)."""
    import torch
    from accelerate import Accelerator

    return Accelerator(cpu=not torch.cuda.is_available())


# --- evaluate and predict -----------------------------------------------------------------------------------


def _load_run(run_dir: Path, workspace: Path | None):
    from ..model.checkpoint import load_checkpoint

    if not run_dir.is_dir() and not run_dir.is_absolute() and len(run_dir.parts) == 1:
        from ..workspace.store import NotFoundError, Workspace

        try:  # a workspace run id
            run_dir = Workspace.open(workspace).run_dir(str(run_dir))
        except NotFoundError:
            raise CommandError(f"{run_dir} is neither a checkpoint folder nor a workspace run id") from None
    return load_checkpoint(run_dir)


def run_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation.metrics import evaluate_predictions, item_quantity_errors

    if args.ocr_cache is not None and not args.from_images:
        raise CommandError("--ocr-cache only applies with --from-images (the OCR of DATA's images)")
    if args.item_errors and args.from_images:
        raise CommandError("--item-errors needs gold words to compare with; it does not apply with --from-images")
    if args.erase_layout and args.from_images:
        raise CommandError("--erase-layout applies to DATA's words; it does not apply with --from-images")
    loaded = _load_run(args.run_dir, args.workspace)
    predictor = loaded.predictor(reconcile=not args.no_reconcile)
    errors = None
    if args.from_images:
        from ..evaluation.end_to_end import evaluate_dataset_from_images

        path = Path(args.data).expanduser()
        if not path.exists():
            raise CommandError(f"--from-images needs a dataset folder or file with images; {path} does not exist")
        fmt = detect_format(path) if args.format == "auto" else args.format
        metrics = evaluate_dataset_from_images(predictor, path, fmt, cache_folder=args.ocr_cache)
    else:
        docs = load_documents(args.data, args.format, args.workspace, role="--data")
        if args.erase_layout:
            docs = [doc.without_layout() for doc in docs]
        predictions = predictor.predict(docs)
        metrics = evaluate_predictions(docs, predictions)
        if args.item_errors:
            errors = item_quantity_errors(docs, predictions)
    if args.json:
        if errors is not None:
            metrics = {**metrics, "item_errors": [e.to_json() for e in errors]}
        print(json.dumps(metrics, indent=1, ensure_ascii=False, allow_nan=False, default=_json_default))
    else:
        for key, value in _flat(metrics).items():
            print(f"{key:40s} {value:.4f}" if isinstance(value, float) else f"{key:40s} {value}")
        if errors is not None:
            print(f"\n{len(errors)} item(s) with a wrong quantity; each word: text [gold field, * gold quantity | "
                  f"predicted field, ^ predicted quantity]")
            for error in errors:
                print(f"  {error.describe()}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    if bool(args.data) == bool(args.images):
        raise CommandError("give either --data DATA or one or more IMAGE files")
    loaded = _load_run(args.run_dir, args.workspace)
    errors: list[tuple[str, str]] = []
    if args.data:
        docs = load_documents(args.data, args.format, args.workspace, role="--data")
    else:
        docs, errors = _ocr_images(args.images)
    predictions = loaded.predictor().predict(docs) if docs else []
    if args.json:
        print(json.dumps({"documents": [p.to_json() for p in predictions]}, indent=1, ensure_ascii=False,
                         default=_json_default))
    else:
        for prediction in predictions:
            data = prediction.to_json()
            print(f"== {data['id']}: {len(data['words'])} words, {len(data['items'])} items")
            for item in data["items"]:
                print(f"  {item['quantity']:>6} × {item['name']}  unit {item['unit_price']}  price {item['price']}")
    for name, message in errors:
        print(f"error: {name}: {message}", file=sys.stderr)
    return 2 if errors else 0


def _ocr_images(paths: Sequence[Path]) -> tuple[list[Document], list[tuple[str, str]]]:
    from ..ocr.engine import ocr_many

    items, errors = [], []
    for path in paths:
        try:
            items.append((str(path), path.read_bytes()))
        except OSError as error:
            errors.append((str(path), error.strerror or str(error)))
    docs = []
    for result in (ocr_many(items) if items else []):
        if result.error is not None:
            errors.append((result.name, result.error))
        else:
            docs.append(result.document)
    return docs, errors


def _flat(metrics: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _json_default(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
