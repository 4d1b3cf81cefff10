"""The paper's Table 8 (transcribed in ``data/paper_table8.csv``) and our results beside it.

The paper's entries are read as the mean gap to the global minimum, ``mean f(x_T) - f*``: for
Styblinski-Tang, whose minimum is negative, every entry is positive and a multiple of the 14.1
separating its two basins per coordinate, which only the gap explains. For functions with
``f* = 0`` the gap is the mean final value.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from motion_recon.functions.benchmark import Record
from motion_recon.functions.library import FUNCTIONS
from motion_recon.paths import data_dir

AGREE_FACTOR = 10.0  # "agrees" means within this factor ...
AGREE_FLOOR = 1e-6  # ... or both below this value
OPTIMIZER_TITLES = {
    "bfgs": "BFGS", "optimus": "Optimus", "adafactor-mlp": "Adafactor MLP", "adam": "Adam",
    "gd-momentum": "GD-M", "lbfgs": "L-BFGS",
}


def load_paper_table(path: Path | None = None) -> dict[tuple[str, int], dict[str, float]]:
    """``{(function, dim): {optimizer: value}}`` from the transcribed Table 8 CSV."""
    path = path or data_dir() / "paper_table8.csv"
    with open(path, newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {
            (row.pop("function"), int(row.pop("dim"))): {k: float(v) for k, v in row.items()}
            for row in rows
        }


def agrees(ours: float, paper: float) -> bool:
    """Within a factor of 10 of each other, or both below 1e-6 (non-positive values never agree
    unless both are below the floor)."""
    if ours < AGREE_FLOOR and paper < AGREE_FLOOR:
        return bool(np.isfinite(ours))
    if ours <= 0 or paper <= 0 or not np.isfinite(ours):
        return False
    return 1.0 / AGREE_FACTOR <= ours / paper <= AGREE_FACTOR


def agreement(records: list[Record], paper: dict, optimizer: str) -> tuple[list[Record], list[Record]]:
    """Splits ``optimizer``'s records that have a paper value into (agreeing, differing)."""
    rows = [r for r in records if r.optimizer == optimizer and optimizer in paper.get((r.function, r.dim), {})]
    good = [r for r in rows if agrees(r.gap_mean, paper[r.function, r.dim][optimizer])]
    return good, [r for r in rows if r not in good]


def markdown_table(records: list[Record], paper: dict) -> str:
    """Table 8 layout: one row per (function, dim); per optimizer ours, the paper's value and our
    mean function evaluations per run (cost beside quality, as the paper's Table 4)."""
    optimizers = list(dict.fromkeys(r.optimizer for r in records))
    by_key = {(r.function, r.dim, r.optimizer): r for r in records}
    header = ["Function"]
    for name in optimizers:
        title = OPTIMIZER_TITLES.get(name, name)
        header += [f"{title} (ours)", f"{title} (paper)", f"{title} evals"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    cells = list(dict.fromkeys((r.function, r.dim) for r in records))
    for function, dim in cells:
        row = [f"{FUNCTIONS[function].title} {dim}d"]
        for name in optimizers:
            record = by_key[function, dim, name]
            ours, theirs = record.gap_mean, paper.get((function, dim), {}).get(name)
            mark = "" if theirs is None else (" ✓" if agrees(ours, theirs) else " ✗")
            row += [f"{ours:.2e}{mark}", "–" if theirs is None else f"{theirs:.2e}", f"{record.nfev_mean:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
