"""Forward kinematics (JAX) and inverse kinematics (NumPy/SciPy, then JAX) of the humanoid.

A pose is a MuJoCo qpos: root position (3), root quaternion (4), then one local quaternion per
ball joint in link order; quaternions are (w, x, y, z). Forward kinematics reproduces the
simulator's keypoint sites exactly, and inverse kinematics turns 17 observed 3D keypoints into the
pose that reproduces them: each link's rotation aligns its rest-pose child offsets with the
observed ones (least squares over several children, shortest arc for one child; the twist about
a single bone, which keypoints do not show, is left at zero). Keypoints of another skeleton, or
noisy ones, cannot be matched exactly, and link by link the misfit of each bone is carried to
every bone after it; ``refine_pose`` then moves all joints at once to the pose closest to all 17
keypoints in least squares (Levenberg-Marquardt per frame).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial.transform import Rotation

from motion_recon.physics import enable_compilation_cache, rotations

from .humanoid import Humanoid
from motion_recon.skeleton import INDEX, NUM_JOINTS


def num_qpos(humanoid: Humanoid) -> int:
    return 7 + 4 * (len(humanoid.links) - 1)


def forward_kinematics(humanoid: Humanoid, qpos) -> jnp.ndarray:
    """(..., 17, 3) keypoints of (..., nq) poses."""
    tree, link_pos, site_pos = skeleton_arrays(humanoid)
    return _forward(tree, link_pos, site_pos, qpos)


def skeleton_arrays(humanoid: Humanoid) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The humanoid as (tree, link offsets (L, 3), keypoint offsets (17, 3)): ``tree`` (hashable)
    holds each link's parent and each keypoint's link, the arrays the body's dimensions."""
    site_link, site_pos = [0] * NUM_JOINTS, np.zeros((NUM_JOINTS, 3))
    for i, link in enumerate(humanoid.links):
        for name, site in link.sites.items():
            site_link[INDEX[name]], site_pos[INDEX[name]] = i, site
    tree = (tuple(link.parent for link in humanoid.links), tuple(site_link))
    return tree, np.array([link.pos for link in humanoid.links], float), site_pos


def _forward(tree: tuple, link_pos, site_pos, qpos) -> jnp.ndarray:
    parents, site_link = tree
    qpos = jnp.asarray(qpos)
    link_pos, site_pos = jnp.asarray(link_pos, qpos.dtype), jnp.asarray(site_pos, qpos.dtype)
    world_pos, world_rot = [], []
    for i, parent in enumerate(parents):
        local = qpos[..., 3 + 4 * i : 7 + 4 * i]
        if parent < 0:
            world_pos.append(qpos[..., :3])
            world_rot.append(local)
        else:
            world_pos.append(world_pos[parent] + rotations.rotate(world_rot[parent], link_pos[i]))
            world_rot.append(rotations.mul(world_rot[parent], local))
    keypoints = [world_pos[i] + rotations.rotate(world_rot[i], site_pos[k]) for k, i in enumerate(site_link)]
    return jnp.stack(keypoints, axis=-2)


def inverse_kinematics(humanoid: Humanoid, keypoints) -> np.ndarray:
    """(T, nq) poses whose keypoints match (T, 17, 3) observed keypoints as closely as the
    skeleton allows (exactly for keypoints of the same skeleton): link by link, then
    ``refine_pose``."""
    return refine_pose(humanoid, keypoints, _link_by_link(humanoid, keypoints))


REFINE_ITERATIONS = 8
REFINE_DAMPING = 1e-3  # Levenberg-Marquardt damping, relative to the mean diagonal of J^T J
REFINE_CHUNK = 32  # frames per call of the compiled refinement: one compilation whatever the clip's length


def refine_pose(humanoid: Humanoid, keypoints, qpos) -> np.ndarray:
    """(T, nq) poses from ``qpos`` moved to the least-squares fit of all 17 (T, 17, 3) keypoints:
    per frame, ``REFINE_ITERATIONS`` damped Gauss-Newton steps on the root position and a
    rotation vector per link (applied on the right of its quaternion). A step is kept only
    where it lowers the error, so the result is never worse than ``qpos``."""
    tree, link_pos, site_pos = skeleton_arrays(humanoid)
    qpos, keypoints = np.asarray(qpos, np.float32), np.asarray(keypoints, np.float32)
    frames = len(qpos)
    padded = -frames % REFINE_CHUNK  # the last chunk repeats the last frame
    qpos = np.concatenate([qpos, np.repeat(qpos[-1:], padded, axis=0)])
    keypoints = np.concatenate([keypoints, np.repeat(keypoints[-1:], padded, axis=0)])
    refine = _refinement(tree)
    out = np.concatenate([
        np.asarray(refine(link_pos, site_pos, qpos[s : s + REFINE_CHUNK], keypoints[s : s + REFINE_CHUNK]), np.float64)
        for s in range(0, len(qpos), REFINE_CHUNK)
    ])[:frames]  # fmt: skip
    quats = out[:, 3:].reshape(len(out), -1, 4)
    quats /= np.linalg.norm(quats, axis=-1, keepdims=True)
    quats *= np.where(quats[..., :1] < 0, -1.0, 1.0)  # w >= 0
    out[:, 3:] = quats.reshape(len(out), -1)
    return out


