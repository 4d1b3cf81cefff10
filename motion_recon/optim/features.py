"""Per-parameter input features of the learned optimizers (the paper's supplement C, the
Adafactor-MLP features of Metz et al. 2022) for one flat parameter vector ``x: (N,)``.

Accumulators (all start at zero, no bias correction; updated with the new gradient *before* the
features are read), with decays ``d = 1 - (1 - d0) exp(10 theta)`` meta-learned from
``theta = 0``:

* momenta ``m_b <- b m_b + (1 - b) g`` for ``b0`` in (0.9, 0.99, 0.999);
* second moment ``v <- c v + (1 - c) g^2`` for ``c0 = 0.999``;
* Adafactor accumulators ``a_b <- b a_b + (1 - b) (g^2 + 1e-30)`` for ``b0`` in (0.9, 0.99, 0.999).
  For a vector nothing is factored: the full ``a_b`` stands in for both the row and the column
  accumulator of a matrix.

Features, in this order (28 columns), each normalised to second moment 1 over the ``N``
parameters (``f <- f / sqrt(1e-5 + mean(f^2))``):

====  ===============================  =========================================
cols  feature                          formula
====  ===============================  =========================================
1     gradient                         ``g``
1     parameter value                  ``x``
3     momenta                          ``m_b``
1     second moment                    ``v``
3     rms-normalised momenta           ``m_b / sqrt(v + 1e-6)``
1     inverse rms                      ``1 / sqrt(v + 1e-6)``
3     Adafactor-normalised gradients   ``g / sqrt(max(a_b + 1e-9, 1e-9))``
3     row features                     ``a_b``
3     column features                  ``a_b``
3     inverse sqrt of row features     ``1 / sqrt(a_b + 1e-8)``
3     inverse sqrt of column features  ``1 / sqrt(a_b + 1e-8)``
3     Adafactor-normalised momenta     ``m_b / sqrt(a_b + 1e-6)``
====  ===============================  =========================================

followed by 11 time features ``tanh(t / tau - 1)`` for tau in 1, 3, 10, ..., 1e5 (``t`` the step,
from 0), not normalised: 39 features per parameter in all.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

MOMENTUM_DECAYS = (0.9, 0.99, 0.999)
RMS_DECAYS = (0.999,)
ADAFACTOR_DECAYS = (0.9, 0.99, 0.999)
TIMESCALES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5)
NUM_NORMALISED = 28
NUM_FEATURES = NUM_NORMALISED + len(TIMESCALES)


class FeatureState(NamedTuple):
    """Accumulators of one optimization run."""

    momenta: jax.Array  # (3, N)
    rms: jax.Array  # (N,)
    adafactor: jax.Array  # (3, N)
    step: jax.Array  # (), int32: the number of updates so far


def init_decay_params() -> dict[str, jax.Array]:
    """Meta-parameters of the decays, zero at initialisation (decays = the base values)."""
    return {
        "momentum": jnp.zeros(len(MOMENTUM_DECAYS)),
        "rms": jnp.zeros(len(RMS_DECAYS)),
        "adafactor": jnp.zeros(len(ADAFACTOR_DECAYS)),
    }


def _decays(base, theta) -> jax.Array:
    return 1.0 - (1.0 - jnp.asarray(base)) * jnp.exp(10.0 * theta)


def init_features(x: jax.Array) -> FeatureState:
    zeros3 = jnp.zeros((3,) + x.shape, x.dtype)
    return FeatureState(momenta=zeros3, rms=jnp.zeros_like(x), adafactor=zeros3, step=jnp.zeros((), jnp.int32))


def update_features(state: FeatureState, grad: jax.Array, decay_params: dict[str, jax.Array]) -> FeatureState:
    """Folds ``grad: (N,)`` into the accumulators (the step counter is advanced by the caller)."""
    b_m = _decays(MOMENTUM_DECAYS, decay_params["momentum"])[:, None]
    b_v = jnp.clip(_decays(RMS_DECAYS, decay_params["rms"])[0], 0.0, 1.0)
    b_a = jnp.clip(_decays(ADAFACTOR_DECAYS, decay_params["adafactor"]), 0.0, 1.0)[:, None]
    g2 = grad * grad
    return state._replace(
        momenta=b_m * state.momenta + (1.0 - b_m) * grad,
        rms=b_v * state.rms + (1.0 - b_v) * g2,
        adafactor=b_a * state.adafactor + (1.0 - b_a) * (g2 + 1e-30),
    )


def second_moment_normalise(features: jax.Array, eps: float = 1e-5) -> jax.Array:
    """``(N, F)`` columns scaled to mean square 1 over the N parameters."""
    return features * jax.lax.rsqrt(eps + jnp.mean(features * features, axis=0, keepdims=True))


def time_features(step: jax.Array) -> jax.Array:
    """(11,) ``tanh(step / tau - 1)``."""
    return jnp.tanh(step.astype(jnp.float32) / jnp.asarray(TIMESCALES) - 1.0)


def compute_features(state: FeatureState, x: jax.Array, grad: jax.Array) -> jax.Array:
    """(N, 39) features of every parameter from updated accumulators (see the module docstring)."""
    m, v, a = state.momenta, state.rms, state.adafactor
    inv_rms = jax.lax.rsqrt(v + 1e-6)
    inv_a = jax.lax.rsqrt(a + 1e-8)
    columns = [
        grad[None], x[None], m, v[None], m * inv_rms, inv_rms[None],
        grad * jax.lax.rsqrt(jnp.maximum(a + 1e-9, 1e-9)), a, a, inv_a, inv_a, m * jax.lax.rsqrt(a + 1e-6),
    ]
    normalised = second_moment_normalise(jnp.concatenate(columns, axis=0).T)
    times = jnp.broadcast_to(time_features(state.step), (x.shape[0], len(TIMESCALES)))
    return jnp.concatenate([normalised, times.astype(normalised.dtype)], axis=1)
