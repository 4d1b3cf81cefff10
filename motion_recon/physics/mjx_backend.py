"""MuJoCo MJX backend: a differentiable, batchable rollout under PD control.

Each simulation step runs MJX's public pipeline stages (position, velocity, actuation,
acceleration), then ``solver_iterations`` single Newton iterations of the constraint solver, each
warm-started from the previous one, then the Euler integrator (joint damping implicit). MJX's own
multi-iteration solve is a ``lax.while_loop``, which reverse-mode autodiff rejects; a fixed
number of single-iteration calls is differentiable with the public API.
"""

from __future__ import annotations

import contextlib
import functools
import io

import jax
import jax.numpy as jnp
import numpy as np

with contextlib.redirect_stdout(io.StringIO()):  # mjx prints a notice when its optional warp backend is absent
    from mujoco import mjx

from . import rotations
from .compiled import CompiledModel, compile_model
from .model import DEFAULT_CONFIG, PhysicsModel, SimConfig, Trajectory


class MjxSimulator(CompiledModel):
    """Rollouts of one model and config; ``rollout`` is a pure function of arrays (jit, grad, vmap)."""

    def __init__(self, model: PhysicsModel, config: SimConfig = DEFAULT_CONFIG):
        super().__init__(model, config)
        single = compile_model(model, config)
        single.opt.iterations = 1  # one Newton iteration per solve call, see the module docstring
        self.mjx_model = mjx.put_model(single)
        self._kp = np.asarray(model.stiffness)[:, None]
        self.compiled_rollout = jax.jit(self.rollout)

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
        joint_q = d.qpos[self.qpos_index]
        error = rotations.to_rotvec(rotations.mul(rotations.conj(joint_q), targets))
        d = d.replace(qfrc_applied=jnp.zeros_like(d.qvel).at[self.dof_index].set(self._kp * error))
        d = mjx.fwd_position(m, d)
        d = mjx.fwd_velocity(m, d)
        d = mjx.fwd_actuation(m, d)
        d = mjx.fwd_acceleration(m, d)
        d = jax.lax.fori_loop(0, self.config.solver_iterations, lambda _, d: _solve_once(m, d), d)
        return mjx.euler(m, d)

    def _record(self, m, d) -> Trajectory:
        return Trajectory(
            keypoints=d.site_xpos[self.sites],
            body_pos=d.xpos[1:],
            body_quat=d.xquat[1:],
            contacts=self.floor_contacts(d.geom_xpos, d.geom_xmat, jnp),
            qpos=d.qpos,
            qvel=d.qvel,
        )


def _solve_once(m, d):
    """One Newton iteration of the constraint solver, warm-started from the current solution."""
    d = mjx.solve(m, d)
    return d.replace(qacc_warmstart=d.qacc)


@functools.lru_cache(maxsize=8)
def cached_simulator(model: PhysicsModel, config: SimConfig) -> MjxSimulator:
    """A cached simulator per (model, config), so repeated calls reuse its compiled rollout."""
    return MjxSimulator(model, config)
