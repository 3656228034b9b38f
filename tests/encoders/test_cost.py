"""The CoST encoder: its trend layer against CoST's direct form, the season layer's frequency grid, and the
cached inference response against a fresh computation after the weights change.

The kernels under the layers are tested against their references in tests/kernels/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from tests.cli_helpers import one_line_error, run_cli
from tscl.encoders import create_encoder
from tscl.encoders.cost import MAX_KERNEL, CoSTEncoder, SeasonLayer, TrendLayer
from tscl.errors import ConfigError
from tscl.kernels.optim import adamw, update_average


def test_trend_layer_is_the_mean_of_its_causal_convolutions() -> None:
    torch.manual_seed(0)
    layer = TrendLayer(6, 4).double()
    h = torch.randn(3, 300, 6, dtype=torch.float64)
    x = h.transpose(1, 2)
    # CoST's form: each nn.Conv1d of the layer on the input padded on the left, then the mean.
    outs = [conv(F.pad(x, (conv.kernel_size[0] - 1, 0))) for conv in layer.convs]
    torch.testing.assert_close(layer(h), torch.stack(outs).mean(0).transpose(1, 2), atol=1e-10, rtol=1e-10)


def test_season_layer_at_its_grid_length_is_a_per_frequency_linear_map() -> None:
    torch.manual_seed(0)
    layer = SeasonLayer(3, 2, grid_length=9).double()
    h = torch.randn(2, 9, 3, dtype=torch.float64)
    weight = torch.view_as_complex(layer.weight.detach())  # [5, 3, 2]
    bias = torch.view_as_complex(layer.bias.detach())  # [5, 2]
    # The slow way: DFT matrices written out, every output step summed over every frequency.
    t = torch.arange(9, dtype=torch.float64)
    f = torch.arange(5, dtype=torch.float64)
    dft = torch.exp(-2j * torch.pi * f[:, None] * t[None, :] / 9)  # [5, 9]
    spectrum = torch.einsum("ft,btc->bfc", dft, h.to(torch.complex128))
    out_spectrum = torch.einsum("bfc,fcd->bfd", spectrum, weight) + bias
    expected = torch.zeros(2, 9, 2, dtype=torch.float64)
    for k in range(5):
        scale = 1.0 if k == 0 else 2.0  # 9 is odd: every non-zero bin has a mirror image
        phase = torch.exp(2j * torch.pi * k * t / 9)
        expected += scale * (out_spectrum[:, k, None, :] * phase[None, :, None]).real / 9
    torch.testing.assert_close(layer(h), expected, atol=1e-10, rtol=1e-10)


def test_season_layer_filters_the_same_frequency_the_same_way_at_any_length() -> None:
    torch.manual_seed(0)
    layer = SeasonLayer(4, 3, grid_length=12).double()
    with torch.no_grad():
        layer.bias.zero_()  # the bias adds a fixed spectrum at every bin: not a filter of the input
    period = torch.randn(2, 12, 4, dtype=torch.float64)
    # A signal with period 12, tiled three times, has non-zero bins only at multiples of 3, and bin 3g sits
    # exactly on grid bin g: the output is the one-period output, tiled.
    tiled = period.repeat(1, 3, 1)
    torch.testing.assert_close(layer(tiled), layer(period).repeat(1, 3, 1), atol=1e-10, rtol=1e-10)


def test_season_interpolates_between_grid_bins() -> None:
    layer = SeasonLayer(2, 2, grid_length=11)
    w11, _ = layer.response(11)
    w22, _ = layer.response(22)  # bin f of 22 steps sits at grid position f / 2
    torch.testing.assert_close(w22[4], w11[2])
    torch.testing.assert_close(w22[3], (w11[1] + w11[2]) / 2)
    w5, _ = layer.response(5)  # bins 0, 1, 2 at positions 0, 2.2, 4.4
    torch.testing.assert_close(w5[1], 0.8 * w11[2] + 0.2 * w11[3])


def test_cost_encoder_shapes_split_and_errors() -> None:
    torch.manual_seed(0)
    encoder = create_encoder("cost", 3, repr_dims=9, hidden_dims=8, depth=2).eval()
    assert isinstance(encoder, CoSTEncoder)
    x = torch.randn(2, 40, 3)
    out = encoder(x)
    assert out.shape == (2, 40, 9)
    h = encoder.trunk(x)
    torch.testing.assert_close(out[..., :4], encoder.trend(h))
    torch.testing.assert_close(out[..., 4:], encoder.season(h))
    with pytest.raises(ConfigError, match="output_dims >= 2"):
        CoSTEncoder(3, output_dims=1)
    with pytest.raises(ConfigError, match="kernel sizes"):
        TrendLayer(3, 2, (0, 2))


def test_inference_response_cache_follows_weight_updates() -> None:
    torch.manual_seed(0)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2)
    averaged = AveragedModel(net)
    averaged.update_parameters(net)
    optimizer = adamw(net.parameters(), lr=1e-2)
    x = torch.randn(3, 30, 2)
    for _ in range(2):
        with torch.no_grad():
            cached = averaged.module.eval()(x)
            again = averaged.module(x)  # from the cache
        torch.testing.assert_close(again, cached)
        loss = net.train()(x).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            cached_net = net.eval()(x)
            net.trend._cache.entry = None
            torch.testing.assert_close(net(x), cached_net)
        update_average(averaged, net)
        with torch.no_grad():
            after = averaged.module(x)
            averaged.module.trend._cache.entry = None
            torch.testing.assert_close(averaged.module(x), after)
        assert not torch.allclose(after, cached)


def test_cost_model_encodes_causal_windows_like_one_window_at_a_time() -> None:
    from tscl.training.model import ContrastiveModel

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1, 60, 2)).astype(np.float32)
    model = ContrastiveModel(encoder="cost", repr_dims=8, hidden_dims=8, depth=2, device="cpu", seed=0)
    model.fit(X, n_iters=2)
    fast = model.encode(X, mode="timestamp", causal_window=16)
    net = model.averaged.module.eval()
    padded = np.concatenate([np.full((15, 2), np.nan, dtype=np.float32), X[0]])
    with torch.no_grad():
        slow = np.stack([net(torch.from_numpy(padded[t : t + 16][None]))[0, -1].numpy() for t in range(60)])
    assert np.abs(fast[0] - slow).max() <= 1e-5


def test_forward_views_equal_separate_forwards_and_spans() -> None:
    torch.manual_seed(0)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2).eval()
    a, b, c = torch.randn(3, 30, 2), torch.randn(2, 30, 2), torch.randn(1, 17, 2)
    outs = net.forward_views([a, b, c], [(0, 30), (5, 25), (2, 12)])
    torch.testing.assert_close(outs[0], net(a), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(outs[1], net(b)[:, 5:25], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(outs[2], net(c)[:, 2:12], atol=1e-6, rtol=1e-5)


def test_frozen_weights_reuse_the_response_and_gradients_still_reach_the_input() -> None:
    torch.manual_seed(0)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2).eval()
    x = torch.randn(2, 40, 2, requires_grad=True)
    for p in net.parameters():
        p.requires_grad_(False)
    first = net(x)
    assert net.trend._cache.entry is not None and net.season._cache.entry is not None  # kept while frozen
    (grad,) = torch.autograd.grad(net(x).square().sum(), x)
    for p in net.parameters():
        p.requires_grad_(True)
    (expected,) = torch.autograd.grad(net(x).square().sum(), x)  # formed afresh, with the weights' graph
    torch.testing.assert_close(grad, expected)
    torch.testing.assert_close(first, net(x))
    assert net.trend._cache.entry is None


def test_a_response_cached_in_inference_mode_is_not_reused_under_autograd() -> None:
    torch.manual_seed(0)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(2, 30, 2, requires_grad=True)
    with torch.inference_mode():
        net(x.detach())
    (grad,) = torch.autograd.grad(net(x).sum(), x)  # would fail on a response made in inference mode
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("length", [1, 2, 7, 64, 128, 129, 200, 201, 300])
def test_last_position_equals_the_last_step_of_the_full_encoding(length: int) -> None:
    torch.manual_seed(1)
    net = CoSTEncoder(3, output_dims=10, hidden_dims=8, depth=3).double().eval()
    x = torch.randn(4, length, 3, dtype=torch.float64)
    x[0, : length // 2] = float("nan")  # left padding of the causal windows
    with torch.no_grad():
        torch.testing.assert_close(net.last_position(x), net(x)[:, -1], atol=1e-12, rtol=1e-12)


def test_last_position_follows_weight_updates() -> None:
    torch.manual_seed(2)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2)
    optimizer = adamw(net.parameters(), lr=1e-2)
    x = torch.randn(3, 40, 2)
    for _ in range(2):
        with torch.no_grad():
            torch.testing.assert_close(net.eval().last_position(x), net(x)[:, -1], atol=1e-5, rtol=1e-5)
        optimizer.zero_grad()
        net.train()(x).square().mean().backward()
        optimizer.step()


def test_a_fused_optimizer_step_between_backward_and_inference_invalidates_the_response() -> None:
    # Fused AdamW changes the weights in place without bumping their version counters.
    torch.manual_seed(3)
    net = CoSTEncoder(2, output_dims=8, hidden_dims=8, depth=2)
    optimizer = adamw(net.parameters(), lr=1e-2)
    x = torch.randn(3, 30, 2)
    net.train()(x).square().mean().backward()
    with torch.no_grad():
        before = net.eval()(x)  # cached while frozen
        net.last_position(x)
    optimizer.step()
    with torch.no_grad():
        after, last = net(x), net.last_position(x)
        net.trend._cache.entry = net.season._cache.entry = None
        fresh = net(x)
    assert not torch.allclose(after, before)
    torch.testing.assert_close(after, fresh)
    torch.testing.assert_close(last, fresh[:, -1], atol=1e-5, rtol=1e-5)


def test_trend_kernels_longer_than_the_limit_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create_encoder("cost", 1, repr_dims=4, hidden_dims=4, depth=0, kernels=(1, MAX_KERNEL)).trend.kernels[-1]
    with pytest.raises(ConfigError, match=rf"encoder.kernels.1 must be less than or equal to {MAX_KERNEL} but got"):
        create_encoder("cost", 1, repr_dims=4, hidden_dims=4, depth=0, kernels=(1, 100_000))
    run = tmp_path / "run"
    tiny = ["--repr-dims", "4", "--hidden-dims", "4", "--depth", "0", "--device", "cpu", "--threads", "1"]
    args = ["pretrain", "--encoder", "cost", "--set", "encoder.kernels=[1, 100000]", "--iters", "1", *tiny]
    args += ["--run-dir", str(run)]
    code, _, err = run_cli(args, capsys)
    one_line_error(code, err, "encoder.kernels.1", str(MAX_KERNEL))
    assert not run.exists()
