"""What the learned optimizers share: the update-rule record, the ``minimize`` face, and loading
meta-parameters from a checkpoint or drawing untrained ones from a seed."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from motion_recon.optim.base import Budget, LossFn, OptimizeResult, StopRule, as_matrix, as_vector, cached
from motion_recon.optim.checkpoint import load_checkpoint
from motion_recon.optim.loop import iterate, iterate_batch
from motion_recon.paths import data_dir


class LearnedRule(NamedTuple):
    """A learned update rule, optax-style: meta-parameters ``theta`` are passed in, not stored.

    Attributes:
      init_theta: ``key -> theta`` untrained meta-parameters.
      init_state: ``x0: (N,) -> state``.
      update: ``(theta, state, x, grad) -> (x_next, state_next)``; pure, ``jit``/``vmap``-able.
      config: JSON-able architecture description (written into checkpoints).
    """

    init_theta: Callable[[jax.Array], dict]
    init_state: Callable[[jax.Array], Any]
    update: Callable[[dict, Any, jax.Array, jax.Array], tuple[jax.Array, Any]]
    config: dict


def count_parameters(theta: dict) -> int:
    return int(sum(leaf.size for leaf in jax.tree.leaves(theta)))


@dataclass(frozen=True)
class LearnedOptimizer:
    """A learned rule with fixed meta-parameters behind the shared ``minimize`` face (float32).

    Each iteration costs one value-and-gradient evaluation.
    """

    name: str
    rule: LearnedRule
    theta: dict = field(repr=False)
    source: str  # the checkpoint folder, or "untrained (seed S)"

    def minimize(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> OptimizeResult:
        """Minimises ``fun`` from ``x0``; ``key`` is unused (the rule is deterministic)."""
        x = jnp.asarray(as_vector(x0, jnp.float32))
        step, value = cached(_compiled, fun, self.rule.update)
        return iterate(
            lambda x, state: step(self.theta, x, state, args), lambda x: value(x, *args), x,
            self.rule.init_state(x), budget=Budget.of(budget), stop=stop,
        )

    def minimize_batch(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> list[OptimizeResult]:
        """``minimize`` from every row of ``x0`` (B, N), the ``args`` leaves with a leading (B,)
        axis: independent runs stepped together under ``vmap``."""
        x = jnp.asarray(as_matrix(x0, jnp.float32))
        step, value = cached(_compiled, fun, self.rule.update, True)
        return iterate_batch(
            lambda x, state: step(self.theta, x, state, args), lambda x: value(x, *args), x,
            jax.vmap(self.rule.init_state)(x), budget=Budget.of(budget), stop=stop,
        )

    def trajectory(self, fun: LossFn, iterations: int) -> Callable[[jax.Array], jax.Array]:
        """A pure function ``x0: (N,) -> losses: (iterations + 1,)`` to ``jit(vmap)`` over starts."""

        def run(x0):
            def body(carry, _):
                loss, _, x, state = _advance(fun, self.rule.update, self.theta, *carry)
                return (x, state), loss

            (x_last, _), losses = jax.lax.scan(body, (x0, self.rule.init_state(x0)), length=iterations)
            return jnp.append(losses, fun(x_last))

        return run


def _advance(fun: LossFn, update, theta, x, state, args=()):
    """One step: the loss and gradient at ``x``, then the rule's next iterate and state."""
    loss, grad = jax.value_and_grad(fun)(x, *args)
    x_next, state = update(theta, state, x, grad)
    return loss, grad, x_next, state


@functools.lru_cache(maxsize=64)
def _compiled(fun: LossFn, update, batched: bool = False):
    """The jitted step and loss of ``fun`` (``batched``: ``vmap``-ed over a leading axis of
    everything but theta), cached so that repeated runs (other starts, other ``args`` of one
    shape) reuse one compilation."""

    def step(theta, x, state, args):
        loss, grad, x_next, state = _advance(fun, update, theta, x, state, args)
        return loss, jnp.all(jnp.isfinite(grad)), x_next, state

    if batched:
        return jax.jit(jax.vmap(step, in_axes=(None, 0, 0, 0))), jax.jit(jax.vmap(fun))
    return jax.jit(step), jax.jit(fun)


def default_checkpoint(name: str) -> Path:
    return data_dir() / "checkpoints" / f"{name}-functions"


def resolve_theta(name: str, rule: LearnedRule, checkpoint: str | Path | None, seed: int | None) -> tuple[dict, str]:
    """Meta-parameters from ``checkpoint`` (default: the shipped one), or untrained ones drawn
    from ``seed`` when ``seed`` is given and ``checkpoint`` is None.

    Raises:
      FileNotFoundError: the checkpoint is missing; the message says how to get one.
      ValueError: the checkpoint's architecture differs from the requested one.
    """
    if seed is not None and checkpoint is None:
        return rule.init_theta(jax.random.PRNGKey(seed)), f"untrained (seed {seed})"
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(name)
    try:
        return load_rule_checkpoint(path, rule), str(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{err}; train one with `recon train {name} --tasks functions --out {path}` "
            f"or pass seed=S for untrained weights"
        ) from None


def load_rule_checkpoint(path: Path, rule: LearnedRule) -> dict:
    """Meta-parameters from the checkpoint folder ``path``, checked against ``rule``'s architecture.

    Raises:
      FileNotFoundError: weights or config missing. ValueError: another architecture.
    """
    theta, config = load_checkpoint(path)
    if config.get("architecture") != rule.config:
        raise ValueError(f"checkpoint {path} holds architecture {config.get('architecture')}, not {rule.config}")
    return jax.tree.map(jnp.asarray, theta)
