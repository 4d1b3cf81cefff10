"""Keypoint files of other detectors (COCO JSON, npz) and the scaled-orthographic lifting."""

import json
import re

import numpy as np
import pytest

from body_models.shape import shape_from_height
from motion_recon.skeleton import BLAZEPOSE33, COCO17, INDEX, JOINTS, NUM_JOINTS, PARENTS
from motion_recon.perception.keypoint_files import read_keypoints
from motion_recon.perception.lifting import lift_poses

PELVIS = INDEX["pelvis"]


def coco_points(shift=0.0, count=17):
    """(count, 2) distinct pixel positions of a standing person, COCO-17 or BlazePose-33 order."""
    names = COCO17 if count == 17 else BLAZEPOSE33
    points = np.array([[100.0 + 7 * i + shift, 50.0 + 11 * i] for i in range(count)])
    for i, name in enumerate(names):  # left side on the image's right: facing the camera
        points[i, 0] += 40 if name.startswith("left") else -40 if name.startswith("right") else 0
    return points


def flat(points, confidence):
    return np.column_stack([points, confidence]).ravel().tolist()


def hips_mid(points, names=COCO17):
    return 0.5 * (points[names.index("left_hip")] + points[names.index("right_hip")])


def test_coco_results_list_with_people_and_empty_frames(tmp_path):
    a, b = coco_points(), coco_points(shift=300.0)
    confidence = np.linspace(-0.2, 1.5, 17)
    path = tmp_path / "results.json"
    path.write_text(json.dumps([
        {"image_id": 0, "category_id": 1, "keypoints": flat(a, confidence), "score": 0.9},
        {"image_id": 0, "category_id": 1, "keypoints": flat(b, np.ones(17)), "score": 0.8},
        {"image_id": 2, "keypoints": flat(b, np.full(17, 0.5))},
    ]))  # fmt: skip
    frames = read_keypoints(path)
    assert [len(f) for f in frames] == [2, 0, 1]
    first = frames[0][0]
    assert first.keypoints.shape == (17, 2) and first.confidence.shape == (17,) and first.world is None
    np.testing.assert_allclose(first.keypoints[PELVIS], hips_mid(a))
    np.testing.assert_allclose(first.keypoints[INDEX["left_knee"]], a[COCO17.index("left_knee")])
    assert first.confidence.min() >= 0 and first.confidence.max() <= 1
    assert first.confidence[INDEX["left_ankle"]] == 1.0  # 1.35 clipped
    assert first.confidence[PELVIS] == pytest.approx(min(confidence[11], confidence[12]))
    np.testing.assert_allclose(frames[2][0].confidence, 0.5)


def test_per_frame_lists_plain_and_in_a_dict(tmp_path):
    a, b = coco_points(), coco_points(shift=300.0)
    entries = [{"frame": 0, "people": [{"keypoints": flat(a, np.ones(17))}, {"keypoints": flat(b, np.ones(17))}]},
               {"frame": 1, "people": []},
               {"frame": 3, "people": [{"keypoints": flat(b, np.full(17, 0.7))}]}]  # fmt: skip
    (tmp_path / "list.json").write_text(json.dumps(entries))
    (tmp_path / "dict.json").write_text(json.dumps({"frames": entries}))
    for name in ("list.json", "dict.json"):
        frames = read_keypoints(tmp_path / name)
        assert [len(f) for f in frames] == [2, 0, 0, 1]
        np.testing.assert_allclose(frames[0][1].keypoints[PELVIS], hips_mid(b))
        np.testing.assert_allclose(frames[3][0].confidence, 0.7)
    # frame indices default to list positions; BlazePose-33 by its keypoint count
    blaze = coco_points(count=33)
    (tmp_path / "blaze.json").write_text(json.dumps({"frames": [{"people": []}, {"people": [{"keypoints": flat(blaze, np.ones(33))}]}]}))  # fmt: skip
    frames = read_keypoints(tmp_path / "blaze.json")
    assert [len(f) for f in frames] == [0, 1]
    np.testing.assert_allclose(frames[1][0].keypoints[PELVIS], hips_mid(blaze, BLAZEPOSE33))
    np.testing.assert_allclose(frames[1][0].keypoints[INDEX["right_wrist"]], blaze[BLAZEPOSE33.index("right_wrist")])


