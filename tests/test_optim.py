import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from motion_recon import optim
from motion_recon.functions import make_problem
from motion_recon.optim import Budget, RelativeDecrease, Status
from motion_recon.optim.first_order import GradientOptimizer

NAMES = optim.available()
ROSENBROCK = make_problem("rosenbrock", 4)
X0 = np.array([-1.2, 1.0, 0.5, -0.3])
FD_MATCH_TOL = 1e-4  # batched vs scalar evaluation differ in the last bits; 1/h ~ 7e7 amplifies it


LEARNED = ("optimus", "adafactor-mlp")


def _config(name):
    # rates at which the first-order methods make progress on Rosenbrock without diverging; the
    # learned optimizers load their shipped checkpoints (the default)
    return {"adam": {"learning_rate": 1e-2}, "gd-momentum": {"learning_rate": 1e-4}}.get(name, {})


@pytest.mark.parametrize("name", NAMES)
def test_contract(name):
    res = optim.get(name, **_config(name)).minimize(ROSENBROCK.loss, X0, budget=20)
    assert res.x.shape == X0.shape and np.all(np.isfinite(res.x))
    assert res.nit <= 20 and res.losses.shape == (res.nit + 1,)
    assert res.losses[0] == pytest.approx(float(ROSENBROCK.loss(jnp.asarray(X0, jnp.float32))), rel=1e-5)
    assert res.fun == res.losses[-1] and np.all(np.isfinite(res.losses))
    if name in LEARNED:  # their steps oscillate on Rosenbrock (measured best 5.4 and 19.8 from 79.7)
        assert res.fun_best < 0.5 * res.losses[0]
    else:
        assert res.fun < res.losses[0]
    assert res.nfev >= res.nit + 1
    assert res.status in (Status.BUDGET, Status.CONVERGED) and res.success and res.message


@pytest.mark.parametrize("name", NAMES)
def test_budget_of_one_iteration(name):
    res = optim.get(name, **_config(name)).minimize(ROSENBROCK.loss, X0, budget=1)
    assert res.nit == 1 and res.losses.shape == (2,)
    assert res.status == Status.BUDGET


@pytest.mark.parametrize("name", NAMES)
def test_evaluation_budget_is_respected(name):
    res = optim.get(name, **_config(name)).minimize(ROSENBROCK.loss, X0, budget=Budget(evaluations=30))
    assert res.nfev <= 30 and res.status == Status.BUDGET


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_loss_at_start(name):
    res = optim.get(name, **_config(name)).minimize(lambda x: jnp.log(-jnp.sum(x * x)), X0, budget=10)
    assert res.status == Status.NONFINITE and not res.success
    assert res.nit == 0 and np.isnan(res.fun)
    np.testing.assert_allclose(res.x, X0, rtol=1e-6)  # float32 methods hold x0 in float32


@pytest.mark.parametrize("name", ["adam", "gd-momentum"])
def test_loss_turning_nonfinite_mid_run(name):
    # finite for x[0] < 2; the gradient pushes x[0] up by about the learning rate per step
    fun = lambda x: jnp.where(x[0] < 2.0, -x[0], jnp.nan) + jnp.sum(x[1:] ** 2)
    res = optim.get(name, learning_rate=1.0).minimize(fun, np.zeros(3), budget=50)
    assert res.status == Status.NONFINITE and "iteration" in res.message
    assert np.isfinite(res.fun) and np.all(np.isfinite(res.losses)) and res.x[0] < 2.0


@pytest.mark.parametrize("name", NAMES)
def test_stop_rule_is_honoured(name):
    res = optim.get(name, **_config(name)).minimize(
        ROSENBROCK.loss, X0, budget=50, stop=lambda losses: len(losses) > 3
    )
    assert res.status == Status.STOPPED and res.nit == 3


def test_relative_decrease_rule():
    rule = RelativeDecrease(window=3)
    assert not rule([5.0, 4.0, 6.0])  # not applied during the first N steps
    assert not rule([5.0, 4.0, 3.0, 2.0])
    assert rule([5.0, 4.0, 3.0, 4.5])  # 4.5 > mean(5, 4, 3)
    assert not RelativeDecrease(window=3, epsilon=1.0)([5.0, 4.0, 3.0, 4.5])
    with pytest.raises(ValueError):
        RelativeDecrease(window=0)


def test_relative_decrease_stops_a_diverging_run():
    res = optim.get("gd-momentum", learning_rate=1.5).minimize(
        lambda x: jnp.sum(x * x), np.ones(3), budget=100, stop=RelativeDecrease()
    )
    assert res.status == Status.STOPPED and res.nit == 5


