"""Evaluation throughput on Ray with 1 and 2 workers on this machine, and the per-window cost from
which a cluster run is extrapolated (the paper spread its evaluations over 400 machines).

The sequences are the bundled real mocap clips (data/samples), each reconstructed with two seeds,
one Ray task per sequence as ``recon eval --ray`` runs them. Every setting runs twice: the first
run includes the workers' start and compilation (from JAX's persistent cache, filled by a warm-up
run in this process first), the second is the steady state.

    python benchmarks/scaling.py [--max-evals 20] [--optimizer adam] [--name scaling_cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from motion_recon.diffphy.reconstruct import window_starts
from motion_recon.provenance import record
from motion_recon.io import write_json, write_text
from pipelines.distributed import TaskFailed, connect, map_tasks
from pipelines.configs import MocapConfig
from pipelines.mocap import reconstruct_motion
from pipelines.motion_pools import clip

RESULTS = Path(__file__).resolve().parent / "results"
H36M_VALIDATION_FRAMES = 100  # Table 6: frames 400-599 at 50 fps = 4 s = 100 frames at 25 fps


def reconstruct(sequence, config: MocapConfig) -> tuple[int, float]:
    """One sequence as a Ray task runs it: (windows, optimizer wall seconds)."""
    result = reconstruct_motion(sequence, config)
    return len(result.windows["start"]), float(result.optimization["wall_s"])


def run(calls, workers: int | None) -> dict:
    """Wall time of all ``calls`` in this process (``workers`` None) or on a local Ray instance
    with ``workers`` CPUs, twice (cold, steady)."""
    labels = [f"{sequence.name} seed {config.seed}" for sequence, config in calls]
    walls, values = [], None
    ray = connect("local", num_cpus=workers) if workers else None
    try:
        for _ in range(2):
            clock = time.perf_counter()
            values = map_tasks(reconstruct, calls, labels) if ray else [reconstruct(*call) for call in calls]
            walls.append(time.perf_counter() - clock)
    finally:
        if ray:
            ray.shutdown()
    failed = [v for v in values if isinstance(v, TaskFailed)]
    if failed:
        raise failed[0]
    windows = sum(w for w, _ in values)
    return {"workers": workers or 0, "cold_s": walls[0], "steady_s": walls[1], "sequences": len(calls),
            "windows": windows, "sequences_per_hour": 3600 * len(calls) / walls[1],
            "windows_per_s": windows / walls[1], "task_wall_s": [w for _, w in values]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-evals", type=int, default=20)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--name", default="scaling_cpu")
    args = parser.parse_args()
    clips = [clip(name) for name in ("mocap_walk.npz", "mocap_dance.npz")]
    calls = [(clip, MocapConfig(optimizer=args.optimizer, max_evals=args.max_evals, seed=seed))
             for seed in (0, 1) for clip in clips]  # fmt: skip
    reconstruct(*calls[0])  # fills the persistent compilation cache
    rows = [run(calls, None), run(calls, 1), run(calls, 2)]
    single = rows[1]
    window_s = single["steady_s"] / single["windows"]  # one worker, one window after another
    config = calls[0][1]
    h36m_windows = len(window_starts(H36M_VALIDATION_FRAMES, config.loss.window, config.loss.overlap))
    extrapolation = {
        "window_s": window_s, "evaluation_s": window_s / args.max_evals,
        "h36m_validation_windows": h36m_windows,
        "h36m_sequences_per_hour_per_worker": 3600 / (window_s * h36m_windows),
        "h36m_sequences_per_hour_per_worker_at_50_evals": 3600 / (window_s * 50 / args.max_evals * h36m_windows),
        "speedup_2_workers": rows[2]["sequences_per_hour"] / single["sequences_per_hour"],
    }  # fmt: skip
    lines = [f"# Evaluation on Ray: {len(calls)} sequences ({single['windows']} windows), {args.optimizer}, "
             f"{args.max_evals} evaluations per window", "",
             "| where | cold (s) | steady (s) | sequences / hour | windows / s |", "|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        where = f"Ray, {row['workers']} worker(s)" if row["workers"] else "this process, no Ray"
        lines.append(f"| {where} | {row['cold_s']:.1f} | {row['steady_s']:.1f} | {row['sequences_per_hour']:.0f} | "
                     f"{row['windows_per_s']:.2f} |")  # fmt: skip
    lines += ["", f"One window: {window_s:.2f} s ({1000 * extrapolation['evaluation_s']:.0f} ms per evaluation) on one "
              f"worker; a Human3.6M validation sequence (Table 6, {h36m_windows} windows): "
              f"{extrapolation['h36m_sequences_per_hour_per_worker']:.0f} sequences per hour per worker at "
              f"{args.max_evals} evaluations, {extrapolation['h36m_sequences_per_hour_per_worker_at_50_evals']:.0f} "
              f"at 50; 2 workers on this machine: {extrapolation['speedup_2_workers']:.2f}x one worker."]  # fmt: skip
    table = "\n".join(lines) + "\n"
    print(table)
    write_text(RESULTS / f"{args.name}.md", table)
    write_json(RESULTS / f"{args.name}.json", {"environment": record(), "settings": vars(args), "runs": rows,
                                               "extrapolation": extrapolation})  # fmt: skip


if __name__ == "__main__":
    main()