def test_coco_annotation_file_orders_frames_as_images_and_maps_visibility(tmp_path):
    a, b = coco_points(), coco_points(shift=300.0)
    flags = np.array([2, 1, 0] * 5 + [2, 2])
    a_unseen = a.copy()
    a_unseen[flags == 0] = 0.0  # COCO writes (0, 0, 0) for unlabelled keypoints
    data = {
        "images": [{"id": 7, "file_name": "f0.jpg"}, {"id": 3, "file_name": "f1.jpg"}, {"id": 5, "file_name": "f2.jpg"}],
        "annotations": [
            {"image_id": 3, "category_id": 1, "keypoints": flat(a_unseen, flags), "num_keypoints": 12},
            {"image_id": 3, "category_id": 1, "keypoints": [0] * 51, "num_keypoints": 0},  # nothing labelled
            {"image_id": 5, "category_id": 1, "keypoints": flat(b, np.full(17, 2))},
            {"image_id": 7, "category_id": 2, "bbox": [0, 0, 10, 10]},  # another category, no keypoints
        ],
    }  # fmt: skip
    path = tmp_path / "person_keypoints_val.json"
    path.write_text(json.dumps(data))
    frames = read_keypoints(path)
    assert [len(f) for f in frames] == [0, 1, 1]
    person = frames[1][0]
    np.testing.assert_array_equal(person.confidence[[INDEX[n] for n in ("left_knee", "right_knee", "right_ankle")]],
                                  [(flags[13] > 0) * 1.0, (flags[14] > 0) * 1.0, 1.0])  # fmt: skip
    assert set(np.unique(person.confidence)) <= {0.0, 1.0}
    np.testing.assert_allclose(frames[2][0].keypoints[PELVIS], hips_mid(b))
    np.testing.assert_allclose(frames[2][0].confidence, 1.0)
    # third values that are not all flags are confidences
    data["annotations"][2]["keypoints"] = flat(b, np.full(17, 0.4))
    path.write_text(json.dumps(data))
    np.testing.assert_allclose(read_keypoints(path)[2][0].confidence, 0.4)


def test_npz_one_person_with_confidence_channel_and_absent_frames(tmp_path):
    points = np.stack([coco_points(shift=5.0 * t) for t in range(4)])
    keypoints = np.concatenate([points, np.full((4, 17, 1), 0.8)], axis=-1)
    keypoints[2] = np.nan  # nobody in frame 2
    np.savez(tmp_path / "one.npz", keypoints=keypoints)
    frames = read_keypoints(tmp_path / "one.npz")
    assert [len(f) for f in frames] == [1, 1, 0, 1]
    np.testing.assert_allclose(frames[3][0].keypoints[PELVIS], hips_mid(points[3]))
    np.testing.assert_allclose(frames[0][0].confidence, 0.8)
    # a separate confidence array wins over the channel; no channel and no array: confidence 1
    np.savez(tmp_path / "conf.npz", keypoints=keypoints, confidence=np.full((4, 17), 0.6))
    np.testing.assert_allclose(read_keypoints(tmp_path / "conf.npz")[0][0].confidence, 0.6)
    np.savez(tmp_path / "plain.npz", keypoints=points)
    np.testing.assert_allclose(read_keypoints(tmp_path / "plain.npz")[1][0].confidence, 1.0)


def test_npz_several_people_world_and_layouts(tmp_path):
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 500, size=(3, 2, 17, 2))
    keypoints[1, 1] = np.nan  # person 1 absent from frame 1
    world = rng.normal(size=(3, 2, 17, 3))
    np.savez(tmp_path / "h36m.npz", keypoints=keypoints, confidence=np.full((3, 2, 17), 0.9), world=world,
             layout="h36m17")  # fmt: skip
    frames = read_keypoints(tmp_path / "h36m.npz")
    assert [len(f) for f in frames] == [2, 1, 2]
    np.testing.assert_allclose(frames[2][1].keypoints, keypoints[2, 1])  # h36m17: as is
    np.testing.assert_allclose(frames[2][1].world, world[2, 1] - world[2, 1, PELVIS])  # pelvis-centred
    # COCO-17 world keypoints map like the pixels: the pelvis is the hips' midpoint, at the origin
    np.savez(tmp_path / "coco.npz", keypoints=keypoints, world=world)
    person = read_keypoints(tmp_path / "coco.npz")[0][0]
    np.testing.assert_allclose(person.keypoints[PELVIS], hips_mid(keypoints[0, 0]))
    np.testing.assert_allclose(person.world[PELVIS], 0.0, atol=1e-12)
    np.testing.assert_allclose(person.world[INDEX["left_hip"]], world[0, 0, 11] - hips_mid(world[0, 0]))
    # 33 keypoints: BlazePose, by count or by name
    blaze = np.stack([coco_points(count=33)] * 2)
    np.savez(tmp_path / "blaze.npz", keypoints=blaze)
    np.savez(tmp_path / "named.npz", keypoints=blaze, layout=np.array("blazepose33"))
    for name in ("blaze.npz", "named.npz"):
        person = read_keypoints(tmp_path / name)[1][0]
        np.testing.assert_allclose(person.keypoints[PELVIS], hips_mid(blaze[0], BLAZEPOSE33))


