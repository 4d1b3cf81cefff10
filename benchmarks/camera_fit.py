"""The camera fit of ``recon video`` against the true cameras of the semi-synthetic sequences
(``benchmarks/video_semisynthetic.py``: the same motions, cameras and detector-like errors), no
physics: the error of the fitted up direction (degrees; at the assumed focal length, as ``recon
video`` without ``--focal``) and of the focal length, estimated
(``camera_fit.estimate_focal``) and assumed (60 degrees across the long side), as
|log(focal / true focal)|. Tuning and untuned sequences are reported apart.

    python benchmarks/camera_fit.py [--seeds 0,1,2] [--name camera_fit]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motion_recon.provenance import record
from motion_recon.io import write_json, write_text
from motion_recon.datasets.semisynthetic import detections, virtual_camera
from motion_recon.perception.camera_fit import estimate_focal, fit_camera, intrinsics
from motion_recon.perception.left_right import unswap
from motion_recon.perception.people import select_person
from video_semisynthetic import SEQUENCES, TUNING, motion

RESULTS = Path(__file__).resolve().parent / "results"


def measure(index: int, seed: int) -> dict:
    """Up and focal errors of one sequence and seed."""
    name = SEQUENCES[index]
    world, fps = motion(name)
    camera = virtual_camera(index, world)
    people, _ = detections(world, camera, seed, index)
    track = select_person(people, 0, fps, camera.width, camera.height, {}, name)
    pixels, confidence, poses, _ = unswap(track.keypoints, track.confidence, track.world)
    fitted, _ = fit_camera(pixels, confidence, poses, fps, camera.width, camera.height)  # the assumed focal length
    up_error = np.degrees(np.arccos(np.clip(fitted.R[:, 2] @ camera.R[:, 2], -1.0, 1.0)))
    focal = estimate_focal(pixels, confidence, poses, camera.width, camera.height)
    true = camera.K[0, 0]
    return {"sequence": name, "seed": seed, "tuning": name in TUNING, "up_error_deg": float(up_error),
            "true_focal": float(true), "estimated_focal": focal, "estimated_log_error": float(abs(np.log(focal / true))),
            "default_log_error": float(abs(np.log(intrinsics(camera.width, camera.height)[0, 0] / true)))}  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = ["| sequences | runs | up error deg, mean (worst) | focal estimated, median (worst) | focal assumed, median (worst) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for label, tuning in (("tuning", True), ("untuned", False)):
        mine = [r for r in rows if r["tuning"] == tuning]
        if not mine:
            continue
        cells = [f"{np.mean(v):.1f} ({np.max(v):.1f})" if key == "up_error_deg" else f"{np.median(v):.3f} ({np.max(v):.3f})"
                 for key in ("up_error_deg", "estimated_log_error", "default_log_error")
                 for v in [[r[key] for r in mine]]]  # fmt: skip
        lines.append(f"| {label} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--name", default="camera_fit")
    args = parser.parse_args()
    rows = [measure(index, int(seed)) for seed in args.seeds.split(",") for index in range(len(SEQUENCES))]
    text = table(rows)
    print(text)
    write_json(RESULTS / f"{args.name}.json", {"settings": vars(args), "environment": record(), "runs": rows})
    write_text(RESULTS / f"{args.name}.md", "# Camera fit against the true cameras (semi-synthetic)\n\n" + text)
    print(f"wrote {RESULTS / args.name}.json and .md")


if __name__ == "__main__":
    main()
