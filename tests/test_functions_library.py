import jax
import jax.numpy as jnp
import numpy as np
import pytest

from motion_recon.functions import FUNCTIONS, make_problem

DIMS = (2, 3, 10, 17)
MIN_TOL = 1e-9  # float64 evaluation at the analytic minimiser
GRAD_RTOL = 1e-5  # central differences with h = 1e-6 in float64 on smooth functions
NAMES = sorted(FUNCTIONS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dim", DIMS)
def test_value_at_minimiser_is_minimum(name, dim):
    problem = make_problem(name, dim)
    with jax.enable_x64(True):
        value = float(jax.jit(problem.loss)(jnp.asarray(problem.minimiser)))
    assert abs(value - problem.minimum) <= MIN_TOL * max(1.0, abs(problem.minimum))


@pytest.mark.parametrize("name", NAMES)
def test_minimum_is_lower_than_random_points(name):
    problem = make_problem(name, 6)
    rng = np.random.default_rng(1)
    low, high = problem.function.domain(6)
    with jax.enable_x64(True):
        values = jax.vmap(problem.loss)(jnp.asarray(rng.uniform(low, high, (256, 6))))
    assert np.all(np.asarray(values) >= problem.minimum - MIN_TOL)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    dim, h = 7, 1e-6
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    with jax.enable_x64(True):
        problem = make_problem(name, dim)
        # points of modest size keep the high powers (Perm, Sum of Powers) well conditioned
        x = rng.uniform(-1.5, 1.5, dim)
        grad = np.asarray(jax.jit(jax.grad(problem.loss))(jnp.asarray(x)))
        basis = np.eye(dim) * h
        values = np.asarray(jax.jit(jax.vmap(problem.loss))(jnp.asarray(np.concatenate([x + basis, x - basis]))))
        fd = (values[:dim] - values[dim:]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=GRAD_RTOL, atol=GRAD_RTOL * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("name", NAMES)
def test_float32_is_finite_and_close_to_float64(name):
    problem = make_problem(name, 10)
    x = np.random.default_rng(2).uniform(-2, 2, 10)
    f32 = float(problem.loss(jnp.asarray(x, jnp.float32)))
    with jax.enable_x64(True):
        f64 = float(problem.loss(jnp.asarray(x)))
    assert np.isfinite(f32)
    assert f32 == pytest.approx(f64, rel=1e-4, abs=1e-4)


def test_offset_moves_the_minimiser_and_keeps_the_minimum():
    key = jax.random.PRNGKey(0)
    problem = make_problem("rosenbrock", 5, key=key, offset_scale=3.0)
    assert problem.offset is not None and np.abs(problem.offset).max() <= 3.0
    np.testing.assert_allclose(problem.minimiser, 1.0 + problem.offset)
    with jax.enable_x64(True):
        assert float(problem.loss(jnp.asarray(problem.minimiser))) == pytest.approx(0.0, abs=1e-12)
        assert float(problem.loss(jnp.ones(5))) > 1e-3
    again = make_problem("rosenbrock", 5, key=key, offset_scale=3.0)
    np.testing.assert_array_equal(problem.offset, again.offset)


def test_known_values():
    with jax.enable_x64(True):
        assert float(FUNCTIONS["trid"](jnp.array([2.0, 2.0]))) == pytest.approx(-2.0)
        assert FUNCTIONS["trid"].minimum(6) == pytest.approx(-50.0)
        assert float(FUNCTIONS["rastrigin"](jnp.array([1.0, 0.0]))) == pytest.approx(1.0)
        # Perm with negative coordinates: x^i by repeated products, exact and finite
        x = jnp.array([-1.0, 0.5])
        expected = ((1 + 10) * (-1 - 1) + (2 + 10) * (0.5 - 0.5)) ** 2 + ((1 + 10) * (1 - 1) + (2 + 10) * (0.25 - 0.25)) ** 2
        assert float(FUNCTIONS["perm"](x)) == pytest.approx(expected)
        # Powell pads 2 coordinates with zeros: (x1 + 10 x2)^2 + x2^4 + 10 x1^4
        assert float(FUNCTIONS["powell"](jnp.array([1.0, 1.0]))) == pytest.approx(121 + 1 + 10)


def test_bad_names_and_shapes():
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        make_problem("nope", 3)
    with pytest.raises(ValueError, match="at least 2"):
        make_problem("sphere", 1)
    with pytest.raises(ValueError, match=r"expected x of shape \(3,\)"):
        make_problem("sphere", 3).loss(jnp.zeros(4))
