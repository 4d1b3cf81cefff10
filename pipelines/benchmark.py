"""The classical-function benchmark flow: run, then write JSON, the Table 8 markdown and plots."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from motion_recon.configs import BenchmarkConfig
from motion_recon.functions.benchmark import Record, run_benchmark
from motion_recon.provenance import record
from motion_recon.functions.paper import agreement, load_paper_table, markdown_table
from motion_recon.functions.plots import plot_iteration_ratios, plot_performance_profile
from motion_recon.io import atomic_path, write_json, write_text

QUICK = dict(dims=(2, 10), starts=16, learning_rates=tuple(float(10.0**e) for e in range(-6, 1)))


def summary(records: list[Record], paper: dict) -> dict:
    """Per optimizer: how many (function, dim) rows agree with the paper, and which differ."""
    out = {}
    for name in dict.fromkeys(r.optimizer for r in records):
        good, bad = agreement(records, paper, name)
        if good or bad:
            out[name] = {
                "agree": len(good), "rows": len(good) + len(bad),
                "differ": [f"{r.function} {r.dim}d" for r in bad],
            }
    return out


def run_functions_benchmark(
    config: BenchmarkConfig,
    *,
    json_path: Path | None = None,
    table_path: Path | None = None,
    plots_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Record], dict]:
    """Runs the benchmark and writes whatever outputs were asked for (each atomically)."""
    start = time.perf_counter()
    records = run_benchmark(config, progress)
    paper = load_paper_table()
    report = {
        "protocol": asdict(config), "environment": record(), "command": sys.argv,
        "wall_s": time.perf_counter() - start, "loss_per_iteration": "current loss f(x_k), mean over starts",
        "table_value": "mean final value minus the global minimum (gap_mean)",
        "evaluations": "function evaluations a run used, mean over starts (nfev_mean)",
        "agreement_with_paper": summary(records, paper), "records": [r.to_json() for r in records],
    }
    if json_path is not None:
        write_json(json_path, report)
    if table_path is not None:
        write_text(table_path, markdown_table(records, paper))
    if plots_dir is not None:
        reference = "optimus" if "optimus" in config.optimizers else config.optimizers[0]
        with atomic_path(Path(plots_dir) / "performance_profile.png") as tmp:
            plot_performance_profile(records, tmp)
        with atomic_path(Path(plots_dir) / "iteration_ratios.png") as tmp:
            plot_iteration_ratios(records, reference, tmp)
    return records, report
