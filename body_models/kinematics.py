"""Forward kinematics (JAX) and inverse kinematics (NumPy/SciPy) of the humanoid.

A pose is a MuJoCo qpos: root position (3), root quaternion (4), then one local quaternion per
ball joint in link order; quaternions are (w, x, y, z). Forward kinematics reproduces the
simulator's keypoint sites exactly, and inverse kinematics turns 17 observed 3D keypoints into the
pose that reproduces them: each link's rotation aligns its rest-pose child offsets with the
observed ones (least squares over several children, shortest arc for one child; the twist about
a single bone, which keypoints do not show, is left at zero).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from scipy.spatial.transform import Rotation

from motion_recon.physics import rotations

from .humanoid import Humanoid
from motion_recon.skeleton import INDEX, NUM_JOINTS


def num_qpos(humanoid: Humanoid) -> int:
    return 7 + 4 * (len(humanoid.links) - 1)


def forward_kinematics(humanoid: Humanoid, qpos) -> jnp.ndarray:
    """(..., 17, 3) keypoints of (..., nq) poses."""
    qpos = jnp.asarray(qpos)
    world_pos, world_rot = [], []
    for i, link in enumerate(humanoid.links):
        local = qpos[..., 3:7] if link.parent < 0 else qpos[..., 3 + 4 * i : 7 + 4 * i]
        if link.parent < 0:
            world_pos.append(qpos[..., :3])
            world_rot.append(local)
        else:
            parent_rot = world_rot[link.parent]
            world_pos.append(world_pos[link.parent] + rotations.rotate(parent_rot, jnp.asarray(link.pos, qpos.dtype)))
            world_rot.append(rotations.mul(parent_rot, local))
    keypoints = [None] * NUM_JOINTS
    for i, link in enumerate(humanoid.links):
        for name, site in link.sites.items():
            keypoints[INDEX[name]] = world_pos[i] + rotations.rotate(world_rot[i], jnp.asarray(site, qpos.dtype))
    return jnp.stack(keypoints, axis=-2)


def inverse_kinematics(humanoid: Humanoid, keypoints) -> np.ndarray:
    """(T, nq) poses whose keypoints match (T, 17, 3) observed keypoints as closely as the
    skeleton allows (exactly for keypoints of the same skeleton)."""
    keypoints = np.asarray(keypoints, dtype=float)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must have shape (T, 17, 3), got {keypoints.shape}")
    if not np.all(np.isfinite(keypoints)):
        raise ValueError("keypoints contain NaN or infinite values")
    frames = len(keypoints)
    qpos = np.zeros((frames, num_qpos(humanoid)))
    qpos[:, :3] = keypoints[:, INDEX["pelvis"]]
    world: list[Rotation] = []
    for i, link in enumerate(humanoid.links):
        child_sites = [(name, pos) for name, pos in link.sites.items() if name != link.name]
        child_sites += [(c.name, c.pos) for c in humanoid.links if c.parent == i]
        parent = world[link.parent] if link.parent >= 0 else Rotation.identity(frames)
        local = _align(parent, keypoints, link.name, child_sites)
        world.append(parent * local)
        quat = local.as_quat(scalar_first=True)
        quat *= np.where(quat[:, :1] < 0, -1.0, 1.0)  # w >= 0
        qpos[:, 3 + 4 * i : 7 + 4 * i] = quat
    return qpos


def _align(parent: Rotation, keypoints, name: str, child_sites) -> Rotation:
    """Per frame, the local rotation taking the rest offsets of a link's children onto the
    observed offsets (expressed in the parent's frame)."""
    if not child_sites:
        return Rotation.identity(len(keypoints))
    rest = np.array([pos for _, pos in child_sites])
    observed = np.stack([keypoints[:, INDEX[c]] - keypoints[:, INDEX[name]] for c, _ in child_sites], axis=1)
    rotations_ = []
    for t in range(len(keypoints)):
        local = parent[t].inv().apply(observed[t])
        if np.all(np.linalg.norm(local, axis=-1) < 1e-9):
            rotations_.append(Rotation.identity())
            continue
        rotation, _ = Rotation.align_vectors(local, rest)
        rotations_.append(rotation)
    return Rotation.concatenate(rotations_)


def velocities(humanoid: Humanoid, qpos, fps: float) -> np.ndarray:
    """(T, nv) generalised velocities of a (T, nq) pose sequence by finite differences
    (central inside, one-sided at the ends), in MuJoCo's layout: root linear velocity in the
    world frame, angular velocities in each link's own frame."""
    qpos = np.asarray(qpos, dtype=float)
    if len(qpos) < 2:
        raise ValueError("velocities need at least two poses")
    quats = qpos[:, 3:].reshape(len(qpos), -1, 4)
    before = np.concatenate([qpos[:1], qpos[:-1]])
    after = np.concatenate([qpos[1:], qpos[-1:]])
    span = np.full(len(qpos), 2.0 / fps)
    span[[0, -1]] = 1.0 / fps
    linear = (after[:, :3] - before[:, :3]) / span[:, None]
    q0 = Rotation.from_quat(before[:, 3:].reshape(-1, 4), scalar_first=True)
    q1 = Rotation.from_quat(after[:, 3:].reshape(-1, 4), scalar_first=True)
    angular = (q0.inv() * q1).as_rotvec().reshape(len(qpos), quats.shape[1], 3) / span[:, None, None]
    return np.concatenate([linear, angular.reshape(len(qpos), -1)], axis=1)

