"""The DiffPhy motion pools: which motions meta-train the learned optimizers and which test them.

Nothing of the test pool is used in meta-training or tuning: its real clips are other motions
(walk, the two dances, a spin kick), its synthetic motions other seeds on other bodies. Bodies
vary: a real clip is also used scaled about the floor to other heights (1.5-2.0 m; the body fit
gives each its own humanoid), and synthetic motions are simulated on humanoids of random heights
in that range. Every body of the pool shares one compiled window program (model as data).

Each pool also has video-style windows, scored as ``recon video`` scores them (``VIDEO_LOSS``):
its real clips and synthetic motions seen through virtual cameras by a virtual detector
(``motion_recon.datasets.semisynthetic``), then lifted, placed by the camera fit and initialised
as ``recon video`` does. Training and test motions are seen through cameras of their own numbers,
apart from the semi-synthetic video benchmark's (0-13). Meta-training draws a batch of video
windows with probability ``VIDEO_PROBABILITY``, else a batch of mocap windows.

The checkpoints ``optimus-diffphy`` and ``optimus-diffphy-walk`` were trained before this split,
on the walk (and the dance) and 6 synthetic motions of the walk's body: they have seen test motions.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

TRAIN_CLIPS = ("mocap_run.npz", "mocap_jump.npz", "mocap_kick.npz", "mocap_punch.npz")
TEST_CLIPS = ("mocap_walk.npz", "mocap_dance.npz", "mocap_dance_a.npz", "mocap_spinkick.npz")
# the clips (DeepMimic's 1.62 m character) are also used scaled to these heights (m)
TRAIN_HEIGHTS = (1.5, 1.75, 2.0)
HEIGHT_RANGE = (1.5, 2.0)
SYNTHETIC_FRAMES = 40
TRAIN_SYNTHETIC, TEST_SYNTHETIC = range(0, 12), range(100, 106)  # seeds; the body's height is drawn from it too
# video-style windows: virtual cameras per motion, and the first camera number of each pool
VIDEO_CAMERAS = {"train": 2, "test": 1}
FIRST_CAMERA = {"train": 1000, "test": 2000}
VIDEO_PROBABILITY = 0.5


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


@functools.lru_cache(maxsize=None)
def synthetic(seed: int, frames: int = SYNTHETIC_FRAMES):
    """(humanoid, simulator, MotionSequence, trajectory) of synthetic motion ``seed`` on its own
    body (simulated once per process: the mocap and video-style pools both use it)."""
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
    """The meta-training pool (``recon train --tasks diffphy``): mocap and video-style windows."""
    from motion_recon.meta.tasks import MixedTasks

    video = video_windows(TRAIN_CLIPS, TRAIN_SYNTHETIC, "train", "diffphy-video")
    return MixedTasks((mocap_training_family(), video), (1.0 - VIDEO_PROBABILITY, VIDEO_PROBABILITY))


def mocap_training_family():
    """The meta-training pool's mocap windows as ``DiffPhyTasks``."""
    return windows(TRAIN_CLIPS, (None, *TRAIN_HEIGHTS), TRAIN_SYNTHETIC, "diffphy")


def test_family(feedforward: bool = False):
    """The test pool's mocap windows as ``DiffPhyTasks`` (benchmarks only; ``feedforward``: the
    references lead the poses by the damping time, ``MocapConfig.feedforward``)."""
    return windows(TEST_CLIPS, (None,), TEST_SYNTHETIC, "diffphy-test", feedforward)


def video_test_family():
    """The test pool's video-style windows as ``DiffPhyTasks`` (benchmarks only)."""
    return video_windows(TEST_CLIPS, TEST_SYNTHETIC, "test", "diffphy-video-test")


