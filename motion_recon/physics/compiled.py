"""The compiled MuJoCo model shared by all engines: indices of the actuated joints, keypoint
sites and floor-contact geoms, the default state, and the floor-contact test.

The index tables depend only on the body's joint structure (which joints, sites and contact
geoms, in which order), not on its dimensions. They form a hashable ``Structure``, so that every
body of one structure shares one compiled simulation program (``mjx_backend``)."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from .model import PhysicsModel, SimConfig, State

_SPHERE, _CAPSULE = int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_CAPSULE)
CONTACT_DISTANCE = 1e-3  # m: a body whose lowest contact point is this close to the floor touches it


def compile_model(model: PhysicsModel, config: SimConfig) -> mujoco.MjModel:
    """The C MuJoCo model of ``model`` with the step and solver settings of ``config``."""
    m = mujoco.MjModel.from_xml_string(model.mjcf)
    m.opt.timestep = config.timestep
    m.opt.iterations = config.solver_iterations
    m.opt.ls_iterations = config.linesearch_iterations
    return m


@dataclass(frozen=True)
class Structure:
    """What a body's joint structure fixes, as tuples (hashable): per actuated joint its 4 qpos
    and 3 dof indices, the keypoint sites, and per reported contact body its colliding geoms and
    which of them are capsules (the others are spheres). Bodies of one structure differ only in
    numbers (lengths, masses, gains)."""

    qpos_index: tuple[tuple[int, ...], ...]
    dof_index: tuple[tuple[int, ...], ...]
    sites: tuple[int, ...]
    contact_geoms: tuple[tuple[int, ...], ...]
    contact_capsules: tuple[tuple[bool, ...], ...]

    @property
    def num_joints(self) -> int:
        return len(self.qpos_index)

    def floor_contacts(self, geom_xpos, geom_xmat, geom_size, xp=np):
        """(C,) 1.0 where a reported body's lowest sphere/capsule point is within
        ``CONTACT_DISTANCE`` of the floor z = 0 (``geom_size``: the body's (ngeom, 3) geom sizes;
        ``xp``: numpy or jax.numpy)."""
        flags = []
        for geoms, capsules in zip(self.contact_geoms, self.contact_capsules, strict=True):
            if not geoms:
                flags.append(xp.zeros(()))
                continue
            geoms = np.array(geoms)
            half = xp.where(np.array(capsules), geom_size[geoms, 1], 0.0)
            axis_z = geom_xmat.reshape(-1, 3, 3)[geoms, 2, 2]  # z component of each geom's local z axis
            lowest = geom_xpos[geoms, 2] - xp.abs(axis_z) * half - geom_size[geoms, 0]
            flags.append((xp.min(lowest) < CONTACT_DISTANCE).astype(geom_xpos.dtype))
        return xp.stack(flags)


class CompiledModel:
    """Index tables of a ``PhysicsModel`` compiled with a ``SimConfig``."""

    def __init__(self, model: PhysicsModel, config: SimConfig):
        self.model, self.config = model, config
        self.mj_model = m = compile_model(model, config)
        if m.njnt == 0 or m.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError("the model's first joint must be the free root joint (qpos 0-6, dofs 0-5)")
        joints = [_lookup(m, mujoco.mjtObj.mjOBJ_JOINT, name) for name in model.joint_names]
        if any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_BALL for j in joints):
            raise ValueError("every actuated joint must be a ball joint of the model")
        self.qpos_index = np.array([m.jnt_qposadr[j] + np.arange(4) for j in joints])
        self.dof_index = np.array([m.jnt_dofadr[j] + np.arange(3) for j in joints])
        self.sites = np.array([_lookup(m, mujoco.mjtObj.mjOBJ_SITE, s) for s in model.keypoint_sites])
        bodies = [_lookup(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in model.contact_bodies]
        # per reported body, its geoms that collide with anything (spheres and capsules)
        contact_geoms = [np.flatnonzero((m.geom_bodyid == b) & (m.geom_contype > 0)) for b in bodies]
        for geoms in contact_geoms:
            if not set(m.geom_type[geoms].tolist()) <= {_SPHERE, _CAPSULE}:
                raise ValueError("floor contact is reported for sphere and capsule geoms only")
        self.structure = Structure(
            tuple(map(tuple, self.qpos_index.tolist())), tuple(map(tuple, self.dof_index.tolist())),
            tuple(self.sites.tolist()), tuple(tuple(g.tolist()) for g in contact_geoms),
            tuple(tuple((m.geom_type[g] == _CAPSULE).tolist()) for g in contact_geoms),
        )  # fmt: skip

    def default_state(self) -> State:
        """The model's reference pose (the rest pose as built), at rest."""
        return State(np.asarray(self.mj_model.qpos0, dtype=np.float32), np.zeros(self.mj_model.nv, np.float32))

    def joint_quaternions(self, qpos):
        """(..., J, 4) local quaternions of the actuated joints in a qpos."""
        return qpos[..., self.qpos_index]

    def rest_controls(self, frames: int) -> np.ndarray:
        """(frames + 1, J, 4) PD targets that hold the reference pose."""
        rest = self.joint_quaternions(np.asarray(self.mj_model.qpos0, dtype=np.float32))
        return np.tile(rest[None], (frames + 1, 1, 1))

    def floor_contacts(self, geom_xpos, geom_xmat, xp=np):
        """``Structure.floor_contacts`` with this model's geom sizes."""
        return self.structure.floor_contacts(geom_xpos, geom_xmat, self.mj_model.geom_size, xp)


def _lookup(m, kind, name: str) -> int:
    i = mujoco.mj_name2id(m, kind, name)
    if i < 0:
        raise ValueError(f"model has no {kind.name[6:].lower()} named {name!r}")
    return i
