"""Aggregate comparisons of the paper's section 5.1: performance profiles (Fig. 3, Dolan & More
2002) and iteration ratios (Fig. 4)."""

from __future__ import annotations

import numpy as np

from motion_recon.functions.benchmark import Record


def performance_ratios(records: list[Record]) -> tuple[list[tuple[str, int]], list[str], np.ndarray]:
    """Ratios ``r[p, s] = m[p, s] / min_s m[p, s]`` with ``m = (f - f*) / (f_worst - f*)``.

    ``f`` is a method's mean final value on problem ``p`` (a (function, dim) pair). Ties and
    failures are explicit: a non-finite ``f`` gets ``r = inf``; where the best method is exactly at
    the minimum (``min m = 0``) methods also at 0 get ``r = 1`` and the others ``inf``; where every
    finite method has the same value all get ``r = 1``.

    Returns:
      (problems (P,), optimizers (S,), ratios (P, S)).
    """
    optimizers = list(dict.fromkeys(r.optimizer for r in records))
    problems = list(dict.fromkeys((r.function, r.dim) for r in records))
    by_key = {(r.function, r.dim, r.optimizer): r for r in records}
    ratios = np.full((len(problems), len(optimizers)), np.inf)
    for p, (function, dim) in enumerate(problems):
        rows = [by_key[function, dim, s] for s in optimizers]
        gaps = np.array([max(r.final_mean - r.minimum, 0.0) for r in rows])
        finite = np.isfinite(gaps)
        if not finite.any():
            continue
        worst = gaps[finite].max()
        if worst == 0.0:
            ratios[p, finite] = 1.0
            continue
        m = np.where(finite, gaps / worst, np.inf)
        best = m.min()
        ratios[p] = np.where(m == best, 1.0, m / best if best > 0 else np.inf)
    return problems, optimizers, ratios


def performance_profile(ratios: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``rho[s, i]``: fraction of problems with ``r[p, s] <= thresholds[i]``."""
    return (ratios[:, :, None] <= thresholds[None, None, :]).mean(axis=0)


def iterations_to_reach(curve: np.ndarray, target: float) -> float:
    """First iteration whose loss is at or below ``target`` (``inf`` if none)."""
    hit = np.flatnonzero(np.asarray(curve) <= target)
    return float(hit[0]) if hit.size else np.inf


def iteration_ratios(records: list[Record], reference: str, *, at_iteration: int = 100) -> dict[str, list[tuple[str, float]]]:
    """For each baseline, per problem: iterations the baseline needs to reach its own mean loss at
    ``at_iteration`` divided by the iterations ``reference`` needs for the same loss (counted as
    evaluations, iteration + 1, so a start that already meets the target counts one). Above 1,
    ``reference`` is faster; 0 means ``reference`` never reached it. Sorted by decreasing ratio.
    """
    by_key = {(r.function, r.dim, r.optimizer): r for r in records}
    baselines = [s for s in dict.fromkeys(r.optimizer for r in records) if s != reference]
    out = {}
    for baseline in baselines:
        rows = []
        for (function, dim, name), rec in by_key.items():
            if name != baseline or (function, dim, reference) not in by_key:
                continue
            curve = np.asarray(rec.loss_mean)
            target = curve[min(at_iteration, curve.size - 1)]
            need_base = iterations_to_reach(curve, target) + 1
            need_ref = iterations_to_reach(np.asarray(by_key[function, dim, reference].loss_mean), target) + 1
            rows.append((f"{function} {dim}d", 0.0 if np.isinf(need_ref) else need_base / need_ref))
        out[baseline] = sorted(rows, key=lambda row: -row[1])
    return out
