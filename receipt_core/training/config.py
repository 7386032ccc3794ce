"""Every setting of every kind of run, with its default: the one home of training defaults.

:class:`TrainConfig` is a two-head receipt run, :class:`ReferenceConfig` the plain reference tagger and
:class:`PretrainConfig` layout pre-training. The CLI builds ``train``, ``reference`` and ``pretrain``'s options
from their ``option`` fields, the Train page and the study read them, and a checkpoint stores them (``to_json``)
so a run can be rebuilt and resumed. The generic loop reads only the fields of
:class:`~receipt_core.training.loop.LoopSettings`; each task reads the rest. Pure Python: the CLI reads the
defaults without loading torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..data.boxes import BOX_MODES, check_box_mode, stored_box_mode
from ..model.backbone_names import DEFAULT_BACKBONE, encoder_layers
from ..model.freeze import PRESETS, toggle_name_problem
from ..model.head_settings import HEAD_KINDS, LAYER_MIXES, HeadSettings
from ..model.run_manifest import CONFIG_INT_BOUNDS
from .precision import PRECISIONS
from .schedules import LR_SCHEDULES


def option(default: Any, help: str, kind: str | None = None, choices: Sequence[str] | None = None,
           metavar: str | None = None, unset: str | None = None) -> Any:
    """A config field that the CLI offers as ``--name-with-dashes``: its default and help live here, once.

    ``kind`` names the argument type the CLI parses it with (``positive_int``, ``non_negative_int``,
    ``positive_float``, ``fraction``, ``int``, ``str``, ``names`` for a list of names; ``whole`` and ``number``
    for a value whose bounds the config itself checks, so that one message states them); fields made without
    ``option`` are not offered on the command line. ``unset`` says in a few words what None means for a field
    that may be None (the Runs page's settings table shows it: "(none)" read as a missing value)."""
    return dataclasses.field(default=default, metadata={"help": help, "kind": kind, "choices": choices,
                                                        "metavar": metavar, "unset": unset})


def check_int_bounds(config: Any) -> None:
    """ValueError for a whole-number setting outside what a checkpoint may hold (``CONFIG_INT_BOUNDS``): a run
    that trained with ``max_length`` 99999999 saved a checkpoint nothing could load again."""
    for name, (low, high) in CONFIG_INT_BOUNDS.items():
        value = getattr(config, name, None)
        if value is not None and not low <= value <= high:
            # the side that was crossed: "from 0" beside the CLI's own "at least 1" for --epochs read as a contradiction
            limit = f"at most {high:,}" if value > high else f"at least {low:,}"
            raise ValueError(f"{name.replace('_', ' ')} must be {limit}, got {value:,}")
    max_length, stride = getattr(config, "max_length", None), getattr(config, "stride", None)
    if max_length is not None and stride is not None and not stride < max_length - 3:  # as DocumentEncoder needs
        # a probe: --max-length 8 passed the bounds above, then failed after loading on a stride it cannot set
        raise ValueError(f"max length must be at least {stride + 4:,} tokens, as consecutive windows overlap by "
                         f"{stride:,}, got {max_length:,}")


MAX_DECAY_FACTOR = 100.0  # each lower group's rate is the one above / F: beyond this the bottom layers get none

PHASE_END_NEEDED = ("the phased plan needs a way to end each phase: epochs per phase of at least 1, or a patience "
                    "of at least 1 (or both)")

# what a time budget covers, said alike by the CLI, Train, the study and the race (three pages said three things,
# a walkthrough): the loop counts in the closing evaluation and save at what the last ones took (``_time_is_up``)
BUDGET_ENDING = ("it stops early enough for its closing evaluation and save to fit, at the time the last ones took, "
                 "so a slower closing evaluation (or a budget of seconds, ended before any) runs a little past it")
MAX_BUDGET_MINUTES = 10_000.0  # about a week: a time budget above it is a typo (1e308 overflowed the report)


MAX_LR = 1.0  # the Train page's bound too: a rate above it overflows the weights in a step (a probe: --head-lr 1e30)


def check_lr(lr: float | None, what: str = "learning rate", zero_ok: bool = True) -> None:
    """ValueError unless ``lr`` (None: not given) is a finite number from 0 (or above 0) to :data:`MAX_LR`."""
    if lr is not None and not ((0 <= lr if zero_ok else 0 < lr) and lr <= MAX_LR):
        span = f"from 0 to {MAX_LR:g}" if zero_ok else f"above 0 and at most {MAX_LR:g}"
        raise ValueError(f"{what} must be a number {span}, got {lr!r}")  # (:g read 1.0000001 as "1")


def check_budget(minutes: float | None, what: str = "max minutes") -> None:
    """ValueError unless ``minutes`` (a time budget; None: none) is a number above 0 and at most a week."""
    if minutes is not None and not 0 < minutes <= MAX_BUDGET_MINUTES:
        raise ValueError(f"{what} must be above 0 and at most {MAX_BUDGET_MINUTES:,.0f} (about a week) when given, "
                         f"got {minutes:g}")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a two-head run, with its default: the one home of training defaults.

    The defaults are the best recipe measured (README "Scenario study" and "End to end from pixels"): the
    text-only MiniLM backbone (it scored above the layout one on CORD), the phased plan, 12 epochs of batch 8 at
    3e-4 with one rate for every layer (decay 1.0) on a linear schedule, line boxes. Each scenario's own settings
    are in ``SCENARIO_DEFAULTS`` (:meth:`for_scenario`; phased's capable heads among them), so a run is built with
    ``TrainConfig.for_scenario(scenario)``; a bare ``TrainConfig(...)`` is the base those start from.

    The generic loop reads the fields of ``loop.LoopSettings``; the receipt task reads the rest. ``train``'s
    options are generated from the ``option`` fields (``cli/arguments.add_config_options``), the Train page and
    the study start from ``TrainConfig()``."""

    backbone: str = option("text-minilm", "layout-minilm, text-minilm, tiny, or a local LayoutLM folder",
                           kind="str", metavar="NAME|PATH")
    scenario: str = option("phased", "freeze scenario (full, freeze-backbone, phased, …)", kind="str",
                           choices=PRESETS)
    freeze: tuple[str, ...] = option((), "groups to freeze on top of the preset", kind="names", metavar="GROUP")
    unfreeze: tuple[str, ...] = option((), "groups to unfreeze on top of the preset", kind="names",
                                       metavar="GROUP")
    phased_top_k: int | None = option(None, "phased: encoder layers unfrozen in phase 2 (none: 3, or 2 when "
                                      "the time budget will end the run before its epochs; README)",
                                      kind="positive_int", metavar="K", unset="auto (3, or 2 under a budget)")
    epochs_per_phase: int | None = option(1, "phased: a phase ends after N epochs (to end phases by patience "
                                          "alone, set patience and leave this unset)",
                                          kind="positive_int", metavar="N", unset="by patience only")
    patience: int | None = option(None, "phased: a phase also ends after N end-of-epoch evaluations without a "
                                  "better validation loss (evaluations every N steps in between do not count)",
                                  kind="positive_int", metavar="N", unset="off")
    epochs: int = option(12, "epochs to train", kind="positive_int", metavar="N")
    max_minutes: float | None = option(None, "training-time budget in minutes (paused time does not count): "
                                       + BUDGET_ENDING, kind="positive_float",
                                       metavar="M", unset="no budget")
    batch_size: int = option(8, "windows per step", kind="positive_int", metavar="B")
    lr: float = option(3e-4, "learning rate of the top group", kind="positive_float", metavar="LR")
    head_lr: float | None = option(None, "learning rate of the heads and their layer mix (none: the learning "
                                   "rate); the backbone keeps the learning rate and its discriminative decay",
                                   kind="positive_float",
                                   metavar="LR", unset="as lr")
    head: str = option("linear", "the task heads: linear (one word at a time), or contextual (a small transformer "
                       "over the window's words and their boxes)", kind="str", choices=HEAD_KINDS)
    layer_mix: str = option("off", "what the heads read: the last layer (off), or a learned mix of every layer's "
                            "output starting on the last layer (top) or evenly (uniform)", kind="str",
                            choices=LAYER_MIXES)
    head_size: int = option(256, "contextual head: its width", kind="whole", metavar="WIDTH")
    head_depth: int = option(1, "contextual head: its transformer layers", kind="whole", metavar="N")
    head_boxes: bool = option(True, "contextual head: add each word's box features (on/off)", kind="str",
                              choices=("on", "off"))
    attention_dropout: float | None = option(None, "dropout on the backbone's attention weights while training "
                                             "(0 runs each layer's attention about 2x faster on a CPU, and scored "
                                             "lower on WildReceipt photos; README)", kind="fraction", metavar="P",
                                             unset="the backbone's own (MiniLM: 0.1)")
    label_smoothing: float = option(0.0, "training targets smoothed by P, both heads (phased: 0.1, which scored "
                                    "higher on WildReceipt photos; README)", kind="fraction", metavar="P")
    decay_factor: float = option(1.0, "discriminative rates: each lower group's rate is the one above / F",
                                 kind="positive_float", metavar="F")
    lr_schedule: str = option("linear", "constant, or linear: warm up, then decay to 0 at the run's end (its "
                              "epochs or --max-minutes, whichever comes first)", kind="str", choices=LR_SCHEDULES)
    warmup: float = option(0.06, "linear schedule: the fraction of the run spent warming up", kind="fraction",
                           metavar="FRACTION")
    weight_decay: float = 0.01
    loss_weighting: str = option("fixed", "how the two task losses are weighted", kind="str",
                                 choices=("fixed", "uncertainty"))
    task_weights: tuple[float, float] = (1.0, 1.0)
    grad_clip: float | None = 1.0
    seed: int = option(0, "seed of the heads' initial weights, dropout and batch order", kind="int", metavar="S")
    max_length: int = option(512, "tokens per window", kind="whole", metavar="TOKENS")  # one message: 0 and 1
    stride: int = 128
    eval_every: int = option(0, "evaluate every N steps as well as after each epoch (0: after each epoch only)",
                             kind="non_negative_int", metavar="STEPS")
    watch: tuple[str, ...] = ()  # document ids whose predictions are emitted at each evaluation
    cache_frozen: bool = True  # compute the output of a frozen bottom (embeddings + layers) once per window
    save_every_epoch: bool = True  # False: one checkpoint at the end (and when the run stops or fails over)
    precision: str = option("fp32", "number format of the training step's matrix products: fp32, or bf16 "
                            "(bfloat16 autocast: faster where the CPU has AVX-512 BF16 or AMX, or on a GPU; it gave a "
                            "tenth more steps and no better scores on WildReceipt photos, README); weights, losses and "
                            "evaluation stay fp32", kind="str", choices=PRECISIONS)
    boxes: str = option("line", "the box each word is encoded with: its own (word), its OCR line's, as "
                        "LayoutLMv3 and LiLT do (line), or its own left/right edges with its line's top/bottom (row)",
                        kind="str", choices=BOX_MODES)

    def __post_init__(self) -> None:
        for name in ("freeze", "unfreeze", "task_weights", "watch"):  # lists from JSON or a UI become tuples
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.head_boxes, str):  # the command line's on/off
            if self.head_boxes not in ("on", "off"):
                raise ValueError(f"head boxes must be on or off, got {self.head_boxes!r}")
            object.__setattr__(self, "head_boxes", self.head_boxes == "on")
        check_lr(self.head_lr, "head learning rate", zero_ok=False)
        self.head_settings()  # refuses a bad head kind, mix, size or depth
        for toggle in (*self.freeze, *self.unfreeze):  # a misspelt group fails here, not after the data has loaded
            problem = toggle_name_problem(toggle)
            if problem:
                raise ValueError(problem)
        both = sorted(set(self.freeze) & set(self.unfreeze))
        if both:  # unfreeze won silently and the run was named "+head.fields −head.fields" (a probe)
            raise ValueError(f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} both frozen and unfrozen: give "
                             "each group to --freeze or to --unfreeze, not both")
        if self.epochs < 1:  # 0 ran nothing, evaluated nothing and saved nothing, then said "completed" (a probe)
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        check_lr(self.lr)
        check_budget(self.max_minutes)
        if self.loss_weighting not in ("fixed", "uncertainty"):
            raise ValueError(f"loss weighting must be 'fixed' or 'uncertainty', got {self.loss_weighting!r}")
        if not 1 <= self.decay_factor <= MAX_DECAY_FACTOR:  # 1e200 overflowed the rates (a probe), NaN passed
            raise ValueError(f"discriminative decay factor must be a number from 1 to {MAX_DECAY_FACTOR:g}, got "
                             f"{self.decay_factor}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learning-rate schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.attention_dropout is not None and not 0 <= self.attention_dropout < 1:
            raise ValueError(f"attention dropout must be a fraction in [0, 1), got {self.attention_dropout}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label smoothing must be a fraction in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a fraction in [0, 1), got {self.warmup}")
        check_box_mode(self.boxes)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        check_int_bounds(self)
        if self.scenario == "phased" and self.epochs_per_phase is None and self.patience is None:
            raise ValueError(PHASE_END_NEEDED)  # before a run is made (a probe's run failed at once, in the list)

    def for_training_set(self, train_receipts: int) -> "TrainConfig":
        """These settings for a run on ``train_receipts`` receipts: phase 2's depth decided
        (:func:`phase_two_depth`, at most the backbone's encoder layers where they are known) when a phased run left
        it open. Every fresh run passes through here, so a phased run's record and its checkpoint hold the depth it
        trained with (a probe's tiny run, of 2 layers, recorded 3)."""
        if self.phased_top_k is not None or self.scenario != "phased":
            return self
        depth = phase_two_depth(self.epochs, train_receipts, self.max_minutes)
        layers = encoder_layers(self.backbone)
        return dataclasses.replace(self, phased_top_k=min(depth, layers) if layers else depth)

    def head_settings(self) -> HeadSettings:
        """The heads' shape these settings ask for (``heads.HeadSettings``)."""
        return HeadSettings(kind=self.head, layer_mix=self.layer_mix, size=self.head_size, depth=self.head_depth,
                            boxes=bool(self.head_boxes))

    @classmethod
    def for_scenario(cls, scenario: str, **settings: Any) -> "TrainConfig":
        """The config of a ``scenario`` run: the defaults, that scenario's own (``SCENARIO_DEFAULTS``), then
        ``settings`` — what the CLI, the Train page and the study start from."""
        return cls(**{"scenario": scenario, **SCENARIO_DEFAULTS.get(scenario, {}), **settings})

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Rebuild from ``to_json()``; unknown keys are an error (a checkpoint from another version)."""
        if "line_boxes" in data:  # written before there were three box modes
            data = {**{k: v for k, v in data.items() if k != "line_boxes"}, "boxes": stored_box_mode(data)}
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; known: {sorted(names)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


DEEP_PHASE_TWO, SHALLOW_PHASE_TWO = 3, 2
PHASED_SECONDS_PER_RECEIPT_EPOCH = 0.055
"""What a phased MiniLM run costs per training receipt seen once, evaluations and checkpoints included, on the
2-core machine this project is measured on (352–390 s for CORD train's 600 receipts x 12 epochs, 2026-12-01)."""


def phase_two_depth(epochs: int, train_receipts: int, max_minutes: float | None) -> int:
    """Encoder layers phase 2 of the phased plan unfreezes, when the user left it open.

    Measured (README "Scenario study", seeds 0–2): with time to finish its epochs, 3 layers score above 2 (CORD
    dev field micro-F1 0.9654 vs 0.9615, item quantity accuracy 0.9916 vs 0.9903); when a time budget ends the
    plan early, the deeper, slower phase 2 leaves phase 3 fewer steps and 2 layers score above 3 (WildReceipt
    photos under 10 minutes: 0.769 vs 0.761 field F1, 0.807 vs 0.779 quantity segments). So 2 when the plan's
    receipt-epochs at :data:`PHASED_SECONDS_PER_RECEIPT_EPOCH` will not fit ``max_minutes``, else 3. The rate is
    a fixed figure, not this machine's, so the same command picks the same depth on any machine."""
    planned_s = max(epochs, 0) * max(train_receipts, 0) * PHASED_SECONDS_PER_RECEIPT_EPOCH
    if max_minutes is not None and planned_s > max_minutes * 60:
        return SHALLOW_PHASE_TWO
    return DEEP_PHASE_TWO


PHASED_ONLY = ("epochs_per_phase", "phased_top_k", "patience")  # settings only the phased plan reads
CONTEXTUAL_ONLY = ("head_size", "head_depth", "head_boxes")  # settings only a contextual head reads

CAPABLE_HEADS: Mapping[str, Any] = {"head": "contextual", "head_size": 128, "head_depth": 2, "layer_mix": "top",
                                    "boxes": "row", "head_lr": 3e-3}
"""Heads that learn over a frozen backbone: a small contextual head (2 transformer layers of width 128 over the
words and their row boxes: own x, line's y) reading a mix of every layer, at their own, higher rate."""

SCENARIO_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    # the heads alone learn on a frozen backbone; each epoch costs seconds over the cached features, so 20 of them
    "freeze-backbone": {**CAPABLE_HEADS, "epochs": 20},
    # phase 1 trains the same heads on the cached features, so the later phases start from good heads
    "phased": {**CAPABLE_HEADS, "epochs_per_phase": 2, "label_smoothing": 0.1},
}
"""Settings a scenario wants other than ``TrainConfig``'s defaults (measured: README "Scenario study")."""

SAME_RECIPE: Mapping[str, Any] = SCENARIO_DEFAULTS["phased"]
"""The one recipe of a race or study whose scenarios differ only in what they freeze (``StudySettings.same_recipe``):
phased's, the capable heads at their own rate over row boxes, with label smoothing (``epochs_per_phase`` is read by
phased alone). With their own defaults the scenarios differ in heads, rates and epochs too (walkthrough 28)."""


@dataclass(frozen=True)
class ReferenceConfig:
    """Every setting of a reference run, with its default (the ``reference`` command's options come from here)."""

    backbone: str = option(DEFAULT_BACKBONE, "layout-minilm, text-minilm, tiny, or a local LayoutLM folder",
                           kind="str", metavar="NAME|PATH")
    epochs: int = option(50, "epochs to train", kind="positive_int", metavar="N")
    max_minutes: float | None = option(None, "training-time budget in minutes, evaluations included",
                                       kind="positive_float", metavar="M", unset="no budget")
    batch_size: int = option(8, "windows per step", kind="positive_int", metavar="B")
    lr: float = option(5e-5, "learning rate of every parameter", kind="positive_float", metavar="LR")
    weight_decay: float = 0.01
    seed: int = option(0, "seed of the classifier's initial weights, dropout and batch order", kind="int",
                       metavar="S")
    max_length: int = option(512, "tokens per window", kind="whole", metavar="TOKENS")  # one message: 0 and 1
    stride: int = 128
    lr_schedule: str = option("constant", "constant, or linear: warm up, then decay to 0 at the run's end",
                              kind="str", choices=LR_SCHEDULES)
    warmup: float = option(0.06, "linear schedule: the fraction of the run spent warming up", kind="fraction",
                           metavar="FRACTION")
    boxes: str = option("word", "the box each word is encoded with (see train --help)", kind="str",
                        choices=BOX_MODES)
    grad_clip: float | None = 1.0
    eval_every: int = 0  # evaluate every N steps; 0 = after each epoch
    save_every_epoch: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch size must be at least 1, got {self.epochs} and {self.batch_size}")
        check_lr(self.lr)
        check_budget(self.max_minutes)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learning-rate schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        check_box_mode(self.boxes)
        check_int_bounds(self)


@dataclass(frozen=True)
class PretrainConfig:
    """Every setting of a pre-training run, with its default (the ``pretrain`` command's options come from here)."""

    backbone: str = option(DEFAULT_BACKBONE, "the layout backbone to start from (a name or a local folder)",
                           kind="str", metavar="NAME|PATH")
    epochs: int = option(10, "epochs over the documents", kind="positive_int", metavar="N")
    max_minutes: float | None = option(None, "training-time budget in minutes; the learning-rate schedule ends "
                                       "with it", kind="positive_float", metavar="M", unset="no budget")
    batch_size: int = option(16, "windows per step", kind="positive_int", metavar="B")
    lr: float = option(1e-4, "learning rate", kind="positive_float", metavar="LR")
    lr_schedule: str = option("linear", "constant, or linear: warm up, then decay to 0 at the run's end",
                              kind="str", choices=LR_SCHEDULES)
    warmup: float = option(0.06, "linear schedule: the fraction of the run spent warming up", kind="fraction",
                           metavar="FRACTION")
    weight_decay: float = 0.01
    mask_probability: float = option(0.15, "share of the tokens hidden", kind="number", metavar="P")
    seed: int = option(0, "seed of the masking, dropout and batch order", kind="int", metavar="S")
    max_length: int = 512
    boxes: str = option("word", "the box each word is encoded with (see train --help)", kind="str",
                        choices=BOX_MODES)
    grad_clip: float | None = 1.0
    eval_every: int = 0  # report the masked-word loss every N steps; 0 = after each epoch
    save_every_epoch: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        check_lr(self.lr, zero_ok=False)
        check_budget(self.max_minutes)
        if not 0 < self.mask_probability < 1:
            raise ValueError(f"mask probability must be above 0 and below 1, got {self.mask_probability}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"learning-rate schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        check_box_mode(self.boxes)
        check_int_bounds(self)


def smoothing_of(config: Mapping[str, Any]) -> float:
    """The label smoothing of a run's stored config (0 for a run recorded before the setting, or a value that is no
    fraction in [0, 1))."""
    value = config.get("label_smoothing") if isinstance(config, Mapping) else None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
    return float(value) if ok else 0.0
