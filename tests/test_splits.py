"""Which datasets the Train page starts from: a -train/-dev pair trains on one and evaluates on the other."""

from __future__ import annotations

from receipt_core.datasets.splits import paired_datasets

NAMES = ["cord-sample-dev", "cord-sample-train", "demo", "shop-train", "shop-test"]


def test_a_named_pair_trains_on_train_and_evaluates_on_its_sibling_whichever_is_in_view():
    assert paired_datasets(NAMES, "cord-sample-dev") == ("cord-sample-train", "cord-sample-dev")
    assert paired_datasets(NAMES, "cord-sample-train") == ("cord-sample-train", "cord-sample-dev")
    assert paired_datasets(NAMES, "shop-train") == ("shop-train", "shop-test")
    # nothing in view: the first name, here the dev half of a pair, still trains on its train half
    assert paired_datasets(NAMES, None) == ("cord-sample-train", "cord-sample-dev")


def test_a_pair_with_a_qualifier_after_its_role_pairs_too():
    """Probe 32: README's wildreceipt-train-ocr / wildreceipt-dev-ocr paired with nothing, so Annotate said nothing
    of editing the evaluation set and Train did not evaluate on it."""
    from receipt_core.datasets.splits import evaluated_dataset

    names = ["wildreceipt-dev-ocr", "wildreceipt-train", "wildreceipt-train-ocr", "my-testing", "x-train-ocr"]
    assert paired_datasets(names, "wildreceipt-dev-ocr") == ("wildreceipt-train-ocr", "wildreceipt-dev-ocr")
    assert paired_datasets(names, "wildreceipt-train-ocr") == ("wildreceipt-train-ocr", "wildreceipt-dev-ocr")
    assert paired_datasets(names, "wildreceipt-train") == ("wildreceipt-train", None)  # no wildreceipt-dev
    assert paired_datasets(names, "my-testing") == ("my-testing", None)  # "-test" inside a word is no role
    assert paired_datasets(names, "x-train-ocr") == ("x-train-ocr", None)
    assert evaluated_dataset(names, "wildreceipt-dev-ocr") == "wildreceipt-train-ocr"
    assert evaluated_dataset(names, "wildreceipt-train-ocr") is None


def test_a_new_session_opens_on_a_dataset_that_is_no_evaluation_set_while_one_is_left():
    """Walkthrough 32 deleted cord-sample-train and the page showed cord-sample-dev, ready to delete it too."""
    from receipt_core.datasets.splits import first_dataset

    assert first_dataset(["cord-sample-dev", "cord-sample-train"]) == "cord-sample-train"
    assert first_dataset(["cord-sample-dev", "wild-walk"]) == "wild-walk"
    assert first_dataset(["a-dev", "b-test"]) == "a-dev"  # nothing else left
    assert first_dataset([]) is None


def test_any_other_dataset_trains_on_itself_and_holds_part_out():
    assert paired_datasets(NAMES, "demo") == ("demo", None)
    assert paired_datasets(["lonely-dev"], "lonely-dev") == ("lonely-dev", None)
    assert paired_datasets([], None) == (None, None)


def test_evaluation_notes_warn_of_training_receipts_and_of_too_few():
    from receipt_core.datasets.splits import evaluation_notes

    train = [f"r{i}" for i in range(30)]
    assert evaluation_notes(train, [f"d{i}" for i in range(10)]) == ()
    same = evaluation_notes(train, train[:12])
    assert same == ("12 of the 12 evaluation receipts are also training receipts: the scores will look better "
                    "than on receipts the model never saw; evaluate on another dataset",)
    (few,) = evaluation_notes(train, ["d1"])
    assert few.startswith("only 1 evaluation receipt:")
    assert evaluation_notes(train, []) == ()  # no evaluation at all is said elsewhere
    # found by a walkthrough: the CORD sample's dev receipts imported again from CORD (ids cord-…) trained on them
    cord = [f"cord-receipt_{i:05d}" for i in range(12)]
    sample = [f"cord-sample-receipt_{i:05d}" for i in range(12)]
    assert evaluation_notes(cord, sample)[0].startswith("12 of the 12 evaluation receipts are also training")


def test_a_new_session_shows_a_training_dataset_rather_than_its_evaluation_sibling():
    """Found by a walkthrough: cord-sample-dev sorts first, so a new session showed (and offered to delete) it."""
    from receipt_core.datasets.splits import first_dataset

    assert first_dataset(["cord-sample-dev", "cord-sample-train", "demo"]) == "cord-sample-train"
    assert first_dataset(["demo", "shop-dev"]) == "demo"
    assert first_dataset(["lonely-dev"]) == "lonely-dev"
    assert first_dataset([]) is None


def test_a_split_refused_for_want_of_labelled_receipts_names_the_unlabelled_ones():
    """Found by a walkthrough: a race on a dataset of one unlabelled photo said "the training dataset has 0
    receipts", though it held one."""
    import pytest

    from receipt_core.data.review import LabelledDocuments
    from receipt_core.datasets.splits import split_labelled

    with pytest.raises(ValueError) as refused:
        split_labelled(LabelledDocuments(documents=(), left_out=("photo-1",)), None, 0.25)
    assert str(refused.value) == (
        "the training dataset has 0 labelled receipts (1 of its 1 has no label from a person or an import); holding "
        "some out for evaluation needs at least 2 (or choose an evaluation dataset). Label receipts on Annotate, or "
        "accept a run's suggestions there, first.")
    with pytest.raises(ValueError) as refused:  # an evaluation dataset chosen: one labelled receipt would do
        split_labelled(LabelledDocuments(documents=(), left_out=("a", "b", "c")), [object()], 0.25)
    assert str(refused.value).startswith("the training dataset has 0 labelled receipts (3 of its 3 have no label "
                                         "from a person or an import); a run needs at least 1. Label receipts")

