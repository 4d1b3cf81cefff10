"""PNG figures of the benchmark: performance profile (Fig. 3) and iteration ratios (Fig. 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_recon.functions.benchmark import Record
from motion_recon.functions.paper import OPTIMIZER_TITLES
from motion_recon.functions.profiles import iteration_ratios, performance_profile, performance_ratios
from motion_recon.plotting import pyplot

RATIO_FLOOR = 1e-2  # where "never reached" is drawn on the log axis of Fig. 4


def plot_performance_profile(records: list[Record], path: Path) -> None:
    """rho_s(t) against the threshold t (log axis) for every optimizer."""
    plt = pyplot()
    _, optimizers, ratios = performance_ratios(records)
    finite = ratios[np.isfinite(ratios)]
    t_max = max(10.0, float(finite.max()) * 2 if finite.size else 10.0)
    thresholds = np.logspace(0, np.log10(t_max), 400)
    rho = performance_profile(ratios, thresholds)
    fig, ax = plt.subplots(figsize=(6, 4))
    for s, name in enumerate(optimizers):
        ax.step(thresholds, rho[s], where="post", label=OPTIMIZER_TITLES.get(name, name))
    ax.set(xscale="log", xlabel="performance ratio threshold t", ylabel="fraction of problems rho(t)",
           ylim=(0, 1.02), title=f"Performance profile ({ratios.shape[0]} problems)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_iteration_ratios(records: list[Record], reference: str, path: Path) -> None:
    """Sorted per-problem iteration ratios baseline/reference against the task percentile."""
    plt = pyplot()
    ratios = iteration_ratios(records, reference)
    fig, ax = plt.subplots(figsize=(7, 4))
    for baseline, rows in ratios.items():
        values = np.maximum([ratio for _, ratio in rows], RATIO_FLOOR)
        pct = 100.0 * (np.arange(len(values)) + 1) / max(len(values), 1)
        ax.plot(pct, values, marker=".", label=f"{OPTIMIZER_TITLES.get(baseline, baseline)} / "
                f"{OPTIMIZER_TITLES.get(reference, reference)}")
    ax.axhline(1.0, color="black", linestyle=":")
    ax.set(yscale="log", xlabel="percentile of tasks", ylabel="iterations ratio (baseline / reference)",
           title=f"Iterations to reach the baseline's loss at 100 iterations (floor {RATIO_FLOOR}: never)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
