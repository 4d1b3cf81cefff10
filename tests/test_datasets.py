"""Readers against small fixtures written in the datasets' exact on-disk formats."""

import pickle

import numpy as np
import pytest

from motion_recon.datasets import detect_unit_scale
from motion_recon.datasets.aist import read_keypoints3d
from motion_recon.datasets.arrays import read_npz
from motion_recon.datasets.bvh import read_bvh
from motion_recon.datasets.h36m import SUBSET_17, read_positions, sequence_path
from motion_recon.datasets.splits import load_split

from dataset_files import write_h36m_cdf


def test_h36m_cdf_subset_units_and_downsampling(tmp_path):
    rng = np.random.default_rng(0)
    joints = rng.uniform(-1000, 1000, size=(10, 32, 3))
    folder = tmp_path / "S9" / "MyPoseFeatures" / "D3_Positions"
    folder.mkdir(parents=True)
    write_h36m_cdf(folder / "Walking 1.cdf", joints.reshape(10, 96))
    sequence = read_positions(sequence_path(tmp_path, "S9", "Walking 1"))
    assert sequence.keypoints.shape == (5, 17, 3) and sequence.fps == 25.0 and sequence.layout == "h36m17"
    np.testing.assert_allclose(sequence.keypoints, joints[::2, list(SUBSET_17)] / 1000)
    assert read_positions(folder / "Walking 1.cdf", fps=50).keypoints.shape == (10, 17, 3)
    with pytest.raises(FileNotFoundError, match="subject S11 not found"):
        sequence_path(tmp_path, "S11", "Walking 1")
    with pytest.raises(FileNotFoundError, match="S9/Eating not found"):
        sequence_path(tmp_path, "S9", "Eating")
    (folder / "broken.cdf").write_text("not a cdf")
    with pytest.raises(ValueError, match="broken.cdf: not a readable Human3.6M CDF"):
        read_positions(folder / "broken.cdf")


def coco_person(frames, rng, unit=1.0):
    """COCO-17 points of a y-up standing person (hips 0.9 m, knees 0.5 m, ankles 0.1 m up)."""
    points = np.zeros((frames, 17, 3))
    heights = {5: 1.45, 6: 1.45, 7: 1.15, 8: 1.15, 11: 0.9, 12: 0.9, 13: 0.5, 14: 0.5, 15: 0.1, 16: 0.1}
    for joint, y in heights.items():
        points[:, joint] = [0.15 if joint % 2 else -0.15, y, 0.0]
    points[:, :5] = [0.0, 1.65, 0.05]
    return (points + rng.normal(scale=0.01, size=points.shape)) * unit


def test_aist_pickle_in_centimetres_becomes_z_up_metres(tmp_path):
    rng = np.random.default_rng(1)
    points = coco_person(8, rng, unit=100.0)
    path = tmp_path / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    with open(path, "wb") as f:
        pickle.dump({"keypoints3d": points, "keypoints3d_optim": points + 1.0}, f)
    sequence = read_keypoints3d(path)
    assert sequence.layout == "coco17" and sequence.fps == 60.0
    np.testing.assert_allclose(sequence.keypoints[..., 2], (points[..., 1] + 1.0) / 100)  # y up -> z up
    np.testing.assert_allclose(sequence.keypoints[..., 1], -(points[..., 2] + 1.0) / 100)
    assert read_keypoints3d(path, optimized=False).keypoints[0, 0, 2] == pytest.approx(points[0, 0, 1] / 100)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable AIST"):
        read_keypoints3d(path)


BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftLeg
    {
      OFFSET 0 -45 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 -45 0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 95 0 0 0 0 0 0 0 0 0 0
0 95 0 0 0 0 0 0 0 0 90 0
"""


def test_bvh_forward_kinematics_units_and_axes(tmp_path):
    path = tmp_path / "walk.bvh"
    path.write_text(BVH)
    sequence = read_bvh(path)
    assert sequence.joint_names == ("Hips", "LeftUpLeg", "LeftLeg", "LeftLeg_end")
    assert sequence.fps == pytest.approx(30.0, rel=1e-5)
    first, second = sequence.keypoints  # centimetres detected; y up becomes z up
    np.testing.assert_allclose(first, [[0, 0, 0.95], [0.1, 0, 0.95], [0.1, 0, 0.5], [0.1, 0, 0.05]], atol=1e-9)
    # the knee turns 90 degrees about x: the shin points along BVH -z, which is world +y
    np.testing.assert_allclose(second[3], [0.1, 0.45, 0.5], atol=1e-9)
    path.write_text(BVH.replace("Frames: 2", "Frames: 3"))
    with pytest.raises(ValueError, match="expected 3 frames x 12 channels"):
        read_bvh(path)
    path.write_text(BVH[: BVH.index("JOINT LeftLeg")])  # cut inside the hierarchy
    with pytest.raises(ValueError, match=r"walk.bvh: not a readable BVH file \(it ends inside the HIERARCHY, after 28 words; truncated\?\)"):
        read_bvh(path)


def test_npz_reader_and_its_errors(tmp_path):
    path = tmp_path / "clip.npz"
    np.savez(path, keypoints=np.zeros((4, 17, 3)), fps=50.0)
    sequence = read_npz(path)
    assert sequence.fps == 50.0 and sequence.frames(1, 3).keypoints.shape == (2, 17, 3)
    np.savez(path, keypoints=np.zeros((4, 16, 3)))
    with pytest.raises(ValueError, match=r"clip.npz: keypoints must have shape \(T, 17, 3\)"):
        read_npz(path)
    with pytest.raises(FileNotFoundError, match="missing.npz: no such file"):
        read_npz(tmp_path / "missing.npz")


def test_unit_detection():
    rng = np.random.default_rng(2)
    person = coco_person(3, rng)
    bones = ((11, 13), (13, 15))
    assert detect_unit_scale(person, bones) == 1.0
    assert detect_unit_scale(person * 1000, bones) == 0.001
    with pytest.raises(ValueError, match="neither"):
        detect_unit_scale(person * 3, bones)


def test_shipped_splits_match_the_paper():
    val = load_split("val")
    assert len(val) == 20 and {r["subject"] for r in val} == {"S9", "S11"}
    assert all((r["first_frame"], r["last_frame"]) == ("400", "599") for r in val)
    assert len(load_split("aist15")) == 15
    physcap = load_split("physcap")
    assert len(physcap) == 20 and {r["camera"] for r in physcap} == {"60457274"}
    with pytest.raises(ValueError, match="unknown split"):
        load_split("train")


def test_synthetic_motion_is_reproducible_moves_and_stays_on_its_feet():
    from body_models.humanoid import build_humanoid
    from body_models.model_files import physics_model
    from body_models.shape import shape_from_height
    from motion_recon import physics
    from motion_recon.datasets.synthetic import synthetic_sequence
    from motion_recon.metrics import foot_skate

    sim = physics.simulator(physics_model(build_humanoid(shape_from_height(1.7))), engine="mujoco")
    sequence, controls, trajectory = synthetic_sequence(sim, 50, seed=0)
    again, _, _ = synthetic_sequence(sim, 50, seed=0)
    np.testing.assert_array_equal(sequence.keypoints, again.keypoints)
    assert sequence.keypoints.shape == (51, 17, 3) and controls.shape == (51, 13, 4)
    pelvis = sequence.keypoints[:, 0, 2]
    assert np.abs(pelvis - pelvis[0]).max() < 0.05 and foot_skate(sequence.keypoints) == 0.0
    wrists = sequence.keypoints[:, [13, 16]]
    assert np.ptp(wrists, axis=0).max() > 0.1  # the arms move
