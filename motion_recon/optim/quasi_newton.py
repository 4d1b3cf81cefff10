"""Quasi-Newton baselines: scipy's BFGS and L-BFGS-B in float64 on a JAX loss.

By default the gradient is a forward difference, as scipy computes it when no ``jac`` is given
(the paper's protocol). We evaluate the ``N`` perturbed points in one batched JAX call instead of
``N`` Python calls; the steps are scipy's own (``sqrt(eps) * sign(x) * max(1, |x|)``, rounded to a
representable step), so the iterates match scipy's to rounding while running orders of magnitude
faster at large ``N``. ``gradient="exact"`` uses ``jax.grad`` instead.

scipy's arithmetic is always float64. The loss is evaluated in float64 too by default; a loss
that cannot run in float64 (MJX physics: its model arrays are float32) takes
``loss_precision="float32"``: x is rounded to float32 for each evaluation.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from motion_recon.optim.base import Budget, LossFn, OptimizeResult, Status, StopRule, as_vector, cached, committed, compiled_loss

Gradient = Literal["finite-difference", "exact"]
Precision = Literal["float64", "float32"]
_SCIPY_STOPPED_BY_CALLBACK = 99


def forward_difference_gradient(fun: LossFn, x: jax.Array, f0: jax.Array) -> jax.Array:
    """scipy's '2-point' gradient of ``fun`` at ``x: (N,)`` given ``f0 = fun(x)``; ``N`` evaluations."""
    sign = jnp.where(x >= 0, 1.0, -1.0)  # sign 1 at 0, as scipy
    step = jnp.sqrt(jnp.finfo(x.dtype).eps) * sign * jnp.maximum(1.0, jnp.abs(x))
    step = (x + step) - x  # the step actually taken in floating point
    perturbed = x[None, :] + jnp.diag(step)
    return (jax.vmap(fun)(perturbed) - f0) / step


@functools.lru_cache(maxsize=64)
def _compiled_finite_difference(fun: LossFn):
    """Jitted value and forward-difference gradient of ``fun``, cached so repeated starts on one
    loss compile once."""

    def finite_difference(x, *args):
        return forward_difference_gradient(lambda y: fun(y, *args), x, fun(x, *args))

    return jax.jit(fun), jax.jit(finite_difference)


def _evaluations(fun: LossFn, gradient: Gradient, dtype, args: tuple):
    """(value, gradient) of ``fun`` at a float64 ``x``, evaluated in ``dtype``. The exact gradient
    comes from the loss's program every optimizer shares (``base.compiled_loss``), run once per
    point: scipy asks for the value and then the gradient at the same point."""
    if gradient == "finite-difference":
        value, grad = cached(_compiled_finite_difference, fun)
        return (lambda x: value(committed(x.astype(dtype)), *args)), (lambda x: grad(committed(x.astype(dtype)), *args))
    value_and_grad = cached(compiled_loss, fun, False)[1]
    last: list = [None, None]  # the point last evaluated and its (value, gradient)

    def evaluated(x):
        if last[0] is None or not np.array_equal(last[0], x):
            last[:] = [np.array(x), value_and_grad(committed(x.astype(dtype)), *args)]
        return last[1]

    return (lambda x: evaluated(x)[0]), (lambda x: evaluated(x)[1])


class _EvaluationBudgetSpent(Exception):
    pass


@dataclass
class _Counter:
    """Counts evaluations of fun and stops the run before it exceeds the evaluation budget."""

    limit: int | None
    count: int = 0

    def charge(self, cost: int) -> None:
        if self.limit is not None and self.count + cost > self.limit:
            raise _EvaluationBudgetSpent
        self.count += cost


