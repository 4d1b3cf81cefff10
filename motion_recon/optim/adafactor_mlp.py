"""Adafactor-MLP (Metz et al. 2022), the learned-optimizer baseline: one small MLP with weights
shared across parameters maps each parameter's 39 features to a direction ``d`` and a log-scale
``a``; the step is ``x <- x - d exp(exp_mult a) step_mult``."""

from __future__ import annotations

import functools

from typing import NamedTuple

import haiku as hk
import jax

from motion_recon.optim.features import (
    NUM_FEATURES, FeatureState, compute_features, init_decay_params, init_features, update_features,
)
from motion_recon.optim.learned import LearnedOptimizer, LearnedRule, resolve_theta

EXP_MULT = 1e-3
STEP_MULT = 1e-3


class AdafactorMLPState(NamedTuple):
    features: FeatureState


@functools.lru_cache(maxsize=None)  # one update function per setting: its compilations are shared
def adafactor_mlp_rule(hidden_size: int = 128, hidden_layers: int = 4) -> LearnedRule:
    """The rule with ``hidden_layers`` ReLU layers of ``hidden_size`` units (the paper's Table 4:
    128x4 and 512x4)."""
    net = hk.without_apply_rng(
        hk.transform(lambda z: hk.nets.MLP([hidden_size] * hidden_layers + [2], name="mlp")(z))
    )

    def init_theta(key):
        return {"net": net.init(key, jax.numpy.zeros((1, NUM_FEATURES))), "decays": init_decay_params()}

    def init_state(x0):
        return AdafactorMLPState(init_features(x0))

    def update(theta, state, x, grad):
        features = update_features(state.features, grad, theta["decays"])
        out = net.apply(theta["net"], compute_features(features, x, grad))
        step = out[:, 0] * jax.numpy.exp(EXP_MULT * out[:, 1]) * STEP_MULT
        return -step, AdafactorMLPState(features._replace(step=features.step + 1))

    config = {"kind": "adafactor-mlp", "hidden_size": hidden_size, "hidden_layers": hidden_layers,
              "features": NUM_FEATURES, "exp_mult": EXP_MULT, "step_mult": STEP_MULT}
    return LearnedRule(init_theta, init_state, update, config)


def adafactor_mlp(
    checkpoint: str | None = None, *, seed: int | None = None, hidden_size: int = 128, hidden_layers: int = 4
) -> LearnedOptimizer:
    """Adafactor-MLP with weights from ``checkpoint`` (default: the shipped one) or, with ``seed``
    and no checkpoint, untrained weights."""
    rule = adafactor_mlp_rule(hidden_size, hidden_layers)
    theta, source = resolve_theta("adafactor-mlp", rule, checkpoint, seed)
    return LearnedOptimizer.of("adafactor-mlp", rule, theta, source)
