"""The paper's classical benchmark protocol (section 5.1, Table 8).

Every (function, dimension) is run from the same ``starts`` random points drawn from
``U[-10, 10]^d`` (REFERENCE.md section 3: this reproduces the paper's BFGS column) for
``iterations`` steps. Adam and GD-M are tuned per (function, dimension) on a grid of log-spaced
learning rates, keeping the rate with the lowest mean final value; all starts and rates run in one
``jit(vmap)`` (chunked over rates at large ``d``). scipy's methods run their starts in worker
processes, concurrently with the first-order work in this process.

``BenchmarkConfig.mode`` other than "fixed" (the paper's Table 4 operating modes) runs every start
through ``minimize`` with the paper's stopping rule, or inside basin hopping, within the same
``iterations``; Adam and GD-M keep the learning rate their fixed-budget runs chose.
"""

from __future__ import annotations

import multiprocessing
import zlib
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import threadpoolctl

from motion_recon import optim
from motion_recon.configs import BenchmarkConfig
from motion_recon.functions.library import make_problem
from motion_recon.optim.first_order import GradientOptimizer
from motion_recon.optim.learned import LearnedOptimizer
from motion_recon.optim.quasi_newton import ScipyOptimizer

# lanes (learning rates x starts x dimension) one compiled call holds; larger grids run in chunks
_LANES_PER_CALL = 64 * 100 * 100
# starts x N^2 (preconditioner, attention) one compiled call of a learned optimizer holds
_LEARNED_LANES_PER_CALL = 64 * 100 * 100


@dataclass(frozen=True)
class Record:
    """Outcome of one optimizer on one (function, dimension) over all starts.

    ``final_*`` summarise ``f(x_T)``; ``gap_mean`` is ``mean(f(x_T)) - f*`` (the paper's Table 8
    quantity, see the README); ``nfev_mean`` and ``nit_mean`` are the evaluations and iterations
    a run used, mean over starts; ``loss_mean`` is the mean over starts of the current loss per
    iteration (runs that stopped early hold their last value). ``mode`` is
    ``BenchmarkConfig.mode``; records written before it existed are fixed-budget runs.
    """

    function: str
    dim: int
    optimizer: str
    config: dict
    minimum: float
    final_values: list[float]
    final_mean: float
    final_median: float
    final_std: float
    gap_mean: float
    nfev_mean: float
    nit_mean: float
    n_nonfinite: int
    loss_mean: list[float]
    mode: str = "fixed"

    def to_json(self) -> dict:
        return asdict(self)


def starting_points(config: BenchmarkConfig, function: str, dim: int) -> np.ndarray:
    """(starts, dim) float64 starts, the same for every optimizer, fixed by (seed, function, dim)."""
    rng = np.random.default_rng([config.seed, zlib.crc32(function.encode()), dim])
    return rng.uniform(-config.start_range, config.start_range, (config.starts, dim))


def _record(
    function: str, dim: int, optimizer: str, config: dict, finals, nfev, nit, curves, mode: str = "fixed"
) -> Record:
    finals = np.asarray(finals, dtype=np.float64)
    finite = np.isfinite(finals)
    minimum = make_problem(function, dim).minimum
    mean = float(finals.mean()) if finite.all() else float("inf")
    return Record(
        function=function, dim=dim, optimizer=optimizer, config=config, minimum=minimum,
        final_values=finals.tolist(), final_mean=mean,
        final_median=float(np.median(finals)) if finite.all() else float("inf"),
        final_std=float(finals.std()) if finite.all() else float("nan"),
        gap_mean=mean - minimum, nfev_mean=float(np.mean(nfev)), nit_mean=float(np.mean(nit)),
        n_nonfinite=int((~finite).sum()), loss_mean=np.mean(curves, axis=0).tolist(), mode=mode,
    )


def _in_chunks(fn, batch: np.ndarray, size: int) -> np.ndarray:
    """``fn`` over ``batch`` in chunks of ``size`` along axis 0; the last chunk is padded with
    copies of the last item so every call has one shape (one compilation)."""
    padded = np.concatenate([batch, np.repeat(batch[-1:], (-len(batch)) % size, axis=0)])
    return np.concatenate([np.asarray(fn(padded[i : i + size])) for i in range(0, len(padded), size)])[: len(batch)]


