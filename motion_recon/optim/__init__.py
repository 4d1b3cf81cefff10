"""Optimizers behind one face: ``get(name, **config).minimize(fun, x0, budget=...)``."""

from motion_recon.optim.basin_hopping import BasinHopping
from motion_recon.optim.base import Budget, OptimizeResult, Optimizer, Status, StopRule, minimize_batch
from motion_recon.optim.registry import available, get, register
from motion_recon.optim.stopping import RelativeDecrease

__all__ = [
    "BasinHopping", "Budget", "OptimizeResult", "Optimizer", "RelativeDecrease", "Status", "StopRule",
    "available", "get", "minimize_batch", "register",
]
