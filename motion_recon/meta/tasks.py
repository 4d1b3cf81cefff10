"""Task families for meta-training.

A family's ``sample(key, batch_size)`` returns a :class:`TaskBatch`: ``batch_size`` tasks that
share one loss *function* (static, so one compilation serves them all) and differ in their
parameters and starting points, which are arrays and can be ``vmap``-ed. (A bare
``sample(key) -> (loss_fn, x0)`` would bake each task's data into a new Python function and
force a recompilation per task.) The DiffPhy windows plug in the same way: the loss is the
simulation of one model, the parameters are the observations of each window.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from motion_recon.functions.library import FUNCTIONS


class TaskBatch(NamedTuple):
    """Tasks sharing one loss: ``loss(params_b, x) -> scalar >= 0`` for every task ``b``.

    Attributes:
      loss: static function ``(params, x: (N,)) -> ()``; non-negative (0 at the optimum when
        known) so the meta-loss can take its logarithm.
      params: pytree whose leaves have a leading ``(B,)`` axis.
      x0: (B, N) starting points.
      name: label for logs, e.g. ``"rosenbrock 20d"``.
    """

    loss: Callable[[Any, jax.Array], jax.Array]
    params: Any
    x0: jax.Array
    name: str


class TaskFamily(Protocol):
    def sample(self, key: jax.Array, batch_size: int) -> TaskBatch: ...


@functools.lru_cache(maxsize=None)
def _gap_loss(function: str, dim: int) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``(offset, x) -> f(x - offset) - f*``: one stable function object per (function, dim)."""
    fn, minimum = FUNCTIONS[function].fn, FUNCTIONS[function].minimum(dim)
    return lambda offset, x: fn(x - offset) - minimum


@dataclass(frozen=True)
class FunctionTasks:
    """The paper's training family (section 5.1): a test function at a dimension from ``dims``,
    its minimiser shifted by an offset from ``U[-offset_scale, offset_scale]^d`` per task, starts
    from ``U[-start_range, start_range]^d``."""

    functions: tuple[str, ...] = tuple(FUNCTIONS)
    dims: tuple[int, ...] = (2, 5, 10, 20, 50, 100)
    offset_scale: float = 5.0
    start_range: float = 10.0

    def __post_init__(self):
        unknown = [f for f in self.functions if f not in FUNCTIONS]
        if unknown or not self.functions or not self.dims or min(self.dims) < 2:
            raise ValueError(f"need known functions and dims >= 2; got {list(self.functions)}, {list(self.dims)}")

    def sample(self, key: jax.Array, batch_size: int) -> TaskBatch:
        k_fn, k_dim, k_off, k_x = jax.random.split(key, 4)
        function = self.functions[int(jax.random.randint(k_fn, (), 0, len(self.functions)))]
        dim = self.dims[int(jax.random.randint(k_dim, (), 0, len(self.dims)))]
        offsets = jax.random.uniform(k_off, (batch_size, dim), minval=-self.offset_scale, maxval=self.offset_scale)
        x0 = jax.random.uniform(k_x, (batch_size, dim), minval=-self.start_range, maxval=self.start_range)
        return TaskBatch(_gap_loss(function, dim), offsets, x0, f"{function} {dim}d")


@dataclass(frozen=True, eq=False)
class MixedTasks:
    """Every batch from one of ``families``, drawn with ``probabilities`` (e.g. DiffPhy windows
    scored against 3D mocap and against video)."""

    families: tuple
    probabilities: tuple[float, ...]

    def __post_init__(self):
        if len(self.families) != len(self.probabilities) or abs(sum(self.probabilities) - 1.0) > 1e-6:
            raise ValueError(f"need one probability per family, summing to 1; got {list(self.probabilities)}")

    def sample(self, key: jax.Array, batch_size: int) -> TaskBatch:
        k_family, k_batch = jax.random.split(key)
        index = int(jax.random.choice(k_family, len(self.families), p=jnp.asarray(self.probabilities)))
        return self.families[index].sample(k_batch, batch_size)


FAMILIES = {"functions": FunctionTasks}


def task_family(name: str) -> TaskFamily:
    """Families by CLI name."""
    if name not in FAMILIES:
        raise ValueError(f"unknown task family {name!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[name]()
