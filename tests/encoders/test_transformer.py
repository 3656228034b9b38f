"""The Transformer encoder: missing steps carry nothing, visible-subset encoding, option checks."""

from __future__ import annotations

import pytest
import torch

from tscl.encoders import create_encoder
from tscl.encoders.transformer import sinusoidal_positions
from tscl.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_encoder("transformer", 3, repr_dims=12, hidden_dims=16, depth=2, heads=4, ff_dims=32).eval()


def _x() -> torch.Tensor:
    return torch.randn(2, 20, 3, generator=torch.Generator().manual_seed(1))


def test_positions_match_the_formula() -> None:
    code = sinusoidal_positions(7, 6)
    for pos in range(7):
        for i in range(3):
            rate = 10_000.0 ** (-2 * i / 6)
            assert code[pos, 2 * i].item() == pytest.approx(torch.sin(torch.tensor(pos * rate)).item(), abs=1e-5)
            assert code[pos, 2 * i + 1].item() == pytest.approx(torch.cos(torch.tensor(pos * rate)).item(), abs=1e-5)
    assert sinusoidal_positions(3, 5).shape == (3, 5)  # odd widths too


@torch.no_grad()
def test_missing_steps_carry_no_information() -> None:
    encoder, x = _encoder(), _x()
    padded = torch.cat([x, torch.full((2, 6, 3), float("nan"))], dim=1)
    torch.testing.assert_close(encoder(padded)[:, :20], encoder(x))  # right NaN padding changes nothing
    y = x.clone()
    y[0, 4, 1] = float("nan")  # one missing value hides the whole step
    z = y.clone()
    z[0, 4] = 123.0
    z[0, 4, 1] = float("nan")
    torch.testing.assert_close(encoder(y), encoder(z))
    assert torch.isfinite(encoder(torch.full((1, 5, 3), float("nan")))).all()


@torch.no_grad()
def test_visible_encoding_ignores_hidden_steps() -> None:
    encoder, x = _encoder(), _x()
    everything = torch.arange(20).expand(2, 20)
    torch.testing.assert_close(encoder.encode_visible(x, everything), encoder(x))
    keep = torch.tensor([[0, 3, 4, 11], [2, 5, 17, 19]])
    changed = x + 10.0
    changed[torch.arange(2).unsqueeze(1), keep] = x[torch.arange(2).unsqueeze(1), keep]
    torch.testing.assert_close(encoder.encode_visible(changed, keep), encoder.encode_visible(x, keep))
    # The same steps with positions shifted are encoded differently: tokens keep their own positions.
    assert not torch.allclose(encoder.encode_visible(x, keep), encoder(x[torch.arange(2).unsqueeze(1), keep]))


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ConfigError, match=r"encoder\.heads must divide encoder\.hidden_dims \(16\) but got 5"):
        create_encoder("transformer", 3, hidden_dims=16, heads=5)


@pytest.mark.parametrize(
    ("encoder", "width", "offered"), [("transformer", 1, "e.g. 1"), ("patch_transformer", 6, "e.g. 1, 2, 3 or 6")]
)
def test_a_head_count_that_does_not_divide_the_width_is_told_ones_that_do(
    encoder: str, width: int, offered: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        create_encoder(encoder, 3, hidden_dims=width, heads=4)
    assert refused.value.hint == f"pick a number of heads that divides {width}: {offered}"
