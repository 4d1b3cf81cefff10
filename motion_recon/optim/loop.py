"""Host-side iteration loops shared by optimizers that take one value-and-gradient per step: one
run (``iterate``) or a batch of independent runs stepped together under ``vmap``
(``iterate_batch``)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from motion_recon.optim.base import Budget, OptimizeResult, Status, StopRule, committed

# (x, state) -> (loss at x, gradient finite?, next x, next state); jitted by the caller. In a
# batch every array has a leading (B,) axis.
StepFn = Callable[[jax.Array, Any], tuple[jax.Array, jax.Array, jax.Array, Any]]


class _Run:
    """The bookkeeping of one run: its iterates, losses, evaluations, best iterate and outcome."""

    def __init__(self, x0):
        self.x = self.x_prev = self.x_best = x0
        self.losses: list[float] = []
        self.nfev, self.best = 0, np.inf
        self.result: OptimizeResult | None = None  # set when the run ends

    def observe(self, k: int, loss: float, grad_finite: bool, stop: StopRule | None) -> None:
        """Records the loss and gradient at iterate ``k`` (``self.x``); ends the run on a
        non-finite value or when ``stop`` fires."""
        self.nfev += 1
        if not np.isfinite(loss):
            return self._end(Status.NONFINITE, f"loss became {loss} at iteration {k}", self.x_prev, loss)
        self._keep(loss)
        if not grad_finite:
            return self._end(Status.NONFINITE, f"gradient became non-finite at iteration {k}", self.x)
        if stop is not None and stop(self.losses):
            return self._end(Status.STOPPED, f"stopping rule fired at iteration {k}", self.x)

    def advance(self, x_next) -> None:
        self.x_prev, self.x = self.x, x_next

    def finish(self, loss: float, iterations: int) -> None:
        """The budget is spent: records the loss of the last iterate (one more evaluation)."""
        self.nfev += 1
        if not np.isfinite(loss):
            return self._end(Status.NONFINITE, f"loss became {loss} at iteration {iterations}", self.x_prev, loss)
        self._keep(loss)
        self._end(Status.BUDGET, f"reached the budget of {iterations} iterations", self.x)

    def _keep(self, loss: float) -> None:
        if loss < self.best:
            self.x_best, self.best = self.x, loss
        self.losses.append(loss)

    def _end(self, status: Status, message: str, x, bad_loss: float | None = None) -> None:
        losses = self.losses or [bad_loss]
        self.result = OptimizeResult(
            x=np.asarray(x), fun=losses[-1], losses=np.asarray(losses), nfev=self.nfev,
            nit=len(losses) - 1, status=status, message=message, x_best=np.asarray(self.x_best),
        )


def iterate(
    step: StepFn, value: Callable[[jax.Array], jax.Array], x0: jax.Array, state: Any, *,
    budget: Budget, stop: StopRule | None,
) -> OptimizeResult:
    """Runs ``step`` until the budget is spent, ``stop`` fires or the loss turns non-finite.

    Each step evaluates the loss and gradient at the current iterate (one evaluation); after the
    last step the loss of the final iterate is evaluated once more.
    """
    iterations = budget.max_iterations(evaluations_per_iteration=1, evaluations_at_start=1)
    x0, state = committed((x0, state))
    run = _Run(x0)
    for k in range(iterations):
        loss, grad_finite, x_next, state = step(run.x, state)
        run.observe(k, float(loss), bool(grad_finite), stop)
        if run.result is not None:
            return run.result
        run.advance(x_next)
    run.finish(float(value(run.x)), iterations)
    return run.result


def iterate_batch(
    step: StepFn, value: Callable[[jax.Array], jax.Array], x0: jax.Array, state: Any, *,
    budget: Budget, stop: StopRule | None,
) -> list[OptimizeResult]:
    """``iterate`` for ``B`` independent runs stepped together: ``step`` and ``value`` take and
    return arrays with a leading (B,) axis. A run that ends (stopping rule, non-finite value) is
    frozen while the others go on; each result is what ``iterate`` would return for that run."""
    iterations = budget.max_iterations(evaluations_per_iteration=1, evaluations_at_start=1)
    x, state = committed((x0, state))
    runs = [_Run(row) for row in np.asarray(x0)]
    for k in range(iterations):
        losses, grad_finite, x_next, state_next = step(x, state)
        losses, grad_finite = np.asarray(losses), np.asarray(grad_finite)
        for b, run in enumerate(runs):
            if run.result is None:
                run.observe(k, float(losses[b]), bool(grad_finite[b]), stop)
        going = np.array([run.result is None for run in runs])
        if not going.any():
            break
        x, state = jax.tree.map(functools.partial(_select, going), (x_next, state_next), (x, state))
        rows = np.asarray(x)
        for b in np.flatnonzero(going):
            runs[b].advance(rows[b])
    else:
        finals = np.asarray(value(x))
        for b, run in enumerate(runs):
            if run.result is None:
                run.finish(float(finals[b]), iterations)
    return [run.result for run in runs]


def _select(mask: np.ndarray, new: jax.Array, old: jax.Array) -> jax.Array:
    """``new`` where ``mask`` (B,) holds, ``old`` elsewhere, for arrays with a leading (B,) axis."""
    return jnp.where(jnp.reshape(mask, mask.shape + (1,) * (jnp.ndim(new) - 1)), new, old)
