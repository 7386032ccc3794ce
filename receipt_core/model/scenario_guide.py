"""What each freeze preset means, in plain words, for the Train page and the README.

Data only: one entry per preset name of ``receipt_core.model.freeze.PRESETS``. The dashboard shows the entry beside the
preset choice so a user knows what a scenario implies before paying for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..wording import counted


@dataclass(frozen=True)
class ScenarioGuide:
    preset: str
    title: str
    implies: str
    advantages: tuple[str, ...]
    disadvantages: tuple[str, ...]


GUIDES: tuple[ScenarioGuide, ...] = (
    ScenarioGuide(
        preset="freeze-all",
        title="Scenario 1 (freeze-all) — freeze everything",
        implies="No parameter can learn: the run only evaluates the model as loaded (pre-trained backbone, "
                "untrained heads). It is the floor every other scenario should beat.",
        advantages=("Costs one evaluation pass, no training.",
                    "Shows how much of the score comes from training at all."),
        disadvantages=("Heads start random, so predictions are near chance.",
                       "Losses stay flat: nothing to watch on the charts."),
    ),
    ScenarioGuide(
        preset="freeze-backbone",
        title="Scenario 2 (freeze-backbone) — train the heads only",
        implies="The shared backbone stays as pre-trained; only the two small heads learn. The frozen backbone's "
                "outputs are computed once and reused, so each epoch after the first is very cheap.",
        advantages=("Fastest training by far: only the heads' parameters train, and a checkpoint stores only them.",
                    "Cannot damage the pre-trained representation (no catastrophic forgetting).",
                    "Good with very few labelled receipts."),
        disadvantages=("The representation never adapts to receipts, and layout enters only through the heads' "
                       "box features (Head boxes): a text-only backbone reads no boxes, and layout-minilm's x/y "
                       "embeddings start at zero and, frozen, stay there.",
                       "Usually the lowest ceiling of the training scenarios."),
    ),
    ScenarioGuide(
        preset="freeze-fields-head",
        title="Scenario 3a (freeze-fields-head) — freeze the field head",
        implies="The backbone and the quantity head train; the field head keeps the weights it starts with "
                "(random, in a new run). Both tasks' losses still train the backbone, so the field task is learnt "
                "through the backbone alone, into a head that never changes: the scenario shows how far a shared "
                "representation carries a task whose head is fixed.",
        advantages=("The quantity head and the backbone learn as in full fine-tuning, without the field head's "
                    "updates.",
                    "Shows how much of the field task the backbone can take on by itself."),
        disadvantages=("Field predictions stay as poor as the frozen head starts, unless the moving backbone "
                       "learns to feed it (the study saw that happen: README).",
                       "As costly per step as full fine-tuning."),
    ),
    ScenarioGuide(
        preset="freeze-quantity-head",
        title="Scenario 3b (freeze-quantity-head) — freeze the quantity head",
        implies="The backbone and the field head train; the quantity head keeps the weights it starts with "
                "(random, in a new run). The mirror of scenario 3a (freeze-fields-head): the quantity loss still "
                "trains the backbone, into the fixed quantity head.",
        advantages=("The field head and the backbone learn as in full fine-tuning, without the quantity head's "
                    "updates.",
                    "Shows how much of quantity extraction the backbone can take on by itself."),
        disadvantages=("Quantity predictions stay as poor as the frozen head starts, unless the moving backbone "
                       "learns to feed it.",
                       "As costly per step as full fine-tuning."),
    ),
    ScenarioGuide(
        preset="full",
        title="Full fine-tuning",
        implies="Every parameter trains: by default at one rate for the whole backbone (the heads at their own); a "
                "discriminative factor above 1 makes lower layers learn more slowly.",
        advantages=("Highest ceiling given enough data.",
                    "Both tasks shape the shared representation."),
        disadvantages=("Slowest per step and most memory.",
                       "Can overfit or forget pre-training on a small dataset."),
    ),
    ScenarioGuide(
        preset="phased",
        title="Phased unfreezing",
        implies="Phase 1 trains the heads only; phase 2 also unfreezes the top k encoder layers; phase 3 "
                "trains everything. A phase ends after a set number of epochs or when validation loss stops "
                "improving. Phase boundaries are marked on the charts.",
        advantages=("Heads settle before gradients reach the backbone, which protects pre-training.",
                    "Early phases are cheap: the frozen layers' outputs are computed once and reused; often "
                    "matches full fine-tuning for less time."),
        disadvantages=("More settings to choose (k, epochs or patience per phase).",
                       "Total run is longer than freeze-backbone alone."),
    ),
)

_BY_PRESET = {guide.preset: guide for guide in GUIDES}


def frozen_heads_note(frozen_heads: list[str], backbone_trains: bool) -> str | None:
    """What heads frozen by hand mean when some backbone layer trains (at some phase), as scenarios 3a and 3b say
    it: a walkthrough froze head.quantity under phased, saw its quantity scores rise, and read nothing to say why."""
    if not frozen_heads or not backbone_trains:
        return None
    names = " and ".join(frozen_heads)
    if len(frozen_heads) == 1:
        return (f"{names} keeps the weights it starts with (random, in a new run), but its task's loss still trains "
                "the backbone layers that train, so its scores can still rise: the backbone learns to feed the fixed "
                "head (as in scenarios 3a and 3b).")
    return (f"{names} keep the weights they start with (random, in a new run), but their tasks' losses still train "
            "the backbone layers that train, so their scores can still rise: the backbone learns to feed the fixed "
            "heads.")


def guide_for(preset: str) -> ScenarioGuide:
    """The guide entry of a preset name; a clear error names the known presets."""
    try:
        return _BY_PRESET[preset]
    except KeyError:
        raise ValueError(f"no scenario guide for preset {preset!r}; known: {', '.join(_BY_PRESET)}") from None


def guide_markdown(preset: str) -> str:
    """The guide as short Markdown (Streamlit's): what it implies, then advantages and disadvantages, marked with
    Material icons (``:material/add:``, ``:material/remove:``), which the app's own icon font draws in any browser
    (emoji need an emoji font)."""
    guide = guide_for(preset)
    pros = "\n".join(f"- :green[:material/add:] {text}" for text in guide.advantages)
    cons = "\n".join(f"- :red[:material/remove:] {text}" for text in guide.disadvantages)
    return f"**{guide.title}.** {guide.implies}\n\n{pros}\n{cons}"


def phased_plan_warnings(epochs: int, epochs_per_phase: int | None, group_names: list[str], unfreeze: tuple[str, ...],
                         depth: int) -> list[str]:
    """What a phased run's settings keep it from doing, as the Train page and ``train`` say it before it starts: a
    phase its epochs never reach, and a phase 2 whose layers are all toggled on from the start (probe 33: the
    command line trained 2 epochs of phase 1 alone, and a phase 2 that added nothing, without a word)."""
    from .freeze import PhasedSchedule, phase_two_toggled_on

    warnings = []
    if epochs_per_phase:
        schedule = PhasedSchedule(1, int(epochs_per_phase))
        reached = schedule.phases_within(int(epochs))
        if reached < schedule.num_phases:
            missed = ("phase 2 (the top layers) and phase 3 (everything) never start" if reached == 1
                      else "phase 3 (everything) never starts")
            warnings.append(f"With {counted(int(epochs), 'epoch')} and {int(epochs_per_phase)} per phase this run "
                            f"ends in phase {reached}: {missed}. Give it at least "
                            f"{schedule.epochs_for_every_phase()} epochs, or fewer epochs per phase.")
    if idle := phase_two_toggled_on(group_names, unfreeze, depth):
        warnings.append(f"Phase 2 trains the top {counted(depth, 'encoder layer')} ({', '.join(idle)}), which are "
                        "toggled on from the start: it adds nothing to phase 1 and spends its share of the run on what "
                        f"phase 1 trains. Toggle them off, or give phase 2 more than {counted(depth, 'layer')}.")
    return warnings


def phase_plan_lines(group_sizes: list[tuple[str, int]], freeze: tuple[str, ...], unfreeze: tuple[str, ...],
                     depth: int) -> list[tuple[str, int]]:
    """Each phase of a phased run with these hand toggles, as its Phases line will read, with the parameters it
    trains: walkthrough 35 toggled encoder.5 on and head.quantity off, and the page said nothing of phases 2 and 3
    until the run's Phases table did."""
    from .freeze import PhasedSchedule, phase_label

    names, counts = [name for name, _ in group_sizes], dict(group_sizes)
    schedule, before, lines = PhasedSchedule(top_k=depth, epochs_per_phase=1), None, []
    for phase in (1, 2, 3):
        plan = schedule.plan(phase, names).with_toggles(freeze=freeze, unfreeze=unfreeze)
        lines.append((phase_label(phase, plan, before, top_k=depth),
                      sum(counts[group] for group, trains in plan.trainable.items() if trains)))
        before = plan
    return lines
