"""PD control for the step-by-step (non-JAX) engines: per-step targets and stiffness torques.

The same law as the MJX backend: targets are slerped between frame keyframes at each simulation
step, and the stiffness torque kp * rotvec(q^-1 q_target) acts in the joint's child frame.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy.spatial.transform import Rotation


def check_controls(controls, num_joints: int) -> np.ndarray:
    controls = np.asarray(controls, dtype=float)
    if controls.ndim != 3 or controls.shape[1:] != (num_joints, 4) or controls.shape[0] < 2:
        raise ValueError(f"controls must have shape (F+1, {num_joints}, 4), got {controls.shape}")
    return controls


def step_targets(controls: np.ndarray, substeps: int) -> Iterator[tuple[int, int, Rotation]]:
    """Yields (frame, substep, targets) for every simulation step: the targets of all joints,
    slerped from ``controls[frame]`` towards ``controls[frame + 1]``."""
    keys = Rotation.from_quat(controls.reshape(-1, 4), scalar_first=True)
    keys = keys.as_quat(scalar_first=True).reshape(controls.shape)
    for frame in range(len(controls) - 1):
        start = Rotation.from_quat(keys[frame], scalar_first=True)
        delta = (start.inv() * Rotation.from_quat(keys[frame + 1], scalar_first=True)).as_rotvec()
        for s in range(substeps):
            yield frame, s, start * Rotation.from_rotvec(delta * (s / substeps))


def stiffness_torque(kp: np.ndarray, joints: Rotation, targets: Rotation) -> np.ndarray:
    """(J, 3) torques kp * rotvec(q^-1 q_target) in each joint's child frame."""
    return np.asarray(kp).reshape(-1, 1) * (joints.inv() * targets).as_rotvec()
