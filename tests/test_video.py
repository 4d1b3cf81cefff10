"""The video flow: detection on the bundled clip, person tracking, camera fit, ``recon video`` and
``recon demo`` end to end on a 1 s excerpt, and every kind of bad input.

OpenCV, MediaPipe and PyAV run in separate processes (``pipelines.video.isolated``), never in the
test process that compiles with XLA."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from motion_recon import skeleton
from motion_recon.datasets import read_motion
from motion_recon.datasets.sequence import resample
from motion_recon.paths import data_dir
from motion_recon.perception.camera_fit import estimate_focal, fit_camera, up_direction
from motion_recon.perception.cameras import Camera
from motion_recon.perception.people import Detection, track_people
from motion_recon.perception.video_io import probe_video
from motion_recon.result_file import read_result
from pipelines.cli import app
from pipelines.video import isolated
from pipelines.video_process import frame_range, open_video

from video_files import write_video

runner = CliRunner()


def recon(*args: str) -> subprocess.CompletedProcess:
    """``recon ARGS`` in a fresh process, as a user runs it (the whole flow compiles its own
    programs there, not in the long-lived test process)."""
    command = [sys.executable, "-c", "from pipelines.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)
CLIP = data_dir() / "samples" / "walk.mp4"
EXCERPT_FRAMES = 30  # 1 s of the clip: 26 simulated frames, 4 windows


def probe(path, progress=None):
    return probe_video(path)


@pytest.fixture(scope="module")
def detections():
    """BlazePose on the first second of the bundled clip."""
    return isolated(open_video, CLIP, 0.0, None, EXCERPT_FRAMES, True)[3]


def test_the_bundled_clip_is_short_and_small():
    info = isolated(probe, CLIP)
    assert (info.width, info.height, info.frames, info.fps) == (1280, 358, 125, 30.0)
    assert info.duration <= 10 and CLIP.stat().st_size <= 5e6


def test_detection_finds_the_walker_with_17_joints_in_the_image(detections):
    assert len(detections) == EXCERPT_FRAMES
    main = track_people(detections, 30.0)[0]
    assert len(main) >= EXCERPT_FRAMES - 1  # seen in (almost) every frame
    for detection in main.values():
        assert detection.keypoints.shape == (17, 2) and detection.world.shape == (17, 3)
        assert np.all((detection.keypoints >= 0) & (detection.keypoints <= [1280, 358]))
        assert np.median(detection.confidence) > 0.5
        assert 200 < detection.box_height() < 358  # a whole person, head to ankles
        np.testing.assert_allclose(detection.world[skeleton.ROOT], 0.0)
        legs = np.linalg.norm(detection.world[skeleton.INDEX["left_knee"]] - detection.world[skeleton.INDEX["left_hip"]])
        assert 0.25 < legs < 0.6  # metric world landmarks


def _person(x, y, height=200.0, confidence=0.9):
    """A standing person's 17 keypoints, ``height`` pixels tall, pelvis at (x, y)."""
    offsets = np.linspace(-0.5, 0.5, 17)[:, None] * [0.3 * height, height]
    return Detection(np.array([x, y]) + offsets, np.full(17, confidence))


def test_tracking_keeps_people_apart_drops_duplicates_and_bridges_gaps():
    frames = []
    for t in range(20):
        big, small = _person(100 + 5 * t, 300, 200), _person(600 - 5 * t, 300, 100)
        people = [small] if 8 <= t < 11 else [big, small]  # the big person is missed for 3 frames
        if t == 4:
            people.append(_person(100 + 5 * t + 2, 301, 200, confidence=0.5))  # a duplicate
        frames.append(people)
    tracks = track_people(frames, fps=30.0)
    assert len(tracks) == 2
    big, small = tracks
    assert sorted(big) == [t for t in range(20) if not 8 <= t < 11] and sorted(small) == list(range(20))
    assert big[4].confidence[0] == 0.9  # the more confident of the duplicates
    assert all(abs(d.keypoints[0, 0] - (600 - 5 * t - 15)) < 1e-9 for t, d in small.items())


