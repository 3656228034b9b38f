"""REBAR: positives chosen by a learned retrieval-reconstruction distance; no augmentations.

Xu et al., "REBAR: Retrieval-Based Reconstruction for Time-series Contrastive Learning", ICLR 2024. Two
stages in one run, both in its checkpoint (``checkpoints/last.pt``, so a run resumes exactly in either):

1. The first ``stage1_share`` of the planned iterations (or ``stage1_iters``) train a small
   retrieval-reconstruction model (also kept as ``checkpoints/rebar_retrieval.pt``) and leave the encoder
   alone: a random window of ``subseq_len`` steps of each series has a contiguous ``mask_share`` of its steps
   hidden; dilated convolutions embed the masked window (queries) and a candidate window (keys, values); one
   cross-attention head reconstructs the hidden steps from the candidate's motifs. In training the candidate
   is the unmasked window itself, so the model learns to find the part of a candidate that matches the
   context of the gap. Its error on the hidden steps is the REBAR distance.
2. The model frozen, each series (a recording) gives an anchor window and ``candidates`` windows cut from the
   same series; the candidate with the lowest REBAR distance to the anchor is its positive, the others of the
   same series are negatives, and so are all candidates of the other series in the batch. The encoder is
   trained with InfoNCE on max-pooled window representations (:func:`retrieval_info_nce`).

Differences from the public code: the distance of all of an anchor's candidates is measured on the same hidden
steps (the public code draws a new random mask per candidate, so the argmin compares errors on different
steps), with the same contiguous masks stage 1 was trained on (the public code trains on contiguous masks and
measures with scattered ones); windows are normalised by the statistics of their visible steps only (the
public code includes the hidden steps, leaking them into the input) and each window by its own (the public
code scales the candidate by the anchor's); negatives are the candidates of the other series (the public code
uses the other anchors and adds a second, within-series loss), and the loss is not divided by the batch size a
second time; every random choice comes from the run's generator and devices are never hard-coded.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from tscl.encoders.layers import DilatedConvEncoder
from tscl.kernels.optim import adamw
from tscl.objectives.base import Setup
from tscl.registry import Options

UNPLANNED_ITERS = 200  # tscl's default length of training, for a stage 1 asked for before any plan


class REBAROptions(Options):
    subseq_len: int = Field(64, ge=4, description="Length of anchor and candidate windows (at most the series').")
    candidates: int = Field(8, ge=2, description="Candidate windows per anchor, cut from the same series.")
    temperature: float = Field(0.1, gt=0, allow_inf_nan=False, description="InfoNCE temperature.")
    mask_share: float = Field(0.25, gt=0, lt=1, description="Share of a window hidden (one contiguous block).")
    stage1_share: float = Field(0.3, gt=0, lt=1, description="Share of the planned iterations for stage 1.")
    stage1_iters: int | None = Field(None, ge=1, description="Stage-1 iterations (None: stage1_share of the plan).")
    retrieval_dims: int = Field(64, ge=1, description="Width of the retrieval model's embeddings.")
    retrieval_depth: int = Field(3, ge=1, description="Dilated blocks of each retrieval embedding (receptive field).")
    retrieval_lr: float = Field(1e-3, gt=0, allow_inf_nan=False, description="Learning rate of stage 1.")


class RetrievalReconstructor(nn.Module):
    """Masked anchor + candidate -> the anchor reconstructed from the candidate, normalised, ``[N, L, C]``."""

    def __init__(self, channels: int, width: int, depth: int) -> None:
        super().__init__()
        self.query = DilatedConvEncoder(channels + 1, [width] * depth, 3)  # + the hidden-step indicator
        self.key = DilatedConvEncoder(channels, [width] * depth, 3)
        self.value = DilatedConvEncoder(channels, [width] * depth, 3)
        self.output = nn.Linear(width, channels)
        self.width = width

    def forward(self, anchor: Tensor, hidden: Tensor, candidate: Tensor) -> Tensor:
        """``anchor`` and ``candidate`` normalised [N, L, C] (NaN-free), ``hidden`` [N, L] bool."""
        visible = anchor.masked_fill(hidden.unsqueeze(-1), 0.0)
        q_in = torch.cat([visible, hidden.unsqueeze(-1).to(anchor.dtype)], dim=-1).transpose(1, 2)
        q = self.query(q_in).transpose(1, 2)
        k = self.key(candidate.transpose(1, 2)).transpose(1, 2)
        v = self.value(candidate.transpose(1, 2)).transpose(1, 2)
        attention = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(self.width), dim=-1)
        return self.output(attention @ v)  # type: ignore[no-any-return]


def normalise(x: Tensor, visible: Tensor) -> Tensor:
    """Per window and channel, (x - mean) / std over the visible observed steps; missing values become 0.

    ``x`` [N, L, C] (NaN = missing), ``visible`` [N, L] bool.
    """
    seen = visible.unsqueeze(-1) & ~torch.isnan(x)
    count = seen.sum(dim=1, keepdim=True).clamp_min(1)
    values = x.nan_to_num() * seen
    mean = values.sum(dim=1, keepdim=True) / count
    var = ((x.nan_to_num() - mean).square() * seen).sum(dim=1, keepdim=True) / count
    return ((x - mean) / (var + 1e-5).sqrt()).nan_to_num()


def masked_pair_error(reconstruction: Tensor, target: Tensor, hidden: Tensor, observed: Tensor) -> Tensor:
    """Per pair, the mean squared error over the hidden observed values: the REBAR distance, [N].

    ``reconstruction``, ``target`` [N, L, C]; ``hidden`` [N, L] bool; ``observed`` [N, L, C] bool.
    """
    counted = hidden.unsqueeze(-1) & observed
    error = (reconstruction - target).square() * counted
    return error.sum(dim=(1, 2)) / counted.sum(dim=(1, 2)).clamp_min(1)


def retrieval_info_nce(anchors: Tensor, candidates: Tensor, positive: Tensor, temperature: float) -> Tensor:
    """InfoNCE of each anchor against every candidate of the batch, its positive chosen by retrieval.

    Args:
        anchors: [B, D] anchor representations.
        candidates: [B, K, D] representations of the K candidates cut from each anchor's series.
        positive: [B] index k of each anchor's positive among its own candidates.
        temperature: Softmax temperature of the cosine similarities.

    Returns:
        Scalar: mean over anchors of -log softmax over all B*K candidates at the positive; the other
        candidates of the same series and all candidates of the other series are the negatives.
    """
    batch, count, _ = candidates.shape
    a = F.normalize(anchors, dim=-1)
    c = F.normalize(candidates.reshape(batch * count, -1), dim=-1)
    logits = a @ c.T / temperature
    target = torch.arange(batch, device=anchors.device) * count + positive
    return F.cross_entropy(logits, target)


def draw_starts(x: Tensor, length: int, count: int, generator: torch.Generator) -> Tensor:
    """``count`` window starts per series [B, count], each window inside the series' observed span if it fits."""
    observed = ~torch.isnan(x).all(dim=-1).cpu()
    first = observed.int().argmax(dim=1)
    end = x.size(1) - observed.flip(1).int().argmax(dim=1)
    high = torch.maximum(end - length, first)
    span = (high - first + 1).unsqueeze(1)
    starts = first.unsqueeze(1) + (torch.rand(x.size(0), count, generator=generator) * span).long()
    return torch.minimum(starts, high.unsqueeze(1)).clamp_max(x.size(1) - length)


