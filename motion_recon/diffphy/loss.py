"""The DiffPhy window loss: how far the simulated motion of a control trajectory is from the
observations, plus a smoothness term on the controls.

Controls are parameterised as rotation vectors ``u`` (W+1, J, 3) that turn reference PD targets
(the kinematic initialisation, e.g. inverse kinematics of the observed keypoints):
target = reference * exp(u). ``u = 0`` tracks the reference, every ``u`` is a valid rotation, and
the loss is smooth in ``u``. With a residual root force (``LossConfig.residual_force_weight`` >
0), ``u`` has ``RESIDUAL_ROWS`` more rows per frame: the 6-D wrench on the root in units of the
body's weight (``MjxRollout.rollout``), penalised by its mean square. The loss is a pure function
of ``u`` and the window's data, the simulated body included, so one compiled function serves
every window of every body of one joint structure.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import skeleton
from ..perception.cameras import project
from ..configs import LossConfig
from ..physics import rotations

RESIDUAL_ROWS = 2  # rows of 3 in ``u`` per frame for the root wrench: force, torque


def control_rows(joints: int, config: LossConfig) -> int:
    """Rows of 3 values per frame in ``u``: one per joint, plus the root wrench's when it is on."""
    return joints + (RESIDUAL_ROWS if config.residual_force_weight > 0 else 0)


def split_controls(u, joints: int):
    """(joint offsets (F, J, 3), root wrench (F, 6) or None) of controls ``u`` (F, rows, 3)."""
    if u.shape[1] == joints:
        return u, None
    return u[:, :joints], u[:, joints:].reshape(len(u), -1)


class NextStart(NamedTuple):
    """Where the next window starts: the index of its first frame in this window, its start
    state, and the weight of the continuity term (0 for the last window of a motion)."""

    frame: jax.Array
    qpos: jax.Array
    qvel: jax.Array
    weight: jax.Array


class GroundContact(NamedTuple):
    """Where the observations put a foot on the ground: a weight per frame and ankle (W+1, 2)
    (right, left; 0 where they do not, e.g. a swinging foot) and the height (m) of an ankle whose
    foot stands on it."""

    weight: jax.Array
    ankle_height: jax.Array


class WindowData(NamedTuple):
    """One window: the simulated ``body`` (``physics.mjx_backend.Body``), start state, reference
    PD targets (W+1, J, 4), observed keypoints (W+1, K, 3) and their weights (W+1, K) (0 where a
    keypoint is missing; frame 0 is the start and is not scored). With ``keypoints2d`` (W+1, K, 2)
    pixels, their weights (W+1, K) (e.g. detector confidences) and a camera ``(K, dist, R, t)``
    (see ``perception.cameras.project``), the 2D reprojection term is added; without them (None)
    it is left out. ``planted`` (W+1, 2): weight of each ankle (right, left) standing still from
    the previous frame to this one (video). ``ground``: feet on the ground (video).
    ``next_start``: the next window's start when windows are optimized in parallel."""

    body: object
    qpos0: jax.Array
    qvel0: jax.Array
    reference: jax.Array
    keypoints: jax.Array
    weights: jax.Array
    keypoints2d: jax.Array | None = None
    weights2d: jax.Array | None = None
    camera: tuple | None = None
    planted: jax.Array | None = None
    ground: GroundContact | None = None
    next_start: NextStart | None = None


def pd_targets(u, reference):
    """Targets reference * exp(u) of (W+1, J, 3) control offsets."""
    return rotations.mul(reference, rotations.from_rotvec(u))


