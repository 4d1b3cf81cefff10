"""Direction of the optimizer's step on the 2-d Rosenbrock function (the paper's Fig. 5).

For 64 trajectories from the benchmark's starts, the absolute cosine similarity of every step
``x_{k+1} - x_k`` with the steepest-descent direction ``-grad f(x_k)`` and with the Newton direction
``-H(x_k)^{-1} grad f(x_k)``, averaged over trajectories per iteration, for Optimus,
Adafactor-MLP (shipped checkpoints) and scipy's BFGS. Writes step_direction.json and
step_direction.png under benchmarks/results.

    python benchmarks/step_direction.py [--iters 50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from motion_recon import optim
from motion_recon.functions import make_problem
from motion_recon.configs import BenchmarkConfig
from motion_recon.functions.benchmark import starting_points
from motion_recon.provenance import record
from motion_recon.io import atomic_path, write_json
from motion_recon.plotting import pyplot

RESULTS = Path(__file__).resolve().parent / "results"


def learned_iterates(opt, loss, starts: np.ndarray, iters: int) -> np.ndarray:
    """(S, iters + 1, N) iterates of a learned optimizer from every start."""

    def run(x0):
        def body(carry, _):
            x, state = carry
            updates, state = opt.rule.update(opt.theta, state, x, jax.grad(loss)(x))
            return (x + updates, state), x + updates

        _, xs = jax.lax.scan(body, (x0, opt.rule.init_state(x0)), length=iters)
        return jnp.concatenate([x0[None], xs])

    return np.asarray(jax.jit(jax.vmap(run))(jnp.asarray(starts, jnp.float32)), np.float64)


def bfgs_iterates(loss, starts: np.ndarray, iters: int) -> list[np.ndarray]:
    """scipy BFGS (finite-difference gradient, as the paper's baseline) iterates per start."""
    with jax.enable_x64(True):
        f = jax.jit(loss)
        out = []
        for x0 in starts:
            xs = [x0]
            scipy.optimize.minimize(lambda x: float(f(x)), x0, method="BFGS", options={"maxiter": iters},
                                    callback=lambda xk, xs=xs: xs.append(np.array(xk)))
            out.append(np.array(xs))
    return out


def similarities(loss, iterates: list[np.ndarray], iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over trajectories of |cos| with -grad and with the Newton step, per iteration (NaN
    where no trajectory has that step)."""
    with jax.enable_x64(True):
        grad, hess = jax.jit(jax.grad(loss)), jax.jit(jax.hessian(loss))
        to_grad, to_newton = np.full((len(iterates), iters), np.nan), np.full((len(iterates), iters), np.nan)
        for t, xs in enumerate(iterates):
            for k in range(min(len(xs) - 1, iters)):
                step, g = xs[k + 1] - xs[k], np.asarray(grad(xs[k]))
                newton = np.linalg.solve(np.asarray(hess(xs[k])), g)
                norm = np.linalg.norm(step)
                if norm == 0 or not np.isfinite(norm):
                    continue
                to_grad[t, k] = abs(step @ g) / (norm * np.linalg.norm(g) + 1e-300)
                to_newton[t, k] = abs(step @ newton) / (norm * np.linalg.norm(newton) + 1e-300)
    return np.nanmean(to_grad, axis=0), np.nanmean(to_newton, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=50)
    args = parser.parse_args()
    loss = make_problem("rosenbrock", 2).loss
    starts = starting_points(BenchmarkConfig(), "rosenbrock", 2)
    runs = {name: list(learned_iterates(optim.get(name), loss, starts, args.iters))
            for name in ("optimus", "adafactor-mlp")}
    runs["bfgs"] = bfgs_iterates(loss, starts, args.iters)
    result = {}
    print(f"{'optimizer':<14} {'|cos| grad':>10} {'|cos| newton':>12}  (mean over the first {args.iters} steps)")
    for name, iterates in runs.items():
        to_grad, to_newton = similarities(loss, iterates, args.iters)
        result[name] = {"gradient": to_grad.tolist(), "newton": to_newton.tolist()}
        print(f"{name:<14} {np.nanmean(to_grad):>10.3f} {np.nanmean(to_newton):>12.3f}")
    write_json(RESULTS / "step_direction.json", {"environment": record(), "starts": len(starts), "similarity": result})
    _plot(result, RESULTS / "step_direction.png")


def _plot(result: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for name, sims in result.items():
        for ax, kind in zip(axes, ("gradient", "newton"), strict=True):
            ax.plot(sims[kind], label=name)
    for ax, title in zip(axes, ("|cos| with -gradient", "|cos| with Newton direction"), strict=True):
        ax.set(title=title, xlabel="iteration", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
