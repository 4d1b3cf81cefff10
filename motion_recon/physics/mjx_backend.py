"""MuJoCo MJX backend: a differentiable, batchable rollout under PD control.

Each simulation step runs MJX's public pipeline stages (position, velocity, actuation,
acceleration), then ``solver_iterations`` single Newton iterations of the constraint solver, each
warm-started from the previous one, then the Euler integrator (joint damping implicit). MJX's own
multi-iteration solve is a ``lax.while_loop``, which reverse-mode autodiff rejects; a fixed
number of single-iteration calls is differentiable with the public API.

The model is data, as in MJX's own ``step(m, d)``: a ``Body`` (the MJX model and the PD
stiffness) is an argument of the compiled rollout, and only the joint structure's index tables
(``compiled.Structure``) and the ``SimConfig`` are baked into it. Every body of one structure,
whatever its size, shares one ``MjxRollout`` and its compiled programs, and JAX's persistent
compilation cache serves a new person in a new process.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

with contextlib.redirect_stdout(io.StringIO()):  # mjx prints a notice when its optional warp backend is absent
    from mujoco import mjx

from . import rotations
from .compiled import CompiledModel, Structure, compile_model
from .model import DEFAULT_CONFIG, PhysicsModel, SimConfig, Trajectory

# the MJCF model name is the same for every body of a structure (see ``make_body``)
MODEL_NAME = b"body"


class Body(NamedTuple):
    """One body of a structure, as arrays (a pytree): its MJX model (one solver iteration per
    call, see the module docstring) and its PD stiffness kp (J, 1)."""

    model: mjx.Model
    stiffness: jax.Array


def make_body(compiled: CompiledModel) -> Body:
    """The ``Body`` of a compiled model.

    Its pytree structure, and so the compiled programs, depend only on the joint structure: the
    model's name and the height-field bounds (unused without height fields, but kept by MJX as
    static data) are made equal for every body.
    """
    single = compile_model(compiled.model, compiled.config)
    single.opt.iterations = 1
    if single.nhfield:
        raise ValueError("height fields are not supported: their bounds would be compiled into the program")
    m = mjx.put_model(single)
    name_end = m.names.index(b"\x00")
    m = m.replace(names=MODEL_NAME + m.names[name_end:])
    m = m.replace(_impl=m._impl.replace(geom_rbound_hfield=np.zeros_like(m._impl.geom_rbound_hfield)))
    return Body(m, jnp.asarray(np.asarray(compiled.model.stiffness, np.float32)[:, None]))


# frames per call of the compiled rollout's chunk program (``MjxRollout.compiled_rollout``): one
# DiffPhy window of the default loss, so playing a window back runs one chunk
CHUNK_FRAMES = 10


class MjxRollout:
    """The rollout of every body of one ``Structure`` under one ``SimConfig``; ``rollout(body,
    ...)`` is a pure function of arrays (jit, grad, vmap, also over bodies)."""

    def __init__(self, structure: Structure, config: SimConfig = DEFAULT_CONFIG):
        self.structure, self.config = structure, config
        self.qpos_index, self.dof_index = np.array(structure.qpos_index), np.array(structure.dof_index)
        self.sites = np.array(structure.sites)
        self._compiled_start, self._compiled_frames = jax.jit(self._start), jax.jit(self._frames)

    def rollout(self, body: Body, qpos0, qvel0, controls, residual=None) -> Trajectory:
        """Simulates len(controls) - 1 frames of ``body`` from (qpos0, qvel0).

        ``controls`` (F+1, J, 4): PD target quaternions per actuated joint at each frame time;
        between frames the target is slerped per simulation step. ``residual`` (F+1, 6), optional:
        a wrench on the root (the free joint's dofs) held from each frame to the next, in units of
        the body's weight: force (world x, y, z) / (m g) and torque (root axes) / (m g x 1 m).
        Returns the trajectory at the F+1 frame times (f = 0 is the initial state).
        """
        self._check(controls)
        d, first = self._start(body, qpos0, qvel0)
        residual = jnp.zeros((len(controls), 6)) if residual is None else residual
        _, frames = self._frames(body, d, controls, jnp.asarray(residual)[:-1])
        return _joined([first, frames])

    def compiled_rollout(self, body: Body, qpos0, qvel0, controls, residual=None) -> Trajectory:
        """``rollout`` through two compiled programs, the start and ``CHUNK_FRAMES`` frames, run
        chunk after chunk (the last padded with its final target, the extra frames dropped), so
        one compilation serves every length of motion and every window length up to a chunk."""
        self._check(controls)
        frames = len(controls) - 1
        chunks = -(-frames // CHUNK_FRAMES)
        controls = np.asarray(controls, np.float32)
        controls = np.concatenate([controls, np.repeat(controls[-1:], chunks * CHUNK_FRAMES - frames, axis=0)])
        wrench = np.zeros((chunks * CHUNK_FRAMES, 6), np.float32)
        if residual is not None:
            wrench[:frames] = np.asarray(residual, np.float32)[:-1]
        d, first = self._compiled_start(body, qpos0, qvel0)
        parts = [first]
        for k in range(0, chunks * CHUNK_FRAMES, CHUNK_FRAMES):
            d, part = self._compiled_frames(body, d, controls[k : k + CHUNK_FRAMES + 1], wrench[k : k + CHUNK_FRAMES])
            parts.append(part)
        return jax.tree.map(lambda a: a[: frames + 1], _joined(parts))

    def _check(self, controls) -> None:
        joints, shape = self.structure.num_joints, np.shape(controls)
        if len(shape) != 3 or shape[1:] != (joints, 4) or shape[0] < 2:
            raise ValueError(f"controls must have shape (F+1, {joints}, 4), got {shape}")

    def _start(self, body: Body, qpos0, qvel0):
        """(MJX data at (qpos0, qvel0), its ``Trajectory`` record with a leading frame axis)."""
        m = body.model
        d = mjx.make_data(m)
        d = d.replace(qpos=jnp.asarray(qpos0, d.qpos.dtype), qvel=jnp.asarray(qvel0, d.qpos.dtype))
        d = mjx.fwd_position(m, d)
        return d, jax.tree.map(lambda a: a[None], self._record(m, d))

    def _frames(self, body: Body, d, controls, residual):
        """Simulates len(controls) - 1 frames from MJX data ``d`` (``rollout``'s units; residual
        (F, 6), one wrench per frame); returns the data at the end and the F frames' records."""
        m = body.model
        dtype = d.qpos.dtype  # float32, or float64 with jax_enable_x64
        controls = rotations.normalize(jnp.asarray(controls, dtype=dtype))
        steps = self.config.substeps
        fractions = jnp.arange(steps, dtype=dtype) / steps
        kp = jnp.asarray(body.stiffness, dtype)
        wrench = jnp.asarray(residual, dtype) * body_weight(m)

        def frame(d, inputs):
            start, end, root = inputs

            def substep(d, t):
                return self._step(m, kp, d, rotations.slerp(start, end, t), root), None

            d, _ = jax.lax.scan(substep, d, fractions)
            return d, self._record(m, mjx.kinematics(m, d))

        return jax.lax.scan(frame, d, (controls[:-1], controls[1:], wrench))

    def _step(self, m, kp, d, targets, root):
        joint_q = d.qpos[self.qpos_index]
        error = rotations.to_rotvec(rotations.mul(rotations.conj(joint_q), targets))
        d = d.replace(qfrc_applied=jnp.zeros_like(d.qvel).at[self.dof_index].set(kp * error).at[:6].set(root))
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
            contacts=self.structure.floor_contacts(d.geom_xpos, d.geom_xmat, m.geom_size, jnp),
            qpos=d.qpos,
            qvel=d.qvel,
        )


