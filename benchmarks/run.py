"""Run every performance benchmark, print the table and write BENCHMARKS.md.

    .venv/bin/python benchmarks/run.py                  # the real measurement (minutes), writes BENCHMARKS.md
    .venv/bin/python benchmarks/run.py --quick          # smoke run on tiny sizes (CI): not timed, no target judged
    .venv/bin/python benchmarks/run.py --only cache hf  # a subset

Each figure is the median of several runs, the two sides of a comparison alternating in this one process so a
change in the machine's load hits both. A missed target is reported as MISSED, never hidden. Threads are set
once here (one per physical core), as every entry point does.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # receipt_core, when run as a script

from common import REPO_ROOT, Figure, Sizes, load_average, machine  # noqa: E402

BENCHMARKS = ("cache", "epoch", "quality", "phased", "attention", "precision", "hf", "ocr", "memory", "dashboard",
              "watched")


def run_benchmark(name: str, sizes: Sizes, args: argparse.Namespace) -> list[Figure]:
    if name == "cache":
        from training_speed import frozen_backbone_epochs
        return [frozen_backbone_epochs(sizes)]
    if name == "epoch":
        from epoch_speed import epoch_cost
        return [epoch_cost(sizes)]
    if name == "quality":
        from time_to_quality import time_to_quality
        return time_to_quality(sizes)
    if name == "phased":
        from training_speed import phase_two_steps
        return [phase_two_steps(sizes)]
    if name == "attention":
        from training_speed import attention_dropout_steps
        return [attention_dropout_steps(sizes)]
    if name == "precision":
        from training_speed import precision_steps
        return [precision_steps(sizes)]
    if name == "hf":
        from hf_reference import throughput_vs_hf
        return throughput_vs_hf(sizes)
    if name == "ocr":
        from ocr_speed import ocr_figures
        return ocr_figures(sizes, repeats=1 if sizes.quick else args.ocr_repeats)
    if name == "memory":
        from memory import peak_training_rss
        return [peak_training_rss(sizes)]
    if name == "dashboard":
        from dashboard import dashboard_figures
        return dashboard_figures(sizes, clicks=1 if sizes.quick else 3)
    if name == "watched":
        from watched_training import watched_training
        return watched_training(sizes)
    raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")


def table(figures: list[Figure]) -> str:
    rows = ["| figure | measured | target | result |", "|---|---|---|---|"]
    rows += [f"| {f.name} | {f.value} | {f.target or '—'} | {f.verdict} |" for f in figures]
    return "\n".join(rows)


def markdown(figures: list[Figure], command: str, info: dict[str, str], load_before: str, load_after: str,
             seconds: float) -> str:
    lines = ["# Benchmarks", "",
             f"Measured by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
             f"({seconds / 60:.1f} min). Every figure is the median of several runs; the two sides of each "
             "comparison alternate in one process. A missed target says MISSED.", "",
             "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [f"- load average (1 / 5 / 15 min) before: {load_before}; after: {load_after}. The machine's "
              "2 cores are shared with other work, so absolute times carry that load; ratios are measured side by "
              "side and suffer less.", "", "## Results", "", table(figures), "", "## How each figure was measured",
              ""]
    lines += [f"- **{f.name}**: {f.detail}" for f in figures if f.detail]
    lines += ["", "Code: `benchmarks/` (one module per figure; `common.py` holds the timing hooks on the real "
              "`Trainer`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each: a smoke test, not a timing")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), metavar="NAME",
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown file to write (default: BENCHMARKS.md for a full run, nothing for --quick)")
    parser.add_argument("--repeats", type=int, default=3, metavar="N", help="runs per side of each training figure")
    parser.add_argument("--ocr-repeats", type=int, default=2, metavar="N", help="runs per side of the OCR figure")
    args = parser.parse_args(argv)

    from receipt_core.training.threads import configure_torch_threads

    configure_torch_threads()
    sizes = Sizes.quick_sizes() if args.quick else Sizes.full(args.repeats)
    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    info = machine()
    load_before = load_average()
    started = time.perf_counter()
    figures: list[Figure] = []
    failures = 0
    for name in args.only:
        began = time.perf_counter()
        try:
            found = run_benchmark(name, sizes, args)
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            failures += 1
            traceback.print_exc()
            found = [Figure(f"{name}", "failed", "", False, f"{type(error).__name__}: {error}")]
        if sizes.quick:  # tiny sizes say nothing about speed: keep the values, judge nothing
            found = [Figure(f.name, f.value, f.target, None, f.detail) for f in found]
        figures.extend(found)
        for figure in found:
            print(f"[{name} {time.perf_counter() - began:.0f}s] {figure.name}: {figure.value} "
                  f"(target {figure.target or '—'}: {figure.verdict})", flush=True)
    seconds = time.perf_counter() - started
    load_after = load_average()
    print()
    print(table(figures))
    print(f"\nload average before {load_before}, after {load_after}; {seconds:.0f}s")
    out = args.out if args.out is not None else (None if args.quick else REPO_ROOT / "BENCHMARKS.md")
    if out is not None:
        out.write_text(markdown(figures, command, info, load_before, load_after, seconds), encoding="utf-8")
        print(f"wrote {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
