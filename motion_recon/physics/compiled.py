"""The compiled MuJoCo model shared by all engines: indices of the actuated joints, keypoint
sites and floor-contact geoms, the default state, and the floor-contact test."""

from __future__ import annotations

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


class CompiledModel:
    """Index tables of a ``PhysicsModel`` compiled with a ``SimConfig``."""

    def __init__(self, model: PhysicsModel, config: SimConfig):
        self.model, self.config = model, config
        self.mj_model = m = compile_model(model, config)
        joints = [_lookup(m, mujoco.mjtObj.mjOBJ_JOINT, name) for name in model.joint_names]
        if any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_BALL for j in joints):
            raise ValueError("every actuated joint must be a ball joint of the model")
        self.qpos_index = np.array([m.jnt_qposadr[j] + np.arange(4) for j in joints])
        self.dof_index = np.array([m.jnt_dofadr[j] + np.arange(3) for j in joints])
        self.sites = np.array([_lookup(m, mujoco.mjtObj.mjOBJ_SITE, s) for s in model.keypoint_sites])
        bodies = [_lookup(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in model.contact_bodies]
        # per reported body, its geoms that collide with anything (spheres and capsules)
        self.contact_geoms = [
            np.flatnonzero((m.geom_bodyid == b) & (m.geom_contype > 0)) for b in bodies
        ]
        for geoms in self.contact_geoms:
            if not set(m.geom_type[geoms].tolist()) <= {_SPHERE, _CAPSULE}:
                raise ValueError("floor contact is reported for sphere and capsule geoms only")

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
        """(C,) 1.0 where a reported body's lowest sphere/capsule point is within
        ``CONTACT_DISTANCE`` of the floor z = 0 (``xp``: numpy or jax.numpy)."""
        m = self.mj_model
        flags = []
        for geoms in self.contact_geoms:
            if geoms.size == 0:
                flags.append(xp.zeros(()))
                continue
            half = np.where(m.geom_type[geoms] == _CAPSULE, m.geom_size[geoms, 1], 0.0)
            axis_z = geom_xmat.reshape(-1, 3, 3)[geoms, 2, 2]  # z component of each geom's local z axis
            lowest = geom_xpos[geoms, 2] - xp.abs(axis_z) * half - m.geom_size[geoms, 0]
            flags.append((xp.min(lowest) < CONTACT_DISTANCE).astype(geom_xpos.dtype))
        return xp.stack(flags)


def _lookup(m, kind, name: str) -> int:
    i = mujoco.mj_name2id(m, kind, name)
    if i < 0:
        raise ValueError(f"model has no {kind.name[6:].lower()} named {name!r}")
    return i