def _joined(parts: list[Trajectory]) -> Trajectory:
    """The trajectories ``parts`` one after the other along the frame axis."""
    return jax.tree.map(lambda *arrays: jnp.concatenate(arrays), *parts)


def body_weight(model):
    """m g of the whole body (the root's subtree), N, of an ``mjx`` or ``mujoco`` model: the unit
    of the residual root wrench."""
    return model.body_subtreemass[1] * jnp.linalg.norm(model.opt.gravity)


def _solve_once(m, d):
    """One Newton iteration of the constraint solver, warm-started from the current solution."""
    d = mjx.solve(m, d)
    return d.replace(qacc_warmstart=d.qacc)


@functools.lru_cache(maxsize=8)
def shared_rollout(structure: Structure, config: SimConfig) -> MjxRollout:
    """The one ``MjxRollout`` per (structure, config) of this process."""
    return MjxRollout(structure, config)


class MjxSimulator(CompiledModel):
    """One body: ``rollout(qpos0, qvel0, controls)`` runs the structure's shared rollout
    (``shared``) with this ``body``."""

    def __init__(self, model: PhysicsModel, config: SimConfig = DEFAULT_CONFIG):
        super().__init__(model, config)
        self.body = make_body(self)
        self.shared = shared_rollout(self.structure, config)

    def rollout(self, qpos0, qvel0, controls, residual=None) -> Trajectory:
        """``MjxRollout.rollout`` of this body (traceable)."""
        return self.shared.rollout(self.body, qpos0, qvel0, controls, residual)

    def compiled_rollout(self, qpos0, qvel0, controls, residual=None) -> Trajectory:
        """``rollout`` through the structure's compiled program."""
        return self.shared.compiled_rollout(self.body, qpos0, qvel0, controls, residual)


@functools.lru_cache(maxsize=8)
def cached_simulator(model: PhysicsModel, config: SimConfig) -> MjxSimulator:
    """A cached simulator per (model, config): the model is compiled and put on the device once."""
    return MjxSimulator(model, config)
