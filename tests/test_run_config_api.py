"""tscl.RunConfig made by hand in Python fails like a config file: ConfigError naming the key, not pydantic's
ValidationError."""

from __future__ import annotations

import pytest

import tscl
from tscl.errors import ConfigError


@pytest.mark.parametrize(
    "make",
    [
        lambda: tscl.RunConfig(lr=-1),
        lambda: tscl.RunConfig.model_validate({"lr": -1}),
        lambda: tscl.RunConfig.model_validate_json('{"lr": -1}'),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_key(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"^RunConfig: lr must be greater than 0 but got -1$") as caught:
        make()
    assert caught.value.hint == "check --lr or `lr` in the config file"


def test_an_unknown_key_suggests_the_one_meant() -> None:
    with pytest.raises(ConfigError, match="unknown key 'lrr'") as caught:
        tscl.RunConfig.model_validate({"lrr": 0.1})
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean lr?")


def test_model_validate_checks_the_components_as_a_config_file_does() -> None:
    with pytest.raises(ConfigError, match="objective must be one of"):
        tscl.RunConfig.model_validate({"objective": {"name": "nope"}})
    with pytest.raises(ConfigError, match=r"encoder\.depth must be a valid integer"):
        tscl.RunConfig.model_validate({"encoder": {"name": "ts2vec", "options": {"depth": "x"}}})
    with pytest.raises(ConfigError, match="RunConfig must be made from a mapping but got int"):
        tscl.RunConfig.model_validate(5)


def test_model_validate_reads_what_a_config_file_may_hold() -> None:
    config = tscl.RunConfig.model_validate({"objective": {"options": {}}, "repr_dims": 64})  # tscl 0.1 flat key
    assert config.objective.name == tscl.RunConfig().objective.name
    assert config.encoder.options == {"repr_dims": 64}
    assert tscl.RunConfig.model_validate(config) is config


def test_assigning_to_the_frozen_config_says_how_to_change_it() -> None:
    config = tscl.RunConfig()
    with pytest.raises(ConfigError, match="RunConfig is frozen") as caught:
        config.lr = 0.1  # type: ignore[misc]
    assert caught.value.hint == "config.replace(lr=...) makes a copy with it changed"
    assert config.replace(lr=0.1).lr == 0.1


def test_errors_of_config_readers_keep_naming_their_source() -> None:
    from tscl.config import config_from_mapping

    with pytest.raises(ConfigError, match=r"^model: lr must be greater than 0"):
        config_from_mapping({"lr": -1}, source="model")
    with pytest.raises(ConfigError, match=r"^lr must be greater than 0"):
        tscl.RunConfig().replace(lr=-1)


def test_a_preset_given_in_python_applies_its_settings_as_in_a_config_file() -> None:
    from tscl.config import resolve_config
    from tscl.objectives.presets import list_presets

    for name in list_presets():
        expected = resolve_config(preset=name)  # what `tscl pretrain --preset NAME` runs
        assert tscl.RunConfig.model_validate({"preset": name}) == expected
        assert tscl.RunConfig(preset=name) == expected
        given = tscl.RunConfig.model_validate({"preset": name, "seed": 3, "batch_size": 2})
        assert given == resolve_config(preset=name, flags={"seed": 3, "batch_size": 2})


def test_ts2vec_refuses_another_objective_and_takes_its_own_options() -> None:
    with pytest.raises(ConfigError, match="TS2Vec must train the ts2vec objective but got objective='autotcl'") as err:
        tscl.TS2Vec(objective="autotcl")
    assert err.value.hint is not None and "ContrastiveModel(objective='autotcl')" in err.value.hint
    with pytest.raises(ConfigError, match="objective='augment'"):
        tscl.TS2Vec(objective={"name": "augment", "options": {}})
    model = tscl.TS2Vec(objective={"name": "ts2vec", "options": {}}, device="cpu")
    assert model.config.objective.name == "ts2vec"