def _write(path, content):
    if path.suffix == ".npz" and isinstance(content, dict):
        np.savez(path, **content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))


GOOD = flat(coco_points(), np.ones(17))
NAN_PERSON = np.stack([coco_points()] * 3)
NAN_PERSON[1, 4] = np.nan


@pytest.mark.parametrize("name, content, message", [
    ("broken.json", "{not json", "not valid JSON"),
    ("odd.json", {"something": 1}, "unrecognised JSON keypoints"),
    ("odd_list.json", [{"x": 1}], "unrecognised JSON keypoints"),
    ("count.json", [{"image_id": 0, "keypoints": [1.0] * 60}], "60 keypoint values; expected"),
    ("words.json", [{"image_id": 0, "keypoints": ["a"] * 51}], "frame 0: keypoints are not all numbers"),
    ("nan.json", [{"image_id": 1, "keypoints": GOOD[:-3] + [float("nan")] * 3}], "frame 1: .*NaN"),
    ("image.json", {"images": [{"id": 1}], "annotations": [{"image_id": 2, "keypoints": GOOD}]}, "image_id 2"),
    ("empty.json", [], "no keypoints at all"),
    ("nobody.json", {"frames": [{"people": []}, {"people": []}]}, "no keypoints at all"),
    ("broken.npz", "not a zip file", "not a readable .npz"),
    ("nokeys.npz", {"points": np.zeros((2, 17, 2))}, "no 'keypoints' array"),
    ("shape.npz", {"keypoints": np.zeros((2, 34))}, r"shape \(T, K, 2\|3\) or \(T, P, K, 2\|3\), got \(2, 34\)"),
    ("count.npz", {"keypoints": np.zeros((2, 20, 2))}, "20 keypoints per person; expected 17"),
    ("conf.npz", {"keypoints": np.zeros((2, 17, 2)), "confidence": np.ones((3, 17))},
     r"'confidence' must have shape \(2, 17\) .*got \(3, 17\)"),
    ("world.npz", {"keypoints": np.zeros((2, 17, 2)), "world": np.ones((2, 17, 2))},
     r"'world' must have shape \(2, 17, 3\)"),
    ("layout.npz", {"keypoints": np.zeros((2, 17, 2)), "layout": "blazepose33"}, "layout blazepose33 has 33"),
    ("unknown.npz", {"keypoints": np.zeros((2, 17, 2)), "layout": "openpose25"}, "unknown layout 'openpose25'"),
    ("nan.npz", {"keypoints": NAN_PERSON}, "frame 1: NaN"),
    ("absent.npz", {"keypoints": np.full((3, 17, 2), np.nan)}, "no keypoints at all"),
    ("zero.npz", {"keypoints": np.zeros((0, 17, 2))}, "no keypoints at all"),
    ("points.txt", "1 2 3", "unknown keypoints file type '.txt'"),
])  # fmt: skip
def test_bad_files_name_the_file_and_the_problem(tmp_path, name, content, message):
    path = tmp_path / name
    _write(path, content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + message) as error:
        read_keypoints(path)
    assert "\n" not in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "none.json")) + ": no such keypoints file"):
        read_keypoints(tmp_path / "none.json")


# ------------------------------------------------------------------------------------------- lifting

FOCAL, DEPTH = 1000.0, 5.0
K = np.array([[FOCAL, 0.0, 640.0], [0.0, FOCAL, 360.0], [0.0, 0.0, 1.0]])
LENGTHS = np.asarray(shape_from_height(1.70).bone_lengths)


def synthetic_pose():
    """(17, 3) pelvis-centred camera-axes pose of a person facing the camera: the right knee bent
    forward (towards the camera), the left forearm reaching forward, the rest upright."""
    down, up, side = np.array([0, 1.0, 0]), np.array([0, -1.0, 0]), np.array([1.0, 0, 0])
    directions = {name: down for name in JOINTS}
    directions.update({"spine": up, "thorax": up, "neck": up, "head": up, "left_hip": side, "left_shoulder": side,
                       "right_hip": -side, "right_shoulder": -side})  # fmt: skip
    directions["right_knee"] = np.array([0.0, 0.85, -0.53])  # thigh forward
    directions["right_ankle"] = np.array([0.0, 0.85, 0.53])  # shin back
    directions["left_wrist"] = np.array([0.0, 0.6, -0.8])  # forearm forward
    pose = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        direction = directions[JOINTS[j]]
        pose[j] = pose[PARENTS[j]] + LENGTHS[j] * direction / np.linalg.norm(direction)
    return pose


