"""The meta-training flow: build the rule and task family by name, train, checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


from motion_recon.meta.tasks import FAMILIES, task_family
from motion_recon.meta.train import TrainConfig, train
from motion_recon.optim.adafactor_mlp import adafactor_mlp_rule
from motion_recon.optim.optimus import optimus_rule

DIFFPHY = "diffphy"  # the DiffPhy family: pipelines.motion_pools' training pool


def run_training(
    config: TrainConfig, out: Path, *, variant: str = "full", hidden_size: int = 128,
    progress: Callable[[dict], None] | None = None, ray_address: str | None = None,
) -> dict:
    """Trains ``config.optimizer`` on ``config.tasks``; returns the last log entry. With
    ``ray_address`` the PES rollouts run on Ray workers and the learner stays here."""
    rule, family = build_rule(config.optimizer, variant, hidden_size), build_family(config.tasks, config.seed)
    stepper = None
    if ray_address is not None:
        from pipelines.pes_on_ray import RayPES, RolloutSpec

        spec = RolloutSpec(config.optimizer, variant, hidden_size, config.tasks, config.seed, config.batch)
        stepper = RayPES(ray_address, spec, sigma=config.sigma, steps=config.trunc)
    return train(rule, family, config, out, progress, stepper)


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
