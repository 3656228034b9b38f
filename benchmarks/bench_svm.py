"""The classification SVM protocol at scale (ElectricDevices: 8926 training series x 96 steps, 7 classes).

Prints, for each feature set (the raw-input baseline always; with ``--run`` the run's representations and a
random-init encoder's, as ``tscl evaluate`` fits them):

* the set: rows, dimensions, rows whose features repeat another row's under a different label ("conflicting");
* tscl's protocol (``fit_svm_protocol`` + predictions and scores on the test split) with 1 and ``--threads``
  fold workers, wall and CPU seconds, the share spent building distances and kernels, the selected C, the CV
  and test accuracy (identical for any worker count);
* the plain search beside it (scikit-learn ``GridSearchCV(SVC(gamma="scale"))`` with the official TS2Vec
  settings) on a stratified subsample of ``--plain-rows`` rows without conflicting rows (so that both search
  the full grid and the plain one finishes): times, their ratio, and whether the selected C, the 10 mean fold
  accuracies and the test accuracy are equal;
* the cost of the reference's C = inf fit on the full set: one fold's fit capped at ``--inf-iters``
  iterations per class pair, the pairs that reach the cap (they cannot stop: see
  ``tscl.tasks.heads.svm.has_conflicting_duplicates``) and the fit's cost extrapolated to the reference's
  10^7-iteration cap (per-iteration cost measured after the pairs' first phase).

    python benchmarks/bench_svm.py --data-dir ../shared/datasets
    python benchmarks/bench_svm.py --data-dir ../shared/datasets --run runs/ed --threads 2 --out svm.md

Timings depend on the load of the machine: ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _feature_sets(args: argparse.Namespace) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], Any]:
    from tscl.data.load import load_dataset
    from tscl.tasks.classification_protocol import flatten_features

    data = load_dataset(args.dataset, Path(args.data_dir) if args.data_dir else None)
    sets = {"raw input": (flatten_features(data.X_train), flatten_features(data.X_test))}
    if args.run:
        import torch

        from tscl.runs.inference import load_run_checkpoint
        from tscl.runs.pretraining import build_model

        torch.set_num_threads(args.threads)
        model, _, _ = load_run_checkpoint(Path(args.run), "cpu")
        random = build_model(model.config.replace(device="cpu"), model.input_dims or 1)
        sets = {"tscl": (model.encode(data.X_train), model.encode(data.X_test)),
                "random init": (random.encode(data.X_train), random.encode(data.X_test)), **sets}  # fmt: skip
    return sets, data


def _kernel_seconds(X: np.ndarray, y: np.ndarray) -> float:
    """Distances once, then both kernel matrices of each of the 5 folds, as the protocol builds them."""
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.model_selection import StratifiedKFold

    from tscl.tasks.heads.svm import _rbf_from_distances, scale_gamma

    began = time.perf_counter()
    distances = euclidean_distances(X.astype(np.float64), squared=True)
    for train, test in StratifiedKFold(5).split(X, y):
        gamma = scale_gamma(X[train].astype(np.float64))
        _rbf_from_distances(distances[np.ix_(train, train)], gamma)
        _rbf_from_distances(distances[np.ix_(test, train)], gamma)
    return time.perf_counter() - began


def _protocol_rows(name: str, X: np.ndarray, Xt: np.ndarray, data: Any, threads: int) -> list[str]:
    from tscl.tasks.classification_protocol import run_classification_protocol
    from tscl.tasks.heads.svm import fit_svm_protocol, has_conflicting_duplicates

    y, yt, k = data.y_train, data.y_test, len(data.class_names)
    _, group = np.unique(X + 0.0, axis=0, return_inverse=True)
    labels_per_group = np.bincount(np.unique(np.stack([group.reshape(-1), y]), axis=1)[0])
    conflicting = int(np.isin(group.reshape(-1), np.flatnonzero(labels_per_group > 1)).sum())
    rows = [f"| {name} | {X.shape[0]} x {X.shape[1]} | {conflicting} rows "
            f"({'C = inf left out' if has_conflicting_duplicates(X, y) else 'C = inf searched'}) |"]  # fmt: skip
    results = {}
    for jobs in sorted({1, threads}):
        metrics, wall, cpu = _timed(lambda j=jobs: run_classification_protocol(X, y, Xt, yt, k, n_jobs=j).metrics)
        results[jobs] = (metrics, wall, cpu)
    model = fit_svm_protocol(X, y, n_jobs=threads)
    kernels = _kernel_seconds(X, y)
    same = len({(m["accuracy"], m["cv_accuracy"]) for m, _, _ in results.values()}) == 1
    for jobs, (metrics, wall, cpu) in results.items():
        rows.append(f"|   {jobs} fold worker(s) | wall {wall:.1f} s, CPU {cpu:.1f} s | C = {model.C:g}, CV acc "
                    f"{metrics['cv_accuracy']:.4f}, test acc {metrics['accuracy']:.4f} |")  # fmt: skip
    rows.append(f"|   distances + fold kernels | {kernels:.1f} s (wall, 1 thread) | same result for any worker "
                f"count: {same} |")  # fmt: skip
    return rows


def _without_conflicts(X: np.ndarray, y: np.ndarray, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    _, first, group = np.unique(X + 0.0, axis=0, return_index=True, return_inverse=True)
    keep = np.isin(group.reshape(-1), [g for g in range(len(first)) if len(np.unique(y[group.reshape(-1) == g])) == 1])
    X, y = X[keep], y[keep]
    if rows < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=rows, random_state=seed, stratify=y)
    return X, y


def _plain_rows(name: str, X: np.ndarray, Xt: np.ndarray, data: Any, rows: int) -> list[str]:
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    from tscl.tasks.heads.svm import SVM_C_GRID, fit_svm_protocol

    Xs, ys = _without_conflicts(X, data.y_train, rows)
    grid = {"C": list(SVM_C_GRID), "kernel": ["rbf"], "gamma": ["scale"], "shrinking": [True], "tol": [0.001],
            "cache_size": [200], "max_iter": [10_000_000], "decision_function_shape": ["ovr"]}  # fmt: skip
    plain, plain_wall, _ = _timed(lambda: GridSearchCV(SVC(), grid, cv=5, n_jobs=1).fit(Xs, ys))
    ours, ours_wall, _ = _timed(lambda: fit_svm_protocol(Xs, ys, n_jobs=1))
    equal = (
        ours.C == plain.best_params_["C"]
        and np.array_equal(list(ours.cv_means.values()), plain.cv_results_["mean_test_score"])
        and np.mean(ours.predict(Xt) == data.y_test) == plain.score(Xt, data.y_test)
    )
    return [f"| {name}: plain vs tscl, {len(ys)} rows | plain {plain_wall:.1f} s, tscl {ours_wall:.1f} s "
            f"(x{plain_wall / ours_wall:.0f}), 1 worker | C = {ours.C:g}; C, 10 fold means and test acc equal: "
            f"{equal} |"]  # fmt: skip


def _infinite_c_rows(name: str, X: np.ndarray, y: np.ndarray, cap: int) -> list[str]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import SVC

    from tscl.tasks.heads.svm import scale_gamma

    train, _ = next(StratifiedKFold(5).split(X, y))
    Xf = X[train].astype(np.float64)
    kernel = np.exp(-scale_gamma(Xf) * euclidean_distances(Xf, squared=True))
    seconds = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for iters in (cap // 2, cap):
            capped_svm = SVC(C=np.inf, kernel="precomputed", max_iter=iters)
            svm, seconds[iters], _ = _timed(lambda s=capped_svm: s.fit(kernel, y[train]))
            capped = int(np.sum(svm.n_iter_ >= iters))
    per_iter = (seconds[cap] - seconds[cap // 2]) / (capped * (cap - cap // 2)) if capped else 0.0
    estimate = capped * 10_000_000 * per_iter
    return [f"| {name}: one C = inf fit (fold 1) | {seconds[cap]:.1f} s at cap {cap}; {capped} of "
            f"{len(svm.n_iter_)} class pairs reach it | {per_iter * 1e6:.1f} us/iteration: ~{estimate / 60:.0f} min "
            f"per fit at the reference's 10^7 cap, x5 folds |"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="ElectricDevices")
    parser.add_argument("--run", help="a pretrained run of the dataset: also its and a random-init encoder's features")
    parser.add_argument("--threads", type=int, default=2, help="fold workers (and torch threads for encoding)")
    parser.add_argument("--plain-rows", type=int, default=1500, help="rows of the plain-vs-tscl comparison")
    parser.add_argument("--inf-iters", type=int, default=200_000, help="iteration cap of the timed C = inf fit")
    parser.add_argument("--skip-plain", action="store_true", help="no plain search, no C = inf fit")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    sets, data = _feature_sets(args)
    lines = [f"SVM protocol on {data.name} ({len(data.y_train)} train / {len(data.y_test)} test, "
             f"{len(data.class_names)} classes); --threads {args.threads}", "",
             "| what | cost | result |", "|---|---|---|"]  # fmt: skip
    for name, (X, Xt) in sets.items():
        for row in _protocol_rows(name, X, Xt, data, args.threads):
            print(row, flush=True)
            lines.append(row)
        if not args.skip_plain:
            for row in _plain_rows(name, X, Xt, data, args.plain_rows) + _infinite_c_rows(
                name, X, data.y_train, args.inf_iters
            ):
                print(row, flush=True)
                lines.append(row)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
