"""C MuJoCo backend: the reference forward simulator (no gradients).

It runs the same model file as MJX with MuJoCo's own constraint solver iterated to its tolerance
(``reference_iterations``), so it measures how far MJX's fixed solver budget is from a converged
solution, and it simulates long motions quickly on the CPU.
"""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from .compiled import CompiledModel
from .model import DEFAULT_CONFIG, PhysicsModel, SimConfig, Trajectory
from .pd_targets import check_controls, step_targets, stiffness_torque


class MujocoSimulator(CompiledModel):
    """Forward rollouts with C MuJoCo; same call and result as ``MjxSimulator.rollout``."""

    def __init__(self, model: PhysicsModel, config: SimConfig = DEFAULT_CONFIG, reference_iterations: int | None = 100):
        super().__init__(model, config)
        if reference_iterations is not None:
            self.mj_model.opt.iterations = reference_iterations
        self._kp = np.asarray(model.stiffness)

    def rollout(self, qpos0, qvel0, controls) -> Trajectory:
        """Simulates len(controls) - 1 frames; see ``MjxSimulator.rollout``."""
        controls = check_controls(controls, self.model.num_joints)
        m, d = self.mj_model, mujoco.MjData(self.mj_model)
        d.qpos[:], d.qvel[:] = qpos0, qvel0
        mujoco.mj_forward(m, d)
        frames = [self._record(d)]
        last = self.config.substeps - 1
        for _, substep, targets in step_targets(controls, self.config.substeps):
            joints = Rotation.from_quat(d.qpos[self.qpos_index], scalar_first=True)
            d.qfrc_applied[:] = 0.0
            d.qfrc_applied[self.dof_index] = stiffness_torque(self._kp, joints, targets)
            mujoco.mj_step(m, d)
            if substep == last:
                mujoco.mj_kinematics(m, d)  # positions of the new state (mj_step leaves the old ones)
                frames.append(self._record(d))
        return Trajectory(*(np.stack(parts) for parts in zip(*frames, strict=True)))

    def _record(self, d) -> Trajectory:
        return Trajectory(
            d.site_xpos[self.sites].copy(),
            d.xpos[1:].copy(),
            d.xquat[1:].copy(),
            self.floor_contacts(d.geom_xpos, d.geom_xmat),
            d.qpos.copy(),
            d.qvel.copy(),
        )
