"""Cameras: projection against OpenCV's model, the Human3.6M calibrations, AIST++ camera files."""

import importlib.util
import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy.spatial.transform import Rotation

from motion_recon.datasets.aist import read_cameras, read_keypoints3d
from motion_recon.datasets.h36m import CAMERAS, SUBJECTS, camera
from motion_recon.paths import data_dir
from motion_recon.perception.cameras import Camera, project
from motion_recon.physics.rotations import conj, rotate

# float64 numpy against float64 references: only rounding differs
PX_TOL = 1e-9
# float64 (numpy or JAX) against cv2.projectPoints: a few rounding steps of ~1000 px coordinates
# (measured 1.1e-12 px)
PX_TOL_CV2 = 2e-12
# float32 JAX against float64: ~1e-7 relative on ~1000 px coordinates (measured 3.3e-4 px)
PX_TOL_F32 = 1e-3

# OpenCV test camera and the pixels cv2.projectPoints (opencv-python-headless 5.0.0) returned for it
CV_K = np.array([[1150.0, 0.0, 500.0], [0.0, 1140.0, 510.0], [0.0, 0.0, 1.0]])
CV_DIST = np.array([-0.2, 0.25, 0.002, -0.003, -0.01])  # k1, k2, p1, p2, k3
CV_RVEC = np.array([1.7, -0.4, 0.3])
CV_TVEC = np.array([0.2, 1.1, 4.5])
CV_POINTS = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.9], [-1.0, 0.5, 1.7], [1.2, 1.0, 0.1]])
CV_PIXELS = np.array([[550.3520606146517, 785.8300432030398], [641.9587215337672, 566.1301320838621],
                      [242.45731126288763, 363.96738071362756], [666.3102026070991, 654.467133925262]])  # fmt: skip


def cv_camera():
    return Camera("cv", 1000, 1020, CV_K, CV_DIST, Rotation.from_rotvec(CV_RVEC).as_matrix(), CV_TVEC)


def test_projection_matches_opencv_values():
    np.testing.assert_allclose(cv_camera().project(CV_POINTS), CV_PIXELS, rtol=0, atol=PX_TOL)


def _cv2_projections(cases, progress=None):
    """cv2.projectPoints of each (points, rvec, tvec, K, dist) case (run in a separate process:
    OpenCV stays out of the test process, see pipelines.video.isolated)."""
    import cv2

    return [cv2.projectPoints(*case)[0][:, 0] for case in cases]


def test_projection_matches_cv2_projectpoints_when_installed():
    if importlib.util.find_spec("cv2") is None:  # found without loading it into this process
        pytest.skip("OpenCV is not installed")
    from pipelines.video import isolated

    rng = np.random.default_rng(0)
    K = np.array([[900.0, 0.0, 640.0], [0.0, 950.0, 360.0], [0.0, 0.0, 1.0]])
    cases = [(rng.normal(size=(50, 3)), rng.normal(size=3), rng.normal(size=3) + [0.0, 0.0, 5.0], K,
              rng.normal(scale=[0.2, 0.1, 0.01, 0.01, 0.05])) for _ in range(5)]  # fmt: skip
    for (points, rvec, tvec, K, dist), expected in zip(cases, isolated(_cv2_projections, cases), strict=True):
        R = Rotation.from_rotvec(rvec).as_matrix()
        np.testing.assert_allclose(project(points, K, dist, R, tvec, xp=np), expected, rtol=0, atol=PX_TOL_CV2)
        np.testing.assert_allclose(jax.jit(project)(points.astype(np.float32), K, dist, R, tvec), expected,
                                   rtol=0, atol=PX_TOL_F32)  # fmt: skip
        with jax.enable_x64(True):
            ours = jax.jit(project)(jnp.asarray(points), K, dist, R, tvec)
            assert ours.dtype == jnp.float64
            np.testing.assert_allclose(ours, expected, rtol=0, atol=PX_TOL_CV2)


