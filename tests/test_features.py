import jax
import jax.numpy as jnp
import numpy as np
import pytest

from motion_recon.optim.features import (
    NUM_FEATURES, NUM_NORMALISED, TIMESCALES, compute_features, init_decay_params, init_features,
    second_moment_normalise, update_features,
)

NORM_TOL = 1e-3  # mean square 1 up to the 1e-5 epsilon of the normaliser (for features >> 1e-5)
DECAY_RTOL = 1e-4  # 1 - 0.999 in float32


def _run(n=7, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    state, x = init_features(jnp.zeros(n)), jnp.asarray(rng.normal(size=n), jnp.float32)
    for _ in range(steps):
        grad = jnp.asarray(rng.normal(size=n), jnp.float32)
        state = update_features(state, grad, init_decay_params())
        state = state._replace(step=state.step + 1)
    return state, x, grad


def test_shapes_and_normalisation():
    state, x, grad = _run()
    z = jax.jit(compute_features)(state, x, grad)
    assert z.shape == (7, NUM_FEATURES) == (7, 39) and bool(jnp.all(jnp.isfinite(z)))
    mean_sq = np.mean(np.asarray(z[:, :NUM_NORMALISED]) ** 2, axis=0)
    assert np.all(mean_sq <= 1.0 + NORM_TOL)
    np.testing.assert_allclose(mean_sq[:2], 1.0, atol=NORM_TOL)  # gradient and parameter columns
    np.testing.assert_allclose(z[0, NUM_NORMALISED:], np.tanh(3.0 / np.array(TIMESCALES) - 1.0), atol=1e-6)


def test_second_moment_normalise():
    f = jnp.asarray(np.random.default_rng(3).normal(scale=[1e2, 1.0, 0.5], size=(50, 3)), jnp.float32)
    np.testing.assert_allclose(np.mean(np.asarray(second_moment_normalise(f)) ** 2, axis=0), 1.0, atol=NORM_TOL)


def test_accumulators_follow_their_formulas():
    grad = jnp.array([1.0, -2.0])
    state = update_features(init_features(jnp.zeros(2)), grad, init_decay_params())
    np.testing.assert_allclose(state.momenta[:, 1], -2.0 * (1 - np.array([0.9, 0.99, 0.999])), rtol=DECAY_RTOL)
    np.testing.assert_allclose(state.rms, 1e-3 * np.array([1.0, 4.0]), rtol=DECAY_RTOL)
    np.testing.assert_allclose(state.adafactor[0], 0.1 * np.array([1.0, 4.0]), rtol=DECAY_RTOL)


def test_meta_learned_decay_parameters_change_the_decays():
    grad = jnp.ones(3)
    params = {**init_decay_params(), "momentum": jnp.full(3, -0.1)}  # decays closer to 1
    slow = update_features(init_features(jnp.zeros(3)), grad, params)
    fast = update_features(init_features(jnp.zeros(3)), grad, init_decay_params())
    assert bool(jnp.all(slow.momenta < fast.momenta))


def test_zero_gradient_gives_finite_features():
    state = update_features(init_features(jnp.zeros(4)), jnp.zeros(4), init_decay_params())
    assert bool(jnp.all(jnp.isfinite(compute_features(state, jnp.zeros(4), jnp.zeros(4)))))


@pytest.mark.parametrize("n", [1, 2, 50])
def test_any_dimension(n):
    state, x, grad = _run(n=n)
    assert compute_features(state, x, grad).shape == (n, NUM_FEATURES)
