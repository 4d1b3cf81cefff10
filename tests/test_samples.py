"""The bundled motion-capture samples in data/samples/ (made by data/samples/make_mocap_sample.py)."""

from pathlib import Path

import numpy as np
import pytest

from body_models.humanoid import build_humanoid
from body_models.shape import estimate_shape
from motion_recon.skeleton import INDEX, NUM_JOINTS, PARENTS
from motion_recon.datasets.arrays import read_npz

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
FILES = ("mocap_walk.npz", "mocap_dance.npz")
ANKLES = [INDEX["left_ankle"], INDEX["right_ankle"]]


@pytest.fixture(scope="module", params=FILES)
def sample(request):
    return read_npz(SAMPLES / request.param)


def test_sample_files_are_small_and_documented():
    for name in FILES:
        assert (SAMPLES / name).stat().st_size < 200_000
    assert (SAMPLES / "LICENSE-mocap.txt").is_file() and (SAMPLES / "README.md").is_file()


def test_sample_layout(sample):
    keypoints = sample.keypoints
    assert keypoints.ndim == 3 and keypoints.shape[1:] == (NUM_JOINTS, 3) and len(keypoints) >= 25
    assert sample.fps == 25.0 and sample.layout == "h36m17"
    assert np.all(np.isfinite(keypoints))


def test_one_sample_lasts_at_least_two_seconds():
    assert max(len(read_npz(SAMPLES / name).keypoints) for name in FILES) >= 50


def test_sample_is_upright_on_the_floor(sample):
    z = sample.keypoints[..., 2]
    assert 0.03 <= z[:, ANKLES].min() <= 0.15
    pelvis, head = z[:, INDEX["pelvis"]], z[:, INDEX["head"]]
    assert np.all(head > pelvis) and np.all(pelvis > z[:, ANKLES].max(axis=1))


def test_sample_bones_are_rigid_and_human(sample):
    keypoints = sample.keypoints
    lengths = np.linalg.norm(keypoints[:, 1:] - keypoints[:, list(PARENTS[1:])], axis=-1)  # (T, 16)
    assert np.all(lengths.std(axis=0) < 1e-3)  # forward kinematics of a rigid skeleton
    thighs = lengths[:, [INDEX["left_knee"] - 1, INDEX["right_knee"] - 1]]
    assert np.all((0.3 < thighs) & (thighs < 0.55))
    shins = lengths[:, [INDEX["left_ankle"] - 1, INDEX["right_ankle"] - 1]]
    assert np.all((0.3 < shins) & (shins < 0.55))


def test_sample_moves_smoothly(sample):
    speeds = np.linalg.norm(np.diff(sample.keypoints, axis=0), axis=-1) * sample.fps
    assert speeds.max() < 10.0


def test_walk_moves_forward():
    keypoints = read_npz(SAMPLES / "mocap_walk.npz").keypoints
    pelvis = keypoints[:, INDEX["pelvis"], :2]
    assert np.linalg.norm(pelvis[-1] - pelvis[0]) > 0.5


def test_sample_builds_a_humanoid(sample):
    shape = estimate_shape(sample.keypoints)
    humanoid = build_humanoid(shape)  # raises on an implausible height or mass
    assert 1.5 < shape.height < 1.75
    assert humanoid.mass > 0
