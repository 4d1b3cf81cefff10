"""Persistent Evolution Strategies (Vicario et al. 2021) with antithetic pairs, written for this
project (REFERENCE.md section 2).

For every task of a batch two particles run the inner optimization, one with ``theta + eps`` and
one with ``theta - eps``, ``eps ~ N(0, sigma^2 I)`` drawn afresh each truncation. A truncation
unrolls ``T`` inner steps from where the previous one stopped (the particles persist across the
truncations of an episode) and scores each particle by the mean log loss over its steps. Because a
particle's state depends on every perturbation of its episode, the estimate uses their sum
``xi`` (the persistent accumulator, reset with the episode):

    grad = mean_tasks[(L(theta + eps) - L(theta - eps)) * xi] / (2 sigma^2)

which is unbiased for the gradient of the smoothed meta-loss of the whole unroll, unlike plain
truncated ES.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from motion_recon.meta.tasks import TaskBatch
from motion_recon.optim.learned import LearnedRule

LOG_LOSS_FLOOR = 1e-8  # the meta-loss is log(loss + floor)
LOG_LOSS_CEILING = math.log(1e30)  # a diverged particle scores this instead of inf/NaN


class Particles(NamedTuple):
    """Inner optimization of the 2B particles (first B: +eps, last B: -eps)."""

    x: jax.Array  # (2B, N)
    state: Any  # rule state with a leading (2B,) axis


class PESState(NamedTuple):
    """One episode of a task batch."""

    particles: Particles
    accumulator: Any  # like theta, leading (B,): the sum of this episode's perturbations
    inner_step: int  # inner steps done in this episode


def start_episode(rule: LearnedRule, theta: dict, tasks: TaskBatch) -> PESState:
    x = jnp.concatenate([tasks.x0, tasks.x0])
    batch = tasks.x0.shape[0]
    accumulator = jax.tree.map(lambda leaf: jnp.zeros((batch,) + leaf.shape, leaf.dtype), theta)
    return PESState(Particles(x, jax.vmap(rule.init_state)(x)), accumulator, 0)


def meta_loss(losses: jax.Array) -> jax.Array:
    """Mean over steps of ``log(loss + 1e-8)``, finite even for diverged runs. losses: (..., T)."""
    logs = jnp.log(jnp.maximum(losses, 0.0) + LOG_LOSS_FLOOR)
    return jnp.mean(jnp.where(jnp.isfinite(logs), jnp.minimum(logs, LOG_LOSS_CEILING), LOG_LOSS_CEILING), axis=-1)


@functools.partial(jax.jit, static_argnames=("update", "loss", "steps"))
def unroll(update, loss, thetas, particles: Particles, params, steps: int):
    """``steps`` inner updates of every particle with its own meta-parameters.

    Args:
      update: the rule's update function (static). thetas: theta with a leading (2B,) axis.
      params: task parameters, leading (2B,).
    Returns:
      (particles after the truncation, losses (2B, steps) at the iterates before each update).
    """

    def one(theta, x, state, task_params):
        def body(carry, _):
            x, state = carry
            value, grad = jax.value_and_grad(loss, argnums=1)(task_params, x)
            grad = jnp.where(jnp.isfinite(grad), grad, 0.0)  # a diverged particle stops moving
            updates, state = update(theta, state, x, grad)
            x = x + updates
            return (x, state), value

        (x, state), values = jax.lax.scan(body, (x, state), length=steps)
        return x, state, values

    x, state, values = jax.vmap(one)(thetas, particles.x, particles.state, params)
    return Particles(x, state), values


def perturbations(theta: dict, batch: int, key: jax.Array, sigma: float) -> dict:
    """``eps ~ N(0, sigma^2 I)`` like theta with a leading (B,) axis: one per task of a batch."""
    leaves, treedef = jax.tree.flatten(theta)
    keys = jax.random.split(key, len(leaves))
    return treedef.unflatten(
        [sigma * jax.random.normal(k, (batch,) + leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves, strict=True)]
    )


def run_particles(rule: LearnedRule, theta: dict, particles: Particles, tasks: TaskBatch, eps: dict, steps: int
                  ) -> tuple[Particles, jax.Array]:  # fmt: skip
    """Runs the antithetic particles of ``tasks`` (perturbed by ``eps``, leading (B,)) for ``steps``
    inner steps; returns them and their meta-losses (2B,). Tasks are independent, so a batch may be
    split into parts run anywhere and joined again (``pipelines.pes_on_ray``)."""
    thetas = jax.tree.map(lambda t, e: jnp.concatenate([t + e, t - e]), theta, eps)
    params = jax.tree.map(lambda p: jnp.concatenate([p, p]), tasks.params)
    particles, losses = unroll(rule.update, tasks.loss, thetas, particles, params, steps)
    return particles, meta_loss(losses)


def estimate(accumulator: dict, scores: jax.Array, sigma: float) -> dict:
    """The PES gradient from the accumulated perturbations (B, ...) and the meta-losses (2B,)."""
    batch = scores.shape[0] // 2
    diff = scores[:batch] - scores[batch:]
    return jax.tree.map(lambda acc: jnp.tensordot(diff, acc, axes=1) / (batch * 2.0 * sigma**2), accumulator)


def advance(pes: PESState, particles: Particles, eps: dict, scores: jax.Array, sigma: float, steps: int
            ) -> tuple[dict, PESState, jax.Array]:  # fmt: skip
    """The end of a truncation: (gradient estimate, new PES state, mean meta-loss)."""
    accumulator = jax.tree.map(jnp.add, pes.accumulator, eps)
    return estimate(accumulator, scores, sigma), PESState(particles, accumulator, pes.inner_step + steps), jnp.mean(scores)


def pes_step(
    rule: LearnedRule, theta: dict, pes: PESState, tasks: TaskBatch, key: jax.Array, *, sigma: float, steps: int
) -> tuple[dict, PESState, jax.Array]:
    """One truncation: returns (gradient estimate like theta, new PES state, mean meta-loss)."""
    eps = perturbations(theta, tasks.x0.shape[0], key, sigma)
    particles, scores = run_particles(rule, theta, pes.particles, tasks, eps, steps)
    return advance(pes, particles, eps, scores, sigma, steps)
