"""Contract tests over every registered encoder, and exactness of the TS2Vec encoder's shortcuts.

The kernels under them are tested against their references in tests/kernels/.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tscl.encoders import create_encoder, list_encoders
from tscl.encoders.cost import CoSTEncoder
from tscl.encoders.layers import SamePadConv, ViewEncoder
from tscl.encoders.ts2vec import TSEncoder
from tscl.errors import ConfigError
from tscl.kernels.last_position import LastPositionEncoder
from tscl.training.encoding import encode_causal


@pytest.mark.parametrize("name", list_encoders())
@pytest.mark.parametrize(("batch", "length", "channels"), [(1, 1, 1), (3, 17, 2), (2, 64, 5)])
def test_contract_shapes_nan_and_gradients(name: str, batch: int, length: int, channels: int) -> None:
    torch.manual_seed(0)
    encoder = create_encoder(name, channels, repr_dims=12, hidden_dims=8, depth=3)
    x = torch.randn(batch, length, channels)
    x[0, 0, 0] = float("nan")
    out = encoder(x)
    assert out.shape == (batch, length, getattr(encoder, "output_dims", 12))  # D: repr_dims unless it says
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    for pname, param in encoder.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), pname


def test_unknown_encoder_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="ts2vec"):
        create_encoder("resnet", 1)


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


@pytest.mark.parametrize("name", list_encoders())
@pytest.mark.parametrize(("length", "channels"), [(1, 1), (2, 3), (17, 2), (201, 7)])
def test_last_position_fn_equals_the_last_step_of_the_full_encoding(name: str, length: int, channels: int) -> None:
    torch.manual_seed(1)
    encoder = create_encoder(name, channels, repr_dims=12, hidden_dims=8).eval()
    if not hasattr(encoder, "last_position_fn"):
        pytest.skip(f"{name} has no last-position shortcut (the hook is optional)")
    x = torch.randn(6, length, channels)
    x[0, : length // 2] = float("nan")  # left padding of an early window
    x[1, -1, 0] = float("nan")
    with torch.no_grad():
        full = encoder(x)[:, -1]
        fast = encoder.last_position_fn(length)(x)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-4)


def test_the_builtin_encoders_take_their_last_position_shortcuts() -> None:
    assert isinstance(TSEncoder(2, output_dims=4, hidden_dims=4, depth=1).last_position_fn(9), LastPositionEncoder)
    cost = CoSTEncoder(2, output_dims=4, hidden_dims=4, depth=1)
    assert cost.last_position_fn(9) == cost.last_position


def _cumulative_sum(x: torch.Tensor) -> torch.Tensor:
    """``[B, T, C] -> [B, T, C]``: running sums, NaN as 0."""
    return torch.nan_to_num(x).cumsum(1)


class _PlainModule(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _cumulative_sum(x)


class _DefaultHook(ViewEncoder):
    def forward_views(self, views, spans, mask=None, generator=None):
        return [_cumulative_sum(x)[:, a:b] for x, (a, b) in zip(views, spans, strict=True)]


class _OwnHook(_DefaultHook):
    def last_position_fn(self, window: int):
        return lambda x: torch.full((x.size(0), x.size(2)), float(window))


@pytest.mark.parametrize("net", [_PlainModule(), _DefaultHook()])
def test_causal_encoding_without_a_shortcut_encodes_every_window(net: nn.Module) -> None:
    X = np.random.default_rng(0).normal(size=(2, 10, 3)).astype(np.float32)
    got = encode_causal(net, X, window=4, device=torch.device("cpu"), batch_size=3)
    padded = np.concatenate([np.zeros((2, 3, 3), dtype=np.float32), X], axis=1)
    want = np.stack([padded[:, t : t + 4].sum(1) for t in range(10)], axis=1)  # the last 4 steps' sum
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_causal_encoding_uses_the_encoders_last_position_fn() -> None:
    X = np.random.default_rng(0).normal(size=(2, 10, 3)).astype(np.float32)
    assert (encode_causal(_OwnHook(), X, window=4, device=torch.device("cpu")) == 4.0).all()


@pytest.mark.parametrize("length", [1, 5, 40, 300])
def test_time_major_encoder_path_equals_channel_major_modules(length: int) -> None:
    torch.manual_seed(3)
    encoder = TSEncoder(3, output_dims=16, hidden_dims=8, depth=9).double()
    h = torch.randn(2, length, 8, dtype=torch.float64, requires_grad=True)
    fast = encoder.feature_extractor.forward_time_major(h)
    slow = encoder.feature_extractor(h.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=1e-10)
    params = [h, *encoder.parameters()]
    upstream = torch.randn_like(fast)
    fast_grads = torch.autograd.grad(fast, params, upstream, allow_unused=True)
    slow_grads = torch.autograd.grad(slow, params, upstream, allow_unused=True)
    for got, want in zip(fast_grads, slow_grads, strict=True):
        if want is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize(
    ("lengths", "spans", "nan"),
    [((30, 22), ((10, 30), (0, 20)), False),  # small: one padded batch
     ((300, 260), ((100, 300), (0, 200)), True),  # large: separate batches
     ((90, 90), ((0, 50), (40, 90)), True),
     ((7, 5), ((2, 7), (0, 5)), False)],
)  # fmt: skip
def test_forward_views_equals_separate_forwards(
    lengths: tuple[int, int], spans: tuple[tuple[int, int], tuple[int, int]], nan: bool
) -> None:
    torch.manual_seed(4)
    encoder = TSEncoder(2, output_dims=6, hidden_dims=5, depth=10).double().eval()  # eval: no dropout
    views = [torch.randn(3, n, 2, dtype=torch.float64) for n in lengths]
    if nan:
        views[0][1, :4] = float("nan")
        views[1][0, -1, 1] = float("nan")
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    separate = [encoder(v, mask="binomial", generator=g1)[:, a:b] for v, (a, b) in zip(views, spans, strict=True)]
    joint = encoder.forward_views(views, list(spans), mask="binomial", generator=g2)
    params = list(encoder.parameters())
    weights = [torch.randn_like(out) for out in separate]
    want = torch.autograd.grad(sum((w * o).sum() for w, o in zip(weights, separate, strict=True)), params)
    got = torch.autograd.grad(sum((w * o).sum() for w, o in zip(weights, joint, strict=True)), params)
    for a, b in zip(joint, separate, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
