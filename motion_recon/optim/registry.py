"""Name -> optimizer factory."""

from __future__ import annotations

import inspect
from typing import Callable

from motion_recon.optim.adafactor_mlp import adafactor_mlp
from motion_recon.optim.base import Optimizer
from motion_recon.optim.first_order import adam, gd_momentum
from motion_recon.optim.optimus import optimus
from motion_recon.optim.quasi_newton import bfgs, lbfgs

_REGISTRY: dict[str, Callable[..., Optimizer]] = {
    "bfgs": bfgs,
    "lbfgs": lbfgs,
    "adam": adam,
    "gd-momentum": gd_momentum,
    "optimus": optimus,
    "adafactor-mlp": adafactor_mlp,
}


def register(name: str, factory: Callable[..., Optimizer]) -> None:
    """Adds an optimizer factory under ``name`` (an existing name is an error)."""
    if name in _REGISTRY:
        raise ValueError(f"optimizer {name!r} is already registered")
    _REGISTRY[name] = factory


def available() -> list[str]:
    """Registered optimizer names."""
    return sorted(_REGISTRY)


def get(name: str, **config) -> Optimizer:
    """Builds the optimizer ``name`` with keyword ``config`` (e.g. ``get("adam", learning_rate=1e-3)``).

    Raises:
      ValueError: unknown name, or a config key the optimizer does not take.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {available()}") from None
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise ValueError(f"optimizer {name!r} takes no option(s) {unknown}; it takes {sorted(accepted)}")
    return factory(**config)
