"""Calibrated cameras (``recon video --camera``): the file formats calibration tools write, the
one-line errors of bad files, undistortion, and the camera fit with a calibration."""

import json

import h5py
import numpy as np
import pytest

from motion_recon.datasets import read_motion
from motion_recon.paths import data_dir
from motion_recon.perception.calibration import Calibration, read_calibration
from motion_recon.perception.camera_fit import fit_camera, intrinsics
from motion_recon.perception.cameras import Camera, project, undistort_pixels

K = [[1681.0, 0.0, 539.5], [0.0, 1679.0, 959.5], [0.0, 0.0, 1.0]]
DIST = [-0.12, 0.05, 0.001, -0.0005, -0.01]
RVEC = [1.2, -0.3, 0.2]

OPENCV_YAML = """%YAML:1.0
---
calibration_time: "Sat Dec  5 21:00:00 2026"
image_width: 1080
image_height: 1920
flags: 0
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 1681., 0., 539.5, 0., 1679., 959.5, 0., 0., 1. ]
distortion_coefficients: !!opencv-matrix
   rows: 5
   cols: 1
   dt: d
   data: [ -0.12, 0.05, 0.001, -0.0005, -0.01 ]
avg_reprojection_error: 0.31
"""

ROS_YAML = """image_width: 540
image_height: 960
camera_name: phone
camera_matrix:
  rows: 3
  cols: 3
  data: [840.5, 0, 269.75, 0, 839.5, 479.75, 0, 0, 1]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.12, 0.05, 0.001, -0.0005, -0.01]
"""