def test_projection_by_hand():
    """Identity pose, (0.1, 0.2, 1): r^2 = 0.05, radial = 1 + 0.1 r^2 + 0.01 r^4 + 0.001 r^6."""
    cam = Camera("hand", 1000, 800, [[1000.0, 0, 500.0], [0, 1100.0, 400.0], [0, 0, 1]],
                 [0.1, 0.01, 0.001, 0.002, 0.001], np.eye(3), np.zeros(3))  # fmt: skip
    radial = 1.005025125
    x = 0.1 * radial + 2 * 0.001 * 0.1 * 0.2 + 0.002 * (0.05 + 2 * 0.01)  # 0.1006825125
    y = 0.2 * radial + 0.001 * (0.05 + 2 * 0.04) + 2 * 0.002 * 0.1 * 0.2  # 0.201215025
    np.testing.assert_allclose(cam.project(np.array([0.1, 0.2, 1.0])), [600.6825125, 621.3365275], atol=PX_TOL)
    np.testing.assert_allclose([500 + 1000 * x, 400 + 1100 * y], [600.6825125, 621.3365275], atol=PX_TOL)
    np.testing.assert_allclose(cam.project(np.array([0.1, 0.2, 1.0]), distort=False), [600.0, 620.0], atol=PX_TOL)
    np.testing.assert_allclose(cam.world_to_camera(np.array([[0.1, 0.2, 1.0]])), [[0.1, 0.2, 1.0]])


def test_jax_projection_jits_differentiates_and_matches_numpy():
    cam = cv_camera()
    points = jnp.asarray(CV_POINTS)
    pixels = jax.jit(cam.project)(points)
    assert isinstance(pixels, jax.Array) and pixels.shape == (4, 2)
    np.testing.assert_allclose(np.asarray(pixels), CV_PIXELS, atol=PX_TOL_F32)

    def loss(points, target):  # the 2D reprojection loss's shape
        return jnp.mean(jnp.sum((project(points, cam.K, cam.dist, cam.R, cam.t) - target) ** 2, axis=-1))

    grad = jax.jit(jax.grad(loss))(points + 0.01, jnp.asarray(CV_PIXELS))
    assert grad.shape == (4, 3) and bool(jnp.all(jnp.isfinite(grad)))
    with jax.enable_x64(True):
        check_grads(lambda p: project(p, cam.K, cam.dist, cam.R, cam.t), (jnp.asarray(CV_POINTS),),
                    order=1, modes=["rev"])  # fmt: skip
    # at or behind the camera: finite pixels and gradients (depth clamped), never NaN
    centre = jnp.asarray(cam.centre)
    behind = jnp.stack([centre, centre - jnp.asarray(cam.R[2])])
    assert bool(jnp.all(jnp.isfinite(cam.project(behind))))
    assert bool(jnp.all(jnp.isfinite(jax.grad(lambda p: cam.project(p).sum())(behind))))


def test_camera_dict_round_trip_and_validation():
    cam = cv_camera()
    back = Camera.from_dict(json.loads(json.dumps(cam.to_dict())))
    assert (back.name, back.width, back.height) == ("cv", 1000, 1020)
    for field in ("K", "dist", "R", "t"):
        np.testing.assert_array_equal(getattr(back, field), getattr(cam, field))
    np.testing.assert_allclose(back.centre, -cam.R.T @ cam.t)
    with pytest.raises(ValueError, match="camera record lacks dist, t"):
        Camera.from_dict({key: value for key, value in cam.to_dict().items() if key not in ("dist", "t")})
    with pytest.raises(ValueError, match="not a rotation matrix"):
        Camera("bad", 10, 10, CV_K, CV_DIST, 2 * np.eye(3), CV_TVEC)
    with pytest.raises(ValueError, match=r"dist \[k1, k2, p1, p2, k3\] must have shape \(5,\)"):
        Camera("bad", 10, 10, CV_K, CV_DIST[:4], np.eye(3), CV_TVEC)


