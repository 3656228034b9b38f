"""tscl.pretrain and tscl.resume called from Python: a mapping of settings is a config, anything else (and a new
run given two targets, as the command line refuses) is a ConfigError before any file is written."""

from __future__ import annotations

from pathlib import Path

import pytest

import tscl
from tscl.errors import ConfigError

TINY = {"dataset": "GunPoint", "iters": 1, "encoder": {"name": "ts2vec", "options": {"repr_dims": 8, "hidden_dims": 8,
        "depth": 1}}, "batch_size": 4, "max_train_length": 64, "device": "cpu", "threads": 1}  # fmt: skip


def test_pretrain_takes_a_mapping_of_settings(tmp_path: Path, isolated_data_env: Path, one_thread: None) -> None:
    result = tscl.pretrain(TINY, run_dir=tmp_path / "run")
    assert result.steps == 1
    assert tscl.RunConfig.model_validate(TINY).encoder.options == {"repr_dims": 8, "hidden_dims": 8, "depth": 1}
    with pytest.raises(ConfigError, match="changes must be a mapping of settings but got list"):
        tscl.resume(tmp_path / "run", changes=["threads"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (5, "config must be a tscl.RunConfig or a mapping of settings but got int"),
        ({**TINY, "lr": -1}, "RunConfig: lr must be greater than 0 but got -1"),
        ({**TINY, "epochs": 2}, "a new run must be given iters or epochs, not both"),
    ],
)
def test_pretrain_refuses_a_bad_config_before_writing(tmp_path: Path, config: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tscl.pretrain(config, run_dir=tmp_path / "run")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not both"):
        tscl.pretrain(tscl.RunConfig.model_validate({**TINY, "epochs": 2}), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
