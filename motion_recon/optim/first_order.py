"""The one core of the optimizers that take one value and gradient per iteration, in float32:
each is an optax ``GradientTransformation`` built from hyperparameters that enter the compiled
step as an argument. Adam and gradient descent with momentum are optax's (the hyperparameter is
the learning rate); the learned rules (``learned``) are transformations too (the hyperparameters
are their meta-parameters)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from motion_recon.optim.base import Budget, LossFn, OptimizeResult, StopRule, as_matrix, as_vector, cached, compiled_loss
from motion_recon.optim.loop import iterate, iterate_batch

# hyperparameters -> transformation; the hyperparameters may be traced arrays
MakeTransformation = Callable[[Any], optax.GradientTransformation]


def _step(fun: LossFn, tx: optax.GradientTransformation, x, opt_state, args=()):
    """One update: returns the loss and gradient at ``x``, the next iterate and optimizer state."""
    loss, grad = jax.value_and_grad(fun)(x, *args)
    updates, opt_state = tx.update(grad, opt_state, x)
    return loss, grad, optax.apply_updates(x, updates), opt_state


@functools.lru_cache(maxsize=64)
def _compiled_update(make: MakeTransformation, batched: bool):
    """The jitted update ``(hyper, grad, opt_state, x) -> (next x, opt_state, grad finite?)``
    (``batched``: ``vmap``-ed over everything but the hyperparameters); it holds no loss, so one
    compilation serves every loss."""

    def update(hyper, grad, opt_state, x):
        updates, opt_state = make(hyper).update(grad, opt_state, x)
        return optax.apply_updates(x, updates), opt_state, jnp.all(jnp.isfinite(grad))

    return jax.jit(jax.vmap(update, in_axes=(None, 0, 0, 0)) if batched else update)


def _stepper(fun: LossFn, make: MakeTransformation, hyper, args: tuple, batched: bool = False):
    """(step, value) for ``loop.iterate``: the loss's shared value-and-gradient program
    (``base.compiled_loss``), then the transformation's update program."""
    value, value_and_grad = cached(compiled_loss, fun, batched)
    update = _compiled_update(make, batched)

    def step(x, opt_state):
        loss, grad = value_and_grad(x, *args)
        x_next, opt_state, grad_finite = update(hyper, grad, opt_state, x)
        return loss, grad_finite, x_next, opt_state

    return step, lambda x: value(x, *args)


@dataclass(frozen=True)
class GradientOptimizer:
    """A gradient transformation with fixed hyperparameters behind the shared ``minimize`` face.

    Attributes:
      name: registry name.
      make: ``hyper -> optax.GradientTransformation``; ``hyper`` may be traced, so one compiled
        step serves every value (and a learning-rate grid can be ``vmap``-ed, see :meth:`trajectory`).
      hyper: the hyperparameters ``minimize`` uses: a learning rate, or meta-parameters.
    """

    name: str
    make: MakeTransformation
    hyper: Any

    def minimize(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> OptimizeResult:
        """Minimises ``fun`` from ``x0``; ``key`` is unused (the method is deterministic)."""
        x = jnp.asarray(as_vector(x0, jnp.float32))
        step, value = _stepper(fun, self.make, self.hyper, args)
        return iterate(step, value, x, self.make(self.hyper).init(x), budget=Budget.of(budget), stop=stop)

    def minimize_batch(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> list[OptimizeResult]:
        """``minimize`` from every row of ``x0`` (B, N), the ``args`` leaves with a leading (B,)
        axis: independent runs stepped together under ``vmap``."""
        x = jnp.asarray(as_matrix(x0, jnp.float32))
        step, value = _stepper(fun, self.make, self.hyper, args, batched=True)
        return iterate_batch(step, value, x, jax.vmap(self.make(self.hyper).init)(x), budget=Budget.of(budget), stop=stop)

    def trajectory(self, fun: LossFn, iterations: int) -> Callable[[jax.Array, Any], jax.Array]:
        """A pure function ``(x0: (N,), hyper) -> losses: (iterations + 1,)``.

        For batched benchmarking: ``vmap`` it over starts (and learning rates) and ``jit`` it.
        Once a run diverges its later losses are NaN or infinite.
        """

        def run(x0, hyper):
            tx = self.make(hyper)

            def step(carry, _):
                loss, _, x, opt_state = _step(fun, tx, *carry)
                return (x, opt_state), loss

            (x_last, _), losses = jax.lax.scan(step, (x0, tx.init(x0)), length=iterations)
            return jnp.append(losses, fun(x_last))

        return run


@functools.lru_cache(maxsize=None)
def _maker(factory: Callable, options: tuple) -> MakeTransformation:
    """``learning_rate -> factory(learning_rate, **options)``: one function object per setting, so
    optimizers built with equal settings share their compiled update (``_compiled_update`` is keyed on it)."""
    return lambda learning_rate: factory(learning_rate, **dict(options))


def adam(learning_rate: float = 1e-2, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientOptimizer:
    """Adam (Kingma & Ba) with optax's defaults for the moment decays."""
    return GradientOptimizer("adam", _maker(optax.adam, (("b1", b1), ("b2", b2), ("eps", eps))), learning_rate)


def gd_momentum(learning_rate: float = 1e-3, momentum: float = 0.9, nesterov: bool = False) -> GradientOptimizer:
    """Gradient descent with heavy-ball (or Nesterov) momentum."""
    return GradientOptimizer(
        "gd-momentum", _maker(optax.sgd, (("momentum", momentum), ("nesterov", nesterov))), learning_rate
    )