def standing_person_z_up():
    """Pelvis, head top and feet of a person standing at the world origin (metres, z up)."""
    return np.array([[0.0, 0.0, 0.9], [0.0, 0.0, 1.75], [0.15, 0.0, 0.05], [-0.15, 0.0, 0.05], [0.3, 0.3, 1.4]])


def test_h36m_camera_s9_60457274_geometry():
    cam = camera("S9", "60457274")
    assert cam.name == "60457274" and (cam.width, cam.height) == (1000, 1002)
    np.testing.assert_allclose(cam.K[[0, 1, 0, 1], [0, 1, 2, 2]], [1145.51, 1144.77, 514.97, 501.88], atol=0.01)
    np.testing.assert_allclose(cam.dist, [-0.198384091258049, 0.21832367777824402, -0.0005872055771760643,
                                          -0.0018133620033040643, -0.008947807364165783])  # fmt: skip
    centre = cam.centre
    assert 4.0 < np.linalg.norm(centre[:2]) < 6.0 and 1.3 < centre[2] < 1.8
    assert cam.R[2] @ (-centre / np.linalg.norm(centre)) > 0.98  # optical axis at the origin
    assert cam.R[1] @ [0.0, 0.0, 1.0] < -0.9  # image down is world down
    person = standing_person_z_up()
    depth = cam.world_to_camera(person)[:, 2]
    assert np.all((depth > 3.0) & (depth < 6.0))
    pixels = cam.project(person)
    assert np.all((pixels > 0) & (pixels < [cam.width, cam.height]))
    assert pixels[1, 1] < pixels[0, 1] < pixels[2, 1]  # head above pelvis above feet in the image


def test_h36m_cameras_follow_the_dataset_convention():
    """world_to_camera(X) = rotate(q^-1, X - T), with T in mm, for every subject and camera."""
    table = json.loads((data_dir() / "cameras" / "h36m.json").read_text())
    assert set(table["extrinsics"]) == set(SUBJECTS) and set(table["intrinsics"]) == set(CAMERAS)
    points = standing_person_z_up()
    for subject in SUBJECTS:
        for camera_id in CAMERAS:
            cam = camera(subject, camera_id)
            record = table["extrinsics"][subject][camera_id]
            q = jnp.asarray(record["orientation"], dtype=jnp.float32)
            expected = rotate(conj(q), jnp.asarray(points - np.asarray(record["translation"]) / 1000.0))
            np.testing.assert_allclose(cam.world_to_camera(points), np.asarray(expected), atol=1e-5)
            assert 4.0 < np.linalg.norm(cam.centre[:2]) < 6.0 and 1.3 < cam.centre[2] < 1.8
            pixels = cam.project(points)
            assert np.all((pixels > 0) & (pixels < [cam.width, cam.height])), (subject, camera_id)


def test_h36m_unknown_subject_or_camera():
    with pytest.raises(ValueError, match="unknown Human3.6M subject 'S2'; choose one of S1, S5"):
        camera("S2", "60457274")
    with pytest.raises(ValueError, match="unknown Human3.6M camera '1234'; choose one of 54138969"):
        camera("S9", "1234")


def aist_cameras_cm():
    """Nine aniposelib-style records: a ring of cameras 5 m out, 1.7 m up, looking at the dancer,
    in AIST++'s y-up centimetre world."""
    records = []
    for i in range(9):
        angle = 2 * np.pi * i / 9
        centre = np.array([500.0 * np.sin(angle), 170.0 + 5 * i, 500.0 * np.cos(angle)])
        forward = np.array([0.0, 90.0, 0.0]) - centre
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        R = np.stack([right, np.cross(forward, right), forward])  # rows: x right, y down, z forward
        records.append({
            "name": f"c0{i + 1}", "size": [1920, 1080],
            "matrix": [[1600.0 + 10 * i, 0.0, 960.0], [0.0, 1600.0 + 10 * i, 540.0], [0.0, 0.0, 1.0]],
            "distortions": [-0.05 + 0.01 * i, 0.02, 0.001, -0.0005, 0.0],
            "rotation": Rotation.from_matrix(R).as_rotvec().tolist(), "translation": (-R @ centre).tolist(),
        })  # fmt: skip
    return records