def window_loss(sim, config: LossConfig, u, data: WindowData):
    """Scalar loss of flat or shaped control offsets ``u`` for one window of ``data.body``
    simulated by ``sim`` (the structure's ``MjxRollout``: the loss is differentiable and vmaps
    over windows and bodies)."""
    frames, joints = data.reference.shape[:2]
    u, residual = split_controls(jnp.reshape(u, (frames, control_rows(joints, config), 3)), joints)
    trajectory = sim.rollout(data.body, data.qpos0, data.qvel0, pd_targets(u, data.reference), residual)
    simulated = trajectory.keypoints[1:]
    loss = config.keypoint_weight * _weighted_mean_square(simulated, data.keypoints[1:], data.weights[1:])
    if data.keypoints2d is not None:
        pixels = project(simulated, *data.camera)
        loss += config.keypoint2d_weight * _weighted_mean_square(pixels, data.keypoints2d[1:], data.weights2d[1:],
                                                                  config.robust_2d_px, config.image_shift_weight)  # fmt: skip
    if data.planted is not None and config.planted_foot_weight > 0:
        ankles = trajectory.keypoints[:, skeleton.ANKLES]
        slide = jnp.sum(jnp.diff(ankles, axis=0) ** 2, axis=-1)
        loss += config.planted_foot_weight * jnp.sum(data.planted[1:] * slide) / jnp.maximum(jnp.sum(data.planted[1:]), 1.0)
    if data.ground is not None and (config.ground_contact_weight > 0 or config.ground_slide_weight > 0):
        ankles = trajectory.keypoints[:, skeleton.ANKLES]
        lift = jnp.maximum(ankles[1:, :, 2] - data.ground.ankle_height, 0.0)
        slide = jnp.sum(jnp.diff(ankles[..., :2], axis=0) ** 2, axis=-1)
        on, stays = data.ground.weight[1:], data.ground.weight[1:] * data.ground.weight[:-1]
        held = config.ground_contact_weight * jnp.sum(on * lift**2)
        held += config.ground_slide_weight * jnp.sum(stays * slide)
        loss += held / jnp.maximum(jnp.sum(on), 1.0)
    if data.next_start is not None:
        nxt = data.next_start
        gap = state_gap(trajectory.qpos[nxt.frame], trajectory.qvel[nxt.frame], nxt.qpos, nxt.qvel, sim.config.fps)
        loss += config.continuity_weight * nxt.weight * gap
    if residual is not None:
        loss += config.residual_force_weight * jnp.mean(jnp.sum(residual**2, axis=-1))
    smoothness_term = jnp.mean(jnp.sum(jnp.diff(u, axis=0) ** 2, axis=-1))
    return loss + config.smoothness_weight * smoothness_term


def state_gap(qpos, qvel, qpos_ref, qvel_ref, fps: float):
    """Squared distance of two humanoid states (MuJoCo layout: root position, then one quaternion
    per ball, the root's included): root offset in m^2, plus the mean over rotations of
    ``4 (1 - <q, p>^2)`` (about the squared angle in rad^2, either quaternion sign), plus the mean
    squared velocity difference per frame ``((qvel - qvel_ref) / fps)^2`` (m^2 or rad^2)."""
    quats, quats_ref = jnp.reshape(qpos[3:], (-1, 4)), jnp.reshape(qpos_ref[3:], (-1, 4))
    rotation = 4.0 * jnp.mean(1.0 - jnp.sum(quats * quats_ref, axis=-1) ** 2)
    velocity = jnp.mean(((qvel - qvel_ref) / fps) ** 2)
    return jnp.sum((qpos[:3] - qpos_ref[:3]) ** 2) + rotation + velocity


@functools.lru_cache(maxsize=16)
def loss_function(sim, config: LossConfig):
    """``window_loss`` as ``fun(u, data)`` for the optimizers, one function object per (shared
    rollout, config), so they compile it once for all windows and bodies."""
    return functools.partial(window_loss, sim, config)


def robust_square(squared, scale: float):
    """Geman-McClure of a squared error: ``scale^2 e^2 / (scale^2 + e^2)``; ``scale`` 0 leaves
    ``e^2`` as it is."""
    return squared if scale <= 0 else scale**2 * squared / (scale**2 + squared)


def _weighted_mean_square(predicted, observed, weights, robust_scale: float = 0.0, shift_weight: float = 1.0):
    """Weighted mean over keypoints of the squared distance (made robust by ``robust_square``);
    NaN observations need weight 0. ``shift_weight``: the weight of each frame's weighted mean
    error (the errors are split into it and their deviations from it, which are orthogonal)."""
    error = predicted - jnp.nan_to_num(observed)
    if shift_weight != 1.0:
        frame_weights = weights[..., None]
        shift = jnp.sum(frame_weights * error, axis=-2, keepdims=True) / jnp.maximum(
            jnp.sum(frame_weights, axis=-2, keepdims=True), 1e-6)
        error = error - (1.0 - shift_weight**0.5) * shift
    squared = robust_square(jnp.sum(error**2, axis=-1), robust_scale)
    return jnp.sum(weights * squared) / jnp.maximum(jnp.sum(weights), 1.0)
