"""Basin hopping around any optimizer (the paper's Table 4 test-time mode): run the inner
optimizer for ``hop_every`` iterations (or until its stopping rule fires), perturb the best point
found so far with Gaussian noise, and go on until the budget is spent; keep the best."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from motion_recon.optim.base import Budget, LossFn, Optimizer, OptimizeResult, Status, StopRule, as_vector


@dataclass(frozen=True)
class BasinHopping:
    """``inner`` restarted from ``best + perturbation * N(0, I)`` every ``hop_every`` iterations.

    Every evaluation counts towards ``nfev`` and the budget, the perturbed starts included; a hop
    counts as one iteration whose loss is the perturbed point's, so ``len(losses) == nit + 1``
    still holds. Unlike the other optimizers, ``x``/``fun`` are the *best* point found, not the
    last iterate.
    """

    inner: Optimizer
    hop_every: int = 25
    perturbation: float = 0.5

    def __post_init__(self):
        if self.hop_every < 1 or not self.perturbation > 0:
            raise ValueError("hop_every must be >= 1 and perturbation > 0")

    @property
    def name(self) -> str:
        return f"{self.inner.name}+basin-hopping"

    def minimize(
        self, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
        stop: StopRule | None = None, args: tuple = (),
    ) -> OptimizeResult:
        """``key`` draws the perturbations (default ``PRNGKey(0)``)."""
        budget = Budget.of(budget)
        key = jax.random.PRNGKey(0) if key is None else key
        iterations_left = budget.iterations if budget.iterations is not None else np.inf
        evaluations_left = budget.evaluations if budget.evaluations is not None else np.inf
        x, losses, nfev, nit, hops = as_vector(x0, np.float64), [], 0, 0, 0
        best_x, best_f = x, np.inf
        while True:
            segment = Budget(
                iterations=int(min(self.hop_every, iterations_left)),
                evaluations=None if np.isinf(evaluations_left) else int(evaluations_left),
            )
            res = self.inner.minimize(fun, x, budget=segment, key=key, stop=stop, args=args)
            losses.extend(res.losses)  # a hop's loss is the first of its segment
            nfev, nit = nfev + res.nfev, nit + res.nit
            iterations_left, evaluations_left = iterations_left - res.nit, evaluations_left - res.nfev
            if np.isfinite(res.fun_best) and res.fun_best < best_f:  # the segment's best iterate, not its last
                best_x, best_f = np.asarray(res.best, np.float64), float(res.fun_best)
            if res.nit == 0 or iterations_left < 2 or evaluations_left < 2:
                break  # stuck (non-finite start) or no room for a hop and a step after it
            key, sub = jax.random.split(key)
            x = best_x + self.perturbation * np.asarray(jax.random.normal(sub, best_x.shape))
            nit, iterations_left, hops = nit + 1, iterations_left - 1, hops + 1
        status = Status.NONFINITE if not np.isfinite(best_f) else Status.BUDGET
        return OptimizeResult(
            x=best_x, fun=best_f, losses=np.asarray(losses), nfev=nfev, nit=nit, status=status,
            message=f"{hops} hops of {self.inner.name}; best loss {best_f:.6g}",
        )
