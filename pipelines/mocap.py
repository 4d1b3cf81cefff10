"""The mocap flow: 3D keypoints -> shape-specific humanoid -> inverse-kinematics initialisation ->
DiffPhy window optimization -> simulated motion, metrics and a result file."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Callable

import jax
import numpy as np

from body_models import skeleton
from body_models.humanoid import build_humanoid
from body_models.kinematics import inverse_kinematics, velocities
from body_models.model_files import physics_model
from body_models.shape import estimate_shape
from motion_recon import optim, physics
from motion_recon.datasets import MotionSequence
from motion_recon.diffphy.loss import DEFAULT_LOSS, LossConfig
from motion_recon.diffphy.reconstruct import reconstruct, window_starts
from motion_recon.metrics import all_metrics
from motion_recon.result_file import MotionResult, window_table

# How each optimizer runs on DiffPhy windows. The physics gives exact gradients (as CppAD did in
# the paper), so BFGS uses them (value and gradient: one evaluation); MJX runs in float32.
DIFFPHY_SETTINGS = {
    "bfgs": {"gradient": "exact", "loss_precision": "float32"},
    "lbfgs": {"gradient": "exact", "loss_precision": "float32"},
    "adam": {"learning_rate": 0.02},
    "gd-momentum": {"learning_rate": 0.5},
}
LEARNED = ("optimus", "adafactor-mlp")
# Lowest 5 % of ankle heights: the ankles' height over the ground when a foot is down.
GROUND_PERCENTILE = 5.0


@dataclass(frozen=True)
class MocapConfig:
    """What a reconstruction from mocap runs with; defaults as the paper's Table 1 (50
    evaluations per window, no stopping rule)."""

    optimizer: str = "bfgs"
    max_evals: int = 50
    engine: str = "mjx"
    loss: LossConfig = DEFAULT_LOSS
    stopping: bool = False
    seed: int = 0
    checkpoint: str | None = None
    extra: dict = field(default_factory=dict)  # further optimizer settings


def diffphy_optimizer(name: str, checkpoint: str | None = None, **extra) -> optim.Optimizer:
    """The optimizer ``name`` configured for DiffPhy windows (see ``DIFFPHY_SETTINGS``); learned
    ones load ``checkpoint`` or the shipped DiffPhy checkpoint when there is one."""
    if name in LEARNED:
        from motion_recon.paths import data_dir

        shipped = data_dir() / "checkpoints" / f"{name}-diffphy"
        if checkpoint is None and shipped.is_dir():
            checkpoint = str(shipped)
        return optim.get(name, checkpoint=checkpoint, **extra)
    if checkpoint is not None:
        raise ValueError(f"--checkpoint is for learned optimizers ({', '.join(LEARNED)}), not {name}")
    return optim.get(name, **{**DIFFPHY_SETTINGS.get(name, {}), **extra})


def to_h36m17(sequence: MotionSequence) -> np.ndarray:
    """(T, 17, 3) keypoints of a sequence in any supported layout."""
    if sequence.layout == "h36m17":
        return np.asarray(sequence.keypoints, float)
    if sequence.layout == "coco17":
        return skeleton.to_h36m(sequence.keypoints, "coco17")
    if sequence.layout == "bvh":
        mapping = skeleton.bvh_joint_map(sequence.joint_names)
        index = {name: i for i, name in enumerate(sequence.joint_names)}
        return sequence.keypoints[:, [index[mapping[joint]] for joint in skeleton.JOINTS]]
    raise ValueError(f"{sequence.name}: unknown keypoint layout {sequence.layout!r}")


def fill_gaps(keypoints: np.ndarray) -> np.ndarray:
    """Missing (NaN) keypoints linearly interpolated in time from the frames that see them."""
    keypoints = np.array(keypoints, float)
    frames = np.arange(len(keypoints))
    for j in range(keypoints.shape[1]):
        seen = np.isfinite(keypoints[:, j]).all(axis=-1)
        if not seen.any():
            raise ValueError(f"joint {skeleton.JOINTS[j]} is missing in every frame")
        for axis in range(3):
            keypoints[:, j, axis] = np.interp(frames, frames[seen], keypoints[seen, j, axis])
    return keypoints


def ground_height(keypoints: np.ndarray, ankle_height: float) -> float:
    """Height of the ground under the observed motion: where the lowest ankles stand."""
    ankles = keypoints[:, [skeleton.INDEX[f] for f in skeleton.FEET], 2]
    return float(np.nanpercentile(ankles, GROUND_PERCENTILE)) - ankle_height


def reconstruct_motion(sequence: MotionSequence, config: MocapConfig = MocapConfig(), *,
                       progress: Callable[[int, int], None] | None = None) -> MotionResult:  # fmt: skip
    """Reconstructs ``sequence`` (any layout, any frame rate) in physical simulation.

    The motion is resampled to the simulator's frame rate and shifted vertically so its feet
    stand on the simulator's ground (z = 0); results are shifted back, so metrics and keypoints
    are in the sequence's own world frame.
    """
    if config.max_evals < 1:
        raise ValueError(f"max_evals must be at least 1, got {config.max_evals}")
    started = time.perf_counter()
    sim_config = physics.DEFAULT_CONFIG
    observed = to_h36m17(sequence.resampled(sim_config.fps))
    if not np.isfinite(observed).any(axis=(1, 2)).all():
        raise ValueError(f"{sequence.name}: some frames have no finite keypoint")
    window_starts(len(observed), config.loss.window)  # a one-line error for too short a sequence
    shape = estimate_shape(observed)
    humanoid = build_humanoid(shape)
    ground = ground_height(observed, shape.ankle_height)
    lifted = observed - np.array([0.0, 0.0, ground])
    model = physics_model(humanoid, config=sim_config)
    sim = physics.simulator(model, sim_config, "mjx")
    playback = None if config.engine == "mjx" else physics.simulator(model, sim_config, config.engine)
    qpos = inverse_kinematics(humanoid, fill_gaps(lifted))
    qvel = velocities(humanoid, qpos, sim_config.fps)
    reference = qpos[:, 7:].reshape(len(qpos), -1, 4)
    optimizer = diffphy_optimizer(config.optimizer, config.checkpoint, **config.extra)
    stop = optim.RelativeDecrease if config.stopping else None
    motion = reconstruct(
        sim, lifted, reference, qpos[0], qvel[0], optimizer, config=config.loss, max_evals=config.max_evals,
        stop=stop, key=jax.random.key(config.seed), playback=playback, progress=progress,
    )
    simulated = motion.keypoints + np.array([0.0, 0.0, ground], np.float32)
    qpos_out = motion.qpos.copy()
    qpos_out[:, 2] += ground
    return MotionResult(
        name=sequence.name, fps=sim_config.fps, engine=config.engine, simulated=simulated, qpos=qpos_out,
        qvel=motion.qvel, contacts=motion.contacts, contact_bodies=model.contact_bodies, controls=motion.controls,
        joints=humanoid.joint_names, windows=window_table(motion.windows),
        body={"bone_lengths": np.asarray(shape.bone_lengths), "ankle_height": shape.ankle_height,
              "foot_length": shape.foot_length, "mass": humanoid.mass, "height": shape.height,
              "ground_height": ground},  # fmt: skip
        optimization={"optimizer": config.optimizer, "max_evals": config.max_evals, "stopping": int(config.stopping),
                      "loss": asdict(config.loss), "settings": repr(optimizer), "wall_s": time.perf_counter() - started},  # fmt: skip
        observed3d=observed.astype(np.float32), metrics=all_metrics(simulated, observed),
        provenance=provenance(config, sequence, getattr(optimizer, "source", "")),
    )


def provenance(config: MocapConfig, sequence: MotionSequence, checkpoint: str = "") -> dict:
    """Versions, command line, seed, optimizer checkpoint and input of a run."""
    versions = {}
    for package in ("motion-recon", "jax", "jaxlib", "mujoco", "mujoco-mjx", "numpy", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "versions": versions, "command": " ".join(sys.argv), "seed": config.seed,
        "checkpoint": checkpoint, "input": sequence.source, "device": jax.devices()[0].device_kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
