"""Label efficiency: which labels a fraction keeps, the metrics, selection on validation only, the task end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from tests.cli_helpers import run_cli
from tscl.encoders import create_encoder
from tscl.errors import DataError
from tscl.tasks.finetune import FinetuneSettings, finetune
from tscl.tasks.label_fractions import classification_metrics, labelled_rows, linear_probe

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ["--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1"]


def test_labelled_rows_take_whole_groups_stratified_and_seeded() -> None:
    groups = np.repeat(np.arange(40), 5)  # 40 recordings of 5 windows
    labels = np.repeat(np.arange(40) % 4, 5)  # 10 recordings per class
    assert labelled_rows(groups, labels, 1.0, seed=0).tolist() == list(range(200))
    rows = labelled_rows(groups, labels, 0.2, seed=1)
    chosen = np.unique(groups[rows])
    assert len(chosen) == 8 and len(rows) == 40  # whole groups only
    assert np.bincount(labels[rows] // 1, minlength=4).tolist() == [10, 10, 10, 10]  # 2 groups per class
    assert rows.tolist() == labelled_rows(groups, labels, 0.2, seed=1).tolist()
    assert rows.tolist() != labelled_rows(groups, labels, 0.2, seed=2).tolist()
    tiny = labelled_rows(groups, labels, 0.01, seed=0)
    assert len(np.unique(groups[tiny])) == 2 and len(np.unique(labels[tiny])) == 2  # two classes at least
    with pytest.raises(DataError, match="in \\(0, 1\\]"):
        labelled_rows(groups, labels, 1.5, seed=0)


def test_metrics_match_sklearn_and_skip_absent_classes() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 2, 2, 1, 0, 2, 1])
    scores = rng.random((8, 4))
    scores /= scores.sum(axis=1, keepdims=True)
    found = classification_metrics(y, scores, 4)  # class 3 absent from the test labels
    predicted = scores.argmax(axis=1)
    assert found["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    expected_f1 = f1_score(y, predicted, labels=[0, 1, 2], average="macro", zero_division=0)
    assert found["macro_f1"] == pytest.approx(expected_f1)
    onehot = np.eye(4)[y][:, :3]
    assert found["auroc"] == pytest.approx(roc_auc_score(onehot, scores[:, :3], average="macro"))
    assert classification_metrics(np.zeros(3, dtype=int), scores[:3], 4)["auroc"] is None


def _blobs(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    return rng.normal(size=(n, 5)) + 1.5 * np.eye(3, 5)[y], y


def test_linear_probe_selects_on_validation_never_on_test() -> None:
    train, valid, test = _blobs(0, 90), _blobs(1, 60), _blobs(2, 60)
    result = linear_probe(train, valid, test, 3, seed=0)
    shuffled = (test[0], np.random.default_rng(5).permutation(test[1]))
    other = linear_probe(train, valid, shuffled, 3, seed=0)
    assert other["C"] == result["C"] and other["valid_macro_f1"] == result["valid_macro_f1"]
    assert result["accuracy"] > 0.6 > other["accuracy"]


def test_finetune_keeps_the_best_validation_model_and_learns() -> None:
    torch.manual_seed(0)
    encoder = create_encoder("ts2vec", 1, repr_dims=8, hidden_dims=8, depth=1)
    rng = np.random.default_rng(0)

    def series(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, size=n)
        t = np.linspace(0, 6, 32)
        X = np.sin(t[None, :] * (1 + 2 * y[:, None])) + 0.3 * rng.normal(size=(n, 32))
        return X[:, :, None].astype(np.float32), y

    train, valid, test = series(48), series(32), series(32)
    before = {key: value.clone() for key, value in encoder.state_dict().items()}
    settings = FinetuneSettings(steps=200, eval_every=10, patience=10, lr=1e-3, batch_size=16)
    result = finetune(encoder, train, valid, test, 2, seed=0, settings=settings)
    assert result["accuracy"] > 0.9 and 10 <= result["best_step"] <= 200
    shuffled = (test[0], np.random.default_rng(1).permutation(test[1]))
    again = finetune(encoder, train, valid, shuffled, 2, seed=0, settings=settings)
    assert again["best_step"] == result["best_step"] and again["valid_macro_f1"] == result["valid_macro_f1"]
    assert all(torch.equal(value, before[key]) for key, value in encoder.state_dict().items())  # a copy is tuned


def test_label_efficiency_on_a_ucr_set_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_data_env: Path
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--iters", "2", "--run-dir", str(run), *TINY], capsys)
    assert code == 0, err
    from tscl.runs.evaluation import evaluate_run

    settings = {"label_fractions": [1.0, 0.2], "seeds": 2, "finetune_steps": 10, "eval_every": 5}
    metrics = evaluate_run(run, threads=1, task_settings=settings)
    assert metrics["task"] == "label-efficiency" and metrics["label_unit"] == "sample"
    result = metrics["results"]["0.2"]
    assert set(result) == {"linear", "finetune"}
    assert set(result["linear"]) == {"tscl", "random init", "raw input"}
    assert set(result["finetune"]) == {"tscl", "random init"}
    assert len(result["linear"]["tscl"]["macro_f1"]["values"]) == 2
    stored = json.loads((run / "metrics.json").read_text())
    protocol = "label-efficiency-linear-finetune-eval_every-5-finetune_steps-10-label_fractions-1_0.2-seeds-2"
    assert stored["provenance"]["protocol"] == protocol  # the options that differ from the defaults name it
    code, out, _ = run_cli(["report", str(run)], capsys)
    assert code == 0 and "finetune" in out and "±" in out and "macro-F1" in out
    sets = ["--set", "finetune_head=random", "--set", "finetune-steps=4", "--set", "eval_every=2", "--set",
            "finetune_lr=1e-5"]  # fmt: skip
    code, out, err = run_cli(["evaluate", str(run), "--label-fraction", "1", "--seeds", "1", "--protocols",
                              "finetune", "--no-baselines", "--json", *sets], capsys)  # fmt: skip
    assert code == 0, err
    chosen = json.loads(out)["provenance"]["settings"]
    assert (chosen["finetune_head"], chosen["finetune_steps"], chosen["eval_every"]) == ("random", 4, 2)
    assert chosen["finetune_lr"] == 1e-5 and chosen["finetune_head_lr"] == 1e-3
    assert json.loads(out)["results"]["1"]["finetune"]["tscl"]["macro_f1"] is not None
    # Other options are another protocol: stored beside the first evaluation, which is kept as it was.
    assert json.loads((run / "metrics.json").read_text()) == stored
    beside = run / json.loads(out)["provenance"]["file"]
    assert beside.parent.parent.name == "evaluations" and "finetune_lr-1e-05" in beside.parent.name
    assert json.loads(beside.read_text())["results"]["1"]["finetune"]["tscl"]["macro_f1"] is not None


def test_bad_label_efficiency_flags_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_data_env: Path
) -> None:
    run = tmp_path / "run"
    assert run_cli(["pretrain", "--iters", "1", "--run-dir", str(run), *TINY], capsys)[0] == 0
    for args, message in (
        (["--label-fraction", "1,2"], "label_fractions"),
        (["--label-fraction", "a"], "--label-fraction must be numbers"),
        (["--seeds", "3"], "must come with --label-fraction"),
        (["--label-fraction", "1", "--protocols", "svm"], "protocols"),
        (
            ["--label-fraction", "1", "--set", "finetune_lrr=1e-4"],
            "--set finetune_lrr must be an option of the label-efficiency task",
        ),
        (["--set", "finetune_lr"], "--set must be KEY=VALUE"),
        (["--label-fraction", "1", "--set", "finetune_head=best"], "finetune_head"),
    ):
        code, out, err = run_cli(["evaluate", str(run), *args], capsys)
        assert code == 1 and message in err and "Traceback" not in err + out, (args, err)
    assert not (run / "metrics.json").exists()


def test_grouped_run_reuses_its_split_and_warns_on_a_random_one(
    shared_datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watch = shared_datasets / "grouped" / "watch.npz"
    if not watch.is_file():
        pytest.skip("grouped/watch.npz is not in the shared datasets")
    run = tmp_path / "run"
    args = ["pretrain", "--dataset", str(watch), "--window", "50", "--stride", "100", "--split-seed", "2",
            "--objective", "comet", "--batch-size", "16", "--iters", "1", "--run-dir", str(run), *TINY]  # fmt: skip
    small = tmp_path / "small"
    code, out, err = run_cli([*args[:-10], "--batch-size", "4", "--run-dir", str(small), *TINY], capsys)
    assert code == 1 and "batch_size must be at least 8" in err and not small.exists()
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    split = json.loads((run / "split.json").read_text())
    assert split["split_by"] == "subject" and not set(split["train"]) & set(split["test"])
    common = ["--label-fraction", "0.1", "--seeds", "1", "--protocols", "linear", "--no-baselines", "--json"]
    code, out, err = run_cli(["evaluate", str(run), *common], capsys)
    assert code == 0 and "warning" not in err
    metrics = json.loads(out)
    assert metrics["group_split"] == {"split_by": "subject", "seed": 2,
                                "groups": {p: len(split[p]) for p in ("train", "valid", "test")}}  # fmt: skip
    code, out, err = run_cli(["evaluate", str(run), *common, "--split-by", "random"], capsys)
    assert code == 0 and "random split" in err
    assert json.loads(out)["provenance"]["file"].startswith("evaluations/watch-split-random")
    assert json.loads((run / "metrics.json").read_text())["group_split"]["split_by"] == "subject"


def test_protocol_names_carry_the_options_that_differ_from_the_defaults() -> None:
    from tscl.tasks import task_named
    from tscl.tasks.label_efficiency import LabelEfficiencyTask

    assert task_named("classification").protocol() == "classification-svm"
    with_options = task_named("classification", head="svm", head_options={"max_samples": 500})
    assert with_options.protocol() == "classification-svm-max_samples-500"
    assert LabelEfficiencyTask().protocol() == "label-efficiency-linear-finetune"
    tuned = LabelEfficiencyTask(finetune_lr=3e-5, finetune_head="random", protocols=["finetune"])
    assert tuned.protocol() == "label-efficiency-finetune-finetune_head-random-finetune_lr-3e-05"
    assert LabelEfficiencyTask(finetune_lr=1e-4).protocol() == LabelEfficiencyTask().protocol()  # the default


def test_run_lists_and_comparisons_headline_all_the_labels_with_the_validation_number_first() -> None:
    """``tscl runs`` / ``runs compare``: validation macro-F1 first, then the test numbers, all at 100 % of the
    labels whatever smaller fractions a run also has (they used to be at each run's smallest fraction)."""
    from tscl.runs.metrics import headline_text, summary_metrics

    def at(value: float) -> dict:
        keys = ("accuracy", "macro_f1", "auroc", "auprc", "valid_macro_f1")
        return {"linear": {"tscl": {key: {"mean": value, "std": 0.0} for key in keys}}}

    one = {"task": "label-efficiency", "results": {"0.1": at(0.5), "1.0": at(0.9)}}
    other = {"task": "label-efficiency", "results": {"0.2": at(0.6), "1.0": at(0.8)}}
    assert list(summary_metrics(one)) == ["valid_macro_f1", "accuracy", "auprc"]
    assert summary_metrics(one)["accuracy"] == 0.9 and summary_metrics(other)["valid_macro_f1"] == 0.8
    assert headline_text(one).endswith("macro-F1 0.900 at 100% of the labels")
    assert headline_text(other).endswith("macro-F1 0.800 at 100% of the labels")


def test_a_run_list_headlines_every_label_efficiency_run_at_the_largest_fraction_they_share() -> None:
    """``tscl runs``: runs evaluated at different fractions are headlined at one fraction they all have."""
    from tscl.runs.listing import _align_headlines

    def at(value: float) -> dict:
        keys = ("accuracy", "macro_f1", "auroc", "auprc", "valid_macro_f1")
        return {"linear": {"tscl": {key: {"mean": value, "std": 0.0} for key in keys}}}

    rows = [
        {"metrics": {"task": "label-efficiency", "results": {"0.5": at(0.6), "1": at(0.9)}}},
        {"metrics": {"task": "label-efficiency", "results": {"0.2": at(0.4), "0.5": at(0.7)}}},
        {"metrics": None, "headline": {}, "headline_text": "-"},
    ]
    _align_headlines(rows)
    assert [row["headline"].get("accuracy") for row in rows] == [0.6, 0.7, None]
    assert all(row["headline_text"].endswith("at 50% of the labels") for row in rows[:2])
    assert rows[0]["metrics"]["results"].keys() == {"0.5", "1"}  # the stored metrics stay whole


def test_protocol_names_do_not_depend_on_the_order_the_choices_were_given_in() -> None:
    from tscl.tasks.label_efficiency import LabelEfficiencyTask

    assert LabelEfficiencyTask(protocols=["finetune", "linear"]).protocol() == LabelEfficiencyTask().protocol()
    assert LabelEfficiencyTask(label_fractions=[0.01, 1.0, 0.1]).protocol() == LabelEfficiencyTask().protocol()
    one, other = LabelEfficiencyTask(label_fractions=[0.1, 1.0]), LabelEfficiencyTask(label_fractions=[1.0, 0.1])
    assert one.protocol() == other.protocol() == "label-efficiency-linear-finetune-label_fractions-1_0.1"
    assert one.options.label_fractions == [1.0, 0.1]  # evaluated and reported largest first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-fraction", "1,1"], "label_fractions (--label-fraction) must name each value once (1.0 twice)"),
        (["--label-fraction", "1,0.1,1.0"], "label_fractions (--label-fraction) must name each value once (1.0 twice)"),
        (
            ["--label-fraction", "1", "--protocols", "linear,linear"],
            "protocols (--protocols) must name each value once (linear",
        ),
    ],
)
def test_repeated_label_efficiency_choices_are_one_line_errors(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_data_env: Path
) -> None:
    from tests.cli_helpers import one_line_error
    from tscl.errors import ConfigError
    from tscl.tasks import create_task

    with pytest.raises(ConfigError, match="must name each value once"):
        create_task("label-efficiency", protocols=["finetune", "finetune"])
    run = tmp_path / "run"
    assert run_cli(["pretrain", "--iters", "1", "--run-dir", str(run), *TINY], capsys)[0] == 0
    code, _, err = run_cli(["evaluate", str(run), *args], capsys)
    one_line_error(code, err, message)
    assert not (run / "metrics.json").exists()