def tune_first_order(
    opt: GradientOptimizer, function: str, dim: int, starts: np.ndarray, learning_rates, iterations: int
) -> Record:
    """Runs ``opt`` from every start for every learning rate and keeps the best mean final value."""
    problem = make_problem(function, dim)
    run = opt.trajectory(problem.loss, iterations)
    batched = jax.jit(jax.vmap(jax.vmap(run, in_axes=(0, None)), in_axes=(None, 0)))
    lrs = np.asarray(learning_rates, dtype=np.float32)
    x0 = jnp.asarray(starts, jnp.float32)
    chunk = int(np.clip(_LANES_PER_CALL // starts.size, 1, lrs.size))
    curves = _in_chunks(lambda rates: batched(x0, jnp.asarray(rates)), lrs, chunk)  # (rates, starts, T + 1)
    finals = curves[:, :, -1].astype(np.float64)
    means = np.where(np.isfinite(finals).all(axis=1), finals.mean(axis=1), np.inf)
    best = int(np.argmin(means))
    return _record(
        function, dim, opt.name, {"learning_rate": float(lrs[best]), "dtype": "float32"},
        finals[best], np.full(starts.shape[0], iterations + 1), np.full(starts.shape[0], iterations),
        curves[best],
    )


def _learned_rows(dim: int, starts: int) -> int:
    """Starts one compiled call of a learned optimizer holds (its state grows as N^2)."""
    return int(np.clip(_LEARNED_LANES_PER_CALL // dim**2, 1, starts))


def run_learned(opt: LearnedOptimizer, function: str, dim: int, starts: np.ndarray, iterations: int) -> Record:
    """A learned optimizer from every start in chunks of ``jit(vmap)``."""
    run = jax.jit(jax.vmap(opt.trajectory(make_problem(function, dim).loss, iterations), in_axes=(0, None)))
    chunk = _learned_rows(dim, len(starts))
    curves = _in_chunks(lambda x0: run(jnp.asarray(x0, jnp.float32), opt.theta), starts, chunk).astype(np.float64)
    n = len(starts)
    return _record(
        function, dim, opt.name, {"checkpoint": opt.source, "dtype": "float32"}, curves[:, -1],
        np.full(n, iterations + 1), np.full(n, iterations), curves,
    )


def in_mode(opt: optim.Optimizer, mode: str) -> tuple[optim.Optimizer, optim.StopRule | None]:
    """The optimizer and stopping rule of a run in ``mode`` (``BenchmarkConfig.mode``): ``opt``
    alone ("fixed"), ``opt`` with the paper's rule ``RelativeDecrease()`` ("stopping"), or
    ``BasinHopping(opt)`` with its defaults ("basin-hopping")."""
    if mode == "basin-hopping":
        return optim.BasinHopping(opt), None
    return opt, optim.RelativeDecrease() if mode == "stopping" else None


def run_starts(opt: optim.Optimizer, config: BenchmarkConfig, function: str, dim: int, rows: np.ndarray):
    """``opt`` in ``config.mode`` from the starts ``rows`` (indices into ``starting_points``) with
    ``minimize``, each within ``config.iterations`` iterations: together when the mode's optimizer
    has ``minimize_batch`` (first-order and learned ones, deterministic), else start by start, start
    ``b`` with key ``fold_in(key(seed), b)`` (basin hopping's perturbations), however the starts are
    split. Returns (finals, nfev, nit, curves), a curve that ended early holding its last value."""
    moded, stop = in_mode(opt, config.mode)
    loss, budget = make_problem(function, dim).loss, config.iterations
    starts = starting_points(config, function, dim)[rows]
    if hasattr(moded, "minimize_batch"):
        results = moded.minimize_batch(loss, starts, budget=budget, stop=stop)
    else:
        key = jax.random.key(config.seed)
        results = [moded.minimize(loss, x0, budget=budget, key=jax.random.fold_in(key, b), stop=stop)
                   for b, x0 in zip(rows, starts)]  # fmt: skip
    return (
        [res.fun for res in results],  # NaN when x0 itself is non-finite; counted by _record
        [res.nfev for res in results], [res.nit for res in results],
        [np.pad(res.losses, (0, budget + 1 - res.losses.size), mode="edge") for res in results],
    )


def _joined(parts) -> tuple[list, ...]:
    """``run_starts`` outcomes of several groups of starts, in order, as one."""
    return tuple(sum((list(part[i]) for part in parts), []) for i in range(4))


def _run_starts(name: str, config: BenchmarkConfig, function: str, dim: int, rows: np.ndarray):
    """``run_starts`` of optimizer ``name`` (default config): a worker task for scipy's methods."""
    return run_starts(optim.get(name), config, function, dim, rows)


def run_cell(opt: optim.Optimizer, config: BenchmarkConfig, function: str, dim: int) -> Record:
    """``opt`` on one (function, dimension) in this process: learned optimizers in chunks of starts,
    first-order ones tuned on ``config.learning_rates`` (``tune_first_order``) and, outside
    "fixed" mode, run in ``config.mode`` with the rate found; others start by start."""
    starts, mode, every = starting_points(config, function, dim), config.mode, np.arange(config.starts)
    if isinstance(opt, LearnedOptimizer):  # a GradientOptimizer too, but tuned by meta-training
        if mode == "fixed":
            return run_learned(opt, function, dim, starts, config.iterations)
        size = _learned_rows(dim, config.starts)
        groups = [every[i : i + size] for i in range(0, config.starts, size)]
        outcomes = _joined([run_starts(opt, config, function, dim, rows) for rows in groups])
        return _record(function, dim, opt.name, {"checkpoint": opt.source, "dtype": "float32"}, *outcomes, mode=mode)
    if isinstance(opt, GradientOptimizer):
        tuned = tune_first_order(opt, function, dim, starts, config.learning_rates, config.iterations)
        if mode == "fixed":
            return tuned
        outcomes = run_starts(replace(opt, hyper=tuned.config["learning_rate"]), config, function, dim, every)
        return _record(function, dim, opt.name, tuned.config, *outcomes, mode=mode)
    return _record(function, dim, opt.name, {}, *run_starts(opt, config, function, dim, every), mode=mode)


def _single_threaded_worker() -> None:
    # BLAS thread pools spin while waiting; one worker process per core, each with several
    # spinning BLAS threads, ran scipy's BFGS 25x slower (measured on 2 cores)
    threadpoolctl.threadpool_limits(1)


def run_benchmark(config: BenchmarkConfig, progress: Callable[[str], None] | None = None) -> list[Record]:
    """Runs every (function, dimension, optimizer) of ``config``; ``progress(label)`` is called as
    each one finishes. Records come back ordered by function, dimension, optimizer."""
    progress = progress or (lambda label: None)
    cells = [(f, d) for f in config.functions for d in config.dims]
    optimizers = {name: optim.get(name) for name in config.optimizers}  # a missing checkpoint fails here
    scipy_names = [n for n, opt in optimizers.items() if isinstance(opt, ScipyOptimizer)]
    pending: dict[tuple[str, int, str], list[Future]] = {}
    records: dict[tuple[str, int, str], Record] = {}
    pool = None
    if scipy_names:
        pool = ProcessPoolExecutor(
            max_workers=config.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_single_threaded_worker,
        )
    try:
        for f, d in cells:
            for name in scipy_names:
                groups = np.array_split(np.arange(config.starts), min(config.starts, 2 * config.workers))
                pending[f, d, name] = [pool.submit(_run_starts, name, config, f, d, rows) for rows in groups]

        def collect(wait: bool) -> None:
            for key in [k for k, futures in pending.items() if wait or all(x.done() for x in futures)]:
                outcomes = _joined([future.result() for future in pending.pop(key)])
                opt = optimizers[key[2]]
                records[key] = _record(
                    *key, {"gradient": opt.gradient, "method": opt.method, "dtype": "float64"}, *outcomes,
                    mode=config.mode,
                )
                progress(f"{key[0]} {key[1]}d {key[2]}")

        for f, d in cells:
            for name, opt in optimizers.items():
                if name in scipy_names:
                    continue
                records[f, d, name] = run_cell(opt, config, f, d)
                progress(f"{f} {d}d {name}")
                collect(wait=False)
        collect(wait=True)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return [records[f, d, n] for f, d in cells for n in config.optimizers]