def test_bfgs_matches_scipy_finite_differences():
    """Our batched forward differences reproduce scipy's own BFGS run (jac=None)."""
    problem = make_problem("rosenbrock", 6)
    x0 = np.random.default_rng(0).uniform(-2, 2, 6)
    ours = optim.get("bfgs").minimize(problem.loss, x0, budget=15)
    with jax.enable_x64(True):
        f = jax.jit(problem.loss)
        ref = scipy.optimize.minimize(lambda x: float(f(x)), x0, method="BFGS", options={"maxiter": 15})
    np.testing.assert_allclose(ours.x, ref.x, rtol=FD_MATCH_TOL, atol=FD_MATCH_TOL)
    assert ours.nit == ref.nit


def test_bfgs_exact_gradient_converges_on_rosenbrock():
    res = optim.get("bfgs", gradient="exact").minimize(ROSENBROCK.loss, X0, budget=200)
    assert res.status == Status.CONVERGED and res.fun < 1e-10
    assert res.nfev < optim.get("bfgs").minimize(ROSENBROCK.loss, X0, budget=200).nfev


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        optim.get("sgd")
    with pytest.raises(ValueError, match="takes no option"):
        optim.get("adam", lr=1e-3)
    with pytest.raises(ValueError, match="gradient must be"):
        optim.get("bfgs", gradient="magic")
    with pytest.raises(ValueError, match="positive integer"):
        optim.get("adam").minimize(ROSENBROCK.loss, X0, budget=0)
    with pytest.raises(ValueError, match="flat vector"):
        optim.get("adam").minimize(ROSENBROCK.loss, np.zeros((2, 2)), budget=3)
    with pytest.raises(ValueError, match="already registered"):
        optim.register("adam", optim.get)


def test_basin_hopping_counts_everything_and_escapes_a_local_minimum():
    rastrigin = make_problem("rastrigin", 2)
    x0 = np.array([3.0, -2.0])  # near a local minimum of value ~13
    plain = optim.get("bfgs", gradient="exact").minimize(rastrigin.loss, x0, budget=60)
    hopping = optim.BasinHopping(optim.get("bfgs", gradient="exact"), hop_every=10, perturbation=1.0)
    res = hopping.minimize(rastrigin.loss, x0, budget=60, key=jax.random.PRNGKey(0))
    assert res.losses.shape == (res.nit + 1,) and res.nit <= 60
    assert res.fun == pytest.approx(min(res.losses)) and res.fun < plain.fun - 1.0
    assert res.nfev > plain.nfev and "hops" in res.message
    limited = hopping.minimize(rastrigin.loss, x0, budget=Budget(evaluations=25))
    assert limited.nfev <= 25


def test_basin_hopping_keeps_a_segments_best_iterate_not_its_last():
    """Adam at a too-large step oscillates around the minimum, so a segment's last iterate is
    worse than its best: the result is the best point and its loss, consistently."""

    def loss(x):
        return jnp.sum(x**2)

    x0 = np.array([1.0, -0.7])
    hopping = optim.BasinHopping(optim.get("adam", learning_rate=1.5), hop_every=7, perturbation=0.3)
    res = hopping.minimize(loss, x0, budget=30, key=jax.random.PRNGKey(1))
    assert res.fun == pytest.approx(float(np.min(res.losses)), rel=1e-6)
    assert float(loss(jnp.asarray(res.x))) == pytest.approx(res.fun, rel=1e-6)
    assert res.losses[-1] > res.fun  # the last iterate is not the best: the case that matters


@pytest.mark.parametrize("name", ["bfgs", "lbfgs", "adam", "gd-momentum", "optimus", "adafactor-mlp"])
def test_args_reach_the_loss_and_reuse_one_compilation(name):
    """Minimising one loss for other data of one shape traces it once (data are arguments)."""
    traces = []

    def loss(x, target, weight):
        traces.append(1)  # Python side effect: runs only while JAX traces
        return weight * jnp.sum((x - target) ** 2)

    config = {"seed": 0} if name in ("optimus", "adafactor-mlp") else {}
    opt = optim.get(name, **config)
    results = [
        opt.minimize(loss, np.zeros(3), budget=5, args=(jnp.full(3, t, jnp.float32), jnp.float32(1.0)))
        for t in (1.0, 2.0, 3.0)
    ]
    assert [r.losses[0] for r in results] == pytest.approx([3.0, 12.0, 27.0])
    first = len(traces)
    opt.minimize(loss, np.ones(3), budget=5, args=(jnp.full(3, 4.0, jnp.float32), jnp.float32(2.0)))
    assert len(traces) == first  # the fourth run compiled nothing new


@pytest.mark.parametrize("name", ["adam", "gd-momentum", "optimus", "adafactor-mlp"])
def test_first_order_and_learned_optimizers_run_through_one_core(name):
    optimizer = optim.get(name, **_config(name))
    assert isinstance(optimizer, GradientOptimizer)
    assert type(optimizer).minimize is GradientOptimizer.minimize
    assert type(optimizer).minimize_batch is GradientOptimizer.minimize_batch


