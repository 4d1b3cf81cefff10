"""The DiffPhy window loss: how far the simulated motion of a control trajectory is from the
observations, plus a smoothness term on the controls.

Controls are parameterised as rotation vectors ``u`` (W+1, J, 3) that turn reference PD targets
(the kinematic initialisation, e.g. inverse kinematics of the observed keypoints):
target = reference * exp(u). ``u = 0`` tracks the reference, every ``u`` is a valid rotation, and
the loss is smooth in ``u``. The loss is a pure function of ``u`` and the window's data, so one
compiled function serves every window of a sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..physics import rotations


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms and the window length.

    Defaults: 3D keypoint error as mean squared distance in m^2 (weight 1), and control smoothness
    as the mean squared change of ``u`` between frames in rad^2 (weight 1e-3: a 10 cm keypoint
    error weighs as much as 0.3 rad of control change per frame).
    """

    window: int = 5  # simulated frames per window (0.2 s at 25 fps)
    keypoint_weight: float = 1.0
    smoothness_weight: float = 1e-3


DEFAULT_LOSS = LossConfig()


class WindowData(NamedTuple):
    """One window: start state, reference PD targets (W+1, J, 4), observed keypoints (W+1, K, 3)
    and their weights (W+1, K) (0 where a keypoint is missing; frame 0 is the start and is not
    scored)."""

    qpos0: jax.Array
    qvel0: jax.Array
    reference: jax.Array
    keypoints: jax.Array
    weights: jax.Array


def pd_targets(u, reference):
    """Targets reference * exp(u) of (W+1, J, 3) control offsets."""
    return rotations.mul(reference, rotations.from_rotvec(u))


def window_loss(sim, config: LossConfig, u, data: WindowData):
    """Scalar loss of flat or shaped control offsets ``u`` for one window simulated by ``sim``
    (an MJX simulator: the loss is differentiable and vmaps over windows)."""
    u = jnp.reshape(u, data.reference.shape[:-1] + (3,))
    trajectory = sim.rollout(data.qpos0, data.qvel0, pd_targets(u, data.reference))
    observed = jnp.nan_to_num(data.keypoints[1:])
    weights = data.weights[1:]
    squared = jnp.sum((trajectory.keypoints[1:] - observed) ** 2, axis=-1)
    keypoint_term = jnp.sum(weights * squared) / jnp.maximum(jnp.sum(weights), 1.0)
    smoothness_term = jnp.mean(jnp.sum(jnp.diff(u, axis=0) ** 2, axis=-1))
    return config.keypoint_weight * keypoint_term + config.smoothness_weight * smoothness_term
