"""Learned rules and task families by name: what ``recon train`` and the Ray PES workers
(``pipelines.pes_on_ray``) both build from a run's settings."""

from __future__ import annotations

from motion_recon.meta.tasks import FAMILIES, task_family
from motion_recon.optim.adafactor_mlp import adafactor_mlp_rule
from motion_recon.optim.optimus import optimus_rule

DIFFPHY = "diffphy"  # the DiffPhy family: pipelines.motion_pools' training pool


def build_rule(optimizer: str, variant: str = "full", hidden_size: int = 128):
    """The learned rule by name: Optimus (``variant``: full, no-state, no-structure) or Adafactor-MLP."""
    return optimus_rule(variant) if optimizer == "optimus" else adafactor_mlp_rule(hidden_size=hidden_size)


def build_family(tasks: str, seed: int = 0):
    """The task family by name: ``diffphy`` (``pipelines.motion_pools.training_family``; the pool
    is fixed, ``seed`` only draws from it) or one of ``motion_recon.meta.tasks``'."""
    if tasks == DIFFPHY:
        from pipelines.motion_pools import training_family

        return training_family()
    if tasks not in FAMILIES:
        raise ValueError(f"unknown task family {tasks!r}; choose from {', '.join([*FAMILIES, DIFFPHY])}")
    return task_family(tasks)