def dancer_cm(frames, rng):
    """COCO-17 points of a y-up person (cm) near the origin."""
    heights = [165, 168, 168, 166, 166, 145, 145, 115, 115, 90, 90, 90, 90, 50, 50, 10, 10]
    points = np.array([[(15 if j % 2 else -15) * (j > 0), y, 0.0] for j, y in enumerate(heights)])
    return points + rng.normal(scale=3.0, size=(frames, 17, 3))


def test_aist_cameras_project_converted_keypoints_to_the_same_pixels(tmp_path):
    rng = np.random.default_rng(2)
    records, points_cm = aist_cameras_cm(), dancer_cm(6, rng)
    camera_file, keypoint_file = tmp_path / "setting1.json", tmp_path / "gBR_sBM_cAll_d04_mBR0_ch01.pkl"
    with open(camera_file, "w") as f:
        json.dump(records, f)  # as aniposelib's CameraGroup.dump writes it: a list of get_dict()s
    with open(keypoint_file, "wb") as f:
        pickle.dump({"keypoints3d": points_cm, "keypoints3d_optim": points_cm}, f)
    cameras = read_cameras(camera_file)
    keypoints = read_keypoints3d(keypoint_file).keypoints
    assert list(cameras) == [f"c0{i}" for i in range(1, 10)]
    for record in records:
        cam = cameras[record["name"]]
        assert (cam.width, cam.height) == (1920, 1080)
        R = Rotation.from_rotvec(record["rotation"]).as_matrix()
        original = project(points_cm, record["matrix"], record["distortions"], R, record["translation"], xp=np)
        np.testing.assert_allclose(cam.project(keypoints), original, rtol=1e-6)
        assert np.all((original > 0) & (original < [1920, 1080]))
        assert 4.5 < np.linalg.norm(cam.centre[:2]) < 5.5 and 1.6 < cam.centre[2] < 2.2  # metres, z up
    # the same cameras written in metres: same result, detected or given
    in_metres = [{**r, "translation": (np.asarray(r["translation"]) / 100).tolist()} for r in records]
    (tmp_path / "metres.json").write_text(json.dumps(in_metres))
    for scale in (None, 1.0):
        np.testing.assert_allclose(read_cameras(tmp_path / "metres.json", unit_scale=scale)["c03"].t, cameras["c03"].t)


def test_aist_camera_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.json: no such file"):
        read_cameras(tmp_path / "nothere.json")
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: not a JSON file"):
        read_cameras(path)
    path.write_text(json.dumps({"name": "c01"}))
    with pytest.raises(ValueError, match="broken.json: expected a non-empty JSON list"):
        read_cameras(path)
    records = aist_cameras_cm()
    del records[1]["rotation"]
    path.write_text(json.dumps(records))
    with pytest.raises(ValueError, match="broken.json: camera record 1 lacks rotation"):
        read_cameras(path)
    records = aist_cameras_cm()
    records[0]["matrix"] = [1600.0, 0.0, 960.0]
    path.write_text(json.dumps(records))
    with pytest.raises(ValueError, match=r"broken.json: camera 'c01': matrix must have shape \(3, 3\)"):
        read_cameras(path)
    records = aist_cameras_cm()
    records[2]["distortions"] = [0.1, "x", 0.0, 0.0, 0.0]
    path.write_text(json.dumps(records))
    with pytest.raises(ValueError, match="broken.json: camera 'c03' has non-numeric values"):
        read_cameras(path)
