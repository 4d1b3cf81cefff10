"""Synthetic motions with known controls for the DiffPhy tests (tests/test_diffphy*.py)."""

import numpy as np

from body_models.humanoid import build_humanoid
from body_models.kinematics import inverse_kinematics, velocities
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from motion_recon import physics
from motion_recon.datasets.synthetic import synthetic_sequence
from motion_recon.diffphy.loss import WindowData


def synthetic_window_motion():
    """The 1.75 m humanoid's simulator and a 5-frame synthetic motion: (sim, sequence, controls,
    trajectory)."""
    sim = physics.simulator(physics_model(build_humanoid(shape_from_height(1.75))))
    sequence, controls, trajectory = synthetic_sequence(sim, 5, seed=3)
    return sim, sequence, controls, trajectory


def kinematic_motion():
    """A 20-frame synthetic motion with its inverse-kinematics states and reference targets:
    (sim, sequence, qpos, qvel, reference)."""
    humanoid = build_humanoid(shape_from_height(1.75))
    sim = physics.simulator(physics_model(humanoid))
    sequence, _, _ = synthetic_sequence(sim, 20, seed=1)
    qpos = inverse_kinematics(humanoid, sequence.keypoints)
    qvel = velocities(humanoid, qpos, sequence.fps)
    return sim, sequence, qpos, qvel, qpos[:, 7:].reshape(len(qpos), -1, 4)


def window(sim, sequence, controls, trajectory, reference):
    """The window of ``synthetic_window_motion`` with ``reference`` targets, keypoint 4 of frame 2
    missing."""
    weights = np.ones(sequence.keypoints.shape[:2], np.float32)
    weights[2, 4] = 0.0  # a missing keypoint
    keypoints = np.array(sequence.keypoints, np.float32)
    keypoints[2, 4] = np.nan
    return WindowData(sim.body, np.asarray(trajectory.qpos[0]), np.asarray(trajectory.qvel[0]),
                      reference.astype(np.float32), keypoints, weights)  # fmt: skip