class _Compilations(list):
    """The names of the programs XLA compiles while the context is open."""

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._count)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._count)

    def _count(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.append(kwargs.get("fun_name"))


def _device_loss():
    """A fresh loss (no compilation of it is cached) and a target already on the device."""

    def loss(x, target):
        return jnp.sum((x - target) ** 2)

    return loss, jax.device_put(jnp.arange(3.0, dtype=jnp.float32), jax.devices()[0])


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("name", ["adam", "gd-momentum", "optimus", "adafactor-mlp"])
def test_a_run_compiles_its_programs_once_when_its_data_live_on_the_device(name, batched):
    """Data already on the device (as an MJX model is) make a compiled program's outputs committed
    there; the first step's start must be too, or XLA compiles the step twice per run (for a
    DiffPhy window: two ~2-minute compilations). The fresh loss compiles once (its value and
    gradient, which also gives the value at the end), the optimizer's update at most once (an
    earlier test of this process may have compiled it: it holds no loss)."""
    loss, target = _device_loss()
    opt = optim.get(name, **({"seed": 0} if name in LEARNED else {}))
    with _Compilations() as compiled:
        if batched:
            opt.minimize_batch(loss, np.zeros((2, 3)), budget=5, args=(jnp.stack([target, target]),))
        else:
            opt.minimize(loss, np.zeros(3), budget=5, args=(target,))
    assert compiled.count("jit(loss)") == 1 and compiled.count("jit(update)") <= 1


def test_optimizers_of_one_loss_share_its_compiled_value_and_gradient():
    """After Adam's run, Optimus on the same loss compiles only its own update and BFGS (exact
    gradient, float32: the DiffPhy setting) nothing: a DiffPhy window's gradient, minutes of
    compilation, is compiled once whichever optimizers run on it."""
    loss, target = _device_loss()
    with _Compilations() as compiled:
        optim.get("adam").minimize(loss, np.zeros(3), budget=5, args=(target,))
    assert compiled.count("jit(loss)") == 1
    with _Compilations() as compiled:
        optim.get("optimus", seed=1).minimize(loss, np.zeros(3), budget=5, args=(target,))
    assert "jit(loss)" not in compiled
    with _Compilations() as compiled:
        optim.get("bfgs", gradient="exact", loss_precision="float32").minimize(loss, np.zeros(3), budget=5, args=(target,))
    assert compiled == []


@pytest.mark.parametrize("name", NAMES)
def test_best_iterate_has_the_lowest_loss(name):
    """``best`` is the iterate of ``fun_best`` even when the last iterate is worse (Adam at a large
    learning rate overshoots the minimum of a quadratic)."""
    fun = lambda x: jnp.sum(x**2)  # noqa: E731
    config = {"adam": {"learning_rate": 0.7}}.get(name, _config(name))
    res = optim.get(name, **config).minimize(fun, np.full(3, 1.0), budget=12)
    assert float(fun(res.best)) == pytest.approx(res.fun_best, rel=1e-5)
    assert res.fun_best == pytest.approx(float(np.min(res.losses)))
    if name == "adam":
        assert res.fun > res.fun_best  # the case the property exists for


@pytest.mark.parametrize("name", ["bfgs", "adam", "gd-momentum", "optimus", "adafactor-mlp"])
def test_a_batch_of_problems_gives_what_one_run_per_problem_gives(name):
    """``minimize_batch`` (vmap-ed where the optimizer is pure JAX, a loop for scipy's BFGS) returns
    per row what ``minimize`` returns: losses, evaluations, status and best iterate, also when one
    row's loss turns non-finite and another's stopping rule fires while the rest go on."""

    def loss(x, target, scale):  # scale -1 makes the log of a negative number: NaN at the start
        return jnp.log1p(scale * jnp.sum((x - target) ** 2))

    opt = optim.get(name, **_config(name))
    targets = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    scales = np.array([1.0, 1.0, -1.0], np.float32)
    x0 = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]], np.float32)
    stop = RelativeDecrease(window=2, beta=0.999)
    batch = optim.minimize_batch(opt, loss, x0, budget=Budget(evaluations=12), stop=stop, args=(targets, scales))
    for b, got in enumerate(batch):
        want = opt.minimize(loss, x0[b], budget=Budget(evaluations=12), stop=stop, args=(targets[b], scales[b]))
        assert (got.status, got.nfev, got.nit) == (want.status, want.nfev, want.nit), b
        np.testing.assert_allclose(got.losses, want.losses, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.best, want.best, rtol=1e-5, atol=1e-6)
    assert batch[2].status == Status.NONFINITE and batch[0].status != Status.NONFINITE
    with pytest.raises(ValueError, match=r"\(B, N\)"):
        optim.minimize_batch(opt, loss, np.zeros(3), budget=3, args=(targets, scales))
