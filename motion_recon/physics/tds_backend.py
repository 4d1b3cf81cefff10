"""pytinydiffsim backend: forward simulation (no gradients) of the same model and controls.

The Tiny Differentiable Simulator of the DiffPhy paper serves as a second engine to cross-check
MJX. Its PyPI wheel (0.9.5, CPython 3.11 only) has no autodiff module and no PD control, so this
backend steps it from Python. Conventions (measured against MuJoCo, see the URDF notes in
``body_models.model_files``): the root is a prismatic x/y/z chain plus a spherical joint, so q and
qd have MuJoCo's layout except that pytinydiffsim quaternions are (x, y, z, w); spherical-joint
velocities and torques are in the child frame, as in MuJoCo. ``integrate_euler`` of the wheel
damps spherical velocities by 0.5 % per millisecond, so the step is integrated here exactly as
MuJoCo's Euler integrator does: armature and joint damping (implicit) are applied through the
mass matrix, then semi-implicit Euler with quaternion exponentials.

Floor contact: the URDF's collision capsules and spheres (the geoms that touch the floor in the
MJCF) meet pytinydiffsim's ground plane z = 0, one point per end sphere of a capsule. At each
step the penetrating points of the pre-step pose go to pytinydiffsim's constraint solver, a
velocity-level LCP solved by projected Gauss-Seidel: it changes the unconstrained velocity by
non-penetrating contact impulses within a friction box, and pushes penetration out with a
Baumgarte term (velocity ``ERP * depth / dt``). As in MuJoCo, the impulses come from the
explicit dynamics and the implicit damping and armature then act on the whole velocity change.
Unlike MuJoCo's soft contacts (solref/solimp: a stiff damped spring, about 1 mm deep under the
humanoid's weight) these contacts are rigid: an impact penetrates by about one step of travel,
pushed out over a few steps, and the standing humanoid rests about 0.5 mm deep (the implicit
damping after the solve leaves a small sinking velocity that the Baumgarte term balances). The
friction is a box, each tangent direction bounded by mu * normal impulse separately (up to
sqrt(2) mu diagonally), where MuJoCo uses a pyramid, and the solver's impulses use the
rigid-body mass matrix without the armature.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from scipy.spatial.transform import Rotation

from .compiled import CONTACT_DISTANCE, CompiledModel
from .model import DEFAULT_CONFIG, PhysicsModel, SimConfig, Trajectory
from .pd_targets import check_controls, step_targets, stiffness_torque

PGS_ITERATIONS = 50  # the solver's default of 1 leaves resting contacts 0.2 mm deep and creeping
ERP = 0.05  # Baumgarte factor; the default 0.2 bounces hard impacts back up
FLOOR_URDF = """<?xml version="1.0"?>
<robot name="floor"><link name="floor">
  <inertial><origin xyz="0 0 0"/><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial>
  <collision><origin xyz="0 0 0"/><geometry><plane normal="0 0 1"/></geometry></collision>
