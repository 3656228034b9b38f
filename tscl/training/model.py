"""The Python API: a scikit-learn-shaped contrastive model (``fit``, ``encode``, ``save``/``load``).

Training resumes exactly: the state holds raw and averaged weights, optimizer(s), the step and epoch
counters, the position inside the current epoch's shuffle and the random generator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch.optim.swa_utils import AveragedModel

from tscl.config import SECTIONS, RunConfig, config_from_mapping, merge_layers, resolve_for_task
from tscl.config_migration import nest
from tscl.encoders import create_encoder
from tscl.errors import CheckpointError, ConfigError, DataError
from tscl.losses import create_loss
from tscl.objectives import create_objective
from tscl.objectives.base import Setup
from tscl.text import plural
from tscl.training import distributed, encoding
from tscl.training.arguments import (
    as_series_array,
    check_covariates,
    check_encode_arguments,
    check_model_arguments,
    check_targets,
)
from tscl.training.checkpoint import load_checkpoint, save_checkpoint
from tscl.training.devices import resolve_device, rng_devices
from tscl.training.loop import fit_loop, reached
from tscl.training.progress import fit_progress
from tscl.training.state import DROPOUT_STREAM, TrainProgress, config_of_params, set_dropout_stream
from tscl.training.threads import choose_threads, thread_scope
from tscl.views import create_views

StepCallback = Callable[["ContrastiveModel", float], None]
__all__ = ["DROPOUT_STREAM", "ContrastiveModel", "TS2Vec", "TrainProgress", "resolve_device", "set_dropout_stream"]


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
            threads = choose_threads(threads).threads  # a bad count fails here, not at the first fit
        sections = {"objective": objective, "encoder": encoder, "loss": loss, "views": views}
        flat = nest(options)
        n_covariates = check_model_arguments(flat, task, n_covariates)
        layer = merge_layers(flat, {k: _section(v) for k, v in sections.items() if v is not None})
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
        self.generator = torch.Generator().manual_seed(self.config.seed)
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
        check_covariates(self.params["n_covariates"], input_dims)
        self.params["input_dims"] = input_dims
        # Weight initialisation draws from torch's global RNG: seed it locally so models are reproducible. The
        # model's GPU is forked too: torch.manual_seed reseeds it, and objectives run the encoder on the device
        # while they are built (timedrl, timae: a probe forward pass, with dropout) or create modules there.
        with torch.random.fork_rng(devices=rng_devices(self.device)):
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

    def __repr__(self) -> str:
        c = self.config
        names = ", ".join(f"{part}={getattr(c, part).name!r}" for part in ("objective", "encoder", "loss", "views"))
        return (
            f"{type(self).__name__}({names}, input_dims={self.input_dims}, device='{self.device}', "
            f"threads={self.threads}, step={self.progress.step}, epoch={self.progress.epoch})"
        )

    @property
    def input_dims(self) -> int | None:
        return self.params["input_dims"]

    def _check_input(self, X: ArrayLike, what: str) -> np.ndarray:
        X = as_series_array(X, what)
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
        X: ArrayLike,
        n_iters: int | None = None,
        n_epochs: int | None = None,
        callback: StepCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: bool = False,
        groups: Mapping[str, np.ndarray] | None = None,
    ) -> ContrastiveModel:
        """Train on ``X`` [N, T, C] until ``n_iters`` total iterations or ``n_epochs`` total epochs.

        ``X`` may be a numpy array of any real dtype, nested lists or a torch tensor; [N, T] is one channel.

        Calling ``fit`` again (or after :meth:`load`) continues from the current state to the new targets.
        ``callback(model, loss)`` runs after every step; ``should_stop()`` ends training early after a step;
        ``progress=True`` shows a progress bar (iterations, loss, time left) on stderr or in the notebook.
        ``groups`` (grouped data: ``{"subject": [N], "trial": [N]}`` integer ids) reach objectives that declare
        ``uses_groups``; such an objective orders each epoch itself (``epoch_order``, its batch sampler).
        """
        n_iters, n_epochs = check_targets(n_iters, n_epochs)
        X = self._check_input(X, "training data")
        if X.shape[0] == 0:
            raise DataError(f"training data must hold at least one series but got shape {X.shape}")
        if n_iters is None and n_epochs is None:
            n_iters = self.default_iters(X)
        with thread_scope(self.threads), fit_progress(progress, self, n_iters, n_epochs) as shown:
            steps = callback if shown is None else _both(shown, callback)
            if not self._built:
                self._build(X.shape[2])
            fit_loop(self, X, n_iters, n_epochs, steps, should_stop, groups)
        return self

    def reached(self, n_iters: int | None, n_epochs: int | None) -> bool:
        """Whether training has reached ``n_iters`` total iterations or ``n_epochs`` total epochs."""
        return reached(self, n_iters, n_epochs)

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
        X: ArrayLike,
        mode: str = "instance",
        causal_window: int | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Representations of ``X`` [N, T, C] (read as in :meth:`fit`) from the averaged encoder.

        Args:
            mode: "instance" -> [N, D] (max-pooled over time); "timestamp" -> [N, T, D].
            causal_window: With mode "timestamp", represent step t by encoding only x[t-w+1 .. t]
                (NaN-padded on the left) and keeping the last position: the forecasting protocol uses 201.
            batch_size: Series (or windows) per forward pass.
        """
        causal_window, batch_size = check_encode_arguments(mode, causal_window, batch_size)
        X = self._check_input(X, "data to encode")
        net = self._inference_net()
        with thread_scope(self.threads):
            if X.shape[0] == 0:  # no series: the shape of one zero series' result, with no row
                return self._encode(net, np.zeros((1, *X.shape[1:]), np.float32), mode, causal_window, None)[:0]
            return self._encode(net, X, mode, causal_window, batch_size)

    def _encode(
        self, net: torch.nn.Module, X: np.ndarray, mode: str, causal_window: int | None, batch_size: int | None
    ) -> np.ndarray:
        if mode == "instance":
            return encoding.encode_instances(net, X, self.device, batch_size)
        if causal_window is None:
            return encoding.encode_timestamps(net, X, self.device, batch_size)
        return encoding.encode_causal(net, X, causal_window, self.device, batch_size)

    # -- persistence ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if not self._built:
            raise ConfigError("the model must be fitted before saving", hint="call fit(X) first")
        return {
            "params": {**self.params, "config": self.config.to_dict()},
            "net": self.net.state_dict(),
            "averaged": self.averaged.state_dict(),
            "objective": self.objective.state_dict(),
            "generator": self.generator.get_state(),
            "dropout_stream": DROPOUT_STREAM,
            "progress": self.progress.state(),
        }  # fmt: skip

    def save(
        self, path: str | os.PathLike[str], extra: dict[str, Any] | None = None, keep_previous: bool = False
    ) -> None:
        """Write the full training state atomically to ``path`` (a ``.pt`` file, its sha256 beside it).

        With ``keep_previous`` the file being replaced is kept as ``NAME.previous.pt``.
        """
        save_checkpoint(Path(path), {**self.state_dict(), "extra": extra or {}}, keep_previous=keep_previous)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "auto", threads: int | None = None) -> ContrastiveModel:
        """Rebuild a model (ready to encode or to continue training) from :meth:`save`'s file.

        ``threads`` as in the constructor (a checkpoint does not record it): training continues exactly as an
        uninterrupted ``fit`` on the same thread count.
        """
        if threads is not None:
            threads = choose_threads(threads).threads  # a bad count fails before the file is read
        model = cls.from_state(load_checkpoint(Path(path)), device, source=str(path))
        model.threads = threads
        return model

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
            # Checkpoints written before the cheaper dropout mask continue with torch's (exact resume).
            set_dropout_stream([model.net, model.averaged.module], str(state.get("dropout_stream", "torch")))
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"checkpoint {path} does not match this tscl's model ({type(exc).__name__}: {str(exc)[:120]})",
                hint="use the tscl version that wrote it",
            ) from None
        model.progress = TrainProgress.from_state(state["progress"])
        return model

    @classmethod
    def _from_params(cls, params: Mapping[str, Any], device: str) -> ContrastiveModel:
        """A model from a checkpoint's ``params``: this version's, or tscl 0.1's flat ones (migrated)."""
        config, input_dims, n_covariates = config_of_params(params, device)
        return cls.from_config(config, input_dims, n_covariates)


def _both(first: StepCallback, second: StepCallback | None) -> StepCallback:
    def both(model: ContrastiveModel, loss: float) -> None:
        first(model, loss)
        if second is not None:
            second(model, loss)

    return both


def _section(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"name": value, "options": {}} if isinstance(value, str) else dict(value)


class TS2Vec(ContrastiveModel):
    """:class:`ContrastiveModel` with the TS2Vec objective (its options may be given as ``objective={"name":
    "ts2vec", "options": {...}}``; another objective is a :class:`ContrastiveModel`'s)."""

    _OBJECTIVE = "ts2vec"

    def __init__(self, input_dims: int | None = None, **kwargs: Any) -> None:
        objective = kwargs.setdefault("objective", self._OBJECTIVE)
        name = objective if isinstance(objective, str) else dict(objective).get("name", self._OBJECTIVE)
        if name != self._OBJECTIVE:
            raise ConfigError(
                f"TS2Vec must train the {self._OBJECTIVE} objective but got objective={name!r}",
                hint=f"use tscl.ContrastiveModel(objective={name!r}) for another objective",
            )
        super().__init__(input_dims, **kwargs)
