"""Windows one after another against all windows together (multiple shooting, DESIGN.md "Parallel
in time"): the bundled real mocap clips reconstructed window by window and with 1, 2 and 3
parallel rounds, each round ``--max-evals`` evaluations per window; MPJPE-G, MPJPE-PA, foot skate,
TV, the largest gap left at a window start, evaluations per window and wall time.

    python benchmarks/parallel_windows.py [--optimizers adam,bfgs] [--rounds 0,1,2,3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from motion_recon.datasets.arrays import read_npz
from motion_recon.provenance import record
from motion_recon.io import write_json, write_text
from motion_recon.paths import data_dir
from pipelines.configs import MocapConfig
from pipelines.mocap import reconstruct_motion

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("clip", "optimizer", "mode", "mpjpe_g", "mpjpe_pa", "foot_skate", "tv", "max_gap_mm", "evals_per_window", "wall_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", default="adam,bfgs")
    parser.add_argument("--rounds", default="0,1,2,3", help="0: window by window; R: R parallel rounds")
    parser.add_argument("--clips", default="walk,dance")
    parser.add_argument("--max-evals", type=int, default=50)
    parser.add_argument("--name", default="parallel_windows_cpu")
    args = parser.parse_args()
    rows = []
    print(" ".join(f"{c:>16s}" for c in COLUMNS))
    for clip in args.clips.split(","):
        sequence = read_npz(data_dir() / "samples" / f"mocap_{clip}.npz")
        for optimizer in args.optimizers.split(","):
            for rounds in (int(r) for r in args.rounds.split(",")):
                config = MocapConfig(optimizer=optimizer, max_evals=args.max_evals, parallel_rounds=rounds)
                start = time.perf_counter()
                result = reconstruct_motion(sequence, config)
                wall = time.perf_counter() - start
                metrics = result.metrics
                rows.append({
                    "clip": clip, "optimizer": optimizer, "mode": f"parallel x{rounds}" if rounds else "sequential",
                    **{k: metrics[k] for k in ("mpjpe_g", "mpjpe_pa", "foot_skate", "tv")},
                    "max_gap_mm": result.optimization["max_gap_mm"],
                    "evals_per_window": float(result.windows["nfev"].mean()), "wall_s": wall,
                })  # fmt: skip
                print(" ".join(f"{v:>16.2f}" if isinstance(v, float) else f"{v:>16s}" for v in rows[-1].values()), flush=True)
    write_json(RESULTS / f"{args.name}.json", {"environment": record(), "settings": vars(args), "rows": rows})
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in COLUMNS) + " |" for r in rows]
    write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / args.name}.json and .md")


if __name__ == "__main__":
    main()
