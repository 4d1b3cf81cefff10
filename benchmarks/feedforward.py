"""How well zero controls track a motion, with the kinematic poses as PD targets and with the poses
led by the joints' damping time (``body_models.kinematics.led_targets``, ``--feedforward`` of the
video benchmark).

Per motion (the eight bundled DeepMimic clips, resampled to the simulator's rate as ``recon mocap``
does), every 10-frame window starts from the kinematic state at its first frame and is simulated
under the targets at u = 0; reported is the mean keypoint distance (mm) between the simulated
keypoints and the kinematic (IK) pose's over the window's frames after its first. This is where
every optimizer starts, before any evaluation of the loss.

    python benchmarks/feedforward.py [--leads 0,0.05,0.1] [--name feedforward_cpu]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motion_recon.io import write_json, write_text
from motion_recon.provenance import record

RESULTS = Path(__file__).resolve().parent / "results"
CLIPS = ("walk", "dance", "dance_a", "spinkick", "run", "jump", "kick", "punch")
WINDOW = 10


def tracking_error_mm(name: str, leads: list[float]) -> dict[str, float]:
    """Zero-control tracking error (mm) of one clip per lead (s)."""
    from body_models.fit import initialise
    from body_models.kinematics import forward_kinematics, led_targets
    from body_models.model_files import physics_model
    from motion_recon import physics
    from pipelines import motion_pools

    init = initialise(motion_pools.clip(f"mocap_{name}.npz"), WINDOW)
    sim = physics.simulator(physics_model(init.humanoid, config=physics.DEFAULT_CONFIG), physics.DEFAULT_CONFIG, "mjx")
    kinematic = np.asarray(forward_kinematics(init.humanoid, init.qpos))
    errors = {}
    for seconds in leads:  # every joint group's kd / kp is 0.1 s: the lead of ``feedforward``
        targets = led_targets(init.humanoid, init.qpos, init.qvel, seconds)
        per_window = []
        for start in range(0, len(targets) - WINDOW, WINDOW):
            span = slice(start, start + WINDOW + 1)
            rollout = sim.compiled_rollout(init.qpos[start].astype(np.float32), init.qvel[start].astype(np.float32),
                                           targets[span].astype(np.float32))  # fmt: skip
            gap = np.asarray(rollout.keypoints)[1:] - kinematic[span][1:]
            per_window.append(np.linalg.norm(gap, axis=-1).mean())
        errors[f"{seconds:g}"] = 1000.0 * float(np.mean(per_window))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", default="0,0.05,0.1", help="leads in seconds (0: the poses themselves)")
    parser.add_argument("--name", default="feedforward_cpu")
    args = parser.parse_args()
    leads = [float(x) for x in args.leads.split(",")]
    rows = {}
    for name in CLIPS:
        rows[name] = tracking_error_mm(name, leads)
        print(name, "  ".join(f"lead {k} s: {v:.1f} mm" for k, v in rows[name].items()), flush=True)
    mean = {f"{s:g}": float(np.mean([row[f"{s:g}"] for row in rows.values()])) for s in leads}
    header = "| clip | " + " | ".join(f"lead {s:g} s" for s in leads) + " |"
    lines = [f"# Zero-control tracking error (mm), {WINDOW}-frame windows from the kinematic state", "",
             header, "|---" * (len(leads) + 1) + "|"]  # fmt: skip
    for name, row in {**rows, "**mean**": mean}.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[f'{s:g}']:.1f}" for s in leads) + " |")
    write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    write_json(RESULTS / f"{args.name}.json", {"window": WINDOW, "leads_s": leads, "clips": rows, "mean": mean,
                                               "environment": record()})  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
