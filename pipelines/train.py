"""The meta-training flow: build the rule and task family by name, train, checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from motion_recon.configs import TrainConfig
from motion_recon.meta.train import train
from pipelines.registry import build_family, build_rule


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
