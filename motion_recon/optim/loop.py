"""Host-side iteration loop shared by optimizers that take one value-and-gradient per step."""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from motion_recon.optim.base import Budget, OptimizeResult, Status, StopRule

# (x, state) -> (loss at x, gradient finite?, next x, next state); jitted by the caller
StepFn = Callable[[jax.Array, Any], tuple[jax.Array, jax.Array, jax.Array, Any]]


def iterate(
    step: StepFn,
    value: Callable[[jax.Array], jax.Array],
    x0: jax.Array,
    state: Any,
    *,
    budget: Budget,
    stop: StopRule | None,
) -> OptimizeResult:
    """Runs ``step`` until the budget is spent, ``stop`` fires or the loss turns non-finite.

    Each step evaluates the loss and gradient at the current iterate (one evaluation); after the
    last step the loss of the final iterate is evaluated once more.
    """
    iterations = budget.max_iterations(evaluations_per_iteration=1, evaluations_at_start=1)
    x = x_prev = x_best = x0
    losses, nfev, best = [], 0, np.inf
    status, message = Status.BUDGET, f"reached the budget of {iterations} iterations"
    for k in range(iterations):
        loss, grad_finite, x_next, state_next = step(x, state)
        nfev += 1
        loss = float(loss)
        if not np.isfinite(loss):
            return _nonfinite(x_prev, losses or [loss], nfev, f"loss became {loss} at iteration {k}", x_best)
        if loss < best:
            x_best, best = x, loss
        losses.append(loss)
        if not bool(grad_finite):
            return _nonfinite(x, losses, nfev, f"gradient became non-finite at iteration {k}", x_best)
        if stop is not None and stop(losses):
            status, message = Status.STOPPED, f"stopping rule fired at iteration {k}"
            break
        x_prev, x, state = x, x_next, state_next
    else:
        loss = float(value(x))
        nfev += 1
        if not np.isfinite(loss):
            return _nonfinite(x_prev, losses or [loss], nfev, f"loss became {loss} at iteration {iterations}", x_best)
        if loss < best:
            x_best = x
        losses.append(loss)
    return OptimizeResult(
        x=np.asarray(x), fun=losses[-1], losses=np.asarray(losses), nfev=nfev,
        nit=len(losses) - 1, status=status, message=message, x_best=np.asarray(x_best),
    )


def _nonfinite(x, losses, nfev, message, x_best) -> OptimizeResult:
    return OptimizeResult(
        x=np.asarray(x), fun=losses[-1], losses=np.asarray(losses), nfev=nfev,
        nit=len(losses) - 1, status=Status.NONFINITE, message=message, x_best=np.asarray(x_best),
    )
