"""``recon video`` on the bundled clip (data/samples/walk.mp4): wall time per stage and the quality
of the physics result against the kinematic baseline (the detector's keypoints lifted and placed
by the fitted camera, no physics).

Per optimizer (each in a fresh process): seconds for decode, detect, initialise, optimize (the
first window includes MJX's compilation unless the persistent cache has it: run twice for the
warm number) and render (overlay video); MPJPE-2d against the detections (px, confidence
weighted), TV (m/frame^2) and foot skate (% of frames) of both motions. Targets (issue 6): physics
halves TV and foot skate with MPJPE-2d within 10 % of the kinematic baseline; the clip in at most
10 min on 2 CPU cores (scaled to 10 s of video) and 30 s on an H100.

Seeds: seed 0 reconstructs the detections as they are; seed k > 0 first moves every detected
keypoint by Gaussian noise of ``SEED_JITTER_PX`` (seeded by k), about the difference between
the detector's outputs on two CPUs. A window chain whose quality hangs on such differences (one
window losing balance and spoiling the rest) shows as a spread over seeds.

    python benchmarks/video.py [--optimizers adam,bfgs,optimus] [--seeds 0,1,2] [--max-evals 150]
                               [--loss NAME=VALUE,...] [--name video_cpu]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from motion_recon.provenance import record
from motion_recon.io import write_json, write_text
from motion_recon.paths import data_dir

RESULTS = Path(__file__).resolve().parent / "results"
CLIP = data_dir() / "samples" / "walk.mp4"
STAGES = ("decode", "detect", "initialise", "optimize", "render")
SEED_JITTER_PX = 0.1
METRICS = ("mpjpe_2d", "tv", "foot_skate")


def jittered(frames: list, seed: int) -> list:
    """Per-frame detections with every keypoint moved by ``SEED_JITTER_PX`` Gaussian noise (seed 0:
    unchanged)."""
    if seed == 0:
        return frames
    rng = np.random.default_rng(seed)
    return [[replace(d, keypoints=d.keypoints + rng.normal(0.0, SEED_JITTER_PX, d.keypoints.shape)) for d in people]
            for people in frames]  # fmt: skip


def run(optimizer: str, max_evals: int, seed: int, loss: str = "") -> dict:
    """One reconstruction of the clip with its overlay (``loss``: video loss changes,
    ``name=value,...``); times and metrics."""
    from pipelines.configs import VIDEO_LOSS, VideoConfig, loss_changes
    from pipelines.video import isolated as in_own_process, open_video, reconstruct_detections, render_overlay

    started = time.perf_counter()
    config = VideoConfig(optimizer=optimizer, max_evals=max_evals, seed=seed, loss=replace(VIDEO_LOSS, **loss_changes(loss)))
    info, first, _, frames, stage_s = in_own_process(open_video, CLIP, config.start, config.end, config.max_frames, True)
    video_run = reconstruct_detections(jittered(frames, seed), info, first, config, str(CLIP), stage_s)
    with tempfile.TemporaryDirectory() as folder:
        render_overlay(Path(folder) / "overlay.mp4", CLIP, video_run)
    result = video_run.result
    return {
        "optimizer": optimizer, "max_evals": max_evals, "seed": seed, "loss": asdict(config.loss),
        "feedforward": config.feedforward, "velocity_half_width": config.velocity_half_width, "video_frames": len(video_run.track.found),
        "video_s": len(video_run.track.found) / video_run.track.fps, "frames_with_person": int(video_run.track.found.sum()),
        "windows": len(result.windows["nfev"]), "recoveries": int(result.optimization["recoveries"]),
        "stage_s": video_run.stage_s, "total_s": time.perf_counter() - started,
        "physics": {k: result.metrics[k] for k in (*METRICS, "residual_force_pct")}, "kinematic": video_run.kinematic,
    }  # fmt: skip


def isolated(fn, *args):
    """``fn(*args)`` in a fresh process, so each run's compiled programs are freed afterwards."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def verdict(row: dict) -> dict:
    """The issue's targets for one run."""
    physics, kinematic = row["physics"], row["kinematic"]
    per_10s = row["total_s"] - row["stage_s"]["render"]
    return {
        "tv_halved": physics["tv"] <= 0.5 * kinematic["tv"],
        "foot_skate_halved": physics["foot_skate"] <= 0.5 * kinematic["foot_skate"],
        "mpjpe_2d_within_10pct": physics["mpjpe_2d"] <= 1.1 * kinematic["mpjpe_2d"],
        "seconds_per_10s_of_video": per_10s * 10.0 / row["video_s"],
    }


def table(rows: list[dict]) -> str:
    header = ["optimizer", "seed", "evals", *[f"{s} s" for s in STAGES], "10 s clip s", "MPJPE-2d px", "TV", "skate %",
              "residual % bw", "recoveries", "kin. MPJPE-2d", "kin. TV", "kin. skate %"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["optimizer"], str(row["seed"]), str(row["max_evals"]), *[f"{row['stage_s'][s]:.1f}" for s in STAGES],
                 f"{row['verdict']['seconds_per_10s_of_video']:.0f}",
                 *[f"{row['physics'][k]:.2f}" for k in (*METRICS, "residual_force_pct")], str(row["recoveries"]),
                 *[f"{row['kinematic'][k]:.2f}" for k in METRICS]]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread(rows: list[dict]) -> str:
    """Per optimizer, mean and standard deviation over seeds of the physics/kinematic ratios."""
    lines = ["| optimizer | seeds | MPJPE-2d / kin. | TV / kin. | skate / kin. | all bounds met |", "|---|---|---|---|---|---|"]
    for optimizer in dict.fromkeys(row["optimizer"] for row in rows):
        mine = [row for row in rows if row["optimizer"] == optimizer]
        ratios = [[row["physics"][k] / max(row["kinematic"][k], 1e-9) for row in mine] for k in METRICS]
        met = all(row["verdict"]["tv_halved"] and row["verdict"]["foot_skate_halved"]
                  and row["verdict"]["mpjpe_2d_within_10pct"] for row in mine)  # fmt: skip
        cells = [f"{np.mean(r):.3f} ± {np.std(r):.3f}" for r in ratios]
        lines.append(f"| {optimizer} | {len(mine)} | " + " | ".join(cells) + f" | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", default="adam,bfgs,optimus")
    parser.add_argument("--seeds", default="0", help="comma-separated; k > 0 jitters the detections (module doc)")
    parser.add_argument("--max-evals", type=int, default=150)
    parser.add_argument("--loss", default="", help="video loss changes, e.g. image_shift_weight=1,ground_contact_weight=0")
    parser.add_argument("--name", default="video_cpu")
    args = parser.parse_args()
    rows = []
    for optimizer in args.optimizers.split(","):
        for seed in (int(k) for k in args.seeds.split(",")):
            row = isolated(run, optimizer, args.max_evals, seed, args.loss)
            row["verdict"] = verdict(row)
            rows.append(row)
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows) + "\n\n" + spread(rows)
    print(text)
    write_json(RESULTS / f"{args.name}.json", {"clip": str(CLIP.name), "settings": vars(args), "environment": record(), "runs": rows})
    write_text(RESULTS / f"{args.name}.md", text + "\n")
    print(f"wrote {RESULTS / args.name}.json and .md")


if __name__ == "__main__":
    main()