@dataclass(frozen=True)
class ScipyOptimizer:
    """scipy.optimize ``method`` in float64 behind the shared ``minimize`` face.

    Attributes:
      name: registry name.
      method: ``"BFGS"`` or ``"L-BFGS-B"``.
      gradient: ``"finite-difference"`` (default, the paper's protocol) or ``"exact"``.
      gtol: scipy's gradient-norm tolerance for convergence.
      loss_precision: ``"float64"`` (default) or ``"float32"``, the dtype ``fun`` is evaluated in.
      options: further scipy options (e.g. ``{"maxcor": 10}`` for L-BFGS-B).
    """

    name: str
    method: str
    gradient: Gradient = "finite-difference"
    gtol: float = 1e-5
    loss_precision: Precision = "float64"
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.gradient not in ("finite-difference", "exact"):
            raise ValueError(f"gradient must be 'finite-difference' or 'exact', got {self.gradient!r}")
        if self.loss_precision not in ("float64", "float32"):
            raise ValueError(f"loss_precision must be 'float64' or 'float32', got {self.loss_precision!r}")

    def minimize(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> OptimizeResult:
        """Minimises ``fun`` from ``x0``; ``key`` is unused (the method is deterministic)."""
        budget = Budget.of(budget)
        x0 = as_vector(x0, np.float64)
        counter = _Counter(budget.evaluations)
        float64 = self.loss_precision == "float64"
        with jax.enable_x64(True) if float64 else contextlib.nullcontext():
            value, grad = _evaluations(fun, self.gradient, np.float64 if float64 else np.float32, args)
            grad_cost = 1 if self.gradient == "exact" else x0.size

            def scipy_fun(x):
                counter.charge(1)
                return float(value(x))

            def scipy_jac(x):
                counter.charge(grad_cost)
                return np.asarray(grad(x), dtype=np.float64)

            f0 = scipy_fun(x0)
            if not np.isfinite(f0):
                return _result(x0, [f0], counter, Status.NONFINITE, f"loss is {f0} at x0")
            iterates, losses = [x0], [f0]

            def callback(intermediate_result):
                iterates.append(np.asarray(intermediate_result.x))
                losses.append(float(intermediate_result.fun))
                if stop is not None and stop(losses):
                    raise StopIteration

            # a finite-difference gradient is charged N evaluations, as scipy counts its own
            # (f(x) at the gradient point is already known there)
            options = {"maxiter": budget.iterations or 2**31 - 1, "gtol": self.gtol, **self.options}
            if self.method == "L-BFGS-B":
                options.setdefault("maxfun", 2**31 - 1)
            try:
                res = scipy.optimize.minimize(
                    scipy_fun, x0, jac=scipy_jac, method=self.method, callback=callback, options=options
                )
            except _EvaluationBudgetSpent:
                return _result(
                    iterates[-1], losses, counter, Status.BUDGET,
                    f"reached the budget of {budget.evaluations} evaluations",
                )
        return _result(iterates[-1], losses, counter, *self._status(res, losses))

    def _status(self, res: scipy.optimize.OptimizeResult, losses: list[float]) -> tuple[Status, str]:
        """Maps scipy's status (0 converged, 1 iteration limit, 2 line search or abnormal
        termination, 3 NaN for BFGS, 99 callback stop) to ours."""
        message = str(res.message)
        if res.status == _SCIPY_STOPPED_BY_CALLBACK:
            return Status.STOPPED, f"stopping rule fired at iteration {len(losses) - 1}"
        if res.status == 3 or not (np.isfinite(res.fun) and np.all(np.isfinite(res.jac))):
            return Status.NONFINITE, f"loss or gradient became non-finite: {message}"
        return {0: Status.CONVERGED, 1: Status.BUDGET}.get(res.status, Status.FAILED), message


def _result(x, losses, counter: _Counter, status: Status, message: str) -> OptimizeResult:
    return OptimizeResult(
        x=np.asarray(x), fun=float(losses[-1]), losses=np.asarray(losses, dtype=np.float64),
        nfev=counter.count, nit=len(losses) - 1, status=status, message=message,
    )


def bfgs(gradient: Gradient = "finite-difference", gtol: float = 1e-5,
         loss_precision: Precision = "float64") -> ScipyOptimizer:  # fmt: skip
    """scipy's BFGS (float64); finite-difference gradient by default as in the paper."""
    return ScipyOptimizer("bfgs", "BFGS", gradient=gradient, gtol=gtol, loss_precision=loss_precision)


def lbfgs(gradient: Gradient = "finite-difference", gtol: float = 1e-5, maxcor: int = 10,
          loss_precision: Precision = "float64") -> ScipyOptimizer:  # fmt: skip
    """scipy's L-BFGS-B without bounds (float64), ``maxcor`` correction pairs."""
    return ScipyOptimizer("lbfgs", "L-BFGS-B", gradient=gradient, gtol=gtol, loss_precision=loss_precision,
                          options={"maxcor": maxcor})  # fmt: skip
