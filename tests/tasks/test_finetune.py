"""Fine-tuning's recipe: the head starts as the linear probe, features standardised, one learning rate per part."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tscl.encoders import create_encoder
from tscl.tasks.finetune import FinetuneSettings, StandardisedHead, _train, build_head, finetune
from tscl.tasks.label_fractions import fit_probe

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs(seed: int, n: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return (50 + 20 * rng.normal(size=(n, 6)) + 30 * np.eye(classes, 6)[y]).astype(np.float32), y


def _series(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    t = np.linspace(0, 6, 32)
    X = np.sin(t[None, :] * (1 + 2 * y[:, None])) + 0.3 * rng.normal(size=(n, 32))
    return X[:, :, None].astype(np.float32), y


@pytest.mark.parametrize("classes", [2, 3])
def test_a_probe_head_predicts_what_the_probe_predicts(classes: int) -> None:
    train, valid = _blobs(0, 60, classes), _blobs(1, 30, classes)
    probe = fit_probe(train, valid, seed=0)
    scaler = probe.scaler
    head = StandardisedHead(torch.as_tensor(scaler.mean_), torch.as_tensor(scaler.scale_), classes + 1)
    head.load_probe(probe)
    head.eval()
    X = _blobs(2, 20, classes)[0]
    found = torch.softmax(head(torch.from_numpy(X)), dim=1).detach().numpy()
    expected = probe.model.predict_proba(scaler.transform(X))
    np.testing.assert_allclose(found[:, :classes], expected, atol=1e-4)
    assert found[:, classes].max() < 1e-3  # a class the probe never saw is (nearly) never predicted


def test_build_head_standardises_with_the_training_features_whatever_the_start() -> None:
    torch.manual_seed(0)
    net = create_encoder("ts2vec", 1, repr_dims=8, hidden_dims=8, depth=1)
    rng = np.random.default_rng(0)
    train, valid = _series(rng, 24), _series(rng, 12)
    probe_head, c = build_head(net, train, valid, 2, seed=0, init="probe")
    random_head, nan = build_head(net, train, valid, 2, seed=0, init="random")
    assert c in (0.01, 0.1, 1.0) and np.isnan(nan)
    torch.testing.assert_close(probe_head.mean, random_head.mean)
    with torch.no_grad():
        net.eval()
        z = net(torch.from_numpy(train[0]), mask="all_true").amax(dim=1)
    standardised = (z - probe_head.mean) / probe_head.scale
    torch.testing.assert_close(standardised.mean(dim=0), torch.zeros(8), atol=1e-4, rtol=0)
    assert not torch.equal(probe_head.linear.weight, random_head.linear.weight)


@pytest.mark.parametrize(("lr", "head_lr", "moved"), [(1e-12, 1e-2, "head"), (1e-2, 1e-12, "net")])
def test_encoder_and_head_learn_at_their_own_rates(lr: float, head_lr: float, moved: str) -> None:
    torch.manual_seed(0)
    net = create_encoder("ts2vec", 1, repr_dims=8, hidden_dims=8, depth=1).train()
    rng = np.random.default_rng(0)
    train, valid = _series(rng, 16), _series(rng, 8)
    head, _ = build_head(net, train, valid, 2, seed=0, init="random")
    before = {"net": [p.detach().clone() for p in net.parameters()],
              "head": [p.detach().clone() for p in head.parameters()]}  # fmt: skip
    settings = FinetuneSettings(steps=5, eval_every=5, lr=lr, head_lr=head_lr, batch_size=8, weight_decay=0.0)
    _train(net, head, train, valid, seed=0, settings=settings)
    change = {name: max(float((p.detach() - q).abs().max())
                  for p, q in zip(module.parameters(), before[name], strict=True))
              for name, module in (("net", net), ("head", head))}  # fmt: skip
    still = "net" if moved == "head" else "head"
    assert change[moved] > 1e-4 and change[still] < 1e-6


def test_the_kept_model_is_fine_tuned_and_reported_with_its_start() -> None:
    torch.manual_seed(0)
    encoder = create_encoder("ts2vec", 1, repr_dims=8, hidden_dims=8, depth=1)
    rng = np.random.default_rng(0)
    train, valid, test = _series(rng, 24), _series(rng, 12), _series(rng, 12)
    settings = FinetuneSettings(steps=20, eval_every=10, patience=2, batch_size=8)
    result = finetune(encoder, train, valid, test, 2, seed=0, settings=settings)
    assert result["best_step"] in (10, 20) and result["probe_C"] in (0.01, 0.1, 1.0)
    assert result["valid_cross_entropy"] >= 0
    random = finetune(encoder, train, valid, test, 2, seed=0, settings=FinetuneSettings(**{
        **settings.__dict__, "head": "random"}))  # fmt: skip
    assert np.isnan(random["probe_C"])


def test_a_probe_head_on_another_device_takes_the_probe_weights_there() -> None:
    from tests.one_device import OneDevice

    train, valid = _blobs(0, 60, 3), _blobs(1, 30, 3)
    probe = fit_probe(train, valid, seed=0)
    head = StandardisedHead(torch.zeros(6), torch.ones(6), 4).to("meta")  # stands for a CUDA head
    with OneDevice():
        head.load_probe(probe)
    assert head.linear.weight.device.type == "meta"
