"""The body fit on the skeletons people have: with the trunk's geometry estimated from the data
(``body_models.shape.trunk_geometry``, the default) and with the canonical trunk (hips level with
the pelvis, shoulders level with the thorax: the fit before), on

- BVH files in the CMU and Mixamo styles (``tests/bvh_files.py``: the bundled DeepMimic jump and
  dance re-rigged; CMU: root 11 cm above the hips, clavicles, 1/0.45-inch units, 120 Hz, scaled to
  a 1.78 m actor; Mixamo: centimetres, 30 fps);
- the eight bundled DeepMimic clips (``data/samples``).

Part 1: the kinematic fit error (IK then FK against the observations at the simulator's rate:
the mean over joints of each joint's mean error, and the worst joint's, mm; as ``recon mocap``
reports it) and the fitted body's height. Part 2: ``recon mocap`` of the CMU-style jump (Adam,
50 evaluations per window, the defaults) with each fit: MPJPE-G, MPJPE-PA, foot skate; and of
the DeepMimic jump it was rigged from, on its own body (which the fit represents to 2.3 mm): what
the physics and the optimizer reach on this motion with a body that fits.

    python benchmarks/body_fit.py [--no-recon] [--name body_fit] [--results DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from body_models.fit import initialise, to_h36m17
from body_models.humanoid import build_humanoid
from body_models.kinematics import forward_kinematics
from body_models.shape import estimate_shape
from motion_recon import physics
from motion_recon.datasets import read_motion
from motion_recon.io import write_json, write_text
from motion_recon.provenance import record
from pipelines.configs import MocapConfig
from pipelines.mocap import kinematic_fit, reconstruct_motion
from pipelines.motion_pools import TEST_CLIPS, TRAIN_CLIPS, clip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the BVH fixtures of the test suite
from bvh_files import cmu_bvh, mixamo_bvh  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
FITS = {"canonical": False, "trunk": True}  # name -> estimate_shape(trunk=...)


def inputs(folder: Path) -> list[tuple[str, str, object]]:
    """(style, clip, MotionSequence) of the BVH fixtures (written to ``folder``) and the bundled clips."""
    out = []
    for style, source, write in (("cmu", "mocap_jump.npz", cmu_bvh), ("mixamo", "mocap_dance.npz", mixamo_bvh)):
        sequence = clip(source)
        path = folder / f"{style}_{Path(source).stem}.bvh"
        path.write_text(write(sequence.keypoints, sequence.fps))
        out.append((style, source, read_motion(path)))
    return out + [("deepmimic", name, clip(name)) for name in (*TEST_CLIPS, *TRAIN_CLIPS)]


def fitted(sequence, trunk: bool):
    """``initialise`` of ``sequence`` with the body ``estimate_shape(trunk=trunk)`` fits to it."""
    observed = to_h36m17(sequence.resampled(physics.DEFAULT_CONFIG.fps))
    window = MocapConfig().loss.window
    return initialise(sequence, window, humanoid=build_humanoid(estimate_shape(observed, trunk=trunk)))


def fit_row(style: str, name: str, sequence) -> dict:
    row = {"style": style, "clip": name, "units": sequence.source.get("units", "m"), "fps": round(sequence.fps, 3)}
    for fit, trunk in FITS.items():
        init = fitted(sequence, trunk)
        errors = kinematic_fit(np.asarray(forward_kinematics(init.humanoid, init.qpos)), init.lifted)
        row[fit] = {**errors, "height_m": init.humanoid.shape.height}
    return row


def recon_rows(cmu_style, deepmimic) -> dict:
    """``recon mocap`` metrics of the CMU-style jump with each fit and of its DeepMimic source."""
    rows = {}
    for label, sequence, trunk in (("CMU-style jump, canonical trunk", cmu_style, False),
                                   ("CMU-style jump, estimated trunk", cmu_style, True),
                                   ("DeepMimic jump (its source), estimated trunk", deepmimic, True)):  # fmt: skip
        started = time.perf_counter()
        result = reconstruct_motion(sequence, MocapConfig(), init=fitted(sequence, trunk))
        keep = ("mpjpe_g", "mpjpe_pa", "foot_skate", "kinematic_fit_mm", "kinematic_fit_max_mm")
        rows[label] = {**{k: result.metrics[k] for k in keep}, "wall_s": time.perf_counter() - started}
    return rows


def markdown(fits: list[dict], recon: dict | None) -> str:
    lines = ["| style | clip | units, fps | kinematic fit mm, mean / worst joint: canonical | trunk | height m: canonical | trunk |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in fits:
        c, t = row["canonical"], row["trunk"]
        lines.append(f"| {row['style']} | {row['clip']} | {row['units']}, {row['fps']:g} | "
                     f"{c['kinematic_fit_mm']:.1f} / {c['kinematic_fit_max_mm']:.1f} | {t['kinematic_fit_mm']:.1f} / "
                     f"{t['kinematic_fit_max_mm']:.1f} | {c['height_m']:.3f} | {t['height_m']:.3f} |")  # fmt: skip
    if recon:
        lines += ["", "| recon mocap, Adam 50 evals/window | kinematic fit mm | MPJPE-G mm | MPJPE-PA mm | foot skate % | wall s |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for label, m in recon.items():
            lines.append(f"| {label} | {m['kinematic_fit_mm']:.1f} | {m['mpjpe_g']:.1f} | {m['mpjpe_pa']:.1f} | "
                         f"{m['foot_skate']:.1f} | {m['wall_s']:.0f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-recon", action="store_true", help="part 1 only")
    parser.add_argument("--name", default="body_fit")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the table and the JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        motions = inputs(Path(folder))
        fits = [fit_row(*motion) for motion in motions]
        jump = next(sequence for style, name, sequence in motions if (style, name) == ("deepmimic", "mocap_jump.npz"))
        recon = None if args.no_recon else recon_rows(motions[0][2], jump)
    table = markdown(fits, recon)
    print("\n" + table)
    path = args.results / f"{args.name}.json"
    write_json(path, {"environment": record(), "settings": {**vars(args), "results": str(args.results)},
                      "fits": fits, "recon": recon})  # fmt: skip
    write_text(path.with_suffix(".md"), table)
    print(f"wrote {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
