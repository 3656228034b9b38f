"""register_x refuses names and factories that would break listing, flags, config files or run directory names."""

from __future__ import annotations

import pytest

from tscl.errors import ConfigError
from tscl.losses import list_losses, register_loss
from tscl.registry import Registry


def _factory() -> None:
    return None


@pytest.mark.parametrize("name", [5, None, "", "my loss", "a/b", "-dash", "loss\n"])
def test_a_bad_name_is_refused_and_listing_keeps_working(name: object) -> None:
    registry: Registry[None] = Registry("loss", "tscl.no-such-group")
    with pytest.raises(ConfigError, match="a loss name must be letters, digits") as caught:
        registry.register(name, _factory)  # type: ignore[arg-type]
    assert caught.value.hint is not None
    assert registry.names() == []


def test_good_names_are_taken() -> None:
    registry: Registry[None] = Registry("loss", "tscl.no-such-group")
    for name in ("l2", "L2_views", "label-efficiency", "v1.2"):
        registry.register(name, _factory)
    assert registry.names() == sorted(["l2", "L2_views", "label-efficiency", "v1.2"])


def test_a_factory_that_is_not_callable_is_refused() -> None:
    before = list_losses()
    with pytest.raises(ConfigError, match="loss 'broken' must be registered with a callable factory but got 5"):
        register_loss("broken", 5)
    assert list_losses() == before
