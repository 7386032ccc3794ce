"""Train's Start apart from its widgets (``ui/train_start.py``): which receipts a run of the page's settings
trains and is scored on, how its header names it, and nothing created before the launch."""

from __future__ import annotations

import dataclasses

import pytest

from receipt_core.datasets.demo import CORD_SAMPLE_DEV, CORD_SAMPLE_TRAIN, add_cord_sample
from receipt_core.training.config import PretrainConfig, ReferenceConfig, TrainConfig
from receipt_core.workspace.store import Workspace
from ui.train_start import StartRequest, prepare_start


@pytest.fixture(scope="module")
def cord_workspace(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("train-start"))
    add_cord_sample(workspace)
    return workspace


def test_a_two_head_run_watches_the_chosen_evaluation_receipt_and_is_named_by_its_data(cord_workspace):
    dev_ids = [s.id for s in cord_workspace.list_documents(CORD_SAMPLE_DEV)]
    request = StartRequest(config=TrainConfig(backbone="tiny", scenario="freeze-backbone"),
                           train_sets=(CORD_SAMPLE_TRAIN,), evaluation=CORD_SAMPLE_DEV, hold_out=0.25,
                           watch=dev_ids[3])
    prepared = prepare_start(cord_workspace, request)
    train_count = len(cord_workspace.list_documents(CORD_SAMPLE_TRAIN))
    assert prepared.description == (f"tiny · freeze-backbone · {train_count} train of {CORD_SAMPLE_TRAIN} / "
                                    f"{len(dev_ids)} eval of {CORD_SAMPLE_DEV}")
    assert prepared.left_out_note is None
    assert cord_workspace.list_runs() == []  # nothing is created before the slot calls launch


def test_a_watched_receipt_that_is_not_scored_falls_back_to_the_first_evaluation_receipt(cord_workspace,
                                                                                       monkeypatch):
    started = {}

    def fake_start_run(workspace, config, train_docs, eval_docs):
        started.update(config=config, eval_ids=[d.id for d in eval_docs])
        return type("Job", (), {"run_id": "r1"})()

    monkeypatch.setattr("ui.train_start.start_run", fake_start_run)
    prepared = prepare_start(cord_workspace, StartRequest(
        config=TrainConfig(backbone="tiny"), train_sets=(CORD_SAMPLE_TRAIN,), evaluation=None, hold_out=0.25,
        watch="no-such-receipt"))
    run_id, _ = prepared.launch()
    assert run_id == "r1" and started["config"].watch == (started["eval_ids"][0],)
    assert prepared.description.endswith(" eval held out of it")


def test_the_reference_and_pretraining_are_named_as_what_they_train(cord_workspace):
    reference = prepare_start(cord_workspace, StartRequest(
        config=ReferenceConfig(backbone="tiny"), train_sets=(CORD_SAMPLE_TRAIN,), evaluation=CORD_SAMPLE_DEV,
        hold_out=0.25))
    assert reference.description.startswith("tiny · reference tagger · ")
    pretrain = prepare_start(cord_workspace, StartRequest(
        config=PretrainConfig(backbone="tiny"), train_sets=(CORD_SAMPLE_TRAIN, CORD_SAMPLE_DEV), evaluation=None,
        hold_out=0.25))
    every = len(cord_workspace.list_documents_of((CORD_SAMPLE_TRAIN, CORD_SAMPLE_DEV)))
    assert pretrain.description == (f"tiny · layout pre-training · {every} receipts of "
                                    f"{CORD_SAMPLE_TRAIN} + {CORD_SAMPLE_DEV}")


def test_a_dataset_without_labels_is_refused_naming_what_was_left_out(tmp_path):
    workspace = Workspace(tmp_path)
    add_cord_sample(workspace)
    photos = workspace.load_documents(CORD_SAMPLE_DEV)[:3]
    unlabelled = [dataclasses.replace(doc, id=f"photo-{i}", source=f"photo-{i}.png", meta={},
                                      words=[dataclasses.replace(w, field="OTHER", is_quantity=False,
                                                                 quantity_value=None, label_source=None)
                                             for w in doc.words])
                  for i, doc in enumerate(photos)]
    workspace.save_documents("photos", unlabelled)
    request = StartRequest(config=TrainConfig(backbone="tiny"), train_sets=("photos",), evaluation=None,
                           hold_out=0.25)
    with pytest.raises(ValueError, match="0 labelled receipts \\(3 of its 3 have no label"):
        prepare_start(workspace, request)
    with_labels = prepare_start(workspace, StartRequest(config=TrainConfig(backbone="tiny"),
                                                        train_sets=("photos", CORD_SAMPLE_TRAIN), evaluation=None,
                                                        hold_out=0.25))
    receipts = 3 + len(workspace.list_documents(CORD_SAMPLE_TRAIN))
    assert with_labels.left_out_note == (f"train: 3 of {receipts} receipts have no label from a person or an "
                                         "import and are left out")


