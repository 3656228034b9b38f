"""tscl 0.1 files keep working: run directories resume exactly, config files and flat keys migrate.

The run directories under ``tests/fixtures/legacy_runs`` were written by tscl 0.1 (4 iterations each, GunPoint,
a tiny encoder); ``expected_losses.json`` holds the losses tscl 0.1 wrote for straight 6-iteration runs with
the same settings, so resuming them to 6 iterations must reproduce its last two losses.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tscl.config import config_from_mapping, load_config, resolve_for_task
from tscl.config_migration import legacy_flag_hint, migrate_legacy
from tscl.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")

LEGACY = Path(__file__).parent / "fixtures" / "legacy_runs"
EXPECTED = json.loads((LEGACY / "expected_losses.json").read_text())


def _losses(run: Path) -> list[float]:
    with (run / "losses.csv").open() as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_tscl_01_run_resumes_exactly(name: str, tmp_path: Path, isolated_data_env: Path) -> None:
    from tscl.runs.pretraining import resume

    run = tmp_path / name
    shutil.copytree(LEGACY / name, run)
    assert "[pretrain]" in (run / "config.toml").read_text()
    result = resume(run, iters=6)
    assert result.steps == 6
    assert _losses(run) == pytest.approx(EXPECTED[name], rel=1e-5)
    config = load_config(run / "config.toml")  # rewritten in the nested form, every option written out
    assert "[pretrain]" not in (run / "config.toml").read_text()
    assert config.encoder.name == "ts2vec" and config.encoder.options["repr_dims"] == 8
    assert (
        config.loss.name is not None
        and config.objective.name == json.loads((run / "meta.json").read_text())["objective"]
    )


def test_a_tscl_01_checkpoint_loads_for_inference() -> None:
    from tscl.data import load_dataset
    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel.load(LEGACY / "autotcl_siglip" / "checkpoints" / "last.pt", device="cpu")
    assert model.config.loss.name == "siglip" and model.config.loss.options["temperature"] == 0.3
    assert model.config.objective.options["context_crop"] is True  # tscl 0.1 chose it for classification data
    assert model.encode(load_dataset("GunPoint").X_test[:3]).shape == (3, 8)


def test_flat_keys_move_to_their_sections_and_unused_loss_settings_drop() -> None:
    legacy = {"pretrain": {"objective": "augment", "alpha": 0.5, "temporal_unit": 0, "temperature": 0.2,
                           "repr_dims": 64, "augmentations": "jitter", "window": 32, "siglip_bias": -1.0}}  # fmt: skip
    nested = migrate_legacy(legacy)
    assert nested["objective"] == {"name": "augment", "options": {"window": 32}}
    assert nested["loss"] == {"name": None, "options": {"temperature": 0.2}}  # infonce, augment's default
    assert nested["views"]["options"] == {"augmentations": "jitter"}
    resolved = resolve_for_task(config_from_mapping(legacy), "classification")
    assert resolved.loss.name == "infonce" and resolved.loss.options == {"temperature": 0.2}
    with pytest.raises(ConfigError, match="unknown key 'extra' outside the \\[pretrain\\] table"):
        migrate_legacy({"pretrain": {}, "extra": 1})


def test_a_tscl_01_config_file_runs(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli_helpers import run_cli

    run = tmp_path / "again"
    args = ["pretrain", "--config", str(LEGACY / "augment" / "config.toml"), "--iters", "1", "--run-dir", str(run)]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert load_config(run / "config.toml").views.options == {"augmentations": "jitter,scaling,timewarp"}


@pytest.mark.parametrize(
    ("flag", "hint"),
    [("--aug-lr", "objective.aug_lr"), ("--soft-mask", "objective.hard_mask"), ("--temperature", "loss.temperature"),
     ("--siglip-bias", "loss.bias"), ("--augmentations", "views.augmentations"), ("--window", "objective.window")],
)  # fmt: skip
def test_removed_flags_say_how_to_set_them_now(flag: str, hint: str) -> None:
    assert legacy_flag_hint(flag) == f"{flag} is now `--set {hint}=VALUE`"
    assert legacy_flag_hint("--itres") is None
