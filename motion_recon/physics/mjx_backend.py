"""MuJoCo MJX backend: a differentiable, batchable rollout under PD control.

Each simulation step runs MJX's public pipeline stages (position, velocity, actuation,
acceleration), then ``solver_iterations`` single Newton iterations of the constraint solver, each
warm-started from the previous one, then the Euler integrator (joint damping implicit). MJX's own
multi-iteration solve is a ``lax.while_loop``, which reverse-mode autodiff rejects; a fixed
number of single-iteration calls is differentiable with the public API.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from . import rotations
from .model import PhysicsModel, SimConfig, State, Trajectory

CONTACT_DISTANCE = 1e-3  # m: a body whose contact distance is below this touches the floor


def compile_model(model: PhysicsModel, config: SimConfig) -> mujoco.MjModel:
    """The C MuJoCo model of ``model`` with the step and solver settings of ``config``."""
    m = mujoco.MjModel.from_xml_string(model.mjcf)
    m.opt.timestep = config.timestep
    m.opt.iterations = config.solver_iterations
    m.opt.ls_iterations = config.linesearch_iterations
    return m


class MjxSimulator:
    """Rollouts of one model and config; ``rollout`` is a pure function of arrays (jit, grad, vmap)."""

    def __init__(self, model: PhysicsModel, config: SimConfig = SimConfig()):
        self.model, self.config = model, config
        self.mj_model = compile_model(model, config)
        m = self.mj_model
        single = compile_model(model, config)
        single.opt.iterations = 1  # one Newton iteration per solve call, see the module docstring
        self.mjx_model = mjx.put_model(single)
        joints = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name) for name in model.joint_names]
        if min(joints) < 0 or any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_BALL for j in joints):
            raise ValueError("every actuated joint must be a ball joint of the model")
        self._qpos_index = np.array([m.jnt_qposadr[j] + np.arange(4) for j in joints])
        self._dof_index = np.array([m.jnt_dofadr[j] + np.arange(3) for j in joints])
        self._sites = np.array([_id(m, mujoco.mjtObj.mjOBJ_SITE, s) for s in model.keypoint_sites])
        bodies = np.array([_id(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in model.contact_bodies])
        self._contact_bodies = bodies
        self._kp = np.asarray(model.stiffness)[:, None]

    # -- state ---------------------------------------------------------------------------------
    def default_state(self) -> State:
        """The model's reference pose (the rest pose as built), at rest."""
        return State(np.asarray(self.mj_model.qpos0, dtype=np.float32), np.zeros(self.mj_model.nv, np.float32))

    def joint_quaternions(self, qpos) -> jax.Array:
        """(..., J, 4) local quaternions of the actuated joints in a qpos."""
        return jnp.asarray(qpos)[..., self._qpos_index]

    # -- simulation ----------------------------------------------------------------------------
    def rollout(self, qpos0, qvel0, controls) -> Trajectory:
        """Simulates len(controls) - 1 frames from (qpos0, qvel0).

        ``controls`` (F+1, J, 4): PD target quaternions per actuated joint at each frame time;
        between frames the target is slerped per simulation step. Returns the trajectory at the
        F+1 frame times (f = 0 is the initial state).
        """
        m = self.mjx_model
        d = mjx.make_data(m)
        dtype = d.qpos.dtype  # float32, or float64 with jax_enable_x64
        controls = rotations.normalize(jnp.asarray(controls, dtype=dtype))
        if controls.ndim != 3 or controls.shape[1:] != (self.model.num_joints, 4) or controls.shape[0] < 2:
            raise ValueError(f"controls must have shape (F+1, {self.model.num_joints}, 4), got {controls.shape}")
        d = d.replace(qpos=jnp.asarray(qpos0, dtype), qvel=jnp.asarray(qvel0, dtype))
        d = mjx.fwd_position(m, d)
        first = self._record(m, d)
        steps = self.config.substeps
        fractions = jnp.arange(steps, dtype=dtype) / steps

        def frame(d, targets):
            start, end = targets

            def substep(d, t):
                return self._step(m, d, rotations.slerp(start, end, t)), None

            d, _ = jax.lax.scan(substep, d, fractions)
            return d, self._record(m, mjx.kinematics(m, d))

        _, frames = jax.lax.scan(frame, d, (controls[:-1], controls[1:]))
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, frames)

    def _step(self, m, d, targets):
        joint_q = d.qpos[self._qpos_index]
        error = rotations.to_rotvec(rotations.mul(rotations.conj(joint_q), targets))
        d = d.replace(qfrc_applied=jnp.zeros_like(d.qvel).at[self._dof_index].set(self._kp * error))
        d = mjx.fwd_position(m, d)
        d = mjx.fwd_velocity(m, d)
        d = mjx.fwd_actuation(m, d)
        d = mjx.fwd_acceleration(m, d)
        d = jax.lax.fori_loop(0, self.config.solver_iterations, lambda _, d: _solve_once(m, d), d)
        return mjx.euler(m, d)

    def _record(self, m, d) -> Trajectory:
        touching = jnp.zeros(len(self._contact_bodies))
        if d.contact.dist.size:
            body = jnp.asarray(self.mj_model.geom_bodyid)
            hits = (d.contact.dist < CONTACT_DISTANCE).astype(jnp.float32)
            for k, b in enumerate(self._contact_bodies):
                mine = (body[d.contact.geom1] == b) | (body[d.contact.geom2] == b)
                touching = touching.at[k].set(jnp.max(jnp.where(mine, hits, 0.0)))
        return Trajectory(
            keypoints=d.site_xpos[self._sites],
            body_pos=d.xpos[1:],
            body_quat=d.xquat[1:],
            contacts=touching,
            qpos=d.qpos,
            qvel=d.qvel,
        )


def _solve_once(m, d):
    """One Newton iteration of the constraint solver, warm-started from the current solution."""
    d = mjx.solve(m, d)
    return d.replace(qacc_warmstart=d.qacc)


def _id(m, kind, name: str) -> int:
    i = mujoco.mj_name2id(m, kind, name)
    if i < 0:
        raise ValueError(f"model has no {kind.name[6:].lower()} named {name!r}")
    return i


@functools.lru_cache(maxsize=8)
def simulator(model: PhysicsModel, config: SimConfig) -> MjxSimulator:
    """A cached simulator per (model, config), so repeated calls reuse its compiled rollout."""
    return MjxSimulator(model, config)
