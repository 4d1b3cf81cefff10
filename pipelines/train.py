"""The meta-training flow: build the rule and task family by name, train, checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from motion_recon.meta.tasks import task_family
from motion_recon.meta.train import TrainConfig, train
from motion_recon.optim.adafactor_mlp import adafactor_mlp_rule
from motion_recon.optim.optimus import optimus_rule


def run_training(
    config: TrainConfig, out: Path, *, variant: str = "full", hidden_size: int = 128,
    progress: Callable[[dict], None] | None = None,
) -> dict:
    """Trains ``config.optimizer`` on ``config.tasks``; returns the last log entry."""
    if config.optimizer == "optimus":
        rule = optimus_rule(variant)
    else:
        rule = adafactor_mlp_rule(hidden_size=hidden_size)
    return train(rule, task_family(config.tasks), config, out, progress)