def test_camera_fit_recovers_a_known_camera_from_projected_mocap():
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    world = np.asarray(walk.keypoints, float)
    pitch = np.radians(10.0)
    forward = np.array([0.0, np.cos(pitch), -np.sin(pitch)])
    right = np.array([1.0, 0.0, 0.0])
    R = np.stack([right, np.cross(forward, right), forward])
    centre = np.array([world[:, 0, 0].mean(), world[:, 0, 1].mean() - 5.0, 1.3])
    truth = Camera("true", 1280, 720, [[1000.0, 0, 639.5], [0, 1000.0, 359.5], [0, 0, 1]], np.zeros(5), R, -R @ centre)
    pixels = truth.project(world)
    poses = (world - world[:, :1]) @ R.T  # pelvis-centred, camera axes
    camera, fitted = fit_camera(pixels, np.ones(world.shape[:2]), poses, walk.fps, 1280, 720, focal=1000.0)
    assert np.median(np.linalg.norm(camera.project(fitted) - pixels, axis=-1)) < 1.0
    up_error = np.degrees(np.arccos(np.clip(camera.R[:, 2] @ R[:, 2], -1, 1)))
    assert up_error < 1.0  # the world's up direction, seen from the camera
    ground_truth = np.percentile(world[:, [3, 6], 2], 5) - 0.08
    # the feet, 20 cm apart, leave the sideways tilt mostly to the body axis (within 10 degrees
    # by design): 0.7 degrees off here, 6 cm of camera height at 5 m
    assert abs(camera.centre[2] - (1.3 - ground_truth)) < 0.08
    np.testing.assert_allclose(np.linalg.norm(fitted[:, 1] - fitted[:, 0], axis=-1),
                               np.linalg.norm(world[:, 1] - world[:, 0], axis=-1), atol=1e-6)  # fmt: skip


def test_the_focal_length_is_estimated_from_the_perspective_of_a_near_body():
    """The bundled mocap walk 3 m from a 1920x1080 camera of focal length 1200 px (the assumed
    default is 1663): noise-free keypoints fix it to the candidate grid's 5 % step."""
    walk = read_motion(data_dir() / "samples" / "mocap_walk.npz")
    world = np.asarray(walk.keypoints, float)
    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # looking along +y, level
    centre = np.array([world[:, 0, 0].mean(), world[:, 0, 1].mean() - 3.0, 1.0])
    camera = Camera("near", 1920, 1080, [[1200.0, 0, 959.5], [0, 1200.0, 539.5], [0, 0, 1]], np.zeros(5), R, -R @ centre)
    poses = (world - world[:, :1]) @ R.T
    focal = estimate_focal(camera.project(world), np.ones(world.shape[:2]), poses, 1920, 1080)
    assert abs(np.log(focal / 1200.0)) < 0.05


def test_up_direction_sees_past_a_leaning_body_and_feet_in_the_air():
    """A runner leaning 45 degrees forward travels 2 m; one foot is in the air, 45 cm up and
    30 cm ahead, every other frame (fitting a plane through the lower feet had tilted the
    ground 48-85 degrees on such a spin kick). Seen by a tilted, rolled camera."""
    rng = np.random.default_rng(3)
    frames = 40
    world = np.zeros((frames, skeleton.NUM_JOINTS, 3))
    along = np.linspace(0.0, 2.0, frames)
    lean = np.radians(45.0)
    world[:, skeleton.ROOT] = np.stack([along, np.zeros(frames), np.full(frames, 1.0)], 1)
    world[:, skeleton.INDEX["thorax"]] = world[:, skeleton.ROOT] + 0.5 * np.array([np.sin(lean), 0.0, np.cos(lean)])
    left, right = (skeleton.INDEX[name] for name in skeleton.FEET)
    world[:, left] = np.stack([along + 0.1, np.full(frames, 0.1), np.full(frames, 0.08)], 1)
    world[1::2, left] += [0.3, 0.0, 0.45]
    world[:, right] = np.stack([along - 0.1, np.full(frames, -0.1), np.full(frames, 0.08)], 1)
    world += rng.normal(0.0, 0.01, world.shape)
    R = Rotation.from_euler("xyz", [-100.0, 8.0, 25.0], degrees=True).as_matrix()  # world to camera
    camera_points = world @ R.T + [0.3, 0.2, 5.0]
    up = up_direction(camera_points, np.ones(frames, bool))
    error = np.degrees(np.arccos(np.clip(up @ R[:, 2], -1.0, 1.0)))
    axis = camera_points[:, skeleton.INDEX["thorax"]] - camera_points[:, [left, right]].mean(axis=1)
    axis = (axis / np.linalg.norm(axis, axis=1, keepdims=True)).mean(axis=0)
    assert np.degrees(np.arccos(axis @ R[:, 2] / np.linalg.norm(axis))) > 10.0  # the body axis alone is off
    assert error < 1.0


def test_frame_ranges_and_resampling():
    info = isolated(probe, CLIP)
    assert frame_range(info, 0.0, None, None) == (0, 125)
    assert frame_range(info, 1.0, 2.0, None) == (30, 60)
    assert frame_range(info, 1.0, None, 10) == (30, 40)
    with pytest.raises(ValueError, match="no frames between"):
        frame_range(info, 5.0, None, None)
    values = np.arange(31.0)[:, None]
    np.testing.assert_allclose(resample(values, 30.0, 25.0)[:, 0], np.arange(26) * 1.2)