def windows(clips, heights, seeds, name: str, feedforward: bool = False):
    """``DiffPhyTasks`` of every window (no overlap) of the real ``clips`` scaled to each of
    ``heights``, each on the humanoid fitted to it (IK start states and references), and of the
    synthetic motions ``seeds`` (simulated start states, IK references of their keypoints), with
    references led by the damping time if ``feedforward`` (``initialise``)."""
    from body_models.fit import initialise
    from motion_recon.configs import DEFAULT_LOSS

    pool = _Pool(DEFAULT_LOSS.window)
    for clip_name in clips:
        for height in heights:
            init = initialise(scaled(clip(clip_name), height), pool.window, feedforward=feedforward)
            pool.add(init.humanoid, init.lifted, init.qpos, init.qvel, init.reference)
    for seed in seeds:
        humanoid, _, sequence, trajectory = synthetic(seed)
        init = initialise(sequence, pool.window, humanoid, feedforward=feedforward)
        pool.add(humanoid, sequence.keypoints, np.asarray(trajectory.qpos), np.asarray(trajectory.qvel), init.reference)
    return pool.tasks(DEFAULT_LOSS, name)


def video_windows(clips, seeds, pool_name: str, name: str):
    """``DiffPhyTasks`` of every window (no overlap) of the real ``clips`` and synthetic motions
    ``seeds`` seen through ``VIDEO_CAMERAS[pool_name]`` virtual cameras each, as ``recon video``
    sees them: the body, start states, references and 3D prior from the detections, the image
    terms of ``VIDEO_LOSS``."""
    from pathlib import Path

    from motion_recon.datasets.semisynthetic import detections, virtual_camera
    from motion_recon.perception.video_io import VideoInfo
    from pipelines.configs import VIDEO_LOSS, VideoConfig
    from pipelines.mocap import video_terms
    from pipelines.video import observe_detections

    from motion_recon import physics

    config, pool = VideoConfig(), _Pool(VIDEO_LOSS.window)
    motions = [clip(name) for name in clips] + [synthetic(seed)[2] for seed in seeds]
    cameras = VIDEO_CAMERAS[pool_name]
    for k, sequence in enumerate(motions):
        world = np.asarray(sequence.keypoints, float)
        for number in range(FIRST_CAMERA[pool_name] + k * cameras, FIRST_CAMERA[pool_name] + (k + 1) * cameras):
            camera = virtual_camera(number, world)
            people, _ = detections(world, camera, 0, number)
            info = VideoInfo(Path(f"{sequence.name}.mp4"), sequence.fps, len(world), camera.width, camera.height)
            seen = observe_detections(people, info, 0, config, f"{sequence.name} through camera {number}")
            init = seen.init
            terms = video_terms(seen.image(config), init, sequence.fps, physics.DEFAULT_CONFIG.fps, VIDEO_LOSS)
            pool.add(init.humanoid, init.lifted, init.qpos, init.qvel, init.reference, terms)
    return pool.tasks(VIDEO_LOSS, name)


class _Pool:
    """Windows (no overlap) of many bodies of one joint structure, gathered for ``DiffPhyTasks``."""

    def __init__(self, window: int):
        self.window, self.data, self.shared = window, [], set()

    def add(self, humanoid, keypoints, qpos, qvel, reference, terms: dict | None = None) -> None:
        """Every window of one motion of ``humanoid`` (arrays at the simulator's rate; ``terms``:
        the video terms of ``reconstruct``)."""
        from body_models.model_files import physics_model
        from motion_recon import physics
        from motion_recon.diffphy.reconstruct import Observations, window_starts

        sim = physics.simulator(physics_model(humanoid))
        self.shared.add(sim.shared)
        observations, reference = Observations.of(keypoints, **(terms or {})), np.asarray(reference, np.float32)
        for s in window_starts(len(observations.keypoints), self.window):
            self.data.append(observations.window(sim.body, reference, s, self.window, qpos[s], qvel[s]))

    def tasks(self, config, name: str):
        from motion_recon.diffphy.tasks import DiffPhyTasks, stack_windows

        (rollout,) = self.shared  # one joint structure: one compiled program for the whole pool
        return DiffPhyTasks(rollout, stack_windows(self.data), config, name)
