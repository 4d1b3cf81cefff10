"""The DiffPhy motion pools: which motions meta-train the learned optimizers and which test them.

Nothing of the test pool is used in meta-training or tuning: its real clips are other motions
(walk, the two dances, a spin kick), its synthetic motions other seeds on other bodies. Bodies
vary: a real clip is also used scaled about the floor to other heights (1.5-2.0 m; the body fit
gives each its own humanoid), and synthetic motions are simulated on humanoids of random heights
in that range. Every body of the pool shares one compiled window program (model as data).

The checkpoints ``optimus-diffphy`` and ``optimus-diffphy-walk`` were trained before this split,
on the walk (and the dance) and 6 synthetic motions of the walk's body: they have seen test motions.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

TRAIN_CLIPS = ("mocap_run.npz", "mocap_jump.npz", "mocap_kick.npz", "mocap_punch.npz")
TEST_CLIPS = ("mocap_walk.npz", "mocap_dance.npz", "mocap_dance_a.npz", "mocap_spinkick.npz")
# the clips (DeepMimic's 1.62 m character) are also used scaled to these heights (m)
TRAIN_HEIGHTS = (1.5, 1.75, 2.0)
HEIGHT_RANGE = (1.5, 2.0)
SYNTHETIC_FRAMES = 40
TRAIN_SYNTHETIC, TEST_SYNTHETIC = range(0, 12), range(100, 106)  # seeds; the body's height is drawn from it too


def clip(name: str):
    """A bundled real clip (data/samples) as a ``MotionSequence``."""
    from motion_recon.datasets.arrays import read_npz
    from motion_recon.paths import data_dir

    return read_npz(data_dir() / "samples" / name)


def scaled(sequence, height: float | None):
    """``sequence`` scaled about the floor origin so that its body is ``height`` m tall (None: as
    it is), named after the height."""
    if height is None:
        return sequence
    from body_models.shape import estimate_shape

    factor = height / estimate_shape(sequence.keypoints).height
    return replace(sequence, name=f"{sequence.name}@{height:g}m", keypoints=sequence.keypoints * factor,
                   source={**sequence.source, "scaled_to_height_m": height})  # fmt: skip


def synthetic_height(seed: int) -> float:
    """The body height (m) of synthetic motion ``seed``, uniform in ``HEIGHT_RANGE``."""
    return float(np.random.default_rng([seed, 7]).uniform(*HEIGHT_RANGE))


def synthetic(seed: int, frames: int = SYNTHETIC_FRAMES):
    """(humanoid, simulator, MotionSequence, trajectory) of synthetic motion ``seed`` on its own body."""
    from body_models.humanoid import build_humanoid
    from body_models.model_files import physics_model
    from body_models.shape import shape_from_height
    from motion_recon import physics
    from motion_recon.datasets.synthetic import synthetic_sequence

    humanoid = build_humanoid(shape_from_height(synthetic_height(seed)))
    sim = physics.simulator(physics_model(humanoid))
    sequence, _, trajectory = synthetic_sequence(sim, frames, seed=seed)
    return humanoid, sim, replace(sequence, name=f"synthetic_{seed}"), trajectory


def training_family():
    """The meta-training pool as ``DiffPhyTasks`` (``recon train --tasks diffphy``)."""
    return windows(TRAIN_CLIPS, (None, *TRAIN_HEIGHTS), TRAIN_SYNTHETIC, "diffphy")


def test_family():
    """The test pool's windows as ``DiffPhyTasks`` (benchmarks only)."""
    return windows(TEST_CLIPS, (None,), TEST_SYNTHETIC, "diffphy-test")


def windows(clips, heights, seeds, name: str):
    """``DiffPhyTasks`` of every window (no overlap) of the real ``clips`` scaled to each of
    ``heights``, each on the humanoid fitted to it (IK start states and references), and of the
    synthetic motions ``seeds`` (simulated start states, IK references of their keypoints)."""
    from body_models.fit import initialise
    from body_models.model_files import physics_model
    from motion_recon import physics
    from motion_recon.configs import DEFAULT_LOSS
    from motion_recon.diffphy.loss import WindowData
    from motion_recon.diffphy.reconstruct import window_starts
    from motion_recon.diffphy.tasks import DiffPhyTasks, stack_windows

    window, pool, shared = DEFAULT_LOSS.window, [], set()

    def add(sim, keypoints, qpos, qvel, reference):
        shared.add(sim.shared)
        weights = np.ones(keypoints.shape[:2], np.float32)
        for s in window_starts(len(keypoints), window):
            span = slice(s, s + window + 1)
            pool.append(WindowData(sim.body, *(np.asarray(a, np.float32) for a in
                                                  (qpos[s], qvel[s], reference[span], keypoints[span], weights[span]))))  # fmt: skip

    for clip_name in clips:
        for height in heights:
            init = initialise(scaled(clip(clip_name), height), window)
            add(physics.simulator(physics_model(init.humanoid)), init.lifted, init.qpos, init.qvel, init.reference)
    for seed in seeds:
        humanoid, sim, sequence, trajectory = synthetic(seed)
        init = initialise(sequence, window, humanoid)
        add(sim, sequence.keypoints, np.asarray(trajectory.qpos), np.asarray(trajectory.qvel), init.reference)
    (rollout,) = shared  # one joint structure: one compiled program for the whole pool
    return DiffPhyTasks(rollout, stack_windows(pool), name=name)
