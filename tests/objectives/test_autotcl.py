"""AutoTCL objective: alternating steps, losses, context crops, options, resume, datasets, run layer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks as _data
from tscl.encoders import create_encoder
from tscl.errors import ConfigError
from tscl.losses import create_loss
from tscl.objectives import create_objective, list_objectives
from tscl.objectives.autotcl import AutoTCLObjective
from tscl.objectives.base import Setup
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu"}
AUG = {"aug_hidden_dims": 8, "aug_dims": 4, "window": 24}


def _weights(model: ContrastiveModel) -> dict[str, torch.Tensor]:
    state = {f"net.{k}": v for k, v in model.net.state_dict().items()}
    state.update({f"avg.{k}": v for k, v in model.averaged.state_dict().items()})
    state.update({f"aug.{k}": v for k, v in model.objective.augmenter.state_dict().items()})  # type: ignore[attr-defined]
    return state


# -- alternating optimisation ---------------------------------------------------------------------------
def _objective(
    loss: str = "hierarchical", n_covariates: int = 0, **options: object
) -> tuple[AutoTCLObjective, torch.nn.Module]:
    torch.manual_seed(0)
    encoder = create_encoder("ts2vec", 2, repr_dims=8, hidden_dims=8, depth=1)
    setup = Setup(encoder, create_loss(loss), 2, n_covariates=n_covariates)
    objective = create_objective("autotcl", setup, **{**AUG, **options})
    return objective, encoder  # type: ignore[return-value]


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


@pytest.mark.parametrize("aug_objective", ["fidelity", "adversarial"])
def test_augmenter_step_freezes_encoder_and_encoder_step_freezes_augmenter(aug_objective: str) -> None:
    objective, encoder = _objective(aug_objective=aug_objective)
    x = torch.from_numpy(_data(n=4, t=24))
    g = torch.Generator().manual_seed(0)
    enc, aug = _params(encoder), _params(objective.augmenter)
    objective._augmenter_step(x, g)
    assert _changed(aug, objective.augmenter) and not _changed(enc, encoder)
    assert all(p.requires_grad for p in encoder.parameters())
    aug = _params(objective.augmenter)
    objective._encoder_step(x, g)
    assert _changed(enc, encoder) and not _changed(aug, objective.augmenter)


def test_ratio_step_spaces_augmenter_updates() -> None:
    objective, _ = _objective(ratio_step=3)
    x = torch.from_numpy(_data(n=4, t=24))
    g = torch.Generator().manual_seed(0)
    updates = []
    for _ in range(6):
        before = _params(objective.augmenter)
        objective.training_step(x, g)
        updates.append(_changed(before, objective.augmenter))
    assert updates == [True, False, False, True, False, False]
    assert math.isnan(objective.diagnostics["mmd"]) and 0 <= objective.diagnostics["keep_rate"] <= 1


@pytest.mark.parametrize("loss", ["infonce", "hierarchical", "dcl", "siglip"])
def test_every_loss_trains(loss: str) -> None:
    model = ContrastiveModel(**SMALL, objective="autotcl", **AUG, loss=loss)
    model.fit(_data(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))
    assert set(model.objective.diagnostics) >= {"keep_rate", "view_distance", "mmd", "aug_loss"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("loss", ["hierarchical", "infonce"])
def test_context_crop_contrasts_x_and_its_view_on_the_crop_overlap(loss: str) -> None:
    from tscl.views.crop import crop_views, draw_crop

    objective, encoder = _objective(context_crop=True, loss=loss, noise_std=0.3)
    encoder.eval()  # no dropout: the check below replays the generator's draws
    x = torch.from_numpy(_data(n=4, t=24))
    x[1, :5] = float("nan")
    g, replay = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    with torch.no_grad():
        expected_view = objective.augmenter(x, generator=replay).values
        plan = draw_crop(4, 24, 0, replay)
        crop_x, crop_v = crop_views(x, plan, second=expected_view)
        zx = encoder(crop_x, generator=replay)[:, -plan.crop_length :]
        zv = encoder(crop_v, generator=replay)[:, : plan.crop_length]
        expected = objective.encoder_loss(zx, zv)
    loss_value, view = objective._encoder_step(x, g)  # after: the step updates the encoder
    torch.testing.assert_close(view.values, expected_view, atol=0, rtol=0, equal_nan=True)
    assert loss_value == pytest.approx(float(expected), rel=1e-5)
    assert plan.crop_length < 24  # a real crop was drawn for this seed
    model = ContrastiveModel(**SMALL, objective="autotcl", **AUG, context_crop=True)
    model.fit(_data(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))


def test_options_are_validated() -> None:
    assert "autotcl" in list_objectives()
    for bad in ({"ratio_step": 0}, {"gumbel_bias": 0.6}, {"aug_objective": "x"}, {"max_scale": 0.5},
                {"local_temperature": 0}, {"aug_optimizer": "sgd"}, {"window": 1}):  # fmt: skip
        with pytest.raises(ConfigError, match=f"objective.{next(iter(bad))} must be"):
            _objective(**bad)
    with pytest.raises(ConfigError, match="objective.temperature is not an option of autotcl"):
        _objective(temperature=0.5)
    with pytest.raises(ConfigError, match="n_covariates"):
        _objective(n_covariates=2)


# -- exact resume, determinism, datasets ----------------------------------------------------------------
def test_resume_equals_straight_run(tmp_path) -> None:
    X = _data(n=10)
    X[0, 30:] = np.nan
    options = {**AUG, "ratio_step": 2, "loss": "siglip"}
    straight = ContrastiveModel(**SMALL, objective="autotcl", **options).fit(X, n_iters=6)
    first = ContrastiveModel(**SMALL, objective="autotcl", **options).fit(X, n_iters=3)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(X, n_iters=6)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
    assert resumed.progress.losses == pytest.approx(straight.progress.losses)
    assert resumed.objective.iteration == 6  # type: ignore[attr-defined]


def test_global_random_state_untouched() -> None:
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    ContrastiveModel(**SMALL, objective="autotcl", **AUG).fit(_data(), n_iters=2)
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize("name", ["GunPoint", "BasicMotions", "JapaneseVowels"])
def test_classification_datasets(name: str) -> None:
    from tscl.data import load_dataset

    data = load_dataset(name)
    model = ContrastiveModel(**SMALL, objective="autotcl", **AUG).fit(data.X_train[:24], n_iters=2)
    reprs = model.encode(data.X_test[:10])
    assert reprs.shape == (10, 16) and np.isfinite(reprs).all()


def test_forecasting_with_covariates(shared_datasets) -> None:
    from tscl.data import load_dataset

    data = load_dataset("ETTh1", shared_datasets, univariate=True)
    X = data.pretrain_array()[:, :600]
    options = {**AUG, "window_batch": 6}
    model = ContrastiveModel(**SMALL, objective="autotcl", n_covariates=data.n_covariates, **options)
    model.fit(X, n_iters=2)
    assert model.objective.augmenter.mask_head.out_features == 1  # type: ignore[attr-defined]
    assert np.isfinite(model.encode(X[:, :50], mode="timestamp")).all()


# -- run layer, presets, CLI ----------------------------------------------------------------------------
def _config(*sets: str, **changes: object):
    from tscl.config import resolve_config

    flags = {"batch_size": 4, "iters": 3, "device": "cpu", "checkpoint_every": 2, **changes}
    base = ["objective=autotcl", "encoder.repr_dims=16", "encoder.hidden_dims=8", "encoder.depth=2",
            "objective.aug_hidden_dims=8", "objective.aug_dims=4"]  # fmt: skip
    return resolve_config(flags=flags, sets=[*base, *sets])


def test_run_writes_diagnostics_and_representation_quality(tmp_path) -> None:
    from tscl.runs.pretraining import pretrain

    result = pretrain(_config(), run_dir=tmp_path / "run")
    lines = (result.run_dir / "diagnostics.csv").read_text().splitlines()
    assert lines[0].split(",")[:3] == ["step", "loss", "aug_loss"] and "keep_rate" in lines[0]
    assert len(lines) == 4
    assert (result.run_dir / "plots" / "diagnostics.png").stat().st_size > 0
    meta = json.loads((result.run_dir / "meta.json").read_text())
    quality = meta["representation"]
    assert 0 <= quality["alignment"] <= 4 and -4 <= quality["uniformity"] <= 0
    assert quality["held_out"].startswith("test split")


def test_resumed_run_continues_the_diagnostics(tmp_path) -> None:
    from tscl.runs.pretraining import pretrain, resume

    run = pretrain(_config(iters=3), run_dir=tmp_path / "run").run_dir
    resume(run, iters=5)
    steps = [line.split(",")[0] for line in (run / "diagnostics.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3", "4", "5"]


def test_context_crop_defaults_to_on_for_classification_only(tmp_path) -> None:
    from tscl.config import load_config, resolve_config, resolve_for_task
    from tscl.runs.pretraining import pretrain

    def crop(config, task: str) -> bool:
        return resolve_for_task(config, task).objective.options["context_crop"]

    assert crop(_config(), "classification") is True
    assert crop(_config(), "forecasting") is False  # the objective's default: whole views
    assert crop(_config("objective.context_crop=false"), "classification") is False  # the user wins
    ts2vec = resolve_config(flags={"objective": {"name": "ts2vec"}})
    assert resolve_for_task(ts2vec, "classification").objective.options == {}
    run = pretrain(_config(iters=1), run_dir=tmp_path / "run").run_dir  # the offline default: classification
    text = (run / "config.toml").read_text()
    assert "context_crop = true" in text and '[encoder]\nname = "ts2vec"' in text
    resumed = load_config(run / "config.toml")
    assert resumed.objective.options["context_crop"] is True and resumed.encoder.name == "ts2vec"


def test_autotcl_defaults_to_cost_and_infonce_on_forecasting_only() -> None:
    from tscl.config import resolve_config, resolve_for_task

    def names(config, task: str) -> tuple[str | None, str | None]:
        resolved = resolve_for_task(config, task)
        return resolved.encoder.name, resolved.loss.name

    assert names(_config(), "forecasting") == ("cost", "infonce")
    assert names(_config("loss=dcl"), "forecasting") == ("cost", "dcl")  # --loss wins
    assert names(_config(), "classification") == ("ts2vec", "hierarchical")  # the objective's own
    assert names(_config("encoder=ts2vec"), "forecasting") == ("ts2vec", "infonce")  # --encoder wins
    ts2vec = resolve_config(flags={"objective": {"name": "ts2vec"}})
    assert names(ts2vec, "forecasting") == ("ts2vec", "hierarchical")
    assert names(ts2vec.replace(encoder={"name": "cost"}), "classification") == ("cost", "hierarchical")


def test_objective_options_are_checked_against_the_objective() -> None:
    from tscl.config import resolve_config

    assert _config("objective.reg_weight=0.5").objective.options["reg_weight"] == 0.5
    with pytest.raises(ConfigError, match="objective.reg_weight is not an option of ts2vec"):
        resolve_config(sets=["objective=ts2vec", "objective.reg_weight=0.5"])
    with pytest.raises(ConfigError, match="objective.gamma_zeta must be less than or equal to 1"):
        _config("objective.gamma_zeta=2.0")


def test_preset_precedence(tmp_path) -> None:
    from tscl.config import resolve_config
    from tscl.objectives.presets import find_preset, list_presets

    assert "autotcl-etth1-univariate" in list_presets()
    preset = resolve_config(preset="autotcl-etth1-univariate")
    window = preset.objective.options["window"]
    assert (preset.lr, window, preset.iters, preset.objective.name) == (3e-5, 257, 115, "autotcl")
    assert (preset.loss.name, preset.loss.options) == ("infonce", {"temperature": 1.0})
    from_file = resolve_config(
        preset="autotcl-etth1-univariate", file_values={"lr": 1e-4, "objective": {"options": {"window": 300}}}
    )
    options = from_file.objective.options
    assert (from_file.lr, options["window"], options["reg_weight"]) == (1e-4, 300, 0.003)
    flags = resolve_config(file_values={"preset": "autotcl-ettm1-univariate", "lr": 1e-4}, flags={"lr": 2e-4})
    assert (flags.lr, flags.preset, flags.objective.options["window"]) == (2e-4, "autotcl-ettm1-univariate", 512)
    other = resolve_config(preset="autotcl-etth1-univariate", flags={"objective": {"name": "ts2vec"}})
    assert other.objective.options == {}  # naming another objective drops the preset's options of autotcl
    with pytest.raises(ConfigError, match="autotcl-etth1-multivariate"):
        find_preset("autotcl")


def test_cli_flags_reach_the_run(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from tscl.cli import main

    run = tmp_path / "cli"
    args = ["pretrain", "--objective", "autotcl", "--iters", "2", "--repr-dims", "8", "--hidden-dims", "8",
            "--depth", "1", "--device", "cpu", "--run-dir", str(run), "--set", "objective.aug_dims=4",
            "--set", "objective.aug_hidden_dims=8", "--set", "objective.reg_weight=0.2",
            "--set", "objective.hard_mask=false", "--loss", "dcl", "--set", "objective.context_crop=true",
            "--json"]  # fmt: skip
    main(args)
    assert json.loads(capsys.readouterr().out)["steps"] == 2
    text = (run / "config.toml").read_text()
    assert "reg_weight = 0.2" in text and "hard_mask = false" in text and '[loss]\nname = "dcl"' in text
    assert "context_crop = true" in text
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--objective", "autotcl", "--set", "objective.nope=1", "--run-dir", str(tmp_path / "y")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "objective.nope is not an option of autotcl" in err
    assert "aug_lr" in err and not (tmp_path / "y").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--aug-lr", "0.1"])
    assert exit_info.value.code == 1 and "--set objective.aug_lr=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", "--preset", "nope", "--run-dir", str(tmp_path / "x")])
    assert exit_info.value.code == 1 and "autotcl-etth1-univariate" in capsys.readouterr().err
