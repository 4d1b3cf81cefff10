"""The 3D scene of a result, shared by the overlay renderer and the interactive viewer: the capsules
of the simulated humanoid posed at every frame, exactly as the physics model has them (the body is
rebuilt from the result's bone lengths and posed by C MuJoCo's forward kinematics from the stored
``simulation/qpos``), and the feet's floor contacts. The floor is at z = ``ground``: results are
stored in their input's world frame, where the ground found under the motion need not be z = 0.

Capsules are described in their own frame as trimesh builds them: axis along z, centred at the
origin, ``half_length`` from the centre to each cap's centre (0 for a sphere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from body_models.model_files import result_mujoco_model
from motion_recon.result_file import MotionResult


@dataclass(frozen=True)
class BodyScene:
    """Posed capsules and contacts of a result, at the result's frame rate."""

    names: tuple[str, ...]  # (G,) geom names of the physics model ("<link>_<k>")
    radius: np.ndarray  # (G,) metres
    half_length: np.ndarray  # (G,) metres, 0 for spheres
    position: np.ndarray  # (T, G, 3) capsule centres, world frame (z up)
    rotation: np.ndarray  # (T, G, 4) capsule orientations, quaternions (w, x, y, z)
    contact_bodies: tuple[str, ...]  # (C,)
    contact: np.ndarray  # (T, C) bool: the body touches the floor
    contact_point: np.ndarray  # (T, C, 3) the body's lowest capsule point, on the floor
    fps: float
    ground: float  # height of the floor (m)

    @property
    def frames(self) -> int:
        return len(self.position)

    def matrices(self, frame: int) -> np.ndarray:
        """(G, 4, 4) world poses of the capsules at ``frame``."""
        poses = np.tile(np.eye(4), (len(self.names), 1, 1))
        poses[:, :3, :3] = Rotation.from_quat(self.rotation[frame], scalar_first=True).as_matrix()
        poses[:, :3, 3] = self.position[frame]
        return poses

    def at_times(self, seconds: np.ndarray) -> BodyScene:
        """The scene at the given times (s), interpolated between frames (positions linearly,
        orientations by slerp, contacts from the nearest frame), clamped to the motion's span."""
        times = np.arange(self.frames) / self.fps
        seconds = np.clip(np.asarray(seconds, float), 0.0, times[-1])
        position = np.stack([np.interp(seconds, times, self.position[:, g, k])
                             for g in range(len(self.names)) for k in range(3)], -1)  # fmt: skip
        rotation = np.stack([_slerp(times, self.rotation[:, g], seconds) for g in range(len(self.names))], 1)
        nearest = np.clip(np.round(seconds * self.fps).astype(int), 0, self.frames - 1)
        return BodyScene(self.names, self.radius, self.half_length, position.reshape(len(seconds), -1, 3), rotation,
                         self.contact_bodies, self.contact[nearest], self.contact_point[nearest], 1.0,
                         self.ground)  # fmt: skip


def body_scene(result: MotionResult) -> BodyScene:
    """The posed capsules of ``result``'s simulated motion (see the module docstring)."""
    import mujoco

    model = result_mujoco_model(result.body)
    data = mujoco.MjData(model)
    geoms = np.flatnonzero(model.geom_bodyid > 0)  # every body capsule, not the floor
    qpos = np.asarray(result.qpos, float)
    if qpos.ndim != 2 or qpos.shape[1] != model.nq:
        raise ValueError(f"{result.name}: simulation/qpos has shape {qpos.shape}, the body needs (T, {model.nq})")
    position = np.empty((len(qpos), len(geoms), 3))
    matrix = np.empty((len(qpos), len(geoms), 3, 3))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        position[t] = data.geom_xpos[geoms]
        matrix[t] = data.geom_xmat[geoms].reshape(-1, 3, 3)
    radius = model.geom_size[geoms, 0].copy()
    half_length = np.where(model.geom_type[geoms] == mujoco.mjtGeom.mjGEOM_CAPSULE, model.geom_size[geoms, 1], 0.0)
    rotation = Rotation.from_matrix(matrix.reshape(-1, 3, 3)).as_quat(scalar_first=True).reshape(len(qpos), -1, 4)
    names = tuple(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, int(g)) for g in geoms)
    body_of = model.geom_bodyid[geoms]
    ground = float(result.body.get("ground_height", 0.0))
    contact_point = np.full((len(qpos), len(result.contact_bodies), 3), ground)
    for c, name in enumerate(result.contact_bodies):
        mine = body_of == mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
        lowest = _lowest_points(position[:, mine], matrix[:, mine], radius[mine], half_length[mine])
        contact_point[:, c, :2] = lowest[..., :2]
    return BodyScene(names, radius, half_length, position, rotation, tuple(result.contact_bodies),
                     np.asarray(result.contacts) > 0.5, contact_point, float(result.fps), ground)  # fmt: skip


def _lowest_points(centre, matrix, radius, half_length) -> np.ndarray:
    """(T, 3) the lowest surface point over a body's capsules at each frame."""
    axis = matrix[..., :, 2]  # (T, n, 3): each capsule's z axis in the world
    ends = centre[..., None, :] + np.stack([axis, -axis], -2) * half_length[:, None, None]  # (T, n, 2, 3)
    ends = ends.reshape(len(centre), -1, 3)
    low = ends[..., 2] - np.repeat(radius, 2)
    return ends[np.arange(len(centre)), np.argmin(low, axis=1)]


def _slerp(times: np.ndarray, quaternions: np.ndarray, at: np.ndarray) -> np.ndarray:
    if len(times) == 1:
        return np.repeat(quaternions, len(at), 0)
    rotations = Rotation.from_quat(quaternions, scalar_first=True)
    return Slerp(times, rotations)(at).as_quat(scalar_first=True)