def test_run_lists_and_comparisons_label_the_validation_macro_f1_readably() -> None:
    """``tscl runs`` and the ``runs compare`` header showed the raw key ``valid_macro_f1``; they show the label
    the task's own report gives it."""
    from tscl.cli.runs_cmd import comparison_table
    from tscl.runs.comparison import Comparison
    from tscl.runs.metrics import headline_text

    keys = ("accuracy", "macro_f1", "auroc", "auprc", "valid_macro_f1")
    metrics = {"task": "label-efficiency",
               "results": {"1.0": {"linear": {"tscl": {key: {"mean": 0.9, "std": 0.0} for key in keys}}}}}  # fmt: skip
    assert headline_text(metrics).startswith("valid F1 0.900 · macro-F1 0.900")
    run = {"run_dir": "runs/a", "dataset": "GunPoint", "objective": "ts2vec", "status": "finished", "stale": False,
           "metrics": {"valid_macro_f1": 0.9, "accuracy": 0.9, "auprc": 0.9}, "settings": {}}  # fmt: skip
    headers = [str(column.header) for column in comparison_table(Comparison([run], [])).columns]
    assert "valid F1" in headers and "valid_macro_f1" not in headers
    assert "cv_accuracy" not in headers and headers.index("valid F1") < headers.index("accuracy")