def test_recon_video_with_a_keypoints_file_bridges_a_gap_and_writes_every_output(tmp_path, detections):
    main = track_people(detections, 30.0)[0]
    keypoints = np.full((EXCERPT_FRAMES, 17, 3), np.nan)
    world = np.full((EXCERPT_FRAMES, 17, 3), np.nan)
    for t, detection in main.items():
        if not 12 <= t < 16:  # the person is lost for 4 frames
            keypoints[t] = np.column_stack([detection.keypoints, detection.confidence])
            world[t] = detection.world
    np.savez(tmp_path / "kp.npz", keypoints=keypoints, world=world, layout="h36m17")
    out, overlay, summary = tmp_path / "r.h5", tmp_path / "o.mp4", tmp_path / "s.json"
    result = recon("video", str(CLIP), "--keypoints", str(tmp_path / "kp.npz"), "--end", "1", "--max-evals", "2",
                   "--out", str(out), "--overlay", str(overlay), "--json", str(summary))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not seen in 4 of 30 frames" in result.stdout and "kinematic" in result.stdout
    stored = read_result(out)
    assert stored.simulated.shape == (25, 17, 3) and np.isfinite(stored.simulated).all()
    unseen = ~(stored.confidence2d > 0).any(axis=1)
    assert 2 <= unseen.sum() <= 4 and unseen[10:13].all()  # video frames 12-15 at 25 fps
    assert any("not seen in 4" in w for w in stored.provenance["warnings"])
    assert stored.camera["width"] == 1280 and {"mpjpe_2d", "tv", "foot_skate"} <= set(stored.metrics)
    assert (stored.optimization["feedforward"], stored.optimization["velocity_half_width"]) == (1, 3)  # the defaults
    # the default residual root force is optimized (the wrench moved off zero) and recorded per frame
    assert stored.root_wrench.shape == (25, 6) and np.abs(stored.root_wrench).max() > 1e-3
    assert stored.metrics["residual_force_n"] > 0.0 and "residual_force_pct" in stored.metrics
    report = json.loads(summary.read_text())
    assert report["frames"] == 30 and report["frames_with_person"] == 26
    assert set(report["stage_s"]) == {"decode", "detect", "initialise", "optimize", "render"}
    assert report["kinematic"]["mpjpe_2d"] < 20
    video = isolated(probe, overlay)
    assert (video.frames, video.width, video.height) == (30, 1280, 358)


def test_recon_demo_runs_the_bundled_clip(tmp_path):
    out, overlay = tmp_path / "demo.h5", tmp_path / "demo.mp4"
    result = recon("demo", "--end", "1", "--max-evals", "2", "--out", str(out), "--overlay", str(overlay))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "person 0 seen in" in result.stdout and "seconds per stage" in result.stdout
    assert "optimize (windows): " in result.stdout  # not a terminal: each stage's progress as lines
    assert read_result(out).provenance["input"]["file"].endswith("walk.mp4") and overlay.is_file()


def test_bad_input_gives_one_line_and_keeps_existing_outputs(tmp_path):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    empty, blank = tmp_path / "empty.mp4", tmp_path / "blank.mp4"
    isolated(write_video, empty, [])
    isolated(write_video, blank, [np.full((48, 64, 3), 90, np.uint8)] * 10)
    nan_keypoints = tmp_path / "nan.npz"
    points = np.ones((125, 17, 3))
    points[3, 5, 0] = np.nan
    np.savez(nan_keypoints, keypoints=points)
    out = tmp_path / "keep.h5"
    out.write_bytes(b"old result")
    cases = [
        ([str(tmp_path / "missing.mp4")], "missing.mp4: no such file"),
        ([str(not_video)], "notes.mp4: not a readable video"),
        ([str(empty)], "empty.mp4"),
        ([str(blank)], "blank.mp4: no person detected in any of its 10 frames"),
        ([str(CLIP), "--max-frames", "8"], "shorter than one window"),
        ([str(CLIP), "--end", "0.5", "--person-index", "2"], "person index 2 asked, but 1 person was found"),
        ([str(CLIP), "--keypoints", str(nan_keypoints)], "nan.npz"),
        ([str(CLIP), "--focal", "wide"], "--focal takes a number"),
        ([str(CLIP), "--camera", str(tmp_path / "calib.yml")], "calib.yml: no such camera file"),
        ([str(CLIP), "--camera", str(not_video)], "notes.mp4: unknown camera file type '.mp4'"),
        ([str(CLIP), "--residual-force", "-1"], "--residual-force must be 0 (off) or positive, got -1"),
        ([str(CLIP), "--ground-contact", "-2"], "--ground-contact must be 0 (off) or positive, got -2"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["video", *args, "--out", str(out)])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()[-1]) > 0
    assert out.read_bytes() == b"old result"


def test_opencv_and_mediapipe_stayed_out_of_this_process():
    """Everything above ran them in separate processes (they crashed XLA's compiler beside it)."""
    import sys

    assert not {"cv2", "mediapipe", "av"} & set(sys.modules)
