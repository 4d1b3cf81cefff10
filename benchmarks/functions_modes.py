"""The paper's Table 4 operating modes on the classical benchmark: every optimizer with a fixed
budget, with the paper's stopping rule, and inside basin hopping (``recon bench functions --mode``),
quality beside cost.

Per seed (the random starts and basin hopping's perturbations are drawn from it) the benchmark
runs in each mode on the same cells; rows per optimizer and mode: function evaluations per run
(mean over cells and starts), the median over cells of the mean final gap to the minimum, and the
cells where the mode ends lower than the fixed budget, each as mean ± spread over the seeds.
Adam and GD-M are tuned on the fixed budget and keep that learning rate in the other modes.

    python benchmarks/functions_modes.py [--dims 2,10] [--starts 16] [--iters 200] [--seeds 0,1,2]
        [--optimizers bfgs,adam,gd-momentum,optimus] [--name functions_modes_cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from motion_recon.configs import BENCHMARK_MODES, BenchmarkConfig
from motion_recon.functions.benchmark import run_benchmark
from motion_recon.io import write_json, write_text
from motion_recon.optim.checkpoint import checkpoint_hash
from motion_recon.provenance import record
from pipelines.benchmark import QUICK

RESULTS = Path(__file__).resolve().parent / "results"


def scores(records: list, fixed: list) -> dict:
    """One mode's records against the fixed budget's, on the same cells."""
    baseline = {(r.function, r.dim): r.gap_mean for r in fixed}
    gaps = [r.gap_mean for r in records]
    return {"evaluations": float(np.mean([r.nfev_mean for r in records])),
            "median_gap": float(np.median(gaps)),
            "lower_than_fixed": float(np.mean([r.gap_mean < baseline[r.function, r.dim] for r in records]))}  # fmt: skip


def table(rows: dict) -> str:
    lines = ["| optimizer | mode | evaluations per run | median gap over cells | cells lower than fixed |",
             "|---|---|---|---|---|"]  # fmt: skip
    for (optimizer, mode), per_seed in rows.items():
        cells = []
        for key, form in (("evaluations", ".1f"), ("median_gap", ".2e"), ("lower_than_fixed", ".2f")):
            values = [s[key] for s in per_seed]
            cells.append(f"{np.mean(values):{form}} ± {np.std(values):{form}}")
        lines.append(f"| {optimizer} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="2,10")
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--optimizers", default="bfgs,adam,gd-momentum,optimus")
    parser.add_argument("--name", default="functions_modes_cpu")
    args = parser.parse_args()
    started = time.perf_counter()
    dims, optimizers = tuple(int(d) for d in args.dims.split(",")), tuple(args.optimizers.split(","))
    rows, records = {}, {}
    for seed in (int(s) for s in args.seeds.split(",")):
        by_mode = {}
        for mode in BENCHMARK_MODES:
            config = BenchmarkConfig(dims=dims, starts=args.starts, iterations=args.iters, optimizers=optimizers, seed=seed,
                                     learning_rates=QUICK["learning_rates"], workers=1, mode=mode)  # fmt: skip
            by_mode[mode] = run_benchmark(config)
            records[f"{mode}/seed{seed}"] = [r.to_json() for r in by_mode[mode]]
            print(f"seed {seed} {mode}: {len(by_mode[mode])} records", flush=True)
        for optimizer in optimizers:
            mine = {mode: [r for r in rs if r.optimizer == optimizer] for mode, rs in by_mode.items()}
            for mode in BENCHMARK_MODES:
                rows.setdefault((optimizer, mode), []).append(scores(mine[mode], mine["fixed"]))
    text = table(rows)
    print(text)
    learned = {r["config"]["checkpoint"] for rs in records.values() for r in rs if "checkpoint" in r["config"]}
    environment = {**record(), "checkpoints": {source: checkpoint_hash(source) for source in sorted(learned)}}
    write_json(RESULTS / f"{args.name}.json", {"settings": vars(args), "environment": environment,
                                               "wall_s": time.perf_counter() - started,
                                               "rows": [{"optimizer": o, "mode": m, "per_seed": s} for (o, m), s in rows.items()],
                                               "records": records})  # fmt: skip
    write_text(RESULTS / f"{args.name}.md", f"# Operating modes on the classical benchmark\n\n"
                                            f"Settings: {vars(args)}\n\n{text}\n")  # fmt: skip
    print(f"wrote {RESULTS / args.name}.json and .md")


if __name__ == "__main__":
    main()