POSE2SIM_TOML = """[cam_01]
name = "cam_01"
size = [ 1080.0, 1920.0]
matrix = [ [ 1681.0, 0.0, 539.5], [ 0.0, 1679.0, 959.5], [ 0.0, 0.0, 1.0]]
distortions = [ -0.12, 0.05, 0.001, -0.0005]
rotation = [ 1.2, -0.3, 0.2]
translation = [ 0.1, 1.2, 4.5]
fisheye = false

[cam_02]
name = "cam_02"
size = [ 1920.0, 1080.0]
matrix = [ [ 1500.0, 0.0, 959.5], [ 0.0, 1500.0, 539.5], [ 0.0, 0.0, 1.0]]
distortions = [ 0.0, 0.0, 0.0, 0.0]
rotation = [ 1.5, 0.0, 0.0]
translation = [ 0.0, 1.0, 5.0]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""


def test_opencv_filestorage_yaml(tmp_path):
    path = tmp_path / "calib.yml"
    path.write_text(OPENCV_YAML)
    calibration = read_calibration(path, 1080, 1920)
    np.testing.assert_array_equal(calibration.camera.K, K)
    np.testing.assert_array_equal(calibration.camera.dist, DIST)
    assert not calibration.extrinsics
    np.testing.assert_array_equal(calibration.camera.R, np.eye(3))


def test_ros_camera_info_yaml_scales_to_a_resized_video(tmp_path):
    path = tmp_path / "phone.yaml"
    path.write_text(ROS_YAML)
    camera = read_calibration(path, 1080, 1920).camera  # calibrated at half the size
    np.testing.assert_allclose(camera.K, [[1681.0, 0, 539.5], [0, 1679.0, 959.5], [0, 0, 1]])
    assert camera.name == "phone"


def test_pose2sim_toml_chooses_a_named_camera(tmp_path):
    path = tmp_path / "Calib.toml"
    path.write_text(POSE2SIM_TOML)
    calibration = read_calibration(f"{path}#cam_01", 1080, 1920)
    assert calibration.extrinsics and calibration.camera.name == "cam_01"
    np.testing.assert_array_equal(calibration.camera.dist, DIST[:4] + [0.0])
    expected_R = np.array([[0.94307, -0.30927, -0.12234], [-0.00602, 0.35189, -0.93602], [0.33254, 0.88347, 0.32999]])
    np.testing.assert_allclose(calibration.camera.R, expected_R, atol=5e-6)  # Rodrigues' formula, I + sin(a) [k]x + (1 - cos(a)) [k]x^2
    np.testing.assert_array_equal(calibration.camera.t, [0.1, 1.2, 4.5])
    with pytest.raises(ValueError, match=r"Calib\.toml: holds 2 cameras \(cam_01, cam_02\): name one as FILE#NAME"):
        read_calibration(path, 1080, 1920)
    with pytest.raises(ValueError, match=r"no camera named 'cam_9' \(cameras: cam_01, cam_02\)"):
        read_calibration(f"{path}#cam_9", 1080, 1920)


def test_plain_json_and_result_file_camera(tmp_path):
    truth = Camera("c1", 1080, 1920, K, DIST, np.eye(3), [0.0, 0.0, 3.0])
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(truth.to_dict()))
    from_json = read_calibration(path, 1080, 1920)
    with h5py.File(tmp_path / "result.h5", "w") as file:
        group = file.create_group("camera")
        for key in ("K", "dist", "R", "t"):
            group.create_dataset(key, data=getattr(truth, key))
        group.attrs.update({"name": "c1", "width": 1080, "height": 1920})
    from_result = read_calibration(tmp_path / "result.h5", 1080, 1920)
    for calibration in (from_json, from_result):
        assert calibration.extrinsics and calibration.camera.name == "c1"
        for key in ("K", "dist", "R", "t"):
            np.testing.assert_array_equal(getattr(calibration.camera, key), getattr(truth, key))


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.json", "{", "a.json: not readable JSON"),
        ("a.json", '{"dist": [0, 0, 0, 0]}', "a.json: no intrinsic matrix"),
        ("a.json", '{"K": [1, 2, 3]}', "a.json: K must have 9 values"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [1, 0, 1]]}', "a.json: K is not an intrinsic matrix"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]], "dist": [0.1, 0, 0, 0, 0, 0.2, 0, 0]}',
         "a.json: only OpenCV's 5-coefficient model"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]], "R": [0, 0, 0]}',
         "a.json: has a rotation without a translation"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]], "R": [0, 0, 0], "t": [0, 1500, 4000]}',
         "a.json: the camera is 4272 units from the world origin: give the translation in metres"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]], "R": [[1, 0, 0], [0, 1, 0], [0, 0, 2]], "t": [0, 0, 1]}',
         "a.json: R is not a rotation matrix"),
        ("a.json", '{"K": [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]], "width": 1920, "height": 1080}',
         "a.json: calibrated for 1920x1080 images, the video is 1080x1920"),
        ("a.yml", "camera_matrix: [1, 2", "a.yml: not readable YAML"),
        ("a.toml", "[cam]\nmatrix = [[1000, 0, 5], [0, 1000, 5], [0, 0, 1]]\nfisheye = true\n",
         "a.toml: fisheye cameras are not supported"),
        ("a.txt", "", "a.txt: unknown camera file type '.txt'"),
    ],
)  # fmt: skip
def test_bad_camera_files_give_one_line_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        read_calibration(path, 1080, 1920)
    assert str(error.value).startswith(str(tmp_path / message.split(":")[0]) + ":")
    assert message.split(": ", 1)[1] in str(error.value) and "\n" not in str(error.value)


def test_missing_camera_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.yml: no such camera file"):
        read_calibration(tmp_path / "none.yml", 1080, 1920)


def test_undistortion_inverts_the_lens_model():
    points = np.random.default_rng(0).uniform([-1.5, -2.5, 2.0], [1.5, 2.5, 6.0], (200, 3))
    distorted = project(points, K, DIST, np.eye(3), np.zeros(3), xp=np)
    ideal = project(points, K, DIST, np.eye(3), np.zeros(3), distort=False, xp=np)
    np.testing.assert_allclose(undistort_pixels(distorted, K, DIST), ideal, atol=1e-9)


def test_default_focal_spans_60_degrees_across_the_long_side():
    portrait, landscape = intrinsics(1080, 1920), intrinsics(1920, 1080)
    assert portrait[0, 0] == landscape[0, 0] == pytest.approx(960.0 / np.tan(np.radians(30.0)), rel=1e-12)
    np.testing.assert_array_equal(portrait[:2, 2], [539.5, 959.5])


def _seen_by(camera: Camera):
    """The walk clip seen through ``camera`` placed 5 m in front of it: pixels and exact
    pelvis-centred poses in camera axes."""
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    world = np.asarray(walk.keypoints, float)
    poses = camera.world_to_camera(world) - camera.world_to_camera(world[:, :1])
    return world, camera.project(world), poses, walk.fps


def _looking_at(target, eye, K_, dist) -> Camera:
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    R = np.stack([right, np.cross(forward, right), forward])
    return Camera("phone", 1080, 1920, K_, dist, R, -R @ eye)


def test_camera_fit_with_a_calibration_keeps_its_world_and_removes_the_distortion(tmp_path):
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    middle = np.asarray(walk.keypoints, float)[:, 0].mean(axis=0)
    truth = _looking_at(middle, middle + [4.0, -3.0, 0.6], K, DIST)
    world, pixels, poses, fps = _seen_by(truth)
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(truth.to_dict()))
    calibration = read_calibration(path, 1080, 1920)
    camera, fitted = fit_camera(pixels, np.ones(world.shape[:2]), poses, fps, 1080, 1920, calibration=calibration)
    assert camera is calibration.camera
    # exact poses and pixels: only the depth smoothing (a quadratic over 1 s) moves the root
    error = np.linalg.norm(fitted - world, axis=-1)
    assert np.median(error) < 0.01 and error.max() < 0.03
    no_extrinsics = Calibration(calibration.camera, extrinsics=False)
    camera, fitted = fit_camera(pixels, np.ones(world.shape[:2]), poses, fps, 1080, 1920, calibration=no_extrinsics)
    np.testing.assert_array_equal(camera.dist, DIST)
    assert np.median(np.linalg.norm(camera.project(fitted) - pixels, axis=-1)) < 1.0


def test_a_calibration_whose_world_is_not_z_up_is_refused(tmp_path):
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    middle = np.asarray(walk.keypoints, float)[:, 0].mean(axis=0)
    truth = _looking_at(middle, middle + [0.0, -5.0, 0.5], K, DIST)
    world, pixels, poses, fps = _seen_by(truth)
    y_up = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # world z to y: the file's world is y up
    tilted = Camera("y-up", 1080, 1920, K, DIST, truth.R @ y_up.T, truth.t)
    path = tmp_path / "y_up.json"
    path.write_text(json.dumps(tilted.to_dict()))
    with pytest.raises(ValueError, match=r"camera 'y-up': its world z axis is (89|90|91) degrees from the body's up direction"):
        fit_camera(pixels, np.ones(world.shape[:2]), poses, fps, 1080, 1920, calibration=read_calibration(path, 1080, 1920))


def test_a_named_camera_of_a_json_mapping(tmp_path):
    truth = Camera("c2", 1080, 1920, K, DIST, np.eye(3), [0.0, 0.0, 3.0])
    path = tmp_path / "cameras.json"
    path.write_text(json.dumps({"c1": {"K": K}, "c2": truth.to_dict()}))
    np.testing.assert_array_equal(read_calibration(f"{path}#c2", 1080, 1920).camera.t, [0.0, 0.0, 3.0])
    with pytest.raises(ValueError, match=r"cameras\.json: no camera named 'c3'"):
        read_calibration(f"{path}#c3", 1080, 1920)
