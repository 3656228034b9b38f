"""The Python API: a scikit-learn-shaped contrastive model (``fit``, ``encode``, ``save``/``load``).

Training resumes exactly: the state holds raw and averaged weights, optimizer(s), the step and epoch
counters, the position inside the current epoch's shuffle and the random generator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from tscl.config import SECTIONS, RunConfig, config_from_mapping, merge_layers, resolve_for_task
from tscl.config_migration import migrate_legacy, nest
from tscl.encoders import create_encoder
from tscl.errors import CheckpointError, ConfigError, DataError, DivergedError
from tscl.kernels.optim import update_average
from tscl.losses import create_loss
from tscl.objectives import create_objective
from tscl.objectives.base import Setup
from tscl.text import plural
from tscl.training import distributed, encoding
from tscl.training.checkpoint import load_checkpoint, save_checkpoint
from tscl.training.memory import BoundedHeap
from tscl.training.progress import fit_progress
from tscl.training.threads import choose_threads, thread_scope
from tscl.views import create_views
from tscl.views.crop import prepare_training_array

StepCallback = Callable[["ContrastiveModel", float], None]
# The dropout mask stream of models built by this version (see `tscl.encoders.ts2vec.TSEncoder.dropout_stream`).
DROPOUT_STREAM = "numpy"


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; explicit names are checked for availability."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps but got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but CUDA is not available", hint="use --device cpu")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps was asked for but MPS is not available", hint="use --device cpu")
    return resolved


@dataclass
class TrainProgress:
    """Iteration bookkeeping; with the generator state it determines the rest of training."""

    step: int = 0
    epoch: int = 0
    epoch_position: int = 0
    epoch_order: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    train_seconds: float = 0.0


class ContrastiveModel:
    """Self-supervised encoder trained with a contrastive objective.

    Components are given like the run configuration's sections: a registered name, or a mapping
    ``{"name": ..., "options": {...}}``, or None for the objective's default. Flat keyword options (the
    tscl 0.1 names: ``repr_dims``, ``depth``, ``alpha``, ``aug_lr``, ...) go to the section that takes them.

    Args:
        input_dims: Input channels C (inferred from the data at the first ``fit`` when None).
        objective: Objective name or section (default "ts2vec").
        encoder, loss, views: Encoder, loss and view-maker names or sections (None: the objective's default).
        lr, batch_size, max_train_length: Training settings (TS2Vec defaults).
        seed: Seed of the generator every random choice draws from.
        device: "auto", "cpu", "cuda[:i]" or "mps".
        threads: CPU threads of ``fit`` and ``encode`` (torch's count is restored afterwards). None: the
            cores other processes leave free, at most torch's count (see :mod:`tscl.training.threads`).
        n_covariates: Leading calendar channels of the data (never augmented).
        task: Evaluation task of the data ("forecasting", ...): selects the objective's task defaults.
        **options: Flat component options, e.g. ``repr_dims=320`` or ``aug_lr=0.01``.
    """

    def __init__(
        self,
        input_dims: int | None = None,
        *,
        objective: str | Mapping[str, Any] | None = None,
        encoder: str | Mapping[str, Any] | None = None,
        loss: str | Mapping[str, Any] | None = None,
        views: str | Mapping[str, Any] | None = None,
        lr: float = 1e-3,
        batch_size: int = 8,
        max_train_length: int | None = 3000,
        seed: int = 42,
        device: str = "auto",
        threads: int | None = None,
        n_covariates: int = 0,
        task: str | None = None,
        gather_negatives: bool = False,
        **options: Any,
    ) -> None:
        if threads is not None:
            choose_threads(threads)  # a bad count fails here, not at the first fit
        sections = {"objective": objective, "encoder": encoder, "loss": loss, "views": views}
        layer = merge_layers(nest(options), {k: _section(v) for k, v in sections.items() if v is not None})
        layer.update(
            lr=lr, batch_size=batch_size, max_train_length=max_train_length, seed=seed, device=device,
            gather_negatives=gather_negatives,
        )  # fmt: skip
        self.config = resolve_for_task(config_from_mapping(layer, source="model"), task or "")
        self.params: dict[str, Any] = {"input_dims": input_dims, "n_covariates": n_covariates}
        # In a process group (torchrun), this process trains its share of every batch: see training.distributed.
        self.ranks = distributed.current_ranks()
        self.device = resolve_device(distributed.local_device(device))
        self.threads = threads
        self.progress = TrainProgress()
        self.generator = torch.Generator().manual_seed(seed)
        self._built = False
        if input_dims is not None:
            self._build(input_dims)

    @classmethod
    def from_config(cls, config: RunConfig, input_dims: int | None, n_covariates: int = 0) -> ContrastiveModel:
        """The model a (task-resolved) run configuration describes."""
        values = config.to_dict()
        sections = {name: values[name] for name in SECTIONS if values[name]["name"] is not None}
        return cls(
            input_dims, lr=config.lr, batch_size=config.batch_size, max_train_length=config.max_train_length,
            seed=config.seed, device=config.device, n_covariates=n_covariates,
            gather_negatives=config.gather_negatives, **sections,
        )  # fmt: skip

    # -- construction ---------------------------------------------------------------------------------
    def _build(self, input_dims: int) -> None:
        c = self.config
        self.params["input_dims"] = input_dims
        # Weight initialisation draws from torch's global RNG: seed it locally so models are reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.net = create_encoder(str(c.encoder.name), input_dims, **c.encoder.options).to(self.device)
            loss = None if c.loss.name is None else create_loss(c.loss.name, **c.loss.options).to(self.device)
            views = None
            if c.views.name is not None:
                views = create_views(c.views.name, self.params["n_covariates"], **c.views.options)
            setup = Setup(
                self.net, loss, input_dims, lr=c.lr, batch_size=c.batch_size,
                n_covariates=self.params["n_covariates"], views=views, device=self.device,
                rank=self.ranks.rank, world_size=self.ranks.world_size,
            )  # fmt: skip
            self.objective = create_objective(str(c.objective.name), setup, **c.objective.options)
        if self.ranks.active:
            self._distribute(loss)
        # As in TS2Vec, the initial weights are the first sample of the equal-weight average.
        self.averaged = AveragedModel(self.net)
        self.averaged.update_parameters(self.net)
        self._built = True

    def _distribute(self, loss: torch.nn.Module | None) -> None:
        """Average every optimizer's gradients over the ranks; with gather_negatives, contrast the global batch."""
        for optimizer in distributed.optimizers_of(self.objective):
            distributed.average_gradients(optimizer, self.ranks)
        if self.config.gather_negatives:
            if loss is None:
                raise ConfigError(
                    f"gather_negatives needs an objective with a [loss] but {self.config.objective.name} has a "
                    "loss of its own",
                    hint="drop --gather-negatives for this objective",
                )
            distributed.gather_loss_inputs(loss)

    @property
    def input_dims(self) -> int | None:
        return self.params["input_dims"]

    def _check_input(self, X: np.ndarray, what: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise DataError(f"{what} must be an array [N, T, C] but got shape {X.shape}")
        if np.isinf(X).any():
            raise DataError(f"{what} must not contain inf values", hint="replace them with NaN (missing)")
        if self._built and X.shape[2] != self.input_dims:
            raise DataError(
                f"{what} must have {plural(self.input_dims or 0, 'channel')} (the encoder's input) "
                f"but got {X.shape[2]}",
                hint="evaluate on data with the same variables the encoder was pretrained on",
            )
        return X

    # -- training -------------------------------------------------------------------------------------
    def default_iters(self, X: np.ndarray) -> int:
        """TS2Vec's rule: 200 iterations for at most 100 000 values, else 600."""
        return 200 if X.size <= 100_000 else 600

    def fit(
        self,
        X: np.ndarray,
        n_iters: int | None = None,
        n_epochs: int | None = None,
        callback: StepCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: bool = False,
        groups: Mapping[str, np.ndarray] | None = None,
    ) -> ContrastiveModel:
        """Train on ``X`` [N, T, C] until ``n_iters`` total iterations or ``n_epochs`` total epochs.

        Calling ``fit`` again (or after :meth:`load`) continues from the current state to the new targets.
        ``callback(model, loss)`` runs after every step; ``should_stop()`` ends training early after a step;
        ``progress=True`` shows a progress bar (iterations, loss, time left) on stderr or in the notebook.
        ``groups`` (grouped data: ``{"subject": [N], "trial": [N]}`` integer ids) reach objectives that declare
        ``uses_groups``; such an objective orders each epoch itself (``epoch_order``, its batch sampler).
        """
        X = self._check_input(X, "training data")
        if n_iters is None and n_epochs is None:
            n_iters = self.default_iters(X)
        with thread_scope(self.threads), fit_progress(progress, self, n_iters, n_epochs) as shown:
            steps = callback if shown is None else _both(shown, callback)
            return self._fit(X, n_iters, n_epochs, steps, should_stop, groups)

    def _fit(
        self,
        X: np.ndarray,
        n_iters: int | None,
        n_epochs: int | None,
        callback: StepCallback | None,
        should_stop: Callable[[], bool] | None,
        groups: Mapping[str, np.ndarray] | None = None,
    ) -> ContrastiveModel:
        if not self._built:
            self._build(X.shape[2])
        train = torch.from_numpy(prepare_training_array(X, self.config.max_train_length))
        ranks = self.ranks
        if train.shape[0] < ranks.world_size:
            raise DataError(
                f"training data must have at least one series per process ({ranks.world_size}) "
                f"but has {train.shape[0]}",
                hint="start fewer processes (torchrun --nproc_per_node)",
            )
        # Each rank trains ``batch_size`` rows of every global batch of batch_size * world_size rows.
        batch_size = min(self.config.batch_size, train.shape[0] // ranks.world_size)
        global_batch = batch_size * ranks.world_size
        n_batches = train.shape[0] // global_batch
        prog = self.progress
        ids = self._group_ids(groups, train.shape[0])
        self._plan_objective(n_iters, n_epochs, n_batches)
        self.net.train()
        heap = BoundedHeap(self.device)  # memory stays flat over varying crop lengths (see training.memory)
        while not self.reached(n_iters, n_epochs):
            if prog.epoch_position == 0:
                prog.epoch_order = self._epoch_order(train.shape[0], global_batch, ids)
            start = prog.epoch_position * global_batch
            index = ranks.rows(prog.epoch_order[start : start + global_batch])
            began = time.perf_counter()
            with heap.step():
                batch_ids = None if ids is None else {k: v[index] for k, v in ids.items()}
                loss = self._train_step(train[index], index, batch_ids)
            loss, stop = ranks.agree(loss, should_stop is not None and should_stop())
            prog.train_seconds += time.perf_counter() - began
            if not np.isfinite(loss):
                raise DivergedError(
                    f"the loss must stay finite but is {loss} at iteration {prog.step + 1}: training diverged",
                    hint=f"lower the learning rate (now {self.config.lr:g}); the model keeps its last finite state",
                    step=prog.step + 1,
                )
            prog.step += 1
            prog.losses.append(loss)
            prog.epoch_position += 1
            if prog.epoch_position == n_batches:
                done = prog.losses[-n_batches:]
                prog.epoch_losses.append(float(np.mean(done)))
                prog.epoch += 1
                prog.epoch_position = 0
            if callback is not None:
                callback(self, loss)
            if stop:
                break
        return self

    def _group_ids(self, groups: Mapping[str, np.ndarray] | None, n: int) -> dict[str, torch.Tensor] | None:
        """Integer id tensors for an objective that uses groups (each row its own group when there are none)."""
        if not getattr(self.objective, "uses_groups", False):
            return None
        if groups is None:
            return {"subject": torch.arange(n), "trial": torch.arange(n)}
        ids = {key: torch.as_tensor(np.asarray(values), dtype=torch.long) for key, values in groups.items()}
        if any(len(values) != n for values in ids.values()):
            raise DataError(f"group ids must have one entry per training series ({n}) but got "
                            f"{ {k: len(v) for k, v in ids.items()} }")  # fmt: skip
        return ids

    def _epoch_order(self, n: int, batch: int, ids: Mapping[str, torch.Tensor] | None) -> list[int]:
        """Row order of a new epoch: the objective's batch sampler when it has one, else a random permutation."""
        sampler = getattr(self.objective, "epoch_order", None)
        if ids is not None and callable(sampler):
            return list(sampler(ids, batch, self.generator))
        return torch.randperm(n, generator=self.generator).tolist()

    def _plan_objective(self, n_iters: int | None, n_epochs: int | None, iters_per_epoch: int) -> None:
        """Tell an objective that schedules by the length of training (``plan``) the iterations planned in total."""
        plan = getattr(self.objective, "plan", None)
        if not callable(plan):
            return
        planned = [n for n in (n_iters, None if n_epochs is None else n_epochs * iters_per_epoch) if n is not None]
        plan(min(planned), iters_per_epoch)

    def reached(self, n_iters: int | None, n_epochs: int | None) -> bool:
        """Whether training has reached ``n_iters`` total iterations or ``n_epochs`` total epochs."""
        if n_iters is not None and self.progress.step >= n_iters:
            return True
        return n_epochs is not None and self.progress.epoch >= n_epochs

    def _train_step(
        self, x: torch.Tensor, index: list[int], ids: Mapping[str, torch.Tensor] | None = None
    ) -> float:
        max_len = self.config.max_train_length
        if max_len is not None and x.size(1) > max_len:
            offset = int(torch.randint(0, x.size(1) - max_len + 1, (1,), generator=self.generator))
            x = x[:, offset : offset + max_len]
        x = x.to(self.device)
        # Dropout draws from torch's global RNG: give it a seed from our generator, restore it afterwards (each
        # rank of a distributed run its own).
        dropout_seed = int(torch.randint(0, 2**62, (1,), generator=self.generator)) + self.ranks.rank
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(dropout_seed)
            # Objectives that keep per-series state (takes_index) are told which training series the rows are;
            # objectives that use groups get the rows' group ids.
            rows: dict[str, Any] = {}
            if getattr(self.objective, "takes_index", False):
                rows["index"] = torch.tensor(index)
            if ids is not None:
                rows["ids"] = {key: value.to(self.device) for key, value in ids.items()}
            loss = self.objective.training_step(x, self.generator, **rows)
        # A step that left the encoder alone (encoder_stepped False, e.g. training a helper model first) is
        # not a sample of the encoder's average.
        if getattr(self.objective, "encoder_stepped", True):
            update_average(self.averaged, self.net)
        return loss

    # -- inference ------------------------------------------------------------------------------------
    def _inference_net(self) -> torch.nn.Module:
        if not self._built:
            raise ConfigError("the model must be fitted or loaded before encoding", hint="call fit(X) first")
        net = self.averaged.module
        net.eval()
        return net

    def inference_network(self) -> torch.nn.Module:
        """The averaged encoder used for inference (fine-tuning protocols train a copy of it)."""
        return self._inference_net()

    def encode(
        self,
        X: np.ndarray,
        mode: str = "instance",
        causal_window: int | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Representations of ``X`` [N, T, C] from the averaged encoder.

        Args:
            mode: "instance" -> [N, D] (max-pooled over time); "timestamp" -> [N, T, D].
            causal_window: With mode "timestamp", represent step t by encoding only x[t-w+1 .. t]
                (NaN-padded on the left) and keeping the last position: the forecasting protocol uses 201.
            batch_size: Series (or windows) per forward pass.
        """
        X = self._check_input(X, "data to encode")
        net = self._inference_net()
        with thread_scope(self.threads):
            return self._encode(net, X, mode, causal_window, batch_size)

    def _encode(
        self, net: torch.nn.Module, X: np.ndarray, mode: str, causal_window: int | None, batch_size: int | None
    ) -> np.ndarray:
        if mode == "instance":
            return encoding.encode_instances(net, X, self.device, batch_size)
        if mode != "timestamp":
            raise ConfigError(f"mode must be 'instance' or 'timestamp' but got {mode!r}")
        if causal_window is None:
            return encoding.encode_timestamps(net, X, self.device, batch_size)
        return encoding.encode_causal(net, X, causal_window, self.device, batch_size)

    # -- persistence ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if not self._built:
            raise ConfigError("the model must be fitted before saving", hint="call fit(X) first")
        prog = self.progress
        return {
            "params": {**self.params, "config": self.config.to_dict()},
            "net": self.net.state_dict(),
            "averaged": self.averaged.state_dict(),
            "objective": self.objective.state_dict(),
            "generator": self.generator.get_state(),
            "dropout_stream": DROPOUT_STREAM,
            "progress": {
                "step": prog.step, "epoch": prog.epoch, "epoch_position": prog.epoch_position,
                "epoch_order": torch.tensor(prog.epoch_order, dtype=torch.long),
                "losses": torch.tensor(prog.losses, dtype=torch.float64),
                "epoch_losses": torch.tensor(prog.epoch_losses, dtype=torch.float64),
                "train_seconds": prog.train_seconds,
            },
        }  # fmt: skip

    def save(self, path: str | Path, extra: dict[str, Any] | None = None, keep_previous: bool = False) -> None:
        """Write the full training state atomically to ``path`` (a ``.pt`` file, its sha256 beside it).

        With ``keep_previous`` the file being replaced is kept as ``NAME.previous.pt``.
        """
        save_checkpoint(Path(path), {**self.state_dict(), "extra": extra or {}}, keep_previous=keep_previous)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> ContrastiveModel:
        """Rebuild a model (ready to encode or to continue training) from :meth:`save`'s file."""
        return cls.from_state(load_checkpoint(Path(path)), device, source=str(path))

    @classmethod
    def from_state(cls, state: Mapping[str, Any], device: str = "auto", source: str = "checkpoint") -> ContrastiveModel:
        """Rebuild a model from a loaded checkpoint state (see :func:`tscl.training.checkpoint.read_checkpoint`);
        ``source`` names the file in errors."""
        path = source
        try:
            model = cls._from_params(state["params"], device)
            model.net.load_state_dict(state["net"])
            model.averaged.load_state_dict(state["averaged"])
            model.objective.load_state_dict(state["objective"])
            model.generator.set_state(state["generator"])
            prog = state["progress"]
            # Checkpoints written before the cheaper dropout mask continue with torch's (exact resume).
            set_dropout_stream([model.net, model.averaged.module], str(state.get("dropout_stream", "torch")))
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"checkpoint {path} does not match this tscl's model ({type(exc).__name__}: {str(exc)[:120]})",
                hint="use the tscl version that wrote it",
            ) from None
        model.progress = TrainProgress(
            step=int(prog["step"]), epoch=int(prog["epoch"]), epoch_position=int(prog["epoch_position"]),
            epoch_order=prog["epoch_order"].tolist(), losses=prog["losses"].tolist(),
            epoch_losses=prog["epoch_losses"].tolist(), train_seconds=float(prog["train_seconds"]),
        )  # fmt: skip
        return model

    @classmethod
    def _from_params(cls, params: Mapping[str, Any], device: str) -> ContrastiveModel:
        """A model from a checkpoint's ``params``: this version's, or tscl 0.1's flat ones (migrated)."""
        params = dict(params)
        if "config" in params:
            config = config_from_mapping({**params.pop("config"), "device": device}, source="checkpoint")
            return cls.from_config(config, params["input_dims"], params.get("n_covariates", 0))
        flat = {**params.pop("objective_options", {}), **params, "device": device}
        n_covariates = int(flat.pop("n_covariates", 0))
        input_dims = flat.pop("input_dims")
        config = config_from_mapping(migrate_legacy(flat), source="checkpoint")
        return cls.from_config(resolve_for_task(config, ""), input_dims, n_covariates)


def set_dropout_stream(modules: list[torch.nn.Module], stream: str) -> None:
    """Give every encoder layer with a choice of dropout mask stream (``dropout_stream``) ``stream``."""
    for module in modules:
        for layer in module.modules():
            if hasattr(layer, "dropout_stream"):
                setattr(layer, "dropout_stream", stream)  # noqa: B010  (mypy types Module attributes as tensors)


def _both(first: StepCallback, second: StepCallback | None) -> StepCallback:
    def both(model: ContrastiveModel, loss: float) -> None:
        first(model, loss)
        if second is not None:
            second(model, loss)

    return both


def _section(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"name": value, "options": {}} if isinstance(value, str) else dict(value)


class TS2Vec(ContrastiveModel):
    """:class:`ContrastiveModel` with the TS2Vec objective (the default)."""

    def __init__(self, input_dims: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("objective", "ts2vec")
        super().__init__(input_dims, **kwargs)
