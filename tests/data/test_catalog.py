"""Catalog entries, unknown names, search order, layouts and the offline bundled fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tscl.data import (
    OFFLINE_DEFAULT,
    ClassificationData,
    get_entry,
    list_entries,
    load_dataset,
    resolve_roots,
)
from tscl.data.catalog import expand_names
from tscl.data.catalog_data import SHA256
from tscl.data.locate import BUNDLED_SOURCE, bundled_dir, catalog_status, locate
from tscl.errors import DataError


def test_catalog_has_forecasting_ucr_and_uea_entries() -> None:
    names = {entry.name for entry in list_entries()}
    forecasting = {"ETTh1", "ETTh2", "ETTm1", "ETTm2", "electricity", "traffic", "weather", "WTH", "exchange_rate",
                   "national_illness"}  # fmt: skip
    assert {e.name for e in list_entries("forecasting")} == forecasting
    assert {"GunPoint", "FordA", "ECG200", "BasicMotions", "JapaneseVowels", "UWaveGestureLibrary", "Libras"} <= names
    assert len(list_entries("classification")) == 128 + 30
    assert len(list_entries(archive="UCR")) == 128 and len(list_entries(archive="uea")) == 30
    assert len(list_entries(archive="forecasting")) == 10


def test_entries_are_frozen_and_consistent() -> None:
    for entry in list_entries():
        assert len(entry.files) == len(entry.sha256) and entry.downloads
        assert entry.task in ("forecasting", "classification") and entry.length_min <= entry.length_max
        with pytest.raises(AttributeError):
            entry.name = "x"  # type: ignore[misc]
    assert all(SHA256[Path(f).name] == h for e in list_entries() for f, h in zip(e.files, e.sha256, strict=True) if h)


def test_get_entry_is_case_insensitive_and_describes_ett() -> None:
    entry = get_entry("etth1")
    assert entry.name == "ETTh1"
    assert entry.downloads[0].url == "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"
    assert entry.sha256[0] == "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"
    assert entry.target == "OT" and entry.horizons == (24, 48, 168, 336, 720)
    assert get_entry("ETTm2").sha256 == (None,)


def test_classification_entries_describe_the_archives() -> None:
    libras = get_entry("Libras")
    sizes = (libras.n_train, libras.n_test, libras.channels, libras.n_classes, libras.length_max)
    assert sizes == (180, 180, 2, 15, 45)
    assert libras.downloads[0].url == "https://timeseriesclassification.com/aeon-toolkit/Libras.zip"
    assert libras.files == ("UEA/Libras/Libras_TRAIN.ts", "UEA/Libras/Libras_TEST.ts")
    unequal = {e.name for e in list_entries(archive="UCR") if not e.equal_length}
    assert len(unequal) == 11 and {"PLAID", "GesturePebbleZ1", "PickupGestureWiimoteZ"} <= unequal
    assert {e.name for e in list_entries(archive="UCR") if e.missing_values} == {
        "DodgerLoopDay", "DodgerLoopGame", "DodgerLoopWeekend", "MelbournePedestrian"}  # fmt: skip
    assert {e.name for e in list_entries(archive="UEA") if not e.equal_length} == {
        "CharacterTrajectories", "InsectWingbeat", "JapaneseVowels", "SpokenArabicDigits"}  # fmt: skip
    assert get_entry("UWaveGestureLibrary").sha256[0]  # pinned: the shared copy is the upstream file


def test_archive_selectors_and_bad_filters() -> None:
    assert len(expand_names("UCR:all") or []) == 128 and expand_names("ucr:ALL") == expand_names("UCR:all")
    assert expand_names("GunPoint") is None and expand_names("data/x:y.csv") is None
    with pytest.raises(DataError, match="archive must be one of UCR, UEA, forecasting but got 'UCX'"):
        expand_names("UCX:all")
    with pytest.raises(DataError, match="'<archive>:all'"):
        expand_names("UCR:some")
    with pytest.raises(DataError, match="task must be one of classification, forecasting"):
        list_entries("regression")


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(DataError) as info:
        get_entry("GunPont")
    assert "did you mean GunPoint" in info.value.message
    assert "tscl data list" in (info.value.hint or "")


def test_unknown_name_without_close_match_lists_names(isolated_data_env: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("NoSuchSet")
    assert "'NoSuchSet'" in info.value.message and "GunPoint" in info.value.message


def test_search_order(tmp_path: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSCL_DATA_DIR", str(tmp_path / "env"))
    roots = resolve_roots(tmp_path / "arg")
    assert roots == [
        (tmp_path / "arg").resolve(),
        (tmp_path / "env").resolve(),
        (Path.cwd() / "datasets").resolve(),
        (isolated_data_env / "datasets").resolve(),
    ]


def test_offline_default_loads_from_aeon(isolated_data_env: Path) -> None:
    assert OFFLINE_DEFAULT == "GunPoint"
    data = load_dataset(OFFLINE_DEFAULT)
    assert isinstance(data, ClassificationData)
    assert data.source == BUNDLED_SOURCE
    assert data.X_train.shape == (50, 150, 1) and data.X_test.shape == (150, 150, 1)
    assert data.y_train.dtype == np.int64 and set(data.y_train.tolist()) == {0, 1}


@pytest.mark.parametrize(
    ("name", "train_shape", "n_classes"),
    [("BasicMotions", (40, 100, 6), 4), ("JapaneseVowels", (270, 29, 12), 9),
     ("ItalyPowerDemand", (67, 24, 1), 2), ("ArrowHead", (36, 251, 1), 3)],
)  # fmt: skip
def test_every_bundled_dataset_loads_offline(
    name: str, train_shape: tuple[int, int, int], n_classes: int, isolated_data_env: Path
) -> None:
    data = load_dataset(name)
    assert data.source == BUNDLED_SOURCE and data.X_train.shape == train_shape
    assert len(data.class_names) == n_classes
    assert bundled_dir("FordA") is None


def test_missing_catalog_dataset_hints_fetch(isolated_data_env: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("ETTm2")
    assert "ETT/ETTm2.csv" in info.value.message
    assert "tscl data fetch ETTm2" in (info.value.hint or "")


def test_missing_data_dir_is_an_error(tmp_path: Path, isolated_data_env: Path) -> None:
    with pytest.raises(DataError, match="data directory must exist"):
        load_dataset("GunPoint", tmp_path / "nope")


def test_shared_datasets_work_as_a_data_dir(shared_datasets: Path, isolated_data_env: Path) -> None:
    data = load_dataset("GunPoint", shared_datasets)
    assert "UCR/GunPoint/GunPoint_TRAIN.tsv" in data.source
    assert load_dataset("ETTm1", shared_datasets).info()["timestamps"] == 69680
    found = {row["name"]: row["found"] for row in catalog_status(shared_datasets)}
    assert found["FordA"] and found["ETTm1"] and found["ETTm2"] is None
    assert found["GunPoint"] != BUNDLED_SOURCE


def test_env_data_dir_is_searched(
    shared_datasets: Path, isolated_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TSCL_DATA_DIR", str(shared_datasets))
    assert locate("CBF").paths[0].name == "CBF_TRAIN.tsv"


def _copy_gunpoint(destination: Path, flat: bool = False) -> None:
    source = bundled_dir("GunPoint")
    assert source is not None
    destination.mkdir(parents=True, exist_ok=True)
    for part in ("TRAIN", "TEST"):
        shutil.copy(source / f"GunPoint_{part}.ts", destination / f"GunPoint_{part}.ts")


@pytest.mark.parametrize("layout", ["", "UCR/GunPoint", "GunPoint", "UEA/GunPoint"])
def test_classification_layouts(layout: str, tmp_path: Path, isolated_data_env: Path) -> None:
    _copy_gunpoint(tmp_path / layout)
    located = locate("GunPoint", tmp_path)
    assert located.paths[0] == tmp_path / layout / "GunPoint_TRAIN.ts"
    assert located.collection == "UCR"  # the catalog knows GunPoint is univariate UCR, whatever the folder


@pytest.mark.parametrize("layout", ["", "ETT", "forecasting", "ETTh2"])
def test_forecasting_layouts(layout: str, tmp_path: Path, isolated_data_env: Path) -> None:
    folder = tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ETTh2.csv").write_text("date,OT\n2020-01-01,1\n")
    assert locate("ETTh2", tmp_path).paths[0] == folder / "ETTh2.csv"


def test_cwd_datasets_folder_is_searched(isolated_data_env: Path) -> None:
    _copy_gunpoint(Path.cwd() / "datasets" / "UCR" / "GunPoint")
    assert "datasets/UCR/GunPoint" in locate("GunPoint").source


def test_generic_name_outside_catalog(tmp_path: Path, isolated_data_env: Path) -> None:
    folder = tmp_path / "UEA" / "MyMotions"
    folder.mkdir(parents=True)
    for part in ("TRAIN", "TEST"):
        (folder / f"MyMotions_{part}.ts").write_text("@classLabel true a b\n@data\n1,2:3,4:a\n5,6:7,8:b\n")
    data = load_dataset("mymotions", tmp_path)  # case-insensitive folder match
    assert data.name == "MyMotions" and data.X_train.shape == (2, 2, 2)
    with pytest.raises(DataError, match="did you mean MyMotions"):
        load_dataset("MyMotion", tmp_path)


def test_train_without_test_in_a_root(tmp_path: Path, isolated_data_env: Path) -> None:
    folder = tmp_path / "UCR" / "Wafer"
    folder.mkdir(parents=True)
    (folder / "Wafer_TRAIN.tsv").write_text("1\t0.5\n")
    with pytest.raises(DataError, match="Wafer_TEST.tsv"):
        load_dataset("Wafer", tmp_path)


def test_path_to_test_file_brings_train_partner(shared_datasets: Path) -> None:
    data = load_dataset(shared_datasets / "UCR" / "Coffee" / "Coffee_TEST.tsv")
    assert data.name == "Coffee" and data.info()["n_train"] == 28 and data.info()["n_test"] == 28


def test_npz_path_with_and_without_labels(tmp_path: Path) -> None:
    labelled = tmp_path / "mine.npz"
    rng = np.random.default_rng(0)
    np.savez(labelled, X=rng.normal(size=(4, 6, 2)), y=np.array(["a", "b", "a", "b"]))
    data = load_dataset(labelled)
    assert isinstance(data, ClassificationData)
    assert data.y_train.tolist() == [0, 1, 0, 1] and data.X_test.shape == (0, 6, 2)
    unlabelled = tmp_path / "raw.npy"
    np.save(unlabelled, rng.normal(size=(3, 5)))
    raw = load_dataset(unlabelled)
    assert raw.y_train is None and raw.y_test is None and raw.class_names == []
    assert raw.pretrain_array().shape == (3, 5, 1) and raw.info()["n_classes"] == 0
