"""Physics throughput and accuracy of the MJX humanoid rollout.

Throughput: rollout and value-and-gradient of a keypoint loss over 0.2 s windows (5 frames at
25 fps, 50 steps of 4 ms) of the 1.75 m humanoid, batched with vmap, in simulated seconds per
wall second; compilation times reported separately (no persistent cache). Accuracy: a 1 s
march in place (feet leaving and touching the floor) simulated by MJX with 1, 2 and 4 solver
iterations and by pytinydiffsim, against C MuJoCo with its solver converged.

    python benchmarks/physics.py [--batches 1,8,64] [--name physics_cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from motion_recon.datasets.synthetic import march_in_place
from motion_recon.provenance import record
from motion_recon.io import write_json
from motion_recon.physics import simulator
from motion_recon.physics.mjx_backend import MjxSimulator
from motion_recon.physics.model import SimConfig

RESULTS = Path(__file__).resolve().parent / "results"
REPEATS = 5
WINDOW_FRAMES = 5


def timed(fn, *args) -> tuple[float, float, object]:
    """(compilation, median of REPEATS calls after it) in seconds, and the result."""
    start = time.perf_counter()
    result = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    run = float(np.median(times))
    return first - run, run, result


def windows(sim, batch: int, rng):
    """Batched window starts (rest pose, joints moving) and target quaternions near the rest pose."""
    qpos, qvel = sim.default_state()
    qpos = np.tile(qpos, (batch, 1))
    qvel = np.tile(qvel, (batch, 1))
    qvel[:, 6:] = rng.normal(scale=0.2, size=(batch, qvel.shape[1] - 6))
    rest = sim.rest_controls(WINDOW_FRAMES)
    keys = rest + rng.normal(scale=0.05, size=(batch, *rest.shape))
    return qpos, qvel, (keys / np.linalg.norm(keys, axis=-1, keepdims=True)).astype(np.float32)


def throughput(model, batches) -> list[dict]:
    """As the pipelines run it: the body is an argument of the compiled programs."""
    sim = MjxSimulator(model)
    rng = np.random.default_rng(0)
    seconds = WINDOW_FRAMES / sim.config.fps

    def loss(body, qpos, qvel, controls, observed):
        return jnp.mean(jnp.sum((sim.shared.rollout(body, qpos, qvel, controls).keypoints - observed) ** 2, -1))

    batched_rollout = jax.jit(jax.vmap(sim.shared.rollout, in_axes=(None, 0, 0, 0)))
    batched_value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(loss, argnums=3), in_axes=(None, 0, 0, 0, 0)))

    def rollout(*args):
        return batched_rollout(sim.body, *args)

    def value_and_grad(*args):
        return batched_value_and_grad(sim.body, *args)

    rows = []
    print(f"{'batch':>6} {'rollout sim-s/s':>16} {'v&g sim-s/s':>12} {'compile rollout s':>18} {'compile v&g s':>14}")
    for batch in batches:
        qpos, qvel, controls = windows(sim, batch, rng)
        compile_r, run_r, simulated = timed(rollout, qpos, qvel, controls)
        observed = np.asarray(simulated.keypoints) + 0.01
        compile_g, run_g, _ = timed(value_and_grad, qpos, qvel, controls, observed)
        row = {
            "batch": batch, "window_s": seconds, "rollout_s": run_r, "value_and_grad_s": run_g,
            "rollout_sim_s_per_s": batch * seconds / run_r, "value_and_grad_sim_s_per_s": batch * seconds / run_g,
            "compile_rollout_s": compile_r, "compile_value_and_grad_s": compile_g,
        }  # fmt: skip
        rows.append(row)
        print(f"{batch:>6} {row['rollout_sim_s_per_s']:>16.1f} {row['value_and_grad_sim_s_per_s']:>12.2f} "
              f"{compile_r:>18.1f} {compile_g:>14.1f}", flush=True)
    return rows


def accuracy(model) -> list[dict]:
    reference_sim = simulator(model, engine="mujoco")  # C MuJoCo, solver converged
    start = reference_sim.default_state()
    controls = march_in_place(reference_sim)
    reference = reference_sim.rollout(*start, controls)
    runs = {f"mjx, {k} solver iteration{'s' * (k > 1)}": MjxSimulator(model, SimConfig(solver_iterations=k)).compiled_rollout
            for k in (1, 2, 4)}  # fmt: skip
    try:
        runs["pytinydiffsim"] = simulator(model, engine="tds").rollout
    except RuntimeError as err:  # not installable on this Python
        print(f"pytinydiffsim skipped: {err}")
    rows = []
    print(f"{'engine':>28} {'max kp error cm':>16} {'mean kp error cm':>17} {'pelvis z end m':>15}")
    feet = reference.contacts
    print(f"{'(reference contact changes)':>28} {int(np.abs(np.diff(feet, axis=0)).sum()):>16}")
    for name, run in runs.items():
        out = run(*start, controls)
        error = np.linalg.norm(np.asarray(out.keypoints) - reference.keypoints, axis=-1)
        row = {"engine": name, "max_keypoint_error_m": float(error.max()), "mean_keypoint_error_m": float(error.mean()),
               "pelvis_height_end_m": float(out.keypoints[-1, 0, 2])}  # fmt: skip
        rows.append(row)
        print(f"{name:>28} {100 * row['max_keypoint_error_m']:>16.2f} {100 * row['mean_keypoint_error_m']:>17.2f} "
              f"{row['pelvis_height_end_m']:>15.3f}")
    rows.append({"engine": "mujoco (reference)", "pelvis_height_end_m": float(reference.keypoints[-1, 0, 2])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    gpu = jax.devices()[0].platform == "gpu"
    parser.add_argument("--batches", default="1,8,64,256,1024" if gpu else "1,8,64")
    parser.add_argument("--name", default="physics_gpu" if gpu else "physics_cpu")
    args = parser.parse_args()
    humanoid = build_humanoid(shape_from_height(1.75))
    model = physics_model(humanoid)
    rows = throughput(model, [int(b) for b in args.batches.split(",")])
    rows_accuracy = accuracy(model)
    write_json(RESULTS / f"{args.name}.json", {
        "environment": record(), "body": {"height_m": 1.75, "mass_kg": humanoid.mass},
        "config": vars(SimConfig()), "throughput": rows, "accuracy": rows_accuracy,
    })  # fmt: skip


if __name__ == "__main__":
    main()
