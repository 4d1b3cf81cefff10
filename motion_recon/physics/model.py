"""What a simulator needs to know about a body, and how to step it.

The physics layer is body-agnostic: a ``PhysicsModel`` is an MJCF document (and optionally the
same body as URDF for pytinydiffsim) plus the names of its actuated ball joints, their PD
stiffness and the sites whose positions are the keypoints. ``body_models`` builds one for the
shape-specific humanoid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class SimConfig:
    """Frame rate of the controls and keypoints, simulation step, and constraint-solver effort.

    ``solver_iterations`` Newton iterations solve the contact forces at each step (MuJoCo's
    default solver, warm-started from the previous step); 4 matches a converged solution to
    millimetres (see ``benchmarks/physics.py``).
    """

    fps: float = 25.0
    timestep: float = 0.004
    solver_iterations: int = 4
    linesearch_iterations: int = 4

    def __post_init__(self):
        if self.fps <= 0 or self.timestep <= 0 or self.solver_iterations < 1 or self.linesearch_iterations < 1:
            raise ValueError(f"invalid simulation config {self}")
        steps = 1.0 / (self.fps * self.timestep)
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"timestep {self.timestep} s does not divide the frame time 1/{self.fps} s")

    @property
    def substeps(self) -> int:
        """Simulation steps per frame."""
        return int(round(1.0 / (self.fps * self.timestep)))


DEFAULT_CONFIG = SimConfig()


@dataclass(frozen=True)
class PhysicsModel:
    mjcf: str
    joint_names: tuple[str, ...]  # actuated ball joints
    stiffness: tuple[float, ...]  # PD kp per actuated joint, N m/rad (kd is the joints' damping)
    keypoint_sites: tuple[str, ...]  # sites reported as keypoints, in output order
    contact_bodies: tuple[str, ...]  # bodies whose floor contact is reported
    urdf: str | None = None  # the same body for pytinydiffsim

    def __post_init__(self):
        if len(self.stiffness) != len(self.joint_names):
            raise ValueError("one stiffness per actuated joint is needed")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)


class State(NamedTuple):
    """Generalised coordinates in MuJoCo's layout: qpos = root position, root quaternion (w, x,
    y, z), one quaternion per ball joint; qvel = root linear velocity (world), root angular
    velocity (local), one local angular velocity per ball joint."""

    qpos: np.ndarray
    qvel: np.ndarray


class Trajectory(NamedTuple):
    """A simulated motion sampled at the frame rate; index f is time f / fps (f = 0 is the start).

    keypoints (F+1, K, 3), body_pos (F+1, B, 3), body_quat (F+1, B, 4) of every body but the
    world, contacts (F+1, C) 1.0 where a ``contact_bodies`` body touches the floor in the frame's
    last simulation step, qpos / qvel (F+1, nq / nv).
    """

    keypoints: np.ndarray
    body_pos: np.ndarray
    body_quat: np.ndarray
    contacts: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
