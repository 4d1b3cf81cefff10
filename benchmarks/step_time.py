"""Time of one optimizer step against the dimension N (the supplement's runtime figure, Fig. 8).

Learned optimizers and Adam: wall time of one jitted update (features, network, preconditioner)
given the gradient, median of repeated calls after compilation. scipy BFGS: wall time per
iteration of a 200-iteration run on the N-d Rosenbrock function, with the paper's
finite-difference gradient and with the exact gradient (the second isolates BFGS's own
O(N^2) update and line search from the N extra function calls).

    python benchmarks/step_time.py [--dims 2,10,100,250,500,1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from motion_recon import optim
from motion_recon.functions import make_problem
from motion_recon.provenance import record
from motion_recon.io import write_json

RESULTS = Path(__file__).resolve().parent / "results"
REPEATS = 20


def _median_seconds(fn, *args) -> float:
    """Median wall time of ``fn(*args)`` over REPEATS calls, after one warm-up (compilation)."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def learned_step_s(opt, n: int) -> float:
    rule, theta = opt.rule, opt.theta
    x = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, n), jnp.float32)
    grad = jax.grad(make_problem("rosenbrock", n).loss)(x)
    return _median_seconds(jax.jit(rule.update), theta, rule.init_state(x), x, grad)


def adam_step_s(n: int) -> float:
    import optax

    tx = optax.adam(1e-2)
    x = jnp.ones(n)
    return _median_seconds(jax.jit(lambda g, s, x: tx.update(g, s, x)), x, tx.init(x), x)


def bfgs_iteration_s(n: int, gradient: str) -> float:
    problem = make_problem("rosenbrock", n)
    opt = optim.get("bfgs", gradient=gradient)
    x0 = np.random.default_rng(0).uniform(-2, 2, n)
    opt.minimize(problem.loss, x0, budget=2)  # compile
    start = time.perf_counter()
    res = opt.minimize(problem.loss, x0, budget=200)
    return (time.perf_counter() - start) / max(res.nit, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="2,10,100,250,500,1000")
    args = parser.parse_args()
    dims = [int(d) for d in args.dims.split(",")]
    # weights do not change the cost of a step: untrained ones keep this independent of checkpoints
    learned = {"optimus": optim.get("optimus", seed=0), "adafactor-mlp": optim.get("adafactor-mlp", seed=0)}
    rows = []
    print(f"{'N':>6} {'optimus ms':>11} {'adafac ms':>10} {'adam ms':>8} {'bfgs-fd ms/it':>14} {'bfgs-exact ms/it':>17}")
    for n in dims:
        row = {"dim": n, **{f"{k}_step_s": learned_step_s(v, n) for k, v in learned.items()},
               "adam_step_s": adam_step_s(n), "bfgs_fd_iteration_s": bfgs_iteration_s(n, "finite-difference"),
               "bfgs_exact_iteration_s": bfgs_iteration_s(n, "exact")}
        rows.append(row)
        print(f"{n:>6} {1e3 * row['optimus_step_s']:>11.3f} {1e3 * row['adafactor-mlp_step_s']:>10.3f} "
              f"{1e3 * row['adam_step_s']:>8.3f} {1e3 * row['bfgs_fd_iteration_s']:>14.3f} "
              f"{1e3 * row['bfgs_exact_iteration_s']:>17.3f}", flush=True)
    write_json(RESULTS / "step_time.json", {"environment": record(), "repeats": REPEATS, "rows": rows})


if __name__ == "__main__":
    main()
