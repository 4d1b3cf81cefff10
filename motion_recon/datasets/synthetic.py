"""Physically valid synthetic motions: smooth random PD targets simulated by a physics engine,
so the controls that produced the keypoints are known (tests, meta-training)."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from .sequence import MotionSequence


# Random-target amplitude (rad per axis) by joint-name part: small where balance depends on it.
AMPLITUDES = {"hip": 0.03, "knee": 0.03, "ankle": 0.02, "spine": 0.04, "thorax": 0.04}
FREE_AMPLITUDE = 0.2  # neck, shoulders, elbows
# The PD humanoid has no balance controller. Targets that tilt the feet 0.03 rad toe-up lean the
# body forward over the middle of its feet: 0 of 6 random 3 s motions fell, against 5 of 6
# without the lean (and 4 of 6 with 0.06 rad).
STANCE_LEAN = 0.03


def joint_amplitudes(joint_names) -> np.ndarray:
    """Per-joint amplitude from AMPLITUDES (matched on name parts) or FREE_AMPLITUDE."""
    return np.array([next((a for part, a in AMPLITUDES.items() if part in name), FREE_AMPLITUDE) for name in joint_names])


def smooth_random_targets(rest, frames: int, fps: float, rng: np.random.Generator, *,
                          amplitude=0.25, knot_seconds: float = 0.4) -> np.ndarray:  # fmt: skip
    """(frames + 1, J, 4) PD targets: ``rest`` (J, 4) turned by rotation vectors that follow a
    cubic spline through random knots every ``knot_seconds`` (normal, ``amplitude`` rad per axis,
    a scalar or one per joint), starting at zero."""
    rest = np.asarray(rest, dtype=float)
    duration = frames / fps
    knots = np.arange(0.0, duration + knot_seconds, knot_seconds)
    offsets = rng.normal(size=(len(knots), *rest.shape[:-1], 3)) * np.asarray(amplitude)[..., None]
    offsets[0] = 0.0
    turns = CubicSpline(knots, offsets, axis=0)(np.arange(frames + 1) / fps)
    base = Rotation.from_quat(np.broadcast_to(rest, turns.shape[:-1] + (4,)).reshape(-1, 4), scalar_first=True)
    targets = base * Rotation.from_rotvec(turns.reshape(-1, 3))
    return targets.as_quat(scalar_first=True).reshape(turns.shape[:-1] + (4,))


def synthetic_sequence(sim, frames: int, seed: int, *, amplitude=None, qvel_scale: float = 0.1):
    """Simulates ``frames`` frames of smooth random PD control from the rest pose with small random
    joint velocities around a stance leaning over the feet (``amplitude``: default
    ``joint_amplitudes``, which keeps the humanoid on its feet). Returns (MotionSequence of the simulated keypoints, controls, trajectory)."""
    amplitude = joint_amplitudes(sim.model.joint_names) if amplitude is None else amplitude
    rng = np.random.default_rng(seed)
    qpos, qvel = sim.default_state()
    qvel = np.array(qvel, dtype=float)
    qvel[6:] = rng.normal(scale=qvel_scale, size=qvel.size - 6)
    rest = sim.rest_controls(0)[0].astype(float)
    lean = Rotation.from_rotvec([0.0, -STANCE_LEAN, 0.0]).as_quat(scalar_first=True)  # toe up about the ankle's y
    rest[["ankle" in name for name in sim.model.joint_names]] = lean
    controls = smooth_random_targets(rest, frames, sim.config.fps, rng, amplitude=amplitude)
    run = getattr(sim, "compiled_rollout", sim.rollout)
    trajectory = run(np.asarray(qpos), qvel, controls.astype(np.float32))
    keypoints = np.asarray(trajectory.keypoints, dtype=float)
    if not np.all(np.isfinite(keypoints)):
        raise RuntimeError(f"synthetic motion (seed {seed}) diverged")
    layout = "h36m17" if len(sim.model.keypoint_sites) == 17 else "sites"
    sequence = MotionSequence(f"synthetic-{seed}", keypoints, sim.config.fps, layout,
                              tuple(sim.model.keypoint_sites), {"dataset": "synthetic", "seed": seed})  # fmt: skip
    return sequence, controls, trajectory


def march_in_place(sim, seconds: float = 1.0) -> np.ndarray:
    """(F+1, J, 4) PD targets of a march in place: hips and knees flex in alternation at 1 Hz
    (hip 0.5 rad, knee 1 rad at the peak), so each foot leaves and touches the floor once a second."""
    frames = int(seconds * sim.config.fps) + 1
    t = np.arange(frames) / sim.config.fps
    keys = sim.rest_controls(frames - 1)
    names = sim.model.joint_names
    for side, phase in (("left", 0.0), ("right", np.pi)):
        lift = 0.5 * np.clip(np.sin(2 * np.pi * t + phase), 0, None)  # rad
        keys[:, names.index(f"{side}_hip")] = Rotation.from_rotvec(np.outer(-lift, [0, 1, 0])).as_quat(scalar_first=True)
        keys[:, names.index(f"{side}_knee")] = Rotation.from_rotvec(np.outer(2 * lift, [0, 1, 0])).as_quat(scalar_first=True)
    return keys
