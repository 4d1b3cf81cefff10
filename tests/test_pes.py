import jax
import jax.numpy as jnp
import numpy as np
import pytest

from motion_recon.meta.pes import meta_loss, pes_step, start_episode, unroll
from motion_recon.meta.tasks import FunctionTasks, MixedTasks, TaskBatch
from motion_recon.optim.learned import LearnedRule

SIGMA = 0.01
TRUNC, TRUNCATIONS = 5, 3
BATCH = 8192  # antithetic pairs averaged; the test compares means, not single draws
# PES is unbiased: over 30 seeds its relative error with 8192 pairs has mean 0.05 % and standard
# deviation 1.3 % (largest 2.6 %; 6.3 % and 13.8 % with 512 pairs), so 5 % is about 4 sigma.
GRAD_RTOL = 0.05


def _toy_rule() -> LearnedRule:
    """Gradient descent with a meta-learned log step size: updates -exp(theta) g."""
    return LearnedRule(
        init_theta=lambda key: {"log_lr": jnp.array(-3.0)},
        init_state=lambda x0: jnp.zeros(()),
        update=lambda theta, state, x, grad: (-jnp.exp(theta["log_lr"]) * grad, state + 1),
        config={"kind": "toy"},
    )


def _quadratic(params, x):
    return 0.5 * jnp.sum(params * x * x)


def _tasks(batch):
    x0 = jnp.tile(jnp.array([1.0, -2.0, 0.5]), (batch, 1))
    return TaskBatch(_quadratic, jnp.tile(jnp.array([1.0, 4.0, 0.25]), (batch, 1)), x0, "quadratic")


def _episode_meta_loss(log_lr: float) -> float:
    """Sum over truncations of the mean log loss, the quantity PES differentiates."""
    rule, tasks = _toy_rule(), _tasks(1)
    theta = {"log_lr": jnp.array(log_lr)}
    particles = start_episode(rule, theta, tasks).particles
    thetas = {"log_lr": jnp.full((2,), log_lr)}
    params = jnp.concatenate([tasks.params, tasks.params])
    total = 0.0
    for _ in range(TRUNCATIONS):
        particles, losses = unroll(rule.update, _quadratic, thetas, particles, params, TRUNC)
        total += float(meta_loss(losses)[0])
    return total


def test_pes_gradient_matches_finite_differences_of_the_meta_loss():
    rule, tasks = _toy_rule(), _tasks(BATCH)
    theta = rule.init_theta(None)
    pes = start_episode(rule, theta, tasks)
    total = 0.0
    for key in jax.random.split(jax.random.PRNGKey(0), TRUNCATIONS):
        grad, pes, _ = pes_step(rule, theta, pes, tasks, key, sigma=SIGMA, steps=TRUNC)
        total += float(grad["log_lr"])
    h = 1e-3
    fd = (_episode_meta_loss(-3.0 + h) - _episode_meta_loss(-3.0 - h)) / (2 * h)
    assert fd < 0  # a larger step size lowers the loss here
    assert total == pytest.approx(fd, rel=GRAD_RTOL)
    assert pes.inner_step == TRUNC * TRUNCATIONS


def test_diverged_particles_score_log_1e30():
    """Each infinite, NaN or huge step scores log 1e30; finite steps keep log(loss + 1e-8)."""
    ceiling = np.log(1e30)
    diverged = meta_loss(jnp.array([[jnp.inf, jnp.nan, 1e35, 1e31]]))
    assert float(diverged[0]) == pytest.approx(ceiling, rel=1e-6)
    mixed = meta_loss(jnp.array([[1.0, jnp.inf, jnp.nan, -1.0]]))  # a negative loss counts as 0
    assert float(mixed[0]) == pytest.approx((np.log(1 + 1e-8) + 2 * ceiling + np.log(1e-8)) / 4, rel=1e-6)


def test_function_tasks_share_a_compiled_loss():
    family = FunctionTasks(functions=("rosenbrock",), dims=(7,))
    a, b = family.sample(jax.random.PRNGKey(0), 4), family.sample(jax.random.PRNGKey(1), 4)
    assert a.loss is b.loss and a.x0.shape == (4, 7) and a.params.shape == (4, 7)
    assert not np.allclose(a.params, b.params)
    # the gap loss is zero at the shifted minimiser
    assert float(a.loss(a.params[0], a.params[0] + 1.0)) == pytest.approx(0.0, abs=1e-5)


def test_mixed_tasks_draw_each_batch_from_one_family_with_its_probability():
    sphere, rosenbrock = FunctionTasks(functions=("sphere",), dims=(3,)), FunctionTasks(functions=("rosenbrock",), dims=(5,))
    mixed = MixedTasks((sphere, rosenbrock), (0.25, 0.75))
    names = [mixed.sample(jax.random.PRNGKey(k), 2).name for k in range(400)]
    assert set(names) == {"sphere 3d", "rosenbrock 5d"}
    # 400 draws at p = 0.75: the standard deviation of the fraction is 0.022
    assert names.count("rosenbrock 5d") / len(names) == pytest.approx(0.75, abs=0.07)
    with pytest.raises(ValueError, match="one probability per family"):
        MixedTasks((sphere, rosenbrock), (0.5, 0.6))
