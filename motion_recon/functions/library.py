"""The 15 classical test functions of the paper's Table 8, in pure JAX for any dimension.

Formulas, usual domains and minima follow Surjanovic & Bingham's "Virtual Library of Simulation
Experiments" (see ../shared/REFERENCE.md section 3). Every function takes a vector ``x: (d,)``
and returns a scalar; it is traceable, differentiable and works in float32 and float64. Batch
with ``jax.vmap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

PERM_BETA = 10.0
STYBLINSKI_TANG_XMIN = -2.903534018185960  # root of 4x^3 - 32x + 5 = 0 in the left basin
STYBLINSKI_TANG_MIN_PER_COORD = 0.5 * (
    STYBLINSKI_TANG_XMIN**4 - 16.0 * STYBLINSKI_TANG_XMIN**2 + 5.0 * STYBLINSKI_TANG_XMIN
)  # -39.16617 (often quoted rounded as -39.16599)


def _indices(x: Array) -> Array:
    """1-based coordinate indices in x's dtype."""
    return jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)


def ackley(x: Array) -> Array:
    d = x.shape[-1]
    a, b, c = 20.0, 0.2, 2.0 * jnp.pi
    mean_sq = jnp.sum(x * x) / d
    # sqrt is not differentiable at 0; the tiny floor keeps the gradient finite at the minimiser
    radius = jnp.sqrt(jnp.maximum(mean_sq, jnp.finfo(x.dtype).tiny))
    return -a * jnp.exp(-b * radius) - jnp.exp(jnp.sum(jnp.cos(c * x)) / d) + a + jnp.e


def dixon_price(x: Array) -> Array:
    i = _indices(x)
    return (x[0] - 1.0) ** 2 + jnp.sum(i[1:] * (2.0 * x[1:] ** 2 - x[:-1]) ** 2)


def griewank(x: Array) -> Array:
    i = _indices(x)
    return jnp.sum(x * x) / 4000.0 - jnp.prod(jnp.cos(x / jnp.sqrt(i))) + 1.0


def levy(x: Array) -> Array:
    w = 1.0 + (x - 1.0) / 4.0
    head = jnp.sin(jnp.pi * w[0]) ** 2
    body = jnp.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * jnp.sin(jnp.pi * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + jnp.sin(2.0 * jnp.pi * w[-1]) ** 2)
    return head + body + tail


def perm(x: Array) -> Array:
    """Perm function 0, d, beta with beta = 10 (O(d^2) per evaluation)."""
    j = _indices(x)
    d = x.shape[-1]
    # row i - 1 holds x_j^i and j^-i; cumulative products keep negative bases exact
    x_pow = jnp.cumprod(jnp.broadcast_to(x, (d, d)), axis=0)
    j_pow = jnp.cumprod(jnp.broadcast_to(1.0 / j, (d, d)), axis=0)
    terms = (j + PERM_BETA) * (x_pow - j_pow)
    return jnp.sum(jnp.sum(terms, axis=1) ** 2)


def powell(x: Array) -> Array:
    """Powell's singular function; x is zero-padded to a multiple of 4 (the padding is fixed at
    the minimiser's value 0, so every coordinate still matters and the minimum stays 0)."""
    pad = (-x.shape[-1]) % 4
    blocks = jnp.pad(x, (0, pad)).reshape(-1, 4)
    x1, x2, x3, x4 = blocks.T
    return jnp.sum(
        (x1 + 10.0 * x2) ** 2 + 5.0 * (x3 - x4) ** 2 + (x2 - 2.0 * x3) ** 4 + 10.0 * (x1 - x4) ** 4
    )


def rastrigin(x: Array) -> Array:
    return 10.0 * x.shape[-1] + jnp.sum(x * x - 10.0 * jnp.cos(2.0 * jnp.pi * x))


def rosenbrock(x: Array) -> Array:
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1.0) ** 2)


def rotated_hyper_ellipsoid(x: Array) -> Array:
    return jnp.sum(jnp.cumsum(x * x))


def sphere(x: Array) -> Array:
    return jnp.sum(x * x)


def styblinski_tang(x: Array) -> Array:
    return 0.5 * jnp.sum(x**4 - 16.0 * x**2 + 5.0 * x)


def sum_of_powers(x: Array) -> Array:
    # |x|^(i+1) written as a power of x*x keeps the gradient finite at 0
    return jnp.sum((x * x) ** ((_indices(x) + 1.0) / 2.0))


def sum_of_squares(x: Array) -> Array:
    return jnp.sum(_indices(x) * x * x)


def trid(x: Array) -> Array:
    return jnp.sum((x - 1.0) ** 2) - jnp.sum(x[1:] * x[:-1])


def zakharov(x: Array) -> Array:
    s = jnp.sum(0.5 * _indices(x) * x)
    return jnp.sum(x * x) + s**2 + s**4


def _zeros(d: int) -> np.ndarray:
    return np.zeros(d)


def _ones(d: int) -> np.ndarray:
    return np.ones(d)


def _dixon_price_minimiser(d: int) -> np.ndarray:
    i = np.arange(1, d + 1, dtype=np.float64)
    return 2.0 ** (-(2.0**i - 2.0) / 2.0**i)


