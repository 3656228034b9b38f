"""Full fine-tuning: the pretrained encoder plus a small head, trained on the labelled rows.

The encoder (a copy; the run's weights stay) and a linear head on its instance representation (the
encoder's ``encode_instance``, else the maximum over time) are trained with cross-entropy, the encoder at
``lr`` and the head at ten times that. Every ``eval_every`` steps the validation macro-F1 is measured; the
weights of the best validation score (ties: the lower validation cross-entropy) are kept, training stops
after ``patience`` evaluations without a better one, and only the kept model sees the test split (the
public COMET code keeps the last epoch's).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import Tensor, nn

from tscl.tasks.label_fractions import classification_metrics

__all__ = ["FinetuneSettings", "finetune"]


class FinetuneSettings:
    """Budget and optimiser of fine-tuning (plain values; the task's options carry their help)."""

    def __init__(self, steps: int = 300, eval_every: int = 25, patience: int = 4, lr: float = 1e-4,
                 batch_size: int = 32) -> None:  # fmt: skip
        self.steps, self.eval_every, self.patience = steps, eval_every, patience
        self.lr, self.batch_size = lr, batch_size


def _instance(net: nn.Module, x: Tensor) -> Tensor:
    own = getattr(net, "encode_instance", None)
    if callable(own):
        return own(x)  # type: ignore[no-any-return]
    return net(x, mask="all_true").amax(dim=1)  # type: ignore[no-any-return]


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
        Test metrics (:func:`tscl.tasks.label_fractions.classification_metrics`), ``valid_macro_f1`` of the
        kept model and ``best_step``.
    """
    settings = settings or FinetuneSettings()
    device = next(network.parameters()).device
    (X, y), (X_valid, y_valid), (X_test, y_test) = train, valid, test
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # dropout and the head's initialisation draw from torch's RNG
        torch.manual_seed(seed)
        net = copy.deepcopy(network).train()
        dims = _instance(net, torch.from_numpy(X[:1]).to(device)).size(-1)
        head = nn.Sequential(nn.Dropout(0.1), nn.Linear(dims, n_classes)).to(device)
        optimizer = torch.optim.AdamW([{"params": net.parameters(), "lr": settings.lr},
                                       {"params": head.parameters(), "lr": settings.lr * 10}])  # fmt: skip
        best: tuple[float, int, dict[str, Any]] = (-1.0, 0, {})
        best_loss = float("inf")
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
            probabilities = _scores(net, head, X_valid, device)
            score = float(f1_score(y_valid, probabilities.argmax(axis=1), average="macro", zero_division=0))
            # ties in macro-F1 (common on small validation sets) go to the lower validation cross-entropy
            cross_entropy = float(-np.log(probabilities[np.arange(len(y_valid)), y_valid] + 1e-12).mean())
            if (score, -cross_entropy) > (best[0], -best_loss):
                best, best_loss, waited = (score, step, _copy(net, head)), cross_entropy, 0
            else:
                waited += 1
                if waited >= settings.patience:
                    break
        net.load_state_dict(best[2]["net"])
        head.load_state_dict(best[2]["head"])
        metrics: dict[str, Any] = classification_metrics(y_test, _scores(net, head, X_test, device), n_classes)
    return {**metrics, "valid_macro_f1": best[0], "best_step": best[1]}
