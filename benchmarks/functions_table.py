"""Merges benchmark result files (from functions_baselines.py) into one Table 8, performance
profile and iteration-ratio plot, e.g. the baselines and the learned optimizers on the held-out
dimensions.

    python benchmarks/functions_table.py --name functions_heldout --dims 250,500,1000 \\
        benchmarks/results/functions_baselines_250d.json benchmarks/results/functions_baselines_500d.json \\
        benchmarks/results/functions_adafactor_mlp.json benchmarks/results/functions_optimus.json \\
        benchmarks/results/functions_optimus_500d.json benchmarks/results/functions_1000d_?.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from motion_recon.functions.benchmark import Record
from motion_recon.functions.paper import load_paper_table, markdown_table
from motion_recon.functions.profiles import performance_profile, performance_ratios
from motion_recon.functions.plots import plot_iteration_ratios, plot_performance_profile
from motion_recon.io import atomic_path, write_json, write_text
from pipelines.benchmark import summary

RESULTS = Path(__file__).resolve().parent / "results"


def comparison(records: list[Record], reference: str) -> dict:
    """rho(1) per optimizer; for ``reference`` against each other optimizer: whether its profile
    is at or above the other's at every threshold, and on which fraction of cells it ends lower."""
    _, optimizers, ratios = performance_ratios(records)
    thresholds = np.logspace(0, 20, 2001)
    rho = performance_profile(ratios, thresholds)
    out = {"rho_at_1": {s: float(rho[i, 0]) for i, s in enumerate(optimizers)}}
    if reference in optimizers:
        ref = optimizers.index(reference)
        by_key = {(r.function, r.dim, r.optimizer): r.final_mean for r in records}
        cells = sorted({(r.function, r.dim) for r in records})
        out["versus"] = {
            other: {
                "profile_at_or_above_everywhere": bool(np.all(rho[ref] >= rho[i])),
                "ends_lower_fraction": float(np.mean([by_key[c + (reference,)] < by_key[c + (other,)] for c in cells])),
            }
            for i, other in enumerate(optimizers) if other != reference
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--name", required=True, help="stem of the output files")
    parser.add_argument("--reference", default="optimus", help="optimizer the iteration ratios compare against")
    parser.add_argument("--dims", default=None, help="keep only these dimensions, e.g. 250,500,1000")
    args = parser.parse_args()
    records = [Record(**r) for path in args.inputs for r in json.loads(path.read_text())["records"]]
    if args.dims:
        keep = {int(d) for d in args.dims.split(",")}
        records = [r for r in records if r.dim in keep]
    # only (function, dim) cells every optimizer ran, so the profile compares like with like
    names = set(r.optimizer for r in records)
    cells = {(r.function, r.dim) for r in records}
    complete = {c for c in cells if {r.optimizer for r in records if (r.function, r.dim) == c} == names}
    records = sorted((r for r in records if (r.function, r.dim) in complete), key=lambda r: (r.function, r.dim))
    paper = load_paper_table()
    write_text(RESULTS / f"{args.name}.md", markdown_table(records, paper))
    report = {"inputs": [str(p) for p in args.inputs], "cells": len(complete), "optimizers": sorted(names),
              "agreement_with_paper": summary(records, paper), **comparison(records, args.reference)}
    write_json(RESULTS / f"{args.name}_summary.json", report)
    with atomic_path(RESULTS / f"{args.name}_performance_profile.png") as tmp:
        plot_performance_profile(records, tmp)
    if args.reference in names:
        with atomic_path(RESULTS / f"{args.name}_iteration_ratios.png") as tmp:
            plot_iteration_ratios(records, args.reference, tmp)
    print(f"{len(complete)} (function, d) cells, optimizers {sorted(names)}")
    for name, s in report["agreement_with_paper"].items():
        print(f"{name:<14} {s['agree']:>3}/{s['rows']:<3} within 10x of the paper; rho(1) = {report['rho_at_1'][name]:.2f}")
    for other, v in report.get("versus", {}).items():
        print(f"{args.reference} vs {other}: profile at or above everywhere: {v['profile_at_or_above_everywhere']}, "
              f"ends lower on {100 * v['ends_lower_fraction']:.0f} % of cells")


if __name__ == "__main__":
    main()
