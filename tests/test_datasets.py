"""Readers against small fixtures written in the datasets' exact on-disk formats."""

import pickle

import numpy as np
import pytest

from motion_recon.datasets import detect_unit_scale, read_motion
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


def styled_bvh(unit_m: float, names: dict, root_channels: str) -> str:
    """A BVH of a person with 0.10 m from the root down to the hip joints, 0.45 m thighs and
    shins and 0.08 m to the sole, spine and neck up, in the naming and root channels of one
    style, lengths in units of ``unit_m`` metres; the root stands 1.0 m high in two frames."""

    def joint(kind, name, offset, children=(), channels="3 Zrotation Xrotation Yrotation"):
        inner = f"OFFSET {' '.join(f'{v / unit_m:.6f}' for v in offset)}\nCHANNELS {channels}\n" + "".join(children)
        if not children:
            inner += f"End Site\n{{\nOFFSET 0 {-0.08 / unit_m if 'foot' in name.lower() else 0.1 / unit_m:.6f} 0\n}}\n"
        return f"{kind} {name}\n{{\n{inner}}}\n"

    def leg(side, x):
        foot = joint("JOINT", names[f"{side}_foot"], (0, -0.45, 0))
        shin = joint("JOINT", names[f"{side}_shin"], (0, -0.45, 0), [foot])
        return joint("JOINT", names[f"{side}_thigh"], (x, -0.10, 0), [shin])

    head = joint("JOINT", names["head"], (0, 0.25, 0))
    spine = joint("JOINT", names["spine"], (0, 0.30, 0), [head])
    root = joint("ROOT", names["root"], (0, 0, 0), [leg("left", 0.1), leg("right", -0.1), spine], root_channels)
    columns = sum(6 if "ROOT" in line else 3 for line in root.splitlines() if line.startswith(("ROOT", "JOINT")))
    frame = " ".join(["0", f"{1.0 / unit_m:.6f}"] + ["0"] * (columns - 2))
    return f"HIERARCHY\n{root}MOTION\nFrames: 2\nFrame Time: 0.008333\n{frame}\n{frame}\n"


CMU_NAMES = {"root": "hip", "left_thigh": "lfemur", "left_shin": "ltibia", "left_foot": "lfoot", "right_thigh": "rfemur",
             "right_shin": "rtibia", "right_foot": "rfoot", "spine": "thorax", "head": "head"}  # fmt: skip
MIXAMO_NAMES = {"root": "mixamorig:Hips", "left_thigh": "mixamorig:LeftUpLeg", "left_shin": "mixamorig:LeftLeg",
                "left_foot": "mixamorig:LeftFoot", "right_thigh": "mixamorig:RightUpLeg", "right_shin": "mixamorig:RightLeg",
                "right_foot": "mixamorig:RightFoot", "spine": "mixamorig:Spine", "head": "mixamorig:Head"}  # fmt: skip


@pytest.mark.parametrize("style, unit, names, channels", [
    ("cmu", "cmu", CMU_NAMES, "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"),  # 1/0.45 inch
    ("mixamo", "cm", MIXAMO_NAMES, "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"),
    ("inches", "inch", MIXAMO_NAMES, "6 Xposition Yposition Zposition Yrotation Xrotation Zrotation"),
    ("metres", "m", CMU_NAMES, "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"),
])  # fmt: skip
def test_bvh_units_are_detected_from_the_legs(tmp_path, style, unit, names, channels):
    from motion_recon.datasets.bvh import UNITS

    path = tmp_path / f"{style}.bvh"
    path.write_text(styled_bvh(UNITS[unit], names, channels))
    sequence = read_bvh(path)
    assert sequence.source["units"] == unit and "detected" in sequence.source["units_chosen"]
    hip, thigh, shin = (sequence.joint_names.index(names[k]) for k in ("root", "left_thigh", "left_shin"))
    np.testing.assert_allclose(sequence.keypoints[:, hip, 2], 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(sequence.keypoints[0, shin] - sequence.keypoints[0, thigh]), 0.45, atol=1e-6)
    given = read_motion(path, units="m")
    assert given.source["units_chosen"] == "given"
    np.testing.assert_allclose(given.keypoints, sequence.keypoints / UNITS[unit], rtol=1e-9)


def test_bvh_units_that_fit_no_person_and_unknown_names_are_one_line_errors(tmp_path):
    path = tmp_path / "tiny.bvh"
    path.write_text(styled_bvh(50.0, CMU_NAMES, "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"))
    with pytest.raises(ValueError, match=r"tiny.bvh: a rest pose whose root is 0.0216 units above its lowest joint is no person's leg"):
        read_bvh(path)
    with pytest.raises(ValueError, match=r"tiny.bvh: unknown units 'furlong'; choose one of m, cm, mm, inch, foot, cmu"):
        read_bvh(path, units="furlong")
    with pytest.raises(ValueError, match="units can be given for BVH and C3D files only"):
        read_motion(tmp_path / "clip.npz", units="cm")


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
