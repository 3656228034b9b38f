"""The patch Transformer (TimeDRL's encoder): normalisation, end-aligned patches, per-step and instance output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tscl.encoders import create_encoder
from tscl.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _encoder(**options: object) -> torch.nn.Module:
    torch.manual_seed(0)
    base = {"repr_dims": 6, "hidden_dims": 8, "depth": 1, "heads": 2, "ff_dims": 16, "patch_len": 4, "stride": 4}
    return create_encoder("patch_transformer", 2, **{**base, **options}).eval()


def test_patches_are_normalised_and_aligned_to_the_end() -> None:
    encoder = _encoder()
    x = torch.arange(10.0).reshape(1, 10, 1).repeat(1, 1, 2)
    x[0, :, 1] *= 3.0
    x[0, 2, 1] = float("nan")
    patches, scale = encoder.patches(x)  # 10 steps, patches of 4 -> 3 patches, 2 padded steps at the start
    assert patches.shape == (1, 3, 8)
    observed = x[0, :, 1][~torch.isnan(x[0, :, 1])]
    spread = [(x[0, :, 0].var(unbiased=False) + 1e-5).sqrt(), (observed.var(unbiased=False) + 1e-5).sqrt()]
    torch.testing.assert_close(scale[0], torch.stack([x[0, :, 0].mean(), observed.mean(), *spread]))  # means, stds
    values = x[0, :, 0]
    expected = (values - values.mean()) / torch.sqrt(values.var(unbiased=False) + 1e-5)
    first = patches[0].reshape(3, 2, 4)[:, 0].reshape(-1)  # channel 0 of each patch (channel-major), in time order
    assert torch.isnan(first[:2]).all()
    torch.testing.assert_close(first[2:], expected)
    second = patches[0].reshape(3, 2, 4)[:, 1].reshape(-1)[2:]
    assert torch.isnan(second[2])  # the missing value stays missing
    mask = ~torch.isnan(second)
    normalised = (observed - observed.mean()) / torch.sqrt(observed.var(unbiased=False) + 1e-5)
    torch.testing.assert_close(second[mask], normalised)


def test_channel_independence_keeps_channels_apart() -> None:
    encoder = _encoder(channel_independent=True)
    assert encoder.output_dims == 16  # 2 channels x (6 + mean and std)
    x = torch.randn(3, 12, 2, generator=torch.Generator().manual_seed(0))
    assert encoder.patches(x)[0].shape == (6, 3, 4)
    with torch.no_grad():
        out = encoder(x)
        y = x.clone()
        y[:, :, 1] = torch.randn(3, 12, generator=torch.Generator().manual_seed(9))
        changed = encoder(y)
    torch.testing.assert_close(out[..., :8], changed[..., :8])  # channel 0's part ignores channel 1
    assert not torch.allclose(out[..., 8:], changed[..., 8:])
    torch.testing.assert_close(out[:, 0, 6], x[:, :, 0].mean(1))  # channel 0's mean and std follow its tokens
    torch.testing.assert_close(out[:, 0, 7], torch.sqrt(x[:, :, 0].var(1, unbiased=False) + 1e-5))


@torch.no_grad()
def test_each_step_takes_the_last_patch_containing_it() -> None:
    encoder = _encoder(patch_len=4, stride=2)
    x = torch.randn(2, 9, 2, generator=torch.Generator().manual_seed(1))
    tokens = encoder.encode_tokens(x).patches  # 9 steps, patch 4, stride 2 -> 4 patches, 1 padded step
    out = encoder(x)
    for t in range(9):
        padded = t + 1
        last = min(padded // 2, 3)
        assert last * 2 <= padded < last * 2 + 4
        torch.testing.assert_close(out[:, t, :6], tokens[:, last])
        assert out.shape[-1] == 10  # + mean and std of both channels


@torch.no_grad()
def test_instance_pooling() -> None:
    x = torch.randn(3, 16, 2, generator=torch.Generator().manual_seed(2))
    for pooling in ("cls", "mean", "last", "max"):
        encoder = _encoder(pooling=pooling)
        tokens = encoder.encode_tokens(x)
        expected = {"cls": tokens.cls, "mean": tokens.patches.mean(1), "last": tokens.patches[:, -1],
                    "max": tokens.patches.amax(1)}[pooling]  # fmt: skip
        torch.testing.assert_close(encoder.encode_instance(x)[:, :6], expected)
    bare = _encoder(keep_scale=False)
    assert bare.output_dims == 6 and bare.encode_instance(x).shape == (3, 6) and bare(x).shape == (3, 16, 6)


def test_model_uses_the_encoders_instance_pooling() -> None:
    from tscl.training.model import ContrastiveModel

    model = ContrastiveModel(
        2,
        objective="timedrl",
        encoder={
            "name": "patch_transformer",
            "options": {"repr_dims": 6, "hidden_dims": 8, "depth": 1, "heads": 2, "patch_len": 4, "stride": 4},
        },
        device="cpu",
    )
    x = np.random.default_rng(0).normal(size=(3, 16, 2)).astype(np.float32)
    net = model.averaged.module.eval()
    with torch.no_grad():
        expected = net.encode_instance(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.encode(x), expected, rtol=1e-5)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"encoder\.stride must be at most encoder\.patch_len \(4\) but got 5"):
        _encoder(stride=5)
    with pytest.raises(ConfigError, match=r"encoder\.pooling"):
        _encoder(pooling="median")
    with pytest.raises(ConfigError, match=r"encoder\.heads must divide"):
        _encoder(heads=3)