@functools.lru_cache(maxsize=8)
def _refinement(tree: tuple):
    """The compiled refinement of every body of one skeleton ``tree`` (its dimensions are data),
    kept in the persistent compilation cache: inverse kinematics runs before any simulator exists."""
    enable_compilation_cache()
    links = len(tree[0])

    def moved(qpos, delta):
        quats = qpos[3:].reshape(links, 4)
        quats = rotations.mul(quats, rotations.from_rotvec(delta[3:].reshape(links, 3)))
        return jnp.concatenate([qpos[:3] + delta[:3], quats.reshape(-1)])

    def refine(link_pos, site_pos, qpos, keypoints):
        def residual(delta, qpos, keypoints):
            return (_forward(tree, link_pos, site_pos, moved(qpos, delta)) - keypoints).reshape(-1)

        return jax.vmap(lambda q, k: frame(residual, q, k))(qpos, keypoints)

    def frame(residual, qpos, keypoints):
        def step(_, qpos):
            zero = jnp.zeros(3 + 3 * links, qpos.dtype)
            r = residual(zero, qpos, keypoints)
            J = jax.jacfwd(residual)(zero, qpos, keypoints)
            JtJ = J.T @ J
            damping = REFINE_DAMPING * jnp.mean(jnp.diag(JtJ)) * jnp.eye(len(zero), dtype=qpos.dtype)
            delta = -jnp.linalg.solve(JtJ + damping, J.T @ r)
            candidate = moved(qpos, delta)
            better = jnp.sum(residual(zero, candidate, keypoints) ** 2) < jnp.sum(r**2)
            return jnp.where(better, candidate, qpos)

        return jax.lax.fori_loop(0, REFINE_ITERATIONS, step, qpos)

    return jax.jit(refine)


def _link_by_link(humanoid: Humanoid, keypoints) -> np.ndarray:
    """The link-by-link solution (module docstring)."""
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


def velocities(humanoid: Humanoid, qpos, fps: float, half_width: int = 1) -> np.ndarray:
    """(T, nv) generalised velocities of a (T, nq) pose sequence, in MuJoCo's layout: root linear
    velocity in the world frame, angular velocities in each link's own frame. Each frame's is the
    slope of a least-squares line through the poses within ``half_width`` frames of it (cut at the
    ends); 1 gives central differences inside and one-sided ones at the ends, wider lines average
    out the noise of detected poses. Rotations are fitted as rotation vectors from the frame's own."""
    qpos = np.asarray(qpos, dtype=float)
    frames = len(qpos)
    if frames < 2:
        raise ValueError("velocities need at least two poses")
    if half_width < 1:
        raise ValueError(f"velocities need a half width of at least 1 frame, got {half_width}")
    links = (qpos.shape[1] - 3) // 4
    quats = Rotation.from_quat(qpos[:, 3:].reshape(-1, 4), scalar_first=True)
    linear = np.zeros((frames, 3))
    angular = np.zeros((frames, links, 3))
    for t in range(frames):
        near = np.arange(max(0, t - half_width), min(frames, t + half_width + 1))
        offsets = (near - near.mean()) / np.sum((near - near.mean()) ** 2)  # least-squares slope weights
        here = quats[t * links : (t + 1) * links]
        turned = np.stack([(here.inv() * quats[s * links : (s + 1) * links]).as_rotvec() for s in near])
        linear[t] = offsets @ qpos[near, :3] * fps
        angular[t] = np.tensordot(offsets, turned, axes=1) * fps
    return np.concatenate([linear, angular.reshape(frames, -1)], axis=1)


def led_targets(humanoid: Humanoid, qpos, qvel, lead_s: float | None = None) -> np.ndarray:
    """(T, J, 4) PD targets that lead the poses ``qpos`` (T, nq) along their velocities ``qvel``
    (T, nv) by each joint's damping time kd / kp (or by ``lead_s`` seconds for every joint). A
    joint driven to such a target feels kp (q* - q) - kd dq = kp (q_pose - q) + kd (dq_pose - dq)
    to first order: its damping acts on the velocity error, not the velocity, so the joint follows
    the motion instead of lagging it by kd / kp (0.1 s) as it does with the poses themselves as
    targets."""
    qpos, qvel = np.asarray(qpos, dtype=float), np.asarray(qvel, dtype=float)
    kp, kd = humanoid.gains()
    seconds = kd / kp if lead_s is None else np.full(len(kp), lead_s)
    poses = Rotation.from_quat(qpos[:, 7:].reshape(-1, 4), scalar_first=True)
    lead = (qvel[:, 6:].reshape(len(qpos), -1, 3) * seconds[:, None]).reshape(-1, 3)
    return (poses * Rotation.from_rotvec(lead)).as_quat(scalar_first=True).reshape(len(qpos), -1, 4)