</link></robot>
"""  # pytinydiffsim's plane is always z = 0 with normal +z, whatever the file says


class SimulationDiverged(RuntimeError):
    """The simulation produced non-finite values."""


def _import():
    try:
        import pytinydiffsim
    except ImportError as err:  # only CPython 3.11 wheels exist
        raise RuntimeError(
            "the tds engine needs pytinydiffsim (pip install pytinydiffsim==0.9.5, CPython 3.11 only)"
        ) from err
    return pytinydiffsim


class TdsSimulator(CompiledModel):
    """Forward rollouts with pytinydiffsim; same call and result as ``MjxSimulator.rollout``."""

    def __init__(self, model: PhysicsModel, config: SimConfig = DEFAULT_CONFIG):
        if model.urdf is None:
            raise ValueError("the tds engine needs the model's URDF")
        self.pd = _import()
        super().__init__(model, config)  # the MuJoCo model supplies damping, armature and sites
        mj = self.mj_model
        self._gravity = mj.opt.gravity.copy()
        self.world = self.pd.TinyWorld()  # owns the collision geometries: keep it alive
        # MuJoCo's friction of a contact is the larger of its two geoms' (all equal in model_files)
        self.world.friction = float(mj.geom_friction[mj.geom_contype > 0, 0].max())
        with tempfile.TemporaryDirectory() as folder:
            self.mb = self._load(os.path.join(folder, "model.urdf"), model.urdf)
            self.floor = self._load(os.path.join(folder, "floor.urdf"), FLOOR_URDF)
        self._dispatcher = self.world.get_collision_dispatcher()
        self._solver = self.pd.TinyMultiBodyConstraintSolver()
        self._solver.pgs_iterations_ = PGS_ITERATIONS
        self._solver.erp_ = ERP
        self.nv = mj.nv
        self._mass = self.pd.Matrix(self.nv, self.nv)  # reused every step
        links = {link.link_name: i for i, link in enumerate(self.mb.links)}
        body_names = [mj.body(b).name for b in range(mj.nbody)]
        self._body_links = [links[name] for name in body_names[1:]]
        self._site_links = [(links[body_names[mj.site_bodyid[i]]], mj.site_pos[i].copy()) for i in self.sites]
        spherical = [link for link in self.mb.links if link.joint_type == self.pd.JOINT_SPHERICAL]
        self._quat_index = np.array([link.q_index + np.arange(4) for link in spherical])
        self._rot_dofs = np.array([link.qd_index + np.arange(3) for link in spherical])
        actuated = [self.mb.links[links[name]] for name in model.joint_names]
        if [(j.q_index, j.qd_index) for j in actuated] != [(q[0], d[0]) for q, d in zip(self.qpos_index, self.dof_index, strict=True)]:
            raise ValueError("the URDF's joint layout differs from the MJCF's")
        self._kp = np.asarray(model.stiffness)
        self._damping, self._armature = mj.dof_damping.copy(), mj.dof_armature.copy()
        self._contact_links = {links[name]: k for k, name in enumerate(model.contact_bodies)}

    def _load(self, path: str, urdf: str):
        """A fixed-base multibody of ``urdf`` (written to ``path``) in ``self.world``."""
        with open(path, "w") as f:
            f.write(urdf)
        # the parser calls exit() on a missing file: the path exists by construction here
        structure = self.pd.TinyUrdfParser().load_urdf(path, False)
        mb = self.pd.TinyMultiBody(False)
        self.pd.UrdfToMultiBody2().convert2(structure, self.world, mb)
        return mb

    def _floor_points(self):
        """Contact points of the collision shapes with the floor at the last kinematics update
        (link ``link_b``, signed ``distance`` < 0 when penetrating)."""
        return self.world.compute_contacts_multi_body([self.floor, self.mb], self._dispatcher)[0]

    # MuJoCo (w, x, y, z) quaternions <-> pytinydiffsim (x, y, z, w), in place on a qpos copy
    def _to_tds(self, qpos):
        q = np.array(qpos, dtype=float)
        q[self._quat_index] = q[self._quat_index][:, [1, 2, 3, 0]]
        return q

    def _to_mujoco(self, q):
        q = q.copy()
        q[self._quat_index] = q[self._quat_index][:, [3, 0, 1, 2]]
        return q

    def rollout(self, qpos0, qvel0, controls) -> Trajectory:
        """Simulates len(controls) - 1 frames; see ``MjxSimulator.rollout``.

        Raises ``SimulationDiverged`` naming the frame where the dynamics became non-finite.
        """
        controls = check_controls(controls, self.model.num_joints)
        q, qd = self._to_tds(qpos0), np.array(qvel0, dtype=float)
        frames = [self._record(q, qd)]
        last = self.config.substeps - 1
        for frame, substep, targets in step_targets(controls, self.config.substeps):
            stepped = self._step(q, qd, targets)
            if stepped is None:
                raise SimulationDiverged(
                    f"pytinydiffsim produced non-finite accelerations in frame {frame + 1} "
                    f"(t = {(frame + substep / self.config.substeps) / self.config.fps:.3f} s)"
                )
            q, qd = stepped
            if substep == last:
                frames.append(self._record(q, qd))
        return Trajectory(*(np.stack(parts) for parts in zip(*frames, strict=True)))

    def _step(self, q, qd, targets: Rotation):
        pd, dt = self.pd, self.config.timestep
        joint = Rotation.from_quat(q[self.qpos_index])  # (x, y, z, w), as scipy's default
        tau = -self._damping * qd
        tau[self.dof_index] += stiffness_torque(self._kp, joint, targets)
        _assign(self.mb.q, q)
        _assign(self.mb.qd, qd)
        _assign(self.mb.tau, tau)
        pd.forward_dynamics(self.mb, pd.Vector3(*self._gravity))
        qdd = _read(self.mb.qdd, self.nv)
        pd.mass_matrix(self.mb, self.mb.q, self._mass)
        m_rb = np.array([[self._mass[i, j] for j in range(self.nv)] for i in range(self.nv)])
        # contacts at the pre-step pose (forward_dynamics updated the link frames): the solver
        # turns the unconstrained velocity in mb.qd into the constrained one
        _assign(self.mb.qd, qd + dt * qdd)
        touching = [c for c in self._floor_points() if c.distance < 0.0]
        if touching:
            self._solver.resolve_collision(touching, dt)
        constrained = _read(self.mb.qd, self.nv)
        # as MuJoCo: constraint forces from the explicit dynamics, then the total force M_rb dv
        # moves (M_rb + armature + dt * damping), with the joint damping implicit
        qd = qd + np.linalg.solve(m_rb + np.diag(self._armature + dt * self._damping), m_rb @ (constrained - qd))
        if not np.all(np.isfinite(qd)):
            return None
        q = q.copy()
        q[:3] += dt * qd[:3]
        rot = Rotation.from_quat(q[self._quat_index]) * Rotation.from_rotvec(dt * qd[self._rot_dofs])
        q[self._quat_index] = rot.as_quat()
        return q, qd

    def _record(self, q, qd) -> Trajectory:
        pd = self.pd
        _assign(self.mb.q, q)
        _assign(self.mb.qd, qd)
        pd.forward_kinematics(self.mb, self.mb.q, self.mb.qd)
        keypoints = np.array([_vec(self.mb.body_to_world(link, pd.Vector3(*pos))) for link, pos in self._site_links])
        pos, quat = [], []
        for link in self._body_links:
            transform = self.mb.get_world_transform(link)
            pos.append(_vec(transform.translation))
            rot = np.array([[transform.rotation[i, j] for j in range(3)] for i in range(3)])
            quat.append(Rotation.from_matrix(rot).as_quat(scalar_first=True))
        contacts = np.zeros(len(self._contact_links))
        for point in self._floor_points():
            if point.distance < CONTACT_DISTANCE and point.link_b in self._contact_links:
                contacts[self._contact_links[point.link_b]] = 1.0
        return Trajectory(keypoints, np.array(pos), np.array(quat), contacts, self._to_mujoco(q), qd.copy())


def _assign(vector, values) -> None:
    for i, v in enumerate(values):
        vector[i] = float(v)


def _read(vector, n: int) -> np.ndarray:
    return np.array([vector[i] for i in range(n)])


def _vec(v) -> np.ndarray:
    return np.array([v[0], v[1], v[2]])
