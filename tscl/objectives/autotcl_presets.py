"""Named settings (presets) of the AutoTCL objective: the per-dataset settings the authors published.

Zheng et al., ICLR 2024, public code. Beware: the authors chose them while watching the **test** split, so
numbers obtained with them are optimistic; tscl's own defaults are not tuned on test data. Precedence when a
preset is used: defaults < preset < config file < command-line flags.

Epochs are converted to iterations: the authors cut the training split into non-overlapping windows and
run batches of 32 of them, one iteration per epoch for ETTh1/ETTh2 (33 and 16 windows) and three for ETTm1
(67 windows of 512 steps); here each iteration draws 32 random windows (``window_batch``).
"""

from __future__ import annotations

from typing import Any

from tscl.objectives.base import Preset

__all__ = ["PRESETS"]


def _autotcl(
    dataset: str, univariate: bool, lr: float, aug_lr: float, window: int, iters: int, local_weight: float,
    reg_weight: float, hidden: int, gamma: float, hard: bool,
) -> dict[str, Any]:  # fmt: skip
    """Run-configuration values of one published setting (the objective's name is added by the lookup)."""
    options = {
        "window_batch": 32, "aug_lr": aug_lr, "window": window, "ratio_step": 1, "local_weight": local_weight,
        "reg_weight": reg_weight, "regular_weight": 0.0, "aug_dims": 16, "aug_hidden_dims": hidden,
        "gamma_zeta": gamma, "gumbel_bias": 0.05, "hard_mask": hard,
    }  # fmt: skip
    return {
        "dataset": dataset, "univariate": univariate, "batch_size": 32, "lr": lr, "iters": iters,
        "objective": {"options": options}, "loss": {"name": "infonce", "options": {"temperature": 1.0}},
    }  # fmt: skip


_TUNED = "published by the AutoTCL authors, tuned on the test split"
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "autotcl-etth1-univariate",
            f"AutoTCL on ETTh1, OT only ({_TUNED}; 115 epochs = 115 iterations)",
            _autotcl("ETTh1", True, 3e-5, 0.01, 257, 115, 0.3, 0.003, 64, 0.05, True),
        ),
        Preset(
            "autotcl-etth1-multivariate",
            f"AutoTCL on ETTh1, all 7 variables ({_TUNED}; 35 epochs = 35 iterations)",
            _autotcl("ETTh1", False, 1e-5, 0.012, 257, 35, 0.3, 0.2, 128, 0.05, True),
        ),
        Preset(
            "autotcl-etth2-univariate",
            f"AutoTCL on ETTh2, OT only ({_TUNED}; 80 epochs = 80 iterations)",
            _autotcl("ETTh2", True, 1e-5, 0.01, 512, 80, 0.1, 0.1, 128, 0.02, False),
        ),
        Preset(
            "autotcl-ettm1-univariate",
            f"AutoTCL on ETTm1, OT only ({_TUNED}; 190 epochs = 570 iterations)",
            _autotcl("ETTm1", True, 1e-5, 0.01, 512, 570, 0.1, 0.1, 128, 0.02, False),
        ),
    )
}
