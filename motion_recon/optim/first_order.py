"""First-order baselines (Adam, gradient descent with momentum) built on optax, in float32."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from motion_recon.optim.base import Budget, LossFn, OptimizeResult, StopRule, as_matrix, as_vector, cached
from motion_recon.optim.loop import iterate, iterate_batch


def _step(fun: LossFn, tx: optax.GradientTransformation, x, opt_state, args=()):
    """One update: returns the loss and gradient at ``x``, the next iterate and optimizer state."""
    loss, grad = jax.value_and_grad(fun)(x, *args)
    updates, opt_state = tx.update(grad, opt_state, x)
    return loss, grad, optax.apply_updates(x, updates), opt_state


@functools.lru_cache(maxsize=64)
def _compiled(fun: LossFn, make, learning_rate: float, batched: bool = False):
    """The jitted update and loss of ``fun`` for one learning rate (``batched``: ``vmap``-ed over
    a leading axis of every argument), cached so that repeated runs (other starts, other ``args``
    of one shape) reuse one compilation."""
    tx = make(learning_rate)

    def step(x, opt_state, args):
        loss, grad, x, opt_state = _step(fun, tx, x, opt_state, args)
        return loss, jnp.all(jnp.isfinite(grad)), x, opt_state

    if batched:
        return jax.jit(jax.vmap(step)), jax.jit(jax.vmap(fun)), tx
    return jax.jit(step), jax.jit(fun), tx


@dataclass(frozen=True)
class GradientOptimizer:
    """An optax transformation with a tunable learning rate behind the shared ``minimize`` face.

    Attributes:
      name: registry name.
      make: ``learning_rate -> optax.GradientTransformation``; the rate may be a traced array, so
        a learning-rate grid can be ``vmap``-ed (see :meth:`trajectory`).
      learning_rate: the rate ``minimize`` uses.
    """

    name: str
    make: Callable[[float | jax.Array], optax.GradientTransformation]
    learning_rate: float

    def minimize(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> OptimizeResult:
        """Minimises ``fun`` from ``x0``; ``key`` is unused (the method is deterministic)."""
        x = jnp.asarray(as_vector(x0, jnp.float32))
        step, value, tx = cached(_compiled, fun, self.make, self.learning_rate)
        return iterate(
            lambda x, state: step(x, state, args), lambda x: value(x, *args), x, tx.init(x),
            budget=Budget.of(budget), stop=stop,
        )

    def minimize_batch(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> list[OptimizeResult]:
        """``minimize`` from every row of ``x0`` (B, N), the ``args`` leaves with a leading (B,)
        axis: independent runs stepped together under ``vmap``."""
        x = jnp.asarray(as_matrix(x0, jnp.float32))
        step, value, tx = cached(_compiled, fun, self.make, self.learning_rate, True)
        return iterate_batch(
            lambda x, state: step(x, state, args), lambda x: value(x, *args), x, jax.vmap(tx.init)(x),
            budget=Budget.of(budget), stop=stop,
        )

    def trajectory(self, fun: LossFn, iterations: int) -> Callable[[jax.Array, jax.Array], jax.Array]:
        """A pure function ``(x0: (N,), learning_rate: ()) -> losses: (iterations + 1,)``.

        For batched benchmarking: ``vmap`` it over starts and learning rates and ``jit`` it.
        Once a run diverges its later losses are NaN or infinite.
        """

        def run(x0, learning_rate):
            tx = self.make(learning_rate)

            def step(carry, _):
                loss, _, x, opt_state = _step(fun, tx, *carry)
                return (x, opt_state), loss

            (x_last, _), losses = jax.lax.scan(step, (x0, tx.init(x0)), length=iterations)
            return jnp.append(losses, fun(x_last))

        return run


@functools.lru_cache(maxsize=None)
def _maker(factory: Callable, options: tuple) -> Callable[[float | jax.Array], optax.GradientTransformation]:
    """``learning_rate -> factory(learning_rate, **options)``: one function object per setting, so
    optimizers built with equal settings share their compilations (``_compiled`` is keyed on it)."""
    return lambda learning_rate: factory(learning_rate, **dict(options))


def adam(learning_rate: float = 1e-2, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientOptimizer:
    """Adam (Kingma & Ba) with optax's defaults for the moment decays."""
    return GradientOptimizer("adam", _maker(optax.adam, (("b1", b1), ("b2", b2), ("eps", eps))), learning_rate)


def gd_momentum(learning_rate: float = 1e-3, momentum: float = 0.9, nesterov: bool = False) -> GradientOptimizer:
    """Gradient descent with heavy-ball (or Nesterov) momentum."""
    return GradientOptimizer(
        "gd-momentum", _maker(optax.sgd, (("momentum", momentum), ("nesterov", nesterov))), learning_rate
    )