def test_a_resume_is_named_by_its_data_and_keeps_the_budget_given(cord_workspace, monkeypatch):
    from receipt_core.training.config import TrainConfig as Config
    from ui.train_start import prepare_resume

    run_id = cord_workspace.create_run("r", {**dataclasses.asdict(Config(backbone="tiny", max_minutes=1.0)),
                                             "train_documents": 3, "eval_documents": 2})
    run = cord_workspace.get_run(run_id)
    with pytest.raises(ValueError, match="does not record which receipts it trained on"):  # no ids recorded
        prepare_resume(cord_workspace, run, None, None, 0.25, None)
    train_ids = [s.id for s in cord_workspace.list_documents(CORD_SAMPLE_TRAIN)[:3]]
    dev_ids = [s.id for s in cord_workspace.list_documents(CORD_SAMPLE_DEV)[:2]]
    config = {**dataclasses.asdict(Config(backbone="tiny", max_minutes=1.0)), "train_documents": 3,
              "eval_documents": 3, "train_ids": train_ids, "eval_ids": dev_ids + ["gone"]}
    with pytest.raises(ValueError, match="1 receipt of run .* is not in the workspace"):  # refused before the launch
        prepare_resume(cord_workspace, cord_workspace.get_run(cord_workspace.create_run("gone", config)), None, None,
                       0.25, None)
    recorded = cord_workspace.create_run("named", {**config, "eval_documents": 2, "eval_ids": dev_ids})
    # the header puts the Runs name before it: the description names the backbone, scenario and datasets
    own = prepare_resume(cord_workspace, cord_workspace.get_run(recorded), None, None, 0.25, None)
    assert own.description == (f"resumed · tiny · phased · 3 train of {CORD_SAMPLE_TRAIN} / 2 eval of "
                               f"{CORD_SAMPLE_DEV}")
    assert own.left_out_note is None
    resumed = {}
    monkeypatch.setattr("ui.train_start.resume_run", lambda ws, run_id, train_docs, eval_docs, config: resumed.update(
        train=train_docs, config=config) or type("Job", (), {})())
    chosen = prepare_resume(cord_workspace, run, (CORD_SAMPLE_TRAIN,), CORD_SAMPLE_DEV, 0.25, 2.5)
    train_count = len(cord_workspace.list_documents(CORD_SAMPLE_TRAIN))
    dev_count = len(cord_workspace.list_documents(CORD_SAMPLE_DEV))
    assert chosen.description == (f"resumed · tiny · phased · {train_count} train of {CORD_SAMPLE_TRAIN} / "
                                  f"{dev_count} eval of {CORD_SAMPLE_DEV}")
    assert chosen.launch()[0] == run_id
    assert resumed["config"].max_minutes == 2.5 and len(resumed["train"]) == train_count
    own.launch()
    assert [d.id for d in resumed["train"]] == train_ids and resumed["config"].max_minutes is None  # read back by id


def test_a_resume_on_its_own_receipts_leaves_out_those_that_lost_their_labels_and_refuses_when_none_has_one(
        cord_workspace):
    """A probe re-imported a stopped run's receipts with every word unlabelled; its resume on its own receipts
    trained on them as OTHER and scored them (micro-F1 None, accuracy 1.0). They are left out now, as a start
    leaves them out, and the user is told; with none labelled the resume is refused, naming what to do."""
    from receipt_core.data.review import NoLabelsError
    from receipt_core.training.config import TrainConfig as Config
    from ui.train_start import prepare_resume

    sources = [cord_workspace.get_document(s.id) for s in cord_workspace.list_documents(CORD_SAMPLE_TRAIN)[:4]]
    labelled = [dataclasses.replace(doc, id=f"kept-{n}") for n, doc in enumerate(sources)]
    bare = [doc.with_words(dataclasses.replace(w, field="OTHER", is_quantity=False, quantity_value=None,
                                               label_source=None, group_id=None) for w in doc.words)
            for doc in (dataclasses.replace(doc, id=f"bare-{n}") for n, doc in enumerate(sources))]
    cord_workspace.save_documents("relabelled", labelled[:2] + bare[2:])
    config = {**dataclasses.asdict(Config(backbone="tiny")), "train_documents": 3, "eval_documents": 1,
              "train_ids": ["kept-0", "kept-1", "bare-2"], "eval_ids": ["bare-3"]}
    with pytest.raises(NoLabelsError, match="run .*'s evaluation set has no labels"):
        prepare_resume(cord_workspace, cord_workspace.get_run(cord_workspace.create_run("e", config)), None, None,
                       0.25, None)
    partly = cord_workspace.get_run(cord_workspace.create_run("p", {**config, "eval_ids": ["kept-1"]}))
    prepared = prepare_resume(cord_workspace, partly, None, None, 0.25, None)
    assert prepared.left_out_note == "train: 1 of 3 receipts has no label from a person or an import and is left out"
    assert prepared.description == "resumed · tiny · phased · 2 train of relabelled / 1 eval of relabelled"
    with pytest.raises(NoLabelsError, match=r"trained on 1 receipt, and none has a label .* resume it on a dataset "
                                            r"instead"):
        prepare_resume(cord_workspace, cord_workspace.get_run(cord_workspace.create_run(
            "n", {**config, "train_ids": ["bare-2"], "eval_ids": []})), None, None, 0.25, None)


