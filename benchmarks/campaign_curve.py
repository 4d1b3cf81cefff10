"""The DiffPhy meta-training campaign's held-out curve: how the fixed test-pool windows of
``benchmarks/diffphy.py`` (parts 2 and 3: mocap and video-style) fare at each scored checkpoint
of ``optimus-diffphy-pool``, against Adam on the same windows.

It reads every ``benchmarks/results/diffphy_pool_<steps>_cpu.json`` and
``diffphy_windows_<steps>_cpu.json`` (the steps are in the name), recomputes each summary from the
stored loss traces (so older files, written before a column existed, get it too), takes the
cumulative CPU hours at those steps from the checkpoint's ``training_log.json``, and writes
``benchmarks/results/campaign_curve.{md,json,png}``.

    python benchmarks/campaign_curve.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from diffphy import summarise
from motion_recon.io import write_json, write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LOG = ROOT / "data" / "checkpoints" / "optimus-diffphy-pool" / "training_log.json"
SCORED = re.compile(r"diffphy_(?:pool|windows)_(\d+)_cpu\.json")
PARTS = {"fixed_windows": "mocap", "video_windows": "video"}


def points() -> list[dict]:
    """One row per scored checkpoint, in order of steps."""
    cpu_s = {entry["step"]: entry["cpu_s"] for entry in json.loads(LOG.read_text())["log"]}
    rows = []
    for path in sorted(RESULTS.glob("diffphy_*_cpu.json")):
        match = SCORED.fullmatch(path.name)
        if match is None:
            continue
        run, steps = json.loads(path.read_text()), int(match.group(1))
        (optimus,) = [name for name in run["checkpoints"] if name.startswith("optimus")]
        row = {"steps": steps, "cpu_hours": cpu_s[steps] / 3600.0, "file": path.name,
               "sha256": run["checkpoints"][optimus]["sha256"]}  # fmt: skip
        for part, label in PARTS.items():
            if part not in run:
                continue
            summary = summarise(run[part]["traces"])
            row[label] = {"optimus_final_over_start": summary[optimus]["median_final_over_start"],
                          "adam_final_over_start": summary["adam"]["median_final_over_start"],
                          "evals_to_adam_loss_median": summary[optimus]["evals_to_adam_loss_median"],
                          "windows_reaching_adam_loss": summary[optimus]["windows_reaching_adam_loss"]}  # fmt: skip
        rows.append(row)
    return sorted(rows, key=lambda r: r["steps"])


def markdown(rows: list[dict]) -> str:
    def cells(part: dict | None) -> str:
        if part is None:
            return "- | - | - | -"
        evals = part["evals_to_adam_loss_median"]
        return (f"{part['optimus_final_over_start']:.3f} | {part['adam_final_over_start']:.3f} | "
                f"{'never' if not np.isfinite(evals) else f'{evals:.0f}'} | {100 * part['windows_reaching_adam_loss']:.0f} %")  # fmt: skip

    lines = ["| PES steps | CPU hours | checkpoint | mocap: Optimus final / start | Adam | evals to Adam's loss (median) "
             "| windows reaching it | video: Optimus final / start | Adam | evals to Adam's loss (median) | windows reaching it |",
             "|" + "---|" * 11]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['steps']:,} | {r['cpu_hours']:.2f} | `{r['sha256'][:12]}` | {cells(r.get('mocap'))} | {cells(r.get('video'))} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, title in ((axes[0], "final_over_start", "median final / start loss"),
                           (axes[1], "windows_reaching_adam_loss", "windows reaching Adam's final loss")):  # fmt: skip
        for label, colour in (("mocap", "tab:blue"), ("video", "tab:orange")):
            scored = [r for r in rows if label in r]
            steps = [r["steps"] for r in scored]
            value = "optimus_final_over_start" if key == "final_over_start" else key
            ax.plot(steps, [r[label][value] for r in scored], "o-", color=colour, label=f"Optimus, {label} windows")
            if key == "final_over_start" and scored:
                ax.axhline(scored[-1][label]["adam_final_over_start"], color=colour, ls="--", lw=1, label=f"Adam, {label}")
        ax.set_xlabel("PES steps")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    rows = points()
    table = markdown(rows)
    print(table)
    write_json(RESULTS / "campaign_curve.json", {"points": rows})
    write_text(RESULTS / "campaign_curve.md", "# The DiffPhy campaign on the test pool's fixed windows (50 evaluations)\n\n" + table)
    plot(rows, RESULTS / "campaign_curve.png")
    print(f"wrote {RESULTS / 'campaign_curve'}.md, .json and .png")


if __name__ == "__main__":
    main()