def _trid_minimiser(d: int) -> np.ndarray:
    i = np.arange(1, d + 1, dtype=np.float64)
    return i * (d + 1 - i)


def _zero_minimum(d: int) -> float:
    return 0.0


@dataclass(frozen=True)
class TestFunction:
    """A benchmark function with its usual domain and known global minimum.

    Attributes:
      name: registry key, e.g. ``"rosenbrock"``.
      title: display name as in the paper's Table 8.
      fn: ``(d,) -> ()`` JAX function.
      domain: ``d -> (low, high)``, the usual per-coordinate search box.
      minimiser: ``d -> (d,)`` a global minimiser (numpy float64).
      minimum: ``d -> float``, the global minimum value.
    """

    __test__ = False  # not a pytest class

    name: str
    title: str
    fn: Callable[[Array], Array]
    domain: Callable[[int], tuple[float, float]]
    minimiser: Callable[[int], np.ndarray]
    minimum: Callable[[int], float] = _zero_minimum

    def __call__(self, x: Array) -> Array:
        return self.fn(x)


def _box(bound: float) -> Callable[[int], tuple[float, float]]:
    return lambda d: (-bound, bound)


FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in [
        TestFunction("ackley", "Ackley", ackley, _box(32.768), _zeros),
        TestFunction("dixon-price", "Dixon-Price", dixon_price, _box(10.0), _dixon_price_minimiser),
        TestFunction("griewank", "Griewank", griewank, _box(600.0), _zeros),
        TestFunction("levy", "Levy", levy, _box(10.0), _ones),
        TestFunction(
            "perm", "Perm Function 0, d, beta", perm, lambda d: (-float(d), float(d)),
            lambda d: 1.0 / np.arange(1, d + 1, dtype=np.float64),
        ),
        TestFunction("powell", "Powell", powell, lambda d: (-4.0, 5.0), _zeros),
        TestFunction("rastrigin", "Rastrigin", rastrigin, _box(5.12), _zeros),
        TestFunction("rosenbrock", "Rosenbrock", rosenbrock, lambda d: (-5.0, 10.0), _ones),
        TestFunction(
            "rotated-hyper-ellipsoid", "Rotated Hyper-Ellipsoid", rotated_hyper_ellipsoid,
            _box(65.536), _zeros,
        ),
        TestFunction("sphere", "Sphere", sphere, _box(5.12), _zeros),
        TestFunction(
            "styblinski-tang", "Styblinski-Tang", styblinski_tang, _box(5.0),
            lambda d: np.full(d, STYBLINSKI_TANG_XMIN),
            lambda d: d * STYBLINSKI_TANG_MIN_PER_COORD,
        ),
        TestFunction("sum-of-powers", "Sum of Powers", sum_of_powers, _box(1.0), _zeros),
        TestFunction("sum-of-squares", "Sum of Squares", sum_of_squares, _box(10.0), _zeros),
        TestFunction(
            "trid", "Trid", trid, lambda d: (-float(d * d), float(d * d)), _trid_minimiser,
            lambda d: -d * (d + 4) * (d - 1) / 6.0,
        ),
        TestFunction("zakharov", "Zakharov", zakharov, lambda d: (-5.0, 10.0), _zeros),
    ]
}


def get_function(name: str) -> TestFunction:
    """Looks a test function up by its registry name."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown function {name!r}; choose from {', '.join(FUNCTIONS)}") from None


@dataclass(frozen=True, eq=False)  # identity hash: a problem's loss can key compilation caches
class Problem:
    """One benchmark task: a test function at a dimension, optionally with its minimiser shifted.

    ``loss(x) = function(x - offset)``, so the minimiser moves to ``minimiser + offset`` and the
    minimum value is unchanged. Offsets stop a meta-trained optimizer from memorising where the
    minima of the training functions lie (the paper's section 5.1).
    """

    function: TestFunction
    dim: int
    offset: np.ndarray | None = None

    def loss(self, x: Array) -> Array:
        if x.shape[-1] != self.dim:
            raise ValueError(f"{self.function.name}: expected x of shape ({self.dim},), got {x.shape}")
        if self.offset is None:
            return self.function.fn(x)
        return self.function.fn(x - jnp.asarray(self.offset, x.dtype))

    @property
    def minimum(self) -> float:
        return float(self.function.minimum(self.dim))

    @property
    def minimiser(self) -> np.ndarray:
        base = self.function.minimiser(self.dim)
        return base if self.offset is None else base + self.offset


def make_problem(name: str, dim: int, *, key: Array | None = None, offset_scale: float = 0.0) -> Problem:
    """Builds a :class:`Problem`; with ``key`` and ``offset_scale > 0`` the minimiser is shifted
    by an offset drawn from ``U[-offset_scale, offset_scale]^dim``."""
    if dim < 2:
        raise ValueError(f"dimension must be at least 2, got {dim}")
    function = get_function(name)
    if key is None or offset_scale <= 0.0:
        return Problem(function, dim)
    offset = jax.random.uniform(key, (dim,), minval=-offset_scale, maxval=offset_scale)
    return Problem(function, dim, np.asarray(offset, dtype=np.float64))
