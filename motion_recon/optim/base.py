"""The face every optimizer shows: ``minimize(fun, x0, *, budget, key=None, stop=None)``.

Conventions shared by all optimizers:

* ``fun`` maps a flat vector ``(N,)`` to a scalar and is JAX-traceable; with ``args``, it is
  called as ``fun(x, *args)``. ``args`` (arrays or pytrees) are passed to the compiled function,
  not baked into it: minimising one ``fun`` for many data of one shape (the windows of a motion)
  compiles once.
* ``losses`` holds the *current* loss at every iterate, ``losses[k] = fun(x_k)`` with
  ``losses[0] = fun(x0)``; it is not a best-so-far curve. ``len(losses) == nit + 1``.
* ``nfev`` counts calls of ``fun``: a value-and-gradient by autodiff counts as one call, a
  finite-difference gradient counts every perturbed evaluation (as scipy counts them).
* ``x``/``fun`` are the last finite iterate and its loss; ``x_best``/``fun_best`` the iterate of
  lowest loss (first-order and learned optimizers need not descend monotonically).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import jax
import numpy as np

LossFn = Callable[[jax.Array], jax.Array]


class Status(enum.StrEnum):
    """Why a run ended."""

    CONVERGED = "converged"  # the method's own convergence test passed
    BUDGET = "budget"  # iteration or evaluation budget used up
    STOPPED = "stopped"  # the caller's stopping rule fired
    NONFINITE = "nonfinite"  # the loss (or its gradient) became NaN or infinite
    FAILED = "failed"  # the method gave up (e.g. a line search found no decrease)


class StopRule(Protocol):
    """Host-side stopping rule, asked after every iteration with the losses so far."""

    def __call__(self, losses: Sequence[float]) -> bool: ...


@dataclass(frozen=True)
class Budget:
    """Limits of one run: at most ``iterations`` steps and at most ``evaluations`` calls of fun.

    An ``int`` passed as ``budget`` means ``Budget(iterations=int)``.
    """

    iterations: int | None = None
    evaluations: int | None = None

    def __post_init__(self):
        if self.iterations is None and self.evaluations is None:
            raise ValueError("a budget needs iterations, evaluations or both")
        for field, value in (("iterations", self.iterations), ("evaluations", self.evaluations)):
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"budget {field} must be a positive integer, got {value!r}")

    @staticmethod
    def of(budget: "int | Budget") -> "Budget":
        return budget if isinstance(budget, Budget) else Budget(iterations=budget)

    def max_iterations(self, evaluations_per_iteration: int = 1, evaluations_at_start: int = 1) -> int:
        """Largest iteration count both limits allow for a method with a fixed cost per step."""
        limits = [] if self.iterations is None else [self.iterations]
        if self.evaluations is not None:
            limits.append(max(0, (self.evaluations - evaluations_at_start) // evaluations_per_iteration))
        return min(limits)


@dataclass(frozen=True)
class OptimizeResult:
    """Outcome of one ``minimize`` call (see the module docstring for the conventions)."""

    x: np.ndarray
    fun: float
    losses: np.ndarray
    nfev: int
    nit: int
    status: Status
    message: str
    x_best: np.ndarray | None = None  # None: ``x`` is the best iterate

    @property
    def fun_best(self) -> float:
        finite = self.losses[np.isfinite(self.losses)]
        return float(finite.min()) if finite.size else self.fun

    @property
    def best(self) -> np.ndarray:
        """The iterate of lowest loss."""
        return self.x if self.x_best is None else self.x_best

    @property
    def success(self) -> bool:
        return self.status in (Status.CONVERGED, Status.BUDGET, Status.STOPPED)


class Optimizer(Protocol):
    """Anything with the shared ``minimize`` face."""

    name: str

    def minimize(
        self,
        fun: LossFn,
        x0,
        *,
        budget: int | Budget,
        key: jax.Array | None = None,
        stop: StopRule | None = None,
        args: tuple = (),
    ) -> OptimizeResult: ...


def as_vector(x0, dtype) -> np.ndarray:
    """Checks that ``x0`` is a finite flat vector and returns it as a numpy array of ``dtype``."""
    return _finite(x0, dtype, 1, "a non-empty flat vector (N,)")


def as_matrix(x0, dtype) -> np.ndarray:
    """Checks that ``x0`` is a finite batch of starting points (B, N) and returns it as a numpy
    array of ``dtype``."""
    return _finite(x0, dtype, 2, "a non-empty batch of flat vectors (B, N)")


def _finite(x0, dtype, ndim: int, expected: str) -> np.ndarray:
    x = np.asarray(x0, dtype=dtype)
    if x.ndim != ndim or x.size == 0:
        raise ValueError(f"x0 must be {expected}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains NaN or infinite values")
    return x


def minimize_batch(
    optimizer: Optimizer, fun: LossFn, x0, *, budget: int | Budget, key: jax.Array | None = None,
    stop: StopRule | None = None, args: tuple = (),
) -> list[OptimizeResult]:
    """``optimizer.minimize`` from every row of ``x0`` (B, N), with ``args`` whose leaves have a
    leading (B,) axis: independent problems of one shape (e.g. the windows of a motion). One
    ``vmap``-ed run when the optimizer has ``minimize_batch`` (first-order and learned optimizers:
    pure JAX steps), else one run per row (scipy's BFGS), run ``b`` with key ``fold_in(key, b)``."""
    batched = getattr(optimizer, "minimize_batch", None)
    if batched is not None:
        return batched(fun, x0, budget=budget, key=key, stop=stop, args=args)
    key = jax.random.key(0) if key is None else key
    return [
        optimizer.minimize(fun, row, budget=budget, key=jax.random.fold_in(key, b), stop=stop,
                           args=jax.tree.map(functools.partial(_row, b), args))  # fmt: skip
        for b, row in enumerate(as_matrix(x0, np.float64))
    ]


def _row(b: int, leaf):
    return leaf[b]


def committed(tree):
    """``tree`` committed to the default device, as a compiled program's outputs are. JAX
    compiles a program once per committedness of its arguments: a start left uncommitted, next
    to data on the device (an MJX model), would compile a DiffPhy window's programs (minutes)
    twice."""
    return jax.device_put(tree, jax.devices()[0])


@functools.lru_cache(maxsize=64)
def compiled_loss(fun: LossFn, batched: bool) -> tuple[Callable, Callable]:
    """(value, value and gradient) of ``fun`` (``batched``: ``vmap``-ed over a leading axis of
    every argument), both from one program, ``jit(value_and_grad(fun))``, one per loss: every
    optimizer of one loss calls it, so a DiffPhy window's gradient (minutes of compilation) is
    compiled once whichever optimizers run on it. A value alone (the end of a run, a basin hop)
    costs a gradient evaluation, a fraction of a second, instead of a second program."""
    value_and_grad = jax.value_and_grad(fun)
    value_and_grad = jax.jit(jax.vmap(value_and_grad) if batched else value_and_grad)
    return (lambda x, *args: value_and_grad(x, *args)[0]), value_and_grad


def cached(compile_fn, fun, *rest):
    """``compile_fn(fun, *rest)`` through its ``functools.lru_cache`` when ``fun`` is hashable
    (the same loss reuses its compilation), directly otherwise."""
    try:
        hash(fun)
    except TypeError:
        return compile_fn.__wrapped__(fun, *rest)
    return compile_fn(fun, *rest)
