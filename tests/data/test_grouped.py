"""Grouped datasets: the three readers, windows, group-independent splits, `tscl data info`, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import run_cli
from tscl.data import load_dataset
from tscl.data.grouped import GroupedData, Grouping, cut_windows
from tscl.data.splits import assign_parts, group_keys
from tscl.errors import DataError


@pytest.fixture
def watch(shared_datasets: Path) -> Path:
    path = shared_datasets / "grouped" / "watch.npz"
    if not path.is_file():
        pytest.skip("grouped/watch.npz is not in the shared datasets")
    return path


def _load(path: Path, **grouping: object) -> GroupedData:
    data = load_dataset(path, grouping=Grouping(**grouping))  # type: ignore[arg-type]
    assert isinstance(data, GroupedData)
    return data


def _all_subjects(data: GroupedData) -> dict[str, set[str]]:
    return {part: set(data.ids[part]["subject"].tolist()) for part in ("train", "valid", "test")}


def test_watch_windows_follow_the_recordings(watch: Path) -> None:
    raw = np.load(watch, allow_pickle=False)
    lengths = np.diff(raw["offsets"])
    data = _load(watch, window=100, stride=50)
    expected = int(sum((n - 100) // 50 + 1 for n in lengths))
    assert data.X_train.shape[0] + data.X_valid.shape[0] + data.X_test.shape[0] == expected
    assert data.X_train.shape[1:] == (100, 6)
    assert data.class_names == ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]
    info = data.info()["groups"]
    assert info["subjects"] == 10 and info["recordings"] == 140
    assert set(info["recordings_per_subject"].values()) == {14}
    # z-scored with the training part's statistics only
    assert np.allclose(data.X_train.reshape(-1, 6).mean(axis=0), 0, atol=1e-4)
    assert not np.allclose(data.X_test.reshape(-1, 6).mean(axis=0), 0, atol=1e-3)


def test_subject_split_keeps_every_subject_in_one_part_and_every_class_everywhere(watch: Path) -> None:
    data = _load(watch, window=100, split_by="subject", split_seed=3)
    parts = _all_subjects(data)
    assert not (parts["train"] & parts["valid"] or parts["train"] & parts["test"] or parts["valid"] & parts["test"])
    sizes = np.array([len(data.y_train), len(data.y_valid), len(data.y_test)])
    assert np.abs(sizes / sizes.sum() - [0.6, 0.2, 0.2]).max() < 0.1  # shares of windows, whole subjects
    for y in (data.y_train, data.y_valid, data.y_test):
        assert set(np.unique(y).tolist()) == set(range(7))
    again = _load(watch, window=100, split_by="subject", split_seed=3)
    assert _all_subjects(again) == parts
    other = _load(watch, window=100, split_by="subject", split_seed=4)
    assert _all_subjects(other) != parts


def test_trial_ids_are_recordings_and_random_split_mixes_subjects(watch: Path) -> None:
    by_trial = _load(watch, window=100, split_by="trial")
    trials = {part: set(by_trial.ids[part]["trial"].tolist()) for part in ("train", "valid", "test")}
    assert len(set.union(*trials.values())) == 140
    assert not trials["train"] & trials["test"]
    assert _all_subjects(by_trial)["train"] & _all_subjects(by_trial)["test"]
    random = _load(watch, window=100, split_by="random")
    assert set(random.ids["train"]["trial"].tolist()) & set(random.ids["test"]["trial"].tolist())


def test_stored_split_is_reused_even_with_another_seed(watch: Path) -> None:
    first = _load(watch, window=100, split_seed=1)
    reused = _load(watch, window=100, split_seed=7, stored_split=first.split)
    assert _all_subjects(reused) == _all_subjects(first)
    assert reused.split == first.split


def test_long_csv_reads_like_the_npz(watch: Path, tmp_path: Path) -> None:
    raw = np.load(watch, allow_pickle=False)
    offsets = raw["offsets"]
    rows = []
    for i in range(6):  # three subjects' worth of real recordings is enough for a split
        values = raw["values"][offsets[i] : offsets[i + 1]]
        for t, step in enumerate(values[:300]):
            rows.append([raw["subject"][i], f"r{i}", t, raw["label"][i], *step])
    path = tmp_path / "long.csv"
    header = "subject,trial,time,label," + ",".join(str(c) for c in raw["channel_names"])
    lines = [header] + [",".join(str(v) for v in row) for row in reversed(rows)]  # time order restored by `time`
    path.write_text("\n".join(lines) + "\n")
    data = _load(path, window=100, split_by="trial")
    total = data.X_train.shape[0] + data.X_valid.shape[0] + data.X_test.shape[0]
    assert total == 6 * 3
    assert set(data.ids["train"]["trial"].tolist()) <= {f"{raw['subject'][i]}/r{i}" for i in range(6)}


def test_sidecar_makes_any_file_grouped(tmp_path: Path) -> None:
    gunpoint = load_dataset("GunPoint")
    from tscl.data.locate import bundled_dir

    folder = bundled_dir("GunPoint")
    assert folder is not None
    for part, n in (("TRAIN", len(gunpoint.X_train)), ("TEST", len(gunpoint.X_test))):
        (tmp_path / f"GunPoint_{part}.ts").write_bytes((folder / f"GunPoint_{part}.ts").read_bytes())
        (tmp_path / f"GunPoint_{part}.groups.csv").write_text(
            "subject\n" + "\n".join(f"{part.lower()}{i % 5}" for i in range(n)) + "\n"
        )
    data = _load(tmp_path / "GunPoint_TRAIN.ts")
    parts = _all_subjects(data)
    assert sum(map(len, parts.values())) == 10 and not parts["train"] & parts["test"]
    assert data.X_train.shape[0] + data.X_valid.shape[0] + data.X_test.shape[0] == 200


def test_cut_windows_pads_a_short_recording_and_refuses_a_bad_window() -> None:
    series = [np.arange(10, dtype=np.float32)[:, None], np.arange(3, dtype=np.float32)[:, None]]
    X, owner = cut_windows(series, 4, 3)
    assert owner.tolist() == [0, 0, 0, 1]
    assert np.isnan(X[-1, 3, 0]) and X[1, 0, 0] == 3
    with pytest.raises(DataError, match=r"window \(--window\) must be at least 2"):
        cut_windows(series, 1, None)


def test_assign_parts_is_group_independent_and_stratified() -> None:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 10)
    labels = rng.integers(0, 3, size=200)
    parts = assign_parts(groups, labels, seed=1)
    for g in range(20):
        assert len(set(parts[groups == g].tolist())) == 1
    for part, share in enumerate((0.6, 0.2, 0.2)):
        assert abs((parts == part).mean() - share) < 0.06
        for c in range(3):
            assert (parts[labels == c] == part).mean() == pytest.approx(share, abs=0.12)
    with pytest.raises(DataError, match="at least 3 groups"):
        assign_parts(np.array([0, 0, 1, 1]), None, seed=0)
    assert group_keys("trial", np.array(["a", "b"]), np.array(["1", "1"])).tolist() == ["a/1", "b/1"]


def test_bad_offsets_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, values=np.zeros((10, 2)), offsets=np.array([0, 6, 4, 10]), label=np.array([0, 1, 0]),
             subject=np.array([1, 2, 3]))  # fmt: skip
    code, out, err = run_cli(["data", "info", str(path)], capsys)
    assert code == 1 and "offsets must rise strictly" in err and "Traceback" not in err + out
    sidecar = tmp_path / "x.npz"
    np.savez(sidecar, X=np.zeros((4, 5, 1)), y=np.array([0, 1, 0, 1]))
    (tmp_path / "x.groups.csv").write_text("subject\na\nb\n")
    code, _, err = run_cli(["data", "info", str(sidecar)], capsys)
    assert code == 1 and "must have one row per sample (4) but has 2" in err


def test_data_info_shows_the_group_structure(watch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["data", "info", str(watch), "--window", "100", "--json"], capsys)
    assert code == 0
    import json

    info = json.loads(out)
    assert sum(info["groups"]["subjects_per_part"].values()) == 10
    assert {c["name"]: c["train"] + c["valid"] + c["test"] for c in info["classes"]}["PEN"] > 0
    code, _, err = run_cli(["data", "info", "GunPoint", "--split-by", "subject"], capsys)
    assert code == 1 and "has no subject ids" in err


def test_bad_grouping_flags_fail_before_a_run_exists(
    watch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    for args, message in (
        (["--window", "1"], "check --window"),
        (["--window", "50", "--split-by", "age"], "split_by must be one of subject, trial, random"),
    ):
        code, out, err = run_cli(["pretrain", "--dataset", str(watch), *args, "--iters", "1", "--run-dir", str(run)],
                                 capsys)  # fmt: skip
        assert code == 1 and message in err and "Traceback" not in out + err and not run.exists()


def test_a_random_split_is_warned_about_by_data_info_and_pretrain_and_kept_in_meta(
    watch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    leaky = ["--window", "100", "--split-by", "random"]
    code, out, err = run_cli(["data", "info", str(watch), *leaky, "--json"], capsys)
    assert code == 0 and json.loads(out)["groups"]["split_by"] == "random"  # stdout stays one JSON document
    assert err.startswith("warning: grouped data with a random split") and "--split-by subject" in err
    code, _, err = run_cli(["data", "info", str(watch), "--window", "100"], capsys)
    assert code == 0 and "warning" not in err
    run = tmp_path / "run"
    tiny = ["--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1", "--iters", "1"]
    code, out, err = run_cli(["pretrain", "--dataset", str(watch), *leaky, *tiny, "--run-dir", str(run)], capsys)
    assert code == 0 and err.startswith("warning: grouped data with a random split"), err
    warnings = json.loads((run / "meta.json").read_text())["warnings"]
    assert len(warnings) == 1 and warnings[0] in err
    code, out, err = run_cli(["pretrain", "--resume", str(run), "--iters", "2", "--json"], capsys)
    assert code == 0 and json.loads(out)["warnings"] == warnings and warnings[0] in err


def test_a_repeated_time_within_a_recording_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["subject,trial,time,label,x"]
    rows += [f"s{s},r{s},{t},{'ab'[s % 2]},{s + t * 0.1}" for s in range(6) for t in range(12)]
    rows.append("s2,r9,4,a,1.0")  # the same time in another recording is fine
    rows.append("s1,r1,4,b,9.5")  # the same time twice in recording s1/r1: a duplicated row or clocks gone back
    path = tmp_path / "long.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"recording s1/r1 must hold each time once but time 4 is on lines 18 and 75"):
        _load(path, window=4)
    code, out, err = run_cli(["data", "info", str(path), "--window", "4"], capsys)
    assert code == 1 and "must hold each time once" in err and "hint:" in err and "Traceback" not in out + err
    path.write_text("\n".join(rows[:-1]) + "\n")  # without the repeat the file reads
    assert _load(path, window=4).X_train.shape[1:] == (4, 1)