def project(pose, root=(0.1, -0.05, DEPTH)):
    points = pose + np.asarray(root)
    homogeneous = points @ K.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def bone_dz(pose):
    return np.array([pose[j, 2] - pose[PARENTS[j], 2] for j in range(1, NUM_JOINTS)])


def test_lifting_recovers_a_projected_pose():
    truth = synthetic_pose()
    pixels = np.stack([project(truth)] * 3)
    confidence = np.ones((3, NUM_JOINTS))
    confidence[2, 5:] = 0.1  # too few seen
    poses = lift_poses(pixels, confidence, K)
    assert poses.shape == (3, NUM_JOINTS, 3)
    assert np.isnan(poses[2]).all() and np.isfinite(poses[:2]).all()
    lifted = poses[0]
    np.testing.assert_allclose(lifted[PELVIS], 0.0)
    bones = np.linalg.norm(lifted[1:] - lifted[list(PARENTS[1:])], axis=-1)
    np.testing.assert_allclose(bones, LENGTHS[1:], rtol=0.05)
    np.testing.assert_allclose(lifted[:, :2], truth[:, :2], atol=0.03)
    np.testing.assert_allclose(np.abs(bone_dz(lifted)), np.abs(bone_dz(truth)), atol=0.03)
    # the default depth signs: knee forward of the hip, ankle behind the knee, wrist forward
    assert lifted[INDEX["right_knee"], 2] < lifted[INDEX["right_hip"], 2] - 0.1
    assert lifted[INDEX["right_ankle"], 2] > lifted[INDEX["right_knee"], 2] + 0.1
    assert lifted[INDEX["left_wrist"], 2] < lifted[INDEX["left_elbow"], 2] - 0.1
    np.testing.assert_allclose(poses[1], poses[0])


def test_lifting_carries_depth_signs_over_frames_and_places_unseen_joints():
    truth = synthetic_pose()
    mirrored = truth * [-1.0, 1.0, 1.0]  # its left side on the image's left: seen as facing away
    pixels = np.stack([project(truth), project(truth), project(mirrored)])
    confidence = np.ones((3, NUM_JOINTS))
    alone = lift_poses(pixels[2:], confidence[2:], K)[0]
    knee, hip = INDEX["right_knee"], INDEX["right_hip"]
    assert alone[knee, 2] > alone[hip, 2] + 0.1  # by the rule: forward is away from the camera
    carried = lift_poses(pixels, confidence, K)[2]
    assert carried[knee, 2] < carried[hip, 2] - 0.1  # the previous frame's sign
    np.testing.assert_allclose(carried[:, :2], alone[:, :2])
    np.testing.assert_allclose(np.abs(bone_dz(carried)), np.abs(bone_dz(alone)), atol=1e-9)
    confidence[1] = 0.0  # a gap: the rule again
    np.testing.assert_allclose(lift_poses(pixels, confidence, K)[2], alone)
    # an unseen wrist hangs straight down from its elbow; the rest is unchanged
    seen = lift_poses(pixels[:1], np.ones((1, NUM_JOINTS)), K)
    confidence[:] = 1.0
    confidence[:, INDEX["left_wrist"]] = 0.0
    pixels[:, INDEX["left_wrist"]] = np.nan
    hidden = lift_poses(pixels, confidence, K, shape_from_height(1.70))
    elbow, wrist = INDEX["left_elbow"], INDEX["left_wrist"]
    np.testing.assert_allclose(hidden[0, wrist] - hidden[0, elbow], [0.0, LENGTHS[wrist], 0.0])
    others = [j for j in range(NUM_JOINTS) if j != wrist]
    np.testing.assert_allclose(hidden[0, others], seen[0, others])


def test_lifting_rejects_bad_inputs():
    pixels, confidence = np.zeros((2, NUM_JOINTS, 2)), np.ones((2, NUM_JOINTS))
    with pytest.raises(ValueError, match=r"keypoints must have shape \(T, 17, 2\)"):
        lift_poses(np.zeros((2, 16, 2)), confidence, K)
    with pytest.raises(ValueError, match="confidence must have shape"):
        lift_poses(pixels, np.ones((3, NUM_JOINTS)), K)
    with pytest.raises(ValueError, match="invertible"):
        lift_poses(pixels, confidence, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="bone_lengths must be 17"):
        lift_poses(pixels, confidence, K, np.ones(16))
