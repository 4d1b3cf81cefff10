"""Window length and overlap of the DiffPhy reconstruction (``LossConfig.window``, ``overlap``):
the bundled real walk reconstructed with one optimizer at 50 evaluations per window for each
(window, overlap) pair; MPJPE-G, MPJPE-PA, foot skate, wall time.

    python benchmarks/diffphy_windows.py [--optimizer adam] [--pairs 5/0,8/4,10/5,10/7,15/10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from motion_recon.datasets.arrays import read_npz
from motion_recon.configs import LossConfig
from motion_recon.provenance import record
from motion_recon.io import write_json
from motion_recon.paths import data_dir
from pipelines.configs import MocapConfig
from pipelines.mocap import reconstruct_motion

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--pairs", default="5/0,8/4,10/5,10/7,15/10", help="window/overlap pairs")
    parser.add_argument("--max-evals", type=int, default=50)
    args = parser.parse_args()
    walk = read_npz(data_dir() / "samples" / "mocap_walk.npz")
    rows = []
    print(f"{'window':>6s} {'overlap':>7s} {'MPJPE-G':>8s} {'MPJPE-PA':>8s} {'skate %':>8s} {'wall s':>7s}")
    for pair in args.pairs.split(","):
        window, overlap = (int(v) for v in pair.split("/"))
        config = MocapConfig(optimizer=args.optimizer, max_evals=args.max_evals,
                             loss=LossConfig(window=window, overlap=overlap))  # fmt: skip
        start = time.perf_counter()
        metrics = reconstruct_motion(walk, config).metrics
        rows.append({"window": window, "overlap": overlap, **metrics, "wall_s": time.perf_counter() - start})
        r = rows[-1]
        print(f"{window:6d} {overlap:7d} {r['mpjpe_g']:8.1f} {r['mpjpe_pa']:8.1f} {r['foot_skate']:8.1f} {r['wall_s']:7.0f}",
              flush=True)  # fmt: skip
    write_json(RESULTS / "diffphy_windows.json", {"environment": record(), "settings": vars(args), "rows": rows})
    print(f"wrote {RESULTS / 'diffphy_windows.json'}")


if __name__ == "__main__":
    main()
