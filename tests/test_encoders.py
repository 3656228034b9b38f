"""Contract tests over every registered encoder, and exactness of the TS2Vec encoder's shortcuts."""

from __future__ import annotations

import pytest
import torch

from tscl.errors import ConfigError
from tscl.models import create_encoder, list_encoders
from tscl.models.encoder import SamePadConv, TSEncoder
from tscl.models.last_position import LastPositionEncoder


@pytest.mark.parametrize("name", list_encoders())
@pytest.mark.parametrize(("batch", "length", "channels"), [(1, 1, 1), (3, 17, 2), (2, 64, 5)])
def test_contract_shapes_nan_and_gradients(name: str, batch: int, length: int, channels: int) -> None:
    torch.manual_seed(0)
    encoder = create_encoder(name, input_dims=channels, output_dims=12, hidden_dims=8, depth=3)
    x = torch.randn(batch, length, channels)
    x[0, 0, 0] = float("nan")
    out = encoder(x)
    assert out.shape == (batch, length, 12)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    for pname, param in encoder.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), pname


def test_unknown_encoder_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="ts2vec"):
        create_encoder("resnet", input_dims=1)


def test_nan_timestamps_are_treated_as_missing() -> None:
    torch.manual_seed(0)
    encoder = TSEncoder(2, output_dims=8, hidden_dims=8, depth=2).eval()
    x = torch.randn(1, 10, 2)
    x_nan = x.clone()
    x_nan[0, 4, 1] = float("nan")
    x_zero = x.clone()
    x_zero[0, 4, :] = 0.0  # a missing step is zeroed after projection, unlike a real zero input
    out = encoder(x_nan)
    assert torch.isfinite(out).all()
    assert not torch.allclose(out, encoder(x_zero))


@pytest.mark.parametrize("dilation", [1, 4, 16, 64])
def test_centre_tap_shortcut_is_exact(dilation: int) -> None:
    torch.manual_seed(0)
    conv = SamePadConv(3, 5, kernel_size=3, dilation=dilation)
    x = torch.randn(2, 3, 16, requires_grad=True)
    fast = conv(x)
    full = conv.conv(x)
    torch.testing.assert_close(fast, full, atol=1e-6, rtol=1e-5)
    (g_fast,) = torch.autograd.grad(fast.sum(), x)
    (g_full,) = torch.autograd.grad(full.sum(), x)
    torch.testing.assert_close(g_fast, g_full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("length", "channels"), [(1, 1), (2, 3), (17, 2), (201, 1), (201, 7)])
def test_last_position_encoder_equals_full_forward(length: int, channels: int) -> None:
    torch.manual_seed(1)
    encoder = TSEncoder(channels).eval()
    x = torch.randn(6, length, channels)
    x[0, : length // 2] = float("nan")  # left padding of an early window
    x[1, -1, 0] = float("nan")
    with torch.no_grad():
        full = encoder(x)[:, -1]
    fast = LastPositionEncoder(encoder, length)(x)
    assert (fast - full).abs().max().item() <= 1e-4
