"""``tscl evaluate --protocol/--horizons/--split/--features`` end to end on tiny runs over real data.

The illness layout is 966 weekly rows (:mod:`tests.tasks.illness`); ETTh1 is the shared file. Every refusal
comes before any work: one error line naming the option, exit 1, no traceback, nothing written.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.test_hints import cli_options
from tests.cli_helpers import run_cli
from tests.tasks.illness import write_illness_layout
from tscl.errors import ConfigError
from tscl.runs import compare_runs

TINY = ["--iters", "2", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--batch-size", "4",
        "--max-train-length", "64", "--device", "cpu", "--threads", "1"]  # fmt: skip
QUICK = ["--threads", "1", "--no-plots", "--no-baselines"]


def _pretrain(dataset: Path | str, run_dir: Path, *extra: str) -> Path:
    code = _quiet(["pretrain", "--dataset", str(dataset), *extra, *TINY, "--run-dir", str(run_dir)])
    assert code == 0
    return run_dir


def _quiet(args: list[str]) -> int:
    from tscl.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def illness_run(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("illness")
    csv = write_illness_layout(shared_datasets, folder / "national_illness.csv")
    return _pretrain(csv, folder / "run", "--target", "OT", "--univariate")


@pytest.fixture(scope="module")
def etth1_run(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("etth1")
    return _pretrain("ETTh1", folder / "run", "--data-dir", str(shared_datasets), "--univariate")


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run_cli(args, capsys)
    assert code == 1 and "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and all(line.startswith(("error: ", "hint: ")) for line in lines)
    options = cli_options()
    for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", err):
        assert option in options, option
    return err


def _stored(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_illness_without_options_names_horizons_and_the_longest_one(
    illness_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["evaluate", str(illness_run), *QUICK], capsys)
    assert "horizons (--horizons) must be at most 192" in err and "longest horizon this data allows" in err
    assert "its valid split has 193 rows" in err and "e.g. --horizons 24,48,168" in err
    assert not (illness_run / "metrics.json").exists() and not (illness_run / "evaluations").exists()


def test_illness_with_four_horizons(illness_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["evaluate", str(illness_run), "--horizons", "24,36,48,60", *QUICK], capsys)
    assert code == 0, err
    metrics = _stored(illness_run)
    assert list(metrics["horizons"]) == ["24", "36", "48", "60"]
    assert metrics["provenance"]["protocol"] == "forecasting-h24-36-48-60"
    assert metrics["provenance"]["settings"]["horizons"] == [24, 36, 48, 60]
    assert (metrics["protocol"], metrics["features"], metrics["split"]["rule"]) == ("ts2vec", "S", "60/20/20")
    assert "protocol ts2vec" in out and "horizons 24, 36, 48, 60" in out


def test_illness_under_the_ltsf_protocol(illness_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["evaluate", str(illness_run), "--protocol", "ltsf", *QUICK], capsys)
    assert code == 0, err
    metrics = _stored(illness_run / "evaluations" / "national_illness-forecasting-ltsf")
    assert list(metrics["horizons"]) == ["24", "36", "48", "60"] and metrics["protocol"] == "ltsf"
    assert metrics["split"] == {"rule": "70/10/20", "train": [0, 676], "valid": [676, 773], "test": [773, 966]}
    assert "protocol ltsf" in out and "70/10/20" in out


def test_runs_compare_keeps_protocols_apart(illness_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _quiet(["evaluate", str(illness_run), "--horizons", "24,36,48,60", *QUICK]) == 0
    assert _quiet(["evaluate", str(illness_run), "--protocol", "ltsf", *QUICK]) == 0
    ltsf = illness_run / "evaluations" / "national_illness-forecasting-ltsf"
    comparison = compare_runs([illness_run, ltsf])
    groups = comparison.groups()
    assert list(groups) == ["forecasting-h24-36-48-60", "forecasting-ltsf"]
    assert [len(runs) for runs in groups.values()] == [1, 1]
    assert groups["forecasting-ltsf"][0]["metrics"]["mse"] == pytest.approx(_stored(ltsf)["mean"]["mse"])
    picked = compare_runs([illness_run], protocol="forecasting-ltsf").runs[0]
    assert picked["protocol"] == "forecasting-ltsf" and picked["evaluation"] == str(Path("evaluations", ltsf.name))
    with pytest.raises(
        ConfigError, match=r"protocol \(--protocol\) must be one the compared runs were evaluated by"
    ) as info:
        compare_runs([illness_run], protocol="forecasting-MS")  # no run has it: an error, not an empty table
    assert "forecasting-ltsf" in str(info.value.hint)
    code, out, _ = run_cli(["runs", "compare", str(illness_run), str(ltsf)], capsys)
    assert code == 0 and "protocol forecasting-ltsf" in out and "protocol forecasting-h24-36-48-60" in out
    assert "separate tables" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--split", "0.3,0.1,0.6", "--horizons", "24"], "--split"),  # test rows the encoder was pretrained on
        (["--split", "0.2,0.1,0.7", "--horizons", "24"], "--split"),  # train shorter than the 200 padding rows
        (["--features", "M", "--horizons", "24"], "--features"),  # a univariate run
        (["--features", "MS", "--horizons", "24"], "--features"),
        (["--horizons", "24,x"], "--horizons"),
        (["--split", "0.5,0.5"], "--split"),
        (["--protocol", "informer"], "--protocol"),
        (["--horizons", "24,400"], "--horizons"),
    ],
)
def test_impossible_settings_fail_before_any_work(
    illness_run: Path, args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.relative_to(illness_run) for p in illness_run.rglob("*"))
    err = _refused(["evaluate", str(illness_run), *args, *QUICK], capsys)
    assert named in err.splitlines()[0]
    assert sorted(p.relative_to(illness_run) for p in illness_run.rglob("*")) == before


def test_etth1_defaults_are_the_ts2vec_protocol_and_ltsf_has_its_horizons(
    etth1_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _quiet(["evaluate", str(etth1_run), *QUICK]) == 0
    default = _stored(etth1_run)
    assert list(default["horizons"]) == ["24", "48", "168", "336", "720"]
    assert default["provenance"]["protocol"] == "forecasting"
    assert default["paper"]["mean"] == {"mse": 0.11, "mae": 0.252}
    assert default["split"] == {"rule": "12/4/4 months", "train": [0, 8640], "valid": [8640, 11520],
                                "test": [11520, 14400]}  # fmt: skip
    code, out, err = run_cli(["evaluate", str(etth1_run), "--protocol", "ltsf", *QUICK], capsys)
    assert code == 0, err
    ltsf = _stored(etth1_run / "evaluations" / "ETTh1-forecasting-ltsf")
    assert list(ltsf["horizons"]) == ["96", "192", "336", "720"] and ltsf["paper"] is None
    assert ltsf["split"] == default["split"]  # 12/4/4 months in both protocols
    assert "protocol ltsf" in out
    # the TS2Vec protocol stated explicitly is the default: the same numbers, stored in the same place
    assert _quiet(["evaluate", str(etth1_run), "--protocol", "ts2vec", *QUICK]) == 0
    assert _stored(etth1_run)["horizons"] == default["horizons"]


def test_forecasting_options_are_refused_for_classification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _pretrain("GunPoint", tmp_path / "gunpoint")
    err = _refused(["evaluate", str(run), "--horizons", "24", *QUICK], capsys)
    assert (
        "horizons (--horizons) must be given only for datasets it applies to" in err and "hint: drop --horizons" in err
    )
    assert not (run / "metrics.json").exists()


def test_encode_refuses_a_split_of_forecasting_data_naming_the_one_that_applies(
    etth1_run: Path, shared_datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reprs.npy"
    for split in ("train", "valid", "test", "bogus"):
        error = _refused(["encode", str(etth1_run), "--split", split, "--out", str(out), "--threads", "1"], capsys)
        assert "split (--split) must be all for forecasting data" in error and f"but got '{split}'" in error
        assert not out.exists()
    code, _, err = run_cli(["encode", str(etth1_run), "--split", "all", "--out", str(out), "--threads", "1"], capsys)
    assert code == 0 and out.is_file(), err


def test_pretraining_on_data_the_default_evaluation_refuses_warns_before_it_is_too_late(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 150-row series pretrains (it is enough to learn from) but no forecasting split can be cut from it: the
    run says so as it ends and keeps it in meta.json, not only when `tscl evaluate` is run later."""
    rows = ["date,a,OT"] + [f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{i % 7},{i % 5}" for i in range(150)]
    csv = tmp_path / "short.csv"
    csv.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", "--dataset", str(csv), *TINY, "--run-dir", str(run)], capsys)
    assert code == 0, err
    warning = "warning: tscl evaluate will refuse this data with its default settings: split (--split) must give"
    assert warning in " ".join(err.split()) and "at least 206" in err
    meta = json.loads((run / "meta.json").read_text())
    assert any("tscl evaluate will refuse this data" in text for text in meta["warnings"])
    assert run_cli(["evaluate", str(run), *QUICK], capsys)[0] == 1


def test_pretraining_on_data_the_default_evaluation_takes_has_no_such_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "long.csv"
    start = datetime(2020, 1, 1)
    rows = ["date,a,OT"] + [f"{start + timedelta(hours=i):%Y-%m-%d %H:%M:%S},{i % 7},{i % 5}" for i in range(4000)]
    csv.write_text("\n".join(rows) + "\n")
    code, _, err = run_cli(["pretrain", "--dataset", str(csv), *TINY, "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert "will refuse" not in err
