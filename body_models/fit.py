"""The body fit: a motion made ready for DiffPhy. Its keypoints are mapped to the 17 joints at the
simulator's frame rate, the humanoid of its shape is built, the ground is found under it, and
inverse kinematics gives the kinematic initialisation (poses, velocities, reference PD targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_recon import physics, skeleton
from motion_recon.datasets import MotionSequence
from motion_recon.diffphy.reconstruct import window_starts

from .humanoid import Humanoid, build_humanoid
from .kinematics import inverse_kinematics, led_targets, velocities
from .shape import estimate_shape

# Lowest 5 % of ankle heights: the ankles' height over the ground when a foot is down.
GROUND_PERCENTILE = 5.0


def to_h36m17(sequence: MotionSequence) -> np.ndarray:
    """(T, 17, 3) keypoints of a sequence in any supported layout."""
    if sequence.layout == "h36m17":
        return np.asarray(sequence.keypoints, float)
    if sequence.layout == "coco17":
        return skeleton.to_h36m(sequence.keypoints, "coco17")
    if sequence.layout == "bvh":
        mapping = skeleton.bvh_joint_map(sequence.joint_names)
        index = {name: i for i, name in enumerate(sequence.joint_names)}
        return sequence.keypoints[:, [index[mapping[joint]] for joint in skeleton.JOINTS]]
    raise ValueError(f"{sequence.name}: unknown keypoint layout {sequence.layout!r}")


def fill_gaps(keypoints: np.ndarray) -> np.ndarray:
    """Missing (NaN) keypoints linearly interpolated in time from the frames that see them."""
    keypoints = np.array(keypoints, float)
    frames = np.arange(len(keypoints))
    for j in range(keypoints.shape[1]):
        seen = np.isfinite(keypoints[:, j]).all(axis=-1)
        if not seen.any():
            raise ValueError(f"joint {skeleton.JOINTS[j]} is missing in every frame")
        for axis in range(3):
            keypoints[:, j, axis] = np.interp(frames, frames[seen], keypoints[seen, j, axis])
    return keypoints


def ground_height(keypoints: np.ndarray, ankle_height: float) -> float:
    """Height of the ground under the observed motion: where the lowest ankles stand."""
    ankles = keypoints[:, [skeleton.INDEX[f] for f in skeleton.FEET], 2]
    return float(np.nanpercentile(ankles, GROUND_PERCENTILE)) - ankle_height


@dataclass(frozen=True)
class Initialisation:
    """A motion made ready for DiffPhy: its 17 keypoints at the simulator's rate (``observed``,
    own world frame; ``lifted``, shifted so the ground is z = 0), the humanoid of its shape, and
    the kinematic initialisation (IK poses, finite-difference velocities, reference targets)."""

    observed: np.ndarray
    lifted: np.ndarray
    ground: float
    humanoid: Humanoid
    qpos: np.ndarray
    qvel: np.ndarray
    reference: np.ndarray


def initialise(sequence: MotionSequence, window: int, humanoid: Humanoid | None = None,
               velocity_half_width: int = 1, feedforward: bool = False) -> Initialisation:
    """Resamples ``sequence`` to the simulator's rate, maps it to the 17 joints, estimates the body
    (unless a ``humanoid`` is given), finds the ground and solves IK, whose velocities are slopes
    over ``velocity_half_width`` frames each side (``kinematics.velocities``); one-line errors
    name the file. The reference PD targets are the IK poses, or with ``feedforward`` the poses
    led by the joints' damping time (``kinematics.led_targets``)."""
    fps = physics.DEFAULT_CONFIG.fps
    observed = to_h36m17(sequence.resampled(fps))
    label = sequence.source.get("file", sequence.name)
    if not np.isfinite(observed).any(axis=(1, 2)).all():
        raise ValueError(f"{label}: some frames have no finite keypoint")
    try:
        window_starts(len(observed), window)
    except ValueError as err:
        raise ValueError(f"{label}: {err} at {fps:g} fps") from None
    if humanoid is None:
        try:
            humanoid = build_humanoid(estimate_shape(observed))
        except ValueError as err:
            raise ValueError(f"{label}: {err}; are the units metres and the joints in the "
                             f"{sequence.layout} layout?") from None
    ground = ground_height(observed, humanoid.shape.ankle_height)
    lifted = observed - np.array([0.0, 0.0, ground])
    qpos = inverse_kinematics(humanoid, fill_gaps(lifted))
    qvel = velocities(humanoid, qpos, fps, velocity_half_width)
    reference = led_targets(humanoid, qpos, qvel) if feedforward else qpos[:, 7:].reshape(len(qpos), -1, 4)
    return Initialisation(observed, lifted, ground, humanoid, qpos, qvel, reference)
