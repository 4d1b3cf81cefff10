"""The meta-training flow: build the rule and task family by name, train, checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from motion_recon.meta.tasks import FAMILIES, task_family
from motion_recon.meta.train import TrainConfig, train
from motion_recon.optim.adafactor_mlp import adafactor_mlp_rule
from motion_recon.optim.optimus import optimus_rule

SAMPLES = ("mocap_walk.npz", "mocap_dance.npz")  # bundled real mocap (data/samples)
# DiffPhy task families by name: their real clips. ``diffphy-walk`` holds the dance out, so that
# benchmarks can test on a motion the optimizer never saw (the paper: train on walking, test on dancing).
DIFFPHY_CLIPS = {"diffphy": SAMPLES, "diffphy-walk": SAMPLES[:1]}
SYNTHETIC_SEQUENCES, SYNTHETIC_FRAMES = 6, 40


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
    """The task family by name: one of ``DIFFPHY_CLIPS`` or of ``motion_recon.meta.tasks``'."""
    if tasks in DIFFPHY_CLIPS:
        return diffphy_tasks(seed, DIFFPHY_CLIPS[tasks])
    if tasks not in FAMILIES:
        raise ValueError(f"unknown task family {tasks!r}; choose from {', '.join([*FAMILIES, *DIFFPHY_CLIPS])}")
    return task_family(tasks)


def diffphy_tasks(seed: int = 0, samples: tuple[str, ...] = SAMPLES):
    """DiffPhy windows for meta-training: every window of the bundled real mocap clips ``samples``
    (IK start states and references) and of synthetic physically valid motions (simulated start
    states, IK references of their keypoints), all on the humanoid of the walking clip."""
    from body_models.model_files import physics_model
    from motion_recon import physics
    from motion_recon.datasets.arrays import read_npz
    from motion_recon.datasets.synthetic import synthetic_sequence
    from motion_recon.diffphy.loss import DEFAULT_LOSS, WindowData
    from motion_recon.diffphy.reconstruct import window_starts
    from motion_recon.diffphy.tasks import DiffPhyTasks, stack_windows
    from motion_recon.paths import data_dir
    from pipelines.mocap import initialise

    window = DEFAULT_LOSS.window
    clips = [read_npz(data_dir() / "samples" / name) for name in samples]
    humanoid = initialise(clips[0], window).humanoid
    sim = physics.simulator(physics_model(humanoid))
    windows = []

    def add(keypoints, qpos, qvel, reference):
        weights = np.ones(keypoints.shape[:2], np.float32)
        for s in window_starts(len(keypoints), window):
            span = slice(s, s + window + 1)
            windows.append(WindowData(sim.body, *(np.asarray(a, np.float32) for a in
                                        (qpos[s], qvel[s], reference[span], keypoints[span], weights[span]))))  # fmt: skip

    for clip in clips:
        init = initialise(clip, window, humanoid)
        add(init.lifted, init.qpos, init.qvel, init.reference)
    for k in range(SYNTHETIC_SEQUENCES):
        sequence, _, trajectory = synthetic_sequence(sim, SYNTHETIC_FRAMES, seed=seed * 1000 + k)
        init = initialise(sequence, window, humanoid)
        add(sequence.keypoints, np.asarray(trajectory.qpos), np.asarray(trajectory.qvel), init.reference)
    return DiffPhyTasks(sim.shared, stack_windows(windows))
