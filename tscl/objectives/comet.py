"""COMET: hierarchical contrast at the observation, sample, trial and patient levels.

Wang et al., "Contrast Everything: A Hierarchical Contrastive Framework for Medical Time-Series", NeurIPS
2023. Grouped data nest four levels: patient (subject) > trial (recording) > sample (window) > observation
(step). Each level has its own two views - two forward passes of the encoder - and its own term:

* observation: TS2Vec's temporal term (same step in the other view vs. other steps of the sample), over the
  max-pool pyramid; views by span ("continuous") timestamp masking, time-aligned, no cropping;
* sample: TS2Vec's instance term (same sample vs. other samples at that step), over the pyramid, same views;
* trial and patient: :func:`tscl.losses._id_contrast.id_contrastive_loss` with trial or subject ids as labels,
  cosine similarity, temperature 0.1; views differ only by dropout (no mask).

Total = sum of ``weight * term``; a level with weight 0 is off and its forward passes are skipped. Batches
come from the group-aware sampler (:mod:`tscl.data.group_sampler`) so the id levels see positives. On data
without ids each series is its own trial and patient: the id levels are then zero, and the run ends with a
note naming them (``run_notes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor

from tscl.data.group_sampler import MIN_BATCH, group_batch_order
from tscl.kernels.optim import adamw
from tscl.losses._id_contrast import id_contrastive_loss, pyramid_loss
from tscl.losses.hierarchical import instance_contrastive_loss, temporal_contrastive_loss
from tscl.objectives.base import Setup
from tscl.registry import Options
from tscl.text import listing

LEVELS = ("patient", "trial", "sample", "observation")
ID_LEVELS = {"patient": "subject", "trial": "trial"}  # level -> the id whose shared values make its positives


class CometOptions(Options):
    patient_weight: float = Field(0.25, ge=0, description="Weight of the patient (subject) level; 0 switches it off.")
    trial_weight: float = Field(0.25, ge=0, description="Weight of the trial (recording) level; 0 switches it off.")
    sample_weight: float = Field(0.25, ge=0, description="Weight of the sample (instance) level; 0 switches it off.")
    observation_weight: float = Field(0.25, ge=0, description="Weight of the observation (timestamp) level; 0: off.")
    temperature: float = Field(0.1, gt=0, description="Temperature of the trial and patient levels.")
    id_representation: Literal["flattened", "pooled"] = Field(
        "flattened", description="Sample vector of the id levels: all steps flattened (paper) or max-pooled."
    )

    @model_validator(mode="after")
    def _some_level(self) -> CometOptions:
        if all(getattr(self, f"{level}_weight") == 0 for level in LEVELS):
            raise ValueError(f"at least one of {', '.join(f'{level}_weight' for level in LEVELS)} must be positive")
        return self


def _sample_vector(z: Tensor, how: str) -> Tensor:
    return z.reshape(z.size(0), -1) if how == "flattened" else z.amax(dim=1)


class CometObjective:
    """Four-level contrast on grouped data (COMET, NeurIPS 2023); see the module docstring."""

    Options = CometOptions
    default_encoder = "ts2vec"
    default_loss = None
    default_views = None
    uses_groups = True
    min_group_batch = MIN_BATCH  # grouped data: the sampler's smallest batch
    paper: dict[str, Any] = {}

    def __init__(
        self,
        setup: Setup,
        patient_weight: float = 0.25,
        trial_weight: float = 0.25,
        sample_weight: float = 0.25,
        observation_weight: float = 0.25,
        temperature: float = 0.1,
        id_representation: str = "flattened",
    ) -> None:
        # default_loss None: the run configuration refuses a [loss] section, so setup.loss is unused
        self.encoder = setup.encoder
        self.weights = {"patient": patient_weight, "trial": trial_weight, "sample": sample_weight,
                        "observation": observation_weight}  # fmt: skip
        self.temperature = temperature
        self.id_representation = id_representation
        self.optimizer = adamw(list(setup.encoder.parameters()), lr=setup.lr)
        self.diagnostics: dict[str, float] = {}
        self.steps = 0
        self.paired: set[str] = set()  # id levels that had a positive pair (two rows sharing an id) in a batch

    # -- the batch sampler ----------------------------------------------------------------------------
    def epoch_order(self, ids: Mapping[str, Tensor], batch_size: int, generator: torch.Generator) -> list[int]:
        """An epoch's row order with same-trial and same-subject pairs in every batch (the sampler)."""
        if len(torch.unique(ids["trial"])) == len(ids["trial"]):  # no ids: every row its own group
            return torch.randperm(len(ids["trial"]), generator=generator).tolist()
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        return group_batch_order(ids["subject"].cpu().numpy(), ids["trial"].cpu().numpy(), batch_size, seed)

    # -- one step -------------------------------------------------------------------------------------
    def _views(self, x: Tensor, mask: str, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self.encoder(x, mask=mask, generator=generator), self.encoder(x, mask=mask, generator=generator)

    def level_terms(self, x: Tensor, ids: Mapping[str, Tensor], generator: torch.Generator) -> dict[str, Tensor]:
        """The term of every level with a positive weight (levels with weight 0 are not computed)."""
        terms: dict[str, Tensor] = {}
        for level, key in ID_LEVELS.items():
            if self.weights[level] > 0:
                z1, z2 = self._views(x, "all_true", generator)
                v1, v2 = _sample_vector(z1, self.id_representation), _sample_vector(z2, self.id_representation)
                terms[level] = id_contrastive_loss(v1, v2, ids[key], self.temperature)
        pyramid: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], bool]] = {
            "sample": (instance_contrastive_loss, True),
            "observation": (temporal_contrastive_loss, False),
        }
        for level, (term, last_scale) in pyramid.items():
            if self.weights[level] > 0:
                z1, z2 = self._views(x, "continuous", generator)
                terms[level] = pyramid_loss(z1, z2, term, last_scale)
        return terms

    def training_step(self, x: Tensor, generator: torch.Generator, ids: Mapping[str, Tensor] | None = None) -> float:
        if ids is None:  # no group ids: each series is its own trial and patient
            own = torch.arange(x.size(0), device=x.device)
            ids = {"subject": own, "trial": own}
        self.optimizer.zero_grad()
        terms = self.level_terms(x, ids, generator)
        loss = sum((self.weights[level] * term for level, term in terms.items()), x.new_zeros(()))
        loss.backward()
        self.optimizer.step()
        self.diagnostics = {f"{level}_loss": float(term.detach()) for level, term in terms.items()}
        self.steps += 1
        self.paired.update(level for level, key in ID_LEVELS.items() if len(torch.unique(ids[key])) < x.size(0))
        return float(loss.item())

    def run_notes(self) -> list[str]:
        """Say so when an id level never had a positive pair: its term was 0 at every step."""
        unpaired = [level for level in ID_LEVELS if self.weights[level] > 0 and level not in self.paired]
        if not self.steps or not unpaired:
            return []
        trained = [level for level in LEVELS if self.weights[level] > 0 and level not in unpaired]
        several = len(unpaired) > 1
        learnt = f"only the {listing(trained)} level{'s' if len(trained) > 1 else ''}" if trained else "nothing"
        return [
            f"comet's {listing(unpaired)} level{'s were' if several else ' was'} 0 at every step: no two series "
            f"of a batch shared a {' or '.join(ID_LEVELS[level] for level in unpaired)} id (as on data without "
            f"subject/trial ids, where every series is its own), so {learnt} trained; use grouped data such as "
            "watch.npz (--window 100), "
            f"or switch {'them' if several else 'it'} off: "
            + " ".join(f"--set objective.{level}_weight=0" for level in unpaired)
        ]

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
