"""What the learned optimizers share: the update-rule record, its optax transformation (so a
learned optimizer runs through the core of ``first_order`` like Adam), and loading meta-parameters
from a checkpoint or drawing untrained ones from a seed."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from motion_recon.optim.checkpoint import load_checkpoint
from motion_recon.optim.first_order import GradientOptimizer
from motion_recon.paths import data_dir


class LearnedRule(NamedTuple):
    """A learned update rule, optax-style: meta-parameters ``theta`` are passed in, not stored.

    Attributes:
      init_theta: ``key -> theta`` untrained meta-parameters.
      init_state: ``x0: (N,) -> state``.
      update: ``(theta, state, x, grad) -> (updates, state_next)``, the next iterate being
        ``x + updates``; pure, ``jit``/``vmap``-able.
      config: JSON-able architecture description (written into checkpoints).
    """

    init_theta: Callable[[jax.Array], dict]
    init_state: Callable[[jax.Array], Any]
    update: Callable[[dict, Any, jax.Array, jax.Array], tuple[jax.Array, Any]]
    config: dict


def count_parameters(theta: dict) -> int:
    return int(sum(leaf.size for leaf in jax.tree.leaves(theta)))


def transformation(rule: LearnedRule) -> Callable[[dict], optax.GradientTransformation]:
    """``theta -> optax.GradientTransformation`` of ``rule``: one function object per rule
    (the compiled steps are keyed on it; theta enters them as an argument)."""
    return _transformation(rule.init_state, rule.update)


@functools.lru_cache(maxsize=None)
def _transformation(init_state, update) -> Callable[[dict], optax.GradientTransformation]:
    def make(theta: dict) -> optax.GradientTransformation:
        return optax.GradientTransformation(init_state, lambda grad, state, x: update(theta, state, x, grad))

    return make


@dataclass(frozen=True)
class LearnedOptimizer(GradientOptimizer):
    """A learned rule with fixed meta-parameters (``hyper``, also ``theta``) behind the shared
    ``minimize`` face; ``source``: the checkpoint folder, or "untrained (seed S)"."""

    hyper: dict = field(repr=False)
    rule: LearnedRule = field(repr=False)
    source: str

    @classmethod
    def of(cls, name: str, rule: LearnedRule, theta: dict, source: str) -> "LearnedOptimizer":
        return cls(name, transformation(rule), theta, rule, source)

    @property
    def theta(self) -> dict:
        return self.hyper


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
