"""Table 8 on the 15 functions with the paper's protocol (default: the baselines BFGS, Adam, GD-M).

Writes benchmarks/results/NAME.json, NAME.md and the two figures (NAME_performance_profile.png,
NAME_iteration_ratios.png), and prints the agreement with the paper. The full grid (d up to 1000)
takes hours on 2 cores; ``--dims`` picks a subset. ``functions_table.py`` merges several runs.

    python benchmarks/functions_baselines.py --dims 2,10,20,50,100
    python benchmarks/functions_baselines.py --optimizers optimus,adafactor-mlp --name functions_learned
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from motion_recon.configs import BASELINES, PAPER_DIMS, BenchmarkConfig
from pipelines.benchmark import run_functions_benchmark

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default=",".join(map(str, PAPER_DIMS)))
    parser.add_argument("--functions", default=None, help="comma-separated (default: all 15)")
    parser.add_argument("--optimizers", default=",".join(BASELINES))
    parser.add_argument("--name", default="functions_baselines", help="stem of the output files")
    args = parser.parse_args()
    config = BenchmarkConfig(
        dims=tuple(int(d) for d in args.dims.split(",")), optimizers=tuple(args.optimizers.split(",")),
        **({"functions": tuple(args.functions.split(","))} if args.functions else {}),
    )
    with tempfile.TemporaryDirectory() as plots:
        _, report = run_functions_benchmark(
            config, json_path=RESULTS / f"{args.name}.json", table_path=RESULTS / f"{args.name}.md",
            plots_dir=Path(plots), progress=lambda label: print(label, flush=True),
        )
        for figure in ("performance_profile", "iteration_ratios"):
            shutil.copy(Path(plots) / f"{figure}.png", RESULTS / f"{args.name}_{figure}.png")
    print(f"{'optimizer':<12} {'agree':>5} {'rows':>5}  differing rows")
    for name, s in report["agreement_with_paper"].items():
        print(f"{name:<12} {s['agree']:>5} {s['rows']:>5}  {', '.join(s['differ'])}")
    print(f"wall time {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
