import jax
import jax.numpy as jnp
import numpy as np
import pytest

from motion_recon import optim
from motion_recon.functions import make_problem
from motion_recon.optim.adafactor_mlp import adafactor_mlp, adafactor_mlp_rule
from motion_recon.optim.checkpoint import load_checkpoint, save_checkpoint
from motion_recon.optim.learned import count_parameters
from motion_recon.optim.optimus import optimus, optimus_rule, spectral_normalise

SYM_TOL = 1e-5
PSD_TOL = 1e-6  # float32 round-off on eigenvalues that the normalisation drives towards 0
EIG_RTOL = 1e-3  # power iteration, 4 warm-started products per step, on a slowly changing B


def _rollout(rule, theta, n=6, steps=8, seed=0):
    problem = make_problem("rosenbrock", n)
    x = jnp.asarray(np.random.default_rng(seed).uniform(-2, 2, n), jnp.float32)
    state = rule.init_state(x)
    update = jax.jit(rule.update)
    for _ in range(steps):
        grad = jax.grad(problem.loss)(x)
        updates, state = update(theta, state, x, grad)
        x = x + updates
    return x, state


def _grown_heads(theta, scale=0.05):
    """Untrained weights with the (zero-initialised) u heads set to random values."""
    net = dict(theta["net"])
    for i, name in enumerate(k for k in net if k.startswith("u_head")):
        w = net[name]["w"]
        net[name] = {**net[name], "w": scale * jax.random.normal(jax.random.PRNGKey(i), w.shape, w.dtype)}
    return {**theta, "net": net}


def test_untrained_optimus_keeps_b_at_identity():
    rule = optimus_rule()
    _, state = _rollout(rule, rule.init_theta(jax.random.PRNGKey(0)))
    np.testing.assert_allclose(state.precond, np.eye(6), atol=1e-6)


@pytest.mark.parametrize("variant", ["full", "no-state", "no-structure"])
def test_optimus_variants_run_and_keep_b_symmetric(variant):
    rule = optimus_rule(variant)
    x, state = _rollout(rule, _grown_heads(rule.init_theta(jax.random.PRNGKey(0))))
    b = np.asarray(state.precond)
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(b))
    if variant == "no-structure":
        np.testing.assert_array_equal(b, np.eye(6))  # B is not used
        return
    np.testing.assert_allclose(b, b.T, atol=SYM_TOL)
    eig = np.linalg.eigvalsh(b.astype(np.float64))
    assert eig.min() > -PSD_TOL and eig.max() == pytest.approx(1.0, rel=EIG_RTOL)
    assert not np.allclose(b, np.eye(6))


def test_spectral_normalise_matches_eigvalsh():
    a = np.random.default_rng(1).normal(size=(5, 5))
    b = np.eye(5) + a @ a.T
    top = np.linalg.eigh(b)[1][:, -1]
    normed, v = spectral_normalise(jnp.asarray(b), jnp.asarray(top + 0.1), iterations=30)
    assert np.linalg.eigvalsh(np.asarray(normed)).max() == pytest.approx(1.0, rel=1e-6)
    assert abs(float(jnp.dot(v, top))) == pytest.approx(1.0, rel=1e-6)


def test_update_is_vmappable_over_tasks():
    rule = optimus_rule()
    theta = rule.init_theta(jax.random.PRNGKey(0))
    xs = jnp.asarray(np.random.default_rng(0).normal(size=(3, 5)), jnp.float32)
    states = jax.vmap(rule.init_state)(xs)
    step = jax.jit(jax.vmap(rule.update, in_axes=(None, 0, 0, 0)))
    updates, states = step(theta, states, xs, xs)  # gradient of 0.5 |x|^2
    single, _ = rule.update(theta, rule.init_state(xs[1]), xs[1], xs[1])
    np.testing.assert_allclose(updates[1], single, rtol=1e-4, atol=1e-6)
    assert states.precond.shape == (3, 5, 5)


def test_parameter_counts():
    # reported in the README: the paper gives 832,526 (Optimus), 22,411 and 811,531 (Adafactor-MLP)
    assert count_parameters(optimus(seed=0).theta) == 655_244
    assert count_parameters(optimus(seed=0, variant="no-structure").theta) == 600_201
    assert count_parameters(adafactor_mlp(seed=0).theta) == 54_921
    assert count_parameters(adafactor_mlp(seed=0, hidden_size=512).theta) == 809_481


@pytest.mark.parametrize("make_rule,name", [(optimus_rule, "optimus"), (adafactor_mlp_rule, "adafactor-mlp")])
def test_checkpoint_round_trip(tmp_path, make_rule, name):
    rule = make_rule()
    theta = rule.init_theta(jax.random.PRNGKey(3))
    save_checkpoint(tmp_path / "ckpt", theta, {"architecture": rule.config, "steps": 0})
    loaded, config = load_checkpoint(tmp_path / "ckpt")
    assert jax.tree.structure(loaded) == jax.tree.structure(theta)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(theta), strict=True):
        np.testing.assert_array_equal(a, b)
    opt = optim.get(name, checkpoint=str(tmp_path / "ckpt"))
    problem = make_problem("sphere", 4)
    res = opt.minimize(problem.loss, np.ones(4), budget=3)
    ref = optim.get(name, seed=3).minimize(problem.loss, np.ones(4), budget=3)
    np.testing.assert_allclose(res.losses, ref.losses, rtol=1e-6)


def test_missing_and_mismatched_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing weights.npz; train one with `recon train optimus"):
        optim.get("optimus", checkpoint=str(tmp_path / "none"))
    rule = adafactor_mlp_rule()
    save_checkpoint(tmp_path / "mlp", rule.init_theta(jax.random.PRNGKey(0)), {"architecture": rule.config})
    with pytest.raises(ValueError, match="holds architecture"):
        optim.get("optimus", checkpoint=str(tmp_path / "mlp"))