def cut(x: Tensor, starts: Tensor, length: int) -> Tensor:
    """Windows of ``length`` steps at ``starts`` [B, K] of each series of ``x`` [B, T, C] -> [B*K, L, C]."""
    batch, count = starts.shape
    index = (starts.to(x.device).unsqueeze(-1) + torch.arange(length, device=x.device)).reshape(batch, -1)
    windows = x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))
    return windows.reshape(batch * count, length, x.size(-1))


def draw_hidden(windows: int, length: int, share: float, generator: torch.Generator) -> Tensor:
    """One contiguous block of ``round(share * length)`` hidden steps per window (at least 1, at most L-1)."""
    size = min(max(1, round(share * length)), length - 1)
    starts = (torch.rand(windows, generator=generator) * (length - size + 1)).long()
    steps = torch.arange(length)
    return (steps >= starts.unsqueeze(1)) & (steps < (starts + size).unsqueeze(1))


class REBARObjective:
    """Retrieval-reconstruction picks the positives of InfoNCE among windows of the same series (REBAR)."""

    Options = REBAROptions
    default_encoder = "ts2vec"
    default_loss = None  # its own: InfoNCE with retrieved positives
    default_views = None
    min_length = 8

    def __init__(
        self,
        setup: Setup,
        *,
        subseq_len: int = 64,
        candidates: int = 8,
        temperature: float = 0.1,
        mask_share: float = 0.25,
        stage1_share: float = 0.3,
        stage1_iters: int | None = None,
        retrieval_dims: int = 64,
        retrieval_depth: int = 3,
        retrieval_lr: float = 1e-3,
    ) -> None:
        self.encoder = setup.encoder
        self.subseq_len, self.candidates, self.temperature = subseq_len, candidates, temperature
        self.mask_share, self.stage1_share, self.stage1_iters = mask_share, stage1_share, stage1_iters
        self.retrieval = RetrievalReconstructor(setup.input_dims, retrieval_dims, retrieval_depth).to(setup.device)
        self.retrieval_optimizer = adamw(self.retrieval.parameters(), lr=retrieval_lr, weight_decay=0.0)
        self.optimizer = adamw(setup.encoder.parameters(), lr=setup.lr)
        self.step = 0
        self.stage1_end = stage1_iters or max(1, round(stage1_share * UNPLANNED_ITERS))
        self.encoder_stepped = True
        self.diagnostics: dict[str, float] = {}
        self._stored_complete = False

    def plan(self, planned_iters: int, iters_per_epoch: int) -> None:
        """Stage 1 takes ``stage1_iters`` or ``stage1_share`` of the planned iterations (fixed once it ended)."""
        if self.step < self.stage1_end and self.stage1_iters is None:
            self.stage1_end = max(1, min(planned_iters - 1, round(self.stage1_share * planned_iters)))

    @property
    def stage(self) -> int:
        return 1 if self.step < self.stage1_end else 2

    # -- stage 1 ---------------------------------------------------------------------------------------
    def reconstruction_loss(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Stage 1's loss: a random window of each series reconstructed from itself through its masked copy."""
        length = min(self.subseq_len, x.size(1))
        windows = cut(x, draw_starts(x, length, 1, generator), length)
        hidden = draw_hidden(windows.size(0), length, self.mask_share, generator).to(x.device)
        target = normalise(windows, ~hidden)
        candidate = normalise(windows, torch.ones_like(hidden))
        reconstruction = self.retrieval(target, hidden, candidate)
        return masked_pair_error(reconstruction, target, hidden, ~torch.isnan(windows)).mean()

    # -- stage 2 ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def distances(self, anchors: Tensor, candidates: Tensor, hidden: Tensor) -> Tensor:
        """REBAR distances [B, K] of anchors [B, L, C] (hidden steps [B, L]) to candidates [B*K, L, C]."""
        count = candidates.size(0) // anchors.size(0)
        self.retrieval.eval()
        hidden = hidden.repeat_interleave(count, dim=0)
        repeated = anchors.repeat_interleave(count, dim=0)
        target = normalise(repeated, ~hidden)
        reconstruction = self.retrieval(target, hidden, normalise(candidates, torch.ones_like(hidden)))
        self.retrieval.train()
        error = masked_pair_error(reconstruction, target, hidden, ~torch.isnan(repeated))
        return error.view(anchors.size(0), count)

    def contrastive_loss(self, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Stage 2's loss and the anchors' distances to their positives."""
        length = min(self.subseq_len, x.size(1))
        starts = draw_starts(x, length, 1 + self.candidates, generator)
        anchors = cut(x, starts[:, :1], length)
        candidates = cut(x, starts[:, 1:], length)
        hidden = draw_hidden(x.size(0), length, self.mask_share, generator).to(x.device)
        distance = self.distances(anchors, candidates, hidden)
        positive = distance.argmin(dim=1)
        z_anchor = self.encoder(anchors, generator=generator).amax(dim=1)
        z_candidates = self.encoder(candidates, generator=generator).amax(dim=1)
        z_candidates = z_candidates.view(x.size(0), self.candidates, -1)
        loss = retrieval_info_nce(z_anchor, z_candidates, positive, self.temperature)
        return loss, distance.gather(1, positive.unsqueeze(1)).mean()

    def training_step(self, x: Tensor, generator: torch.Generator) -> float:
        stage = self.stage
        if stage == 1:
            self.retrieval_optimizer.zero_grad()
            loss = self.reconstruction_loss(x, generator)
            loss.backward()
            self.retrieval_optimizer.step()
            self.diagnostics = {"stage": 1.0, "reconstruction": float(loss.item())}
        else:
            self.optimizer.zero_grad()
            loss, positive_distance = self.contrastive_loss(x, generator)
            loss.backward()
            self.optimizer.step()
            self.diagnostics = {"stage": 2.0, "positive_distance": float(positive_distance.item())}
        self.encoder_stepped = stage == 2
        self.step += 1
        return float(loss.item())

    def artifacts(self) -> dict[str, Any]:
        """Stage 1's model as ``checkpoints/rebar_retrieval.pt`` in the run directory: at every save during
        stage 1, then once more when it is complete (stage 2 leaves it alone)."""
        complete = self.step >= self.stage1_end
        if self.step == 0 or (complete and self._stored_complete):
            return {}
        self._stored_complete = complete
        trained = min(self.step, self.stage1_end)
        return {"rebar_retrieval.pt": {
            "retrieval": self.retrieval.state_dict(), "trained_iters": trained,
            "complete": self.step >= self.stage1_end, "width": self.retrieval.width,
        }}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        return {
            "retrieval": self.retrieval.state_dict(), "retrieval_optimizer": self.retrieval_optimizer.state_dict(),
            "optimizer": self.optimizer.state_dict(), "step": self.step, "stage1_end": self.stage1_end,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.retrieval.load_state_dict(state["retrieval"])
        self.retrieval_optimizer.load_state_dict(state["retrieval_optimizer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.stage1_end = int(state["step"]), int(state["stage1_end"])
