"""``tscl evaluate`` flags checked against the run before any work: flags of another task, seeds out of range,
task options without the settings that choose their task, duplicate label-efficiency choices.

Every refusal is one error line (and a hint), exit code 1, no traceback, nothing written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli

TINY = ["--iters", "1", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--batch-size", "4",
        "--max-train-length", "64", "--device", "cpu", "--threads", "1"]  # fmt: skip
QUICK = ["--threads", "1", "--no-plots", "--no-baselines"]


def _pretrain(run: Path, *args: str) -> Path:
    from tscl.cli import main

    try:
        main(["pretrain", *args, *TINY, "--run-dir", str(run)])
    except SystemExit as exc:
        assert not exc.code, exc.code
    return run


@pytest.fixture(scope="module")
def gunpoint_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classification run on GunPoint (aeon's offline copy)."""
    return _pretrain(tmp_path_factory.mktemp("gunpoint") / "run", "--dataset", "GunPoint")


@pytest.fixture(scope="module")
def etth1_run(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny univariate forecasting run on ETTh1."""
    folder = tmp_path_factory.mktemp("etth1")
    return _pretrain(folder / "run", "--dataset", "ETTh1", "--data-dir", str(shared_datasets), "--univariate")


def _refused(run: Path, args: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    code, _, err = run_cli(["evaluate", str(run), *args, *QUICK], capsys)
    line = one_line_error(code, err, *needles)
    assert not (run / "metrics.json").exists() and not (run / "evaluations").exists()
    return line


@pytest.mark.parametrize(
    "args",
    [
        ["--label-fraction", "1"],
        ["--head", "knn"],
        ["--head", "svm"],
        ["--label-fraction", "1", "--seeds", "2"],
        ["--label-fraction", "1", "--protocols", "linear"],
    ],  # fmt: skip
)
def test_classification_flags_on_a_forecasting_run_are_refused_naming_flag_and_task(
    etth1_run: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(etth1_run, args, capsys, args[0], "the forecasting task", "ETTh1")


@pytest.mark.parametrize(
    ("args", "flag", "task"),
    [
        (["--protocol", "ts2vec"], "--protocol", "the classification task"),  # the default protocol, too
        (["--horizons", "24"], "--horizons", "classification"),
        (["--head", "knn", "--label-fraction", "1"], "--head", "the label-efficiency task"),  # no head there
    ],
)
def test_flags_of_another_task_on_a_classification_run_are_refused(
    gunpoint_run: Path, args: list[str], flag: str, task: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(gunpoint_run, args, capsys, flag, task)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_out_of_scikit_learns_range_is_refused_before_any_work(
    gunpoint_run: Path, etth1_run: Path, seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    for run in (gunpoint_run, etth1_run):  # forecasting does not use the seed but records it
        _refused(run, ["--seed", str(seed)], capsys, f"--seed must be an integer from 0 to 2**32 - 1 but got {seed}")


def test_the_largest_seed_scikit_learn_takes_is_accepted(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tscl.errors import ConfigError
    from tscl.runs.evaluation import evaluate_run

    with pytest.raises(ConfigError, match="seed must be an integer from 0 to 2"):
        evaluate_run(gunpoint_run, seed=-1, threads=1)  # the Python API checks it too
    copy = tmp_path / "run"
    shutil.copytree(gunpoint_run, copy)
    code, _, err = run_cli(["evaluate", str(copy), "--seed", str(2**32 - 1), *QUICK], capsys)
    assert code == 0, err


def test_a_label_efficiency_option_without_label_fractions_is_refused_not_a_silent_switch_of_task(
    gunpoint_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--set finetune_lr=...`` alone used to switch GunPoint to label efficiency at its default fractions and
    seeds; the settings choose the task, a task's options never do."""
    line = _refused(gunpoint_run, ["--set", "finetune_lr=1e-3"], capsys, "--set finetune_lr", "--label-fraction")
    assert "label-efficiency" in line and "classification task was chosen" in line
    from tscl.errors import ConfigError
    from tscl.runs.evaluation import evaluate_run

    with pytest.raises(ConfigError, match="must come with --label-fraction"):
        evaluate_run(gunpoint_run, threads=1, task_options={"finetune_lr": 1e-3})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "head=3"], "head (--set head) must be a valid string but got 3"),
        (["--set", "head=forest"], "head (--set head) must be one of knn, logistic, svm but got 'forest'"),
        (
            ["--label-fraction", "1", "--set", "finetune_lr=abc"],
            "finetune_lr (--set finetune_lr) must be a valid number but got 'abc'",
        ),
        (
            ["--label-fraction", "1,2"],
            "label_fractions (--label-fraction) must be one or more fractions in (0, 1] but got [1.0, 2.0]",
        ),
        (
            ["--label-fraction", "1", "--protocols", "svm"],
            "protocols (--protocols) must be 'linear' or 'finetune' but got 'svm'",
        ),
    ],
)
def test_a_bad_task_setting_names_the_flag_it_came_from(
    gunpoint_run: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    """A value the task's options refuse is named as the user gave it, not as the internal ``task.head``."""
    assert _refused(gunpoint_run, args, capsys) == f"error: {expected}"


def test_a_bad_task_option_from_python_names_the_option_and_its_flag(gunpoint_run: Path) -> None:
    from tscl.errors import ConfigError
    from tscl.runs.evaluation import evaluate_run

    with pytest.raises(ConfigError) as raised:
        evaluate_run(gunpoint_run, threads=1, plots=False, baselines=False, task_options={"head": 3})
    assert str(raised.value) == "head (--set head) must be a valid string but got 3"
    assert not (gunpoint_run / "metrics.json").exists()


def test_a_task_option_of_the_chosen_task_is_taken(
    gunpoint_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(gunpoint_run, copy)
    code, out, err = run_cli(["evaluate", str(copy), "--set", "head=knn", "--json", *QUICK], capsys)
    assert code == 0, err  # an option of the dataset's own task (it used to be a TypeError)
    assert json.loads(out)["provenance"]["protocol"] == "classification-knn"