def test_train_warns_before_start_of_receipts_without_labels_and_not_of_labelled_datasets(tmp_path):
    """Found by a walkthrough: the sidebar's dataset of three fresh photos became Train's training dataset, and
    only Start's refusal said they had no labels."""
    from receipt_core.datasets.demo import DEMO_DATASET, add_demo_receipts
    from ui.train_start import TrainingLabels, training_labels

    workspace = Workspace(tmp_path)
    add_cord_sample(workspace)
    add_demo_receipts(workspace, 2)  # rendered and read by the real Tesseract: their labels come from the generator
    photos = workspace.load_documents(CORD_SAMPLE_DEV)[:3]
    workspace.save_documents("my photos", [
        dataclasses.replace(doc, id=f"photo-{i}", source=f"photo-{i}.png", meta={},
                            words=[dataclasses.replace(w, field="OTHER", is_quantity=False, quantity_value=None,
                                                       label_source=None) for w in doc.words])
        for i, doc in enumerate(photos)])
    for labelled in ((CORD_SAMPLE_TRAIN,), (DEMO_DATASET,), (CORD_SAMPLE_TRAIN, DEMO_DATASET)):
        assert training_labels(workspace.list_documents_of(labelled), labelled) == TrainingLabels(None, False)
    photos = training_labels(workspace.list_documents_of(("my photos",)), ("my photos",))
    assert photos.none_labelled  # Start is off: it could only be refused
    assert photos.warning == (
        "3 of the 3 receipts of 'my photos' have no label from a person or an import, so a run leaves all of them "
        "out: label them on Annotate, or choose a labelled dataset (Home loads the CORD sample).")
    mixed = (DEMO_DATASET, "my photos")
    assert not training_labels(workspace.list_documents_of(mixed), mixed).none_labelled
    assert training_labels(workspace.list_documents_of(mixed), mixed).warning.startswith(
        "3 of the 5 receipts of 'demo' + 'my photos' have no label from a person or an import, so a run leaves "
        "them out")


def test_train_and_evaluation_say_when_receipts_in_progress_are_mostly_unlabelled(tmp_path):
    """A probe evaluated 100 receipts with one word of each labelled: the 2,397 words nobody labelled scored as
    gold OTHER (field F1 0.04), and nothing said so."""
    from receipt_core.data.review import labelled_documents
    from ui.train_start import training_labels

    workspace = Workspace(tmp_path)
    add_cord_sample(workspace)
    started = [dataclasses.replace(doc, id=f"started-{i}", words=[
        w if k == 0 else dataclasses.replace(w, field="OTHER", is_quantity=False, quantity_value=None,
                                             label_source=None, group_id=None) for k, w in enumerate(doc.words)])
        for i, doc in enumerate(workspace.load_documents(CORD_SAMPLE_DEV)[:2])]
    workspace.save_documents("started", started)
    labels = training_labels(workspace.list_documents_of(("started",)), ("started",))
    assert not labels.none_labelled and labels.warning == (
        "2 receipts are in progress with most words unlabelled: a run trains those words as OTHER. Finish labelling "
        "them on Annotate if some are fields or quantities.")
    workspace.set_reviewed("started-0", True)  # done: the person says the rest is OTHER
    assert training_labels(workspace.list_documents_of(("started",)), ("started",)).warning.startswith(
        "1 receipt is in progress")
    unlabelled = sum(len(doc.words) - 1 for doc in started)
    assert labelled_documents(started).note("eval 'started'") == (
        f"eval 'started': 2 of 2 receipts are mostly unlabelled: {unlabelled} words nobody labelled count as OTHER "
        "in training and scores; if some are fields or quantities, label them on Annotate first")
    assert labelled_documents(workspace.load_documents(CORD_SAMPLE_DEV)).note() is None  # gold: every word labelled
