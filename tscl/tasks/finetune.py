"""Full fine-tuning: the pretrained encoder plus a small head, trained on the labelled rows.

The encoder (a copy; the run's weights stay) and a linear head on its instance representation (the
encoder's ``encode_instance``, else the maximum over time: what the linear probe sees) are trained with
cross-entropy by AdamW, the encoder at ``lr`` and the head at ``head_lr``. The head standardises the features
with the training rows' mean and standard deviation under the pretrained encoder (fixed; the probe's scaler),
so its learning rate means the same whatever the scale of the representations. ``head="probe"`` starts the
head from the validation-chosen linear probe (LP-FT: Kumar et al., "Fine-Tuning can Distort Pretrained
Features and Underperform Out-of-Distribution", ICLR 2022), so the first steps refine the encoder instead of
pulling it towards a random head; ``head="random"`` starts it from PyTorch's initialisation.

Every ``eval_every`` steps the validation macro-F1 is measured; the weights of the best validation score
(ties: the lower validation cross-entropy) are kept, training stops after ``patience`` evaluations without a
better one, and only the kept model sees the test split (the public COMET code keeps the last epoch's). The
starting point (step 0) is not a candidate: the kept model has always been fine-tuned.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import Tensor, nn

from tscl.seeds import rng_devices
from tscl.tasks.label_fractions import FittedProbe, HeadInit, classification_metrics, fit_probe

__all__ = ["HEAD_INITS", "FinetuneSettings", "StandardisedHead", "finetune"]

HEAD_INITS: tuple[str, ...] = get_args(HeadInit)


@dataclass(frozen=True)
class FinetuneSettings:
    """Budget and optimiser of fine-tuning (plain values; the task's options carry their help)."""

    steps: int = 300
    eval_every: int = 25
    patience: int = 4
    lr: float = 1e-4
    batch_size: int = 32
    head_lr: float = 1e-3
    head: HeadInit = "probe"
    weight_decay: float = 0.01


class StandardisedHead(nn.Module):
    """``[B, D] -> [B, K]``: fixed standardisation, dropout, linear layer.

    Args:
        mean: ``[D]`` feature means of the training rows.
        scale: ``[D]`` their standard deviations (1 where constant).
        n_classes: Classes K.
        dropout: Dropout before the linear layer.
    """

    def __init__(self, mean: Tensor, scale: Tensor, n_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.mean: Tensor
        self.scale: Tensor
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(mean.numel(), n_classes)

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(self.dropout((z - self.mean) / self.scale))  # type: ignore[no-any-return]

    @torch.no_grad()
    def load_probe(self, probe: FittedProbe) -> None:
        """Copy a logistic regression's weights (fitted on features standardised like this head's): a binary
        probe's one logit ``z`` becomes ``[-z/2, z/2]`` (the same softmax); classes it never saw get weight 0
        and a bias 10 below the lowest seen one."""
        coef, intercept = probe.model.coef_, probe.model.intercept_
        if coef.shape[0] == 1:
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        weight = torch.zeros_like(self.linear.weight)
        bias = torch.full_like(self.linear.bias, float(intercept.min()) - 10.0)
        # On the head's device: CUDA's index_put_ refuses values from the CPU.
        seen = torch.as_tensor(probe.model.classes_, dtype=torch.long, device=weight.device)
        weight[seen] = torch.as_tensor(coef, dtype=weight.dtype, device=weight.device)
        bias[seen] = torch.as_tensor(intercept, dtype=bias.dtype, device=bias.device)
        self.linear.weight.copy_(weight)
        self.linear.bias.copy_(bias)


def _instance(net: nn.Module, x: Tensor) -> Tensor:
    own = getattr(net, "encode_instance", None)
    if callable(own):
        return own(x)  # type: ignore[no-any-return]
    return net(x, mask="all_true").amax(dim=1)  # type: ignore[no-any-return]


@torch.no_grad()
def _features(net: nn.Module, X: np.ndarray, device: torch.device) -> np.ndarray:
    """Frozen instance features ``[N, D]`` of ``net`` in evaluation mode (as the linear probe's)."""
    net.eval()
    parts = [_instance(net, torch.from_numpy(X[s : s + 256]).to(device)).cpu() for s in range(0, len(X), 256)]
    net.train()
    return torch.cat(parts).numpy()


@torch.no_grad()
def _scores(net: nn.Module, head: nn.Module, X: np.ndarray, device: torch.device) -> np.ndarray:
    net.eval()
    head.eval()
    parts = [torch.softmax(head(_instance(net, torch.from_numpy(X[s : s + 256]).to(device))), dim=1).cpu()
             for s in range(0, len(X), 256)]  # fmt: skip
    net.train()
    head.train()
    return torch.cat(parts).numpy()


def _copy(net: nn.Module, head: nn.Module) -> dict[str, Any]:
    return copy.deepcopy({"net": net.state_dict(), "head": head.state_dict()})


def build_head(
    net: nn.Module, train: tuple[np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray], n_classes: int,
    seed: int, init: HeadInit,
) -> tuple[StandardisedHead, float]:  # fmt: skip
    """The head on ``net``'s frozen features of ``train``, standardised with their statistics (those of the
    probe's scaler) and initialised from the validation-chosen probe (``init="probe"``) or at random; also
    the probe's C (NaN for a random head)."""
    device = next(net.parameters()).device
    features = _features(net, train[0], device)
    scale = features.std(axis=0)
    mean, scale = features.mean(axis=0), np.where(scale > 0, scale, 1.0)  # StandardScaler's rule
    head = StandardisedHead(torch.as_tensor(mean), torch.as_tensor(scale), n_classes).to(device)
    if init == "random":
        return head, float("nan")
    probe = fit_probe((features, train[1]), (_features(net, valid[0], device), valid[1]), seed,
                      torch.get_num_threads())  # fmt: skip
    head.load_probe(probe)
    return head, probe.C


def _validate(net: nn.Module, head: nn.Module, valid: tuple[np.ndarray, np.ndarray], device: torch.device) -> tuple[
    float, float]:  # fmt: skip
    """Validation macro-F1 and cross-entropy of the current weights."""
    X_valid, y_valid = valid
    probabilities = _scores(net, head, X_valid, device)
    score = float(f1_score(y_valid, probabilities.argmax(axis=1), average="macro", zero_division=0))
    cross_entropy = float(-np.log(probabilities[np.arange(len(y_valid)), y_valid] + 1e-12).mean())
    return score, cross_entropy


def finetune(
    network: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    seed: int,
    settings: FinetuneSettings | None = None,
) -> dict[str, Any]:
    """Fine-tune a copy of ``network`` on ``train`` (select on ``valid``), score on ``test``.

    Returns:
        Test metrics (:func:`tscl.tasks.label_fractions.classification_metrics`), ``valid_macro_f1`` and
        ``valid_cross_entropy`` of the kept model, ``best_step``, and ``probe_C`` (the C of the probe the head
        started from; NaN for a random head).
    """
    settings = settings or FinetuneSettings()
    device = next(network.parameters()).device
    # Dropout (on the network's device: a GPU's generator for a CUDA network) and the head's initialisation
    # draw from torch's RNG, and torch.manual_seed reseeds every GPU's: fork the network's GPU with the CPU.
    with torch.random.fork_rng(devices=rng_devices(device)):
        torch.manual_seed(seed)
        net = copy.deepcopy(network).train()
        head, probe_c = build_head(net, train, valid, n_classes, seed, settings.head)
        best = _train(net, head, train, valid, seed, settings)
        net.load_state_dict(best["weights"]["net"])
        head.load_state_dict(best["weights"]["head"])
        metrics: dict[str, Any] = classification_metrics(test[1], _scores(net, head, test[0], device), n_classes)
    return {**metrics, "valid_macro_f1": best["score"], "valid_cross_entropy": best["loss"],
            "best_step": best["step"], "probe_C": probe_c}  # fmt: skip


def _train(
    net: nn.Module, head: nn.Module, train: tuple[np.ndarray, np.ndarray], valid: tuple[np.ndarray, np.ndarray],
    seed: int, settings: FinetuneSettings,
) -> dict[str, Any]:  # fmt: skip
    """Train in place; the best validation checkpoint: ``score``, ``loss``, ``step`` and its ``weights``."""
    device = next(net.parameters()).device
    X, y = train
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW([{"params": net.parameters(), "lr": settings.lr},
                                   {"params": head.parameters(), "lr": settings.head_lr}],
                                  weight_decay=settings.weight_decay)  # fmt: skip
    best: dict[str, Any] = {"score": -1.0, "loss": float("inf"), "step": 0, "weights": {}}
    order: list[int] = []
    waited = 0
    for step in range(1, settings.steps + 1):
        if len(order) < min(settings.batch_size, len(X)):
            order += torch.randperm(len(X), generator=generator).tolist()
        rows, order = order[: settings.batch_size], order[settings.batch_size :]
        x, target = torch.from_numpy(X[rows]).to(device), torch.from_numpy(y[rows]).to(device)
        loss = F.cross_entropy(head(_instance(net, x)), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % settings.eval_every and step != settings.steps:
            continue
        score, cross_entropy = _validate(net, head, valid, device)
        # ties in macro-F1 (common on small validation sets) go to the lower validation cross-entropy
        if (score, -cross_entropy) > (best["score"], -best["loss"]):
            best, waited = {"score": score, "loss": cross_entropy, "step": step, "weights": _copy(net, head)}, 0
        else:
            waited += 1
            if waited >= settings.patience:
                break
    return best
