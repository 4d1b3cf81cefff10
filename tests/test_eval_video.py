"""``recon eval h36m|aist --input video`` (the paper's Tables 2 and 3) end to end on tiny trees in
each dataset's exact layout: videos, mocap files and cameras where the release puts them.

The videos are 40 (Human3.6M) or 47 (AIST++) frames of the bundled walk (data/samples/walk.mp4)
placed in frames of the dataset camera's image shape (half or a third of its size). Their "mocap"
is the lifted detections of those frames (what the evaluation's kinematic baseline is, made here
with the same library calls) moved ``OFFSET_M`` along x, so the kinematic row's scores are known
exactly: MPJPE-G is the offset, MPJPE and PA-MPJPE are 0. Video and mocap one frame apart would
show: consecutive simulator frames of the lifted walk differ by 48 mm MPJPE.

Videos are read, written and detected in separate processes (``pipelines.video_process``).
"""

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.datasets import aist, h36m
from motion_recon.datasets.arrays import read_npz
from motion_recon.datasets.splits import load_split
from motion_recon.metrics import all_metrics
from motion_recon.paths import data_dir
from motion_recon.perception.calibration import calibration_for
from motion_recon.perception.camera_fit import fit_camera
from motion_recon.perception.cameras import Camera
from motion_recon.perception.left_right import unswap
from motion_recon.perception.people import select_person
from motion_recon.result_file import read_result
from pipelines.cli import app
from pipelines.video import person_span, trimmed
from pipelines.video_process import isolated, open_video

from dataset_files import aist_camera_record, coco17_from_h36m, h36m_pose_mm, write_aist_keypoints3d, write_h36m_cdf
from video_files import write_excerpt_video

runner = CliRunner()
WALK_VIDEO = data_dir() / "samples" / "walk.mp4"
WALK_MOCAP = data_dir() / "samples" / "mocap_walk.npz"
WALKER = list(range(40))  # the walk's frames 0-39: the walker from x ~1040 to ~760 px
OFFSET_M = np.array([0.1, 0.0, 0.0])  # the fixture mocap is the lifted detections moved by this
FLOAT32_MM = 1e-2  # result files keep keypoints in float32: 1e-4 mm at a few metres, with margin


def lift(video, camera, start_s):
    """The chosen person's world joints from the detections of ``video`` from ``start_s`` seconds,
    as ``pipelines.video.reconstruct_detections`` makes the kinematic baseline (before resampling
    to the simulator's rate): (first video frame with the person, (T, 17, 3) metres)."""
    info, first, _, frames, _ = isolated(open_video, video, start_s, None, None, True)
    track = select_person(frames, 0, info.fps, info.width, info.height, {}, str(video))
    seen_first, seen_stop = person_span(track)
    track = trimmed(track, seen_first, seen_stop)
    keypoints, confidence, world, _ = unswap(track.keypoints, track.confidence, track.world)
    calibration = calibration_for(camera, info.width, info.height)
    _, lifted = fit_camera(keypoints, confidence, world, info.fps, info.width, info.height, None, calibration)
    return first + seen_first, lifted


def held(motion, start, frames):
    """``motion`` from frame ``start`` of ``frames``, its first pose held before and its last after."""
    before = np.repeat(motion[:1], start, axis=0)
    after = np.repeat(motion[-1:], frames - start - len(motion), axis=0)
    return np.concatenate([before, motion, after])


class Run(NamedTuple):
    """A fixture's ``recon eval`` run: its output, JSON report, dataset root, result folder, and
    the video frames of the fixture mocap's lifted detections (first, count)."""

    result: object
    report: dict
    root: Path
    out: Path
    first: int
    frames: int


def evaluate(*args):
    """``recon eval ARGS --input video --max-evals 2``, printed wide enough for every column."""
    return runner.invoke(app, ["eval", *args, "--input", "video", "--max-evals", "2"], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def h36m_run(tmp_path_factory):
    """The first four sequences of the validation split (frames 400-599): S11/Phoning (camera
    55011271, 1000x1000) with the walker in video frames 405-444 of 445 (half size), S11/Posing 1
    without a video, S11/Purchases with nobody in it, S11/SittingDown 1 with a 640x360 video for
    a 1000x1002 camera."""
    tmp = tmp_path_factory.mktemp("h36m")
    root = tmp / "h36m"
    placeholder = read_npz(WALK_MOCAP).resampled(h36m.FPS).keypoints
    for row in load_split("val"):
        folder = root / row["subject"] / "MyPoseFeatures" / "D3_Positions"
        folder.mkdir(parents=True, exist_ok=True)
        write_h36m_cdf(folder / f"{row['sequence']}.cdf", h36m_pose_mm(held(placeholder, 400, 600)))
    videos = root / "S11" / "Videos"
    videos.mkdir()
    phoning = videos / "Phoning.55011271.mp4"
    isolated(write_excerpt_video, phoning, WALK_VIDEO, [None] * 405 + WALKER, (640, 1140), (500, 500), 50)
    isolated(write_excerpt_video, videos / "Purchases.60457274.mp4", WALK_VIDEO, [None] * 410, (0, 0), (500, 500), 50)
    isolated(write_excerpt_video, videos / "SittingDown 1.54138969.mp4", WALK_VIDEO, [None] * 2, (0, 0), (640, 360), 50)
    first, lifted = lift(phoning, h36m.camera("S11", "55011271"), 400 / h36m.FPS)
    folder = root / "S11" / "MyPoseFeatures" / "D3_Positions"
    write_h36m_cdf(folder / "Phoning.cdf", h36m_pose_mm(held(lifted + OFFSET_M, first, 600)))
    out = tmp / "results"
    result = evaluate("h36m", "--root", str(root), "--limit", "4", "--out", str(out), "--json", str(tmp / "h36m.json"))
    return Run(result, json.loads((tmp / "h36m.json").read_text()), root, out, first, len(lifted))


def check_scores(run: Run, sequence: str, stored: Path) -> None:
    """The kinematic row scores exactly the fixture's offset, and the physics row equals the
    paper's metrics of the stored simulation against the stored kinematic baseline moved by the
    offset (what the fixture mocap is), through the stored camera; the physics is plausible."""
    report = run.report
    kinematic, physics = report["kinematic"]["sequences"][sequence], report["sequences"][sequence]
    assert report["input"] == "video" and list(report["sequences"]) == [sequence]
    assert report["kinematic"]["mean"] == kinematic and report["mean"] == physics
    assert kinematic["mpjpe_g"] == pytest.approx(1000 * OFFSET_M[0], abs=FLOAT32_MM)
    assert kinematic["mpjpe"] < FLOAT32_MM and kinematic["mpjpe_pa"] < FLOAT32_MM
    saved = read_result(stored)
    assert saved.provenance["truth"]["frames"] == [run.first, run.first + run.frames]
    truth = saved.observed3d.astype(float) + OFFSET_M
    camera = Camera.from_dict(saved.camera)
    expected = all_metrics(saved.simulated, truth, camera.project(saved.simulated.astype(float)), camera.project(truth))
    for key in ("mpjpe_g", "mpjpe", "mpjpe_pa"):
        assert physics[key] == pytest.approx(expected[key], abs=FLOAT32_MM), key
    assert physics["mpjpe_2d"] == pytest.approx(expected["mpjpe_2d"], abs=1e-3)
    assert physics["tv"] == pytest.approx(expected["tv"], rel=1e-4) and physics["foot_skate"] == expected["foot_skate"]
    # measured (seed 0, 2 evaluations per window): PA-MPJPE 57 (h36m) and 53 mm (aist), 2d
    # 23 and 12 px; TV 0.25 and 0.74 against the lifted detections' 1.62 and 1.20 m/frame^2
    assert physics["mpjpe_pa"] < 80.0 and physics["mpjpe_2d"] < 35.0 and physics["tv"] < kinematic["tv"]
    assert physics["evals_per_window"] == 2.0


def test_h36m_from_video_prints_the_paper_table_with_a_kinematic_row(h36m_run):
    assert h36m_run.result.exit_code == 1, h36m_run.result.output  # three sequences failed
    output = h36m_run.result.output
    assert "h36m val from video" in output and "adam (mean of 1)" in output and "kinematic (mean of 1)" in output
    check_scores(h36m_run, "S11/Phoning", h36m_run.out / "S11_Phoning.h5")
    saved = read_result(h36m_run.out / "S11_Phoning.h5")
    assert (h36m_run.first, h36m_run.frames) == (405, 40)  # frames 400-404 show nobody
    assert saved.camera["name"] == "55011271" and saved.camera["width"] == 500  # the calibration, halved
    assert saved.simulated.shape == (20, 17, 3)  # 40 frames at 50 fps: 20 at 25


def test_h36m_missing_video_nobody_and_camera_mismatch_are_failure_rows(h36m_run):
    result, report = h36m_run.result, h36m_run.report
    failures = report["failures"]
    assert set(failures) == {"S11/Posing 1", "S11/Purchases", "S11/SittingDown 1"}
    assert "S11/Videos/Posing 1.58860488.mp4: no such file" in failures["S11/Posing 1"]
    assert "Purchases.60457274.mp4: no person detected in any of its 10 frames" in failures["S11/Purchases"]
    assert ("SittingDown 1.54138969.mp4: camera '54138969' is calibrated for 1000x1002 images, the video is 640x360"
            in failures["S11/SittingDown 1"])  # fmt: skip
    assert "failed:" in result.output and "Traceback" not in result.output


AIST_SEQUENCE = "gBR_sBM_c06_d06_mBR4_ch06"  # the first of the aist15 split (frames 1-120)
# 47 frames at 60 fps are 20 at 25, as Human3.6M's 40 at 50: the body fit's compiled programs
# (one per sequence length) serve both
AIST_WALKER = list(range(47))


@pytest.fixture(scope="module")
def aist_run(tmp_path_factory):
    """The first two sequences of the aist15 split: gBR_sBM_c06_d06_mBR4_ch06 with the walker in
    video frames 1-47 (a third of 1920x1080), and gBR_sBM_c07_d06_mBR4_ch02, whose setting
    (setting2.json) has no camera c07. Nine cameras on a circle of 4 m, 1.2 m high, level."""
    tmp = tmp_path_factory.mktemp("aist")
    root = tmp / "aist"
    for folder in ("keypoints3d", "cameras", "videos"):
        (root / folder).mkdir(parents=True)
    placeholder = coco17_from_h36m(held(read_npz(WALK_MOCAP).resampled(aist.FPS).keypoints, 0, 130))
    rows = load_split("aist15")
    for row in rows:
        write_aist_keypoints3d(root / "keypoints3d" / f"{aist.all_cameras_name(row['sequence'])}.pkl", placeholder)
    angles = 2 * np.pi * np.arange(9) / 9
    cameras = [aist_camera_record(f"c{k + 1:02d}", [4 * np.cos(a), 4 * np.sin(a), 1.2], [0, 0, 1.2], 1500.0)
               for k, a in enumerate(angles)]  # fmt: skip
    (root / "cameras" / "setting1.json").write_text(json.dumps(cameras))
    (root / "cameras" / "setting2.json").write_text(json.dumps(cameras[:6]))
    settings = ["setting2" if k == 1 else "setting1" for k in range(len(rows))]
    (root / "cameras" / "mapping.txt").write_text(
        "".join(f"{aist.all_cameras_name(row['sequence'])} {setting}\n" for row, setting in zip(rows, settings)))
    video = root / "videos" / f"{AIST_SEQUENCE}.mp4"
    isolated(write_excerpt_video, video, WALK_VIDEO, [None] + AIST_WALKER, (560, 1200), (640, 360), 60)
    first, lifted = lift(video, aist.sequence_camera(root, AIST_SEQUENCE), 1 / aist.FPS)
    write_aist_keypoints3d(root / "keypoints3d" / f"{aist.all_cameras_name(AIST_SEQUENCE)}.pkl",
                           coco17_from_h36m(held(lifted + OFFSET_M, first, 130)))  # fmt: skip
    out = tmp / "results"
    result = evaluate("aist", "--root", str(root), "--limit", "2", "--out", str(out), "--json", str(tmp / "aist.json"))
    return Run(result, json.loads((tmp / "aist.json").read_text()), root, out, first, len(lifted))


def test_aist_from_video_scores_against_keypoints3d_with_the_mapped_camera(aist_run):
    assert aist_run.result.exit_code == 1, aist_run.result.output  # one sequence failed
    assert "aist aist15 from video" in aist_run.result.output and "kinematic (mean of 1)" in aist_run.result.output
    assert (aist_run.first, aist_run.frames) == (1, len(AIST_WALKER))
    check_scores(aist_run, AIST_SEQUENCE, aist_run.out / f"{AIST_SEQUENCE}.h5")
    assert read_result(aist_run.out / f"{AIST_SEQUENCE}.h5").camera["name"] == "c06"
    assert aist_run.report["failures"] == {
        "gBR_sBM_c07_d06_mBR4_ch02": f"ValueError: {aist_run.root}/cameras/setting2.json: no camera c07 "
                                     "(it has c01, c02, c03, c04, c05, c06)"}  # fmt: skip


def test_a_rerun_reads_the_kept_detections_instead_of_detecting(h36m_run, monkeypatch):
    """Another seed on the same --out: no video process starts, and the kinematic baseline (which
    depends on the detections alone) is the first run's to the last digit."""
    import pipelines.video_eval

    _, report, root, out, _, _ = h36m_run
    monkeypatch.setattr(pipelines.video_eval, "isolated", lambda *args, **kwargs: pytest.fail("detected again"))
    kept = out / "detections" / "S11_Phoning.55011271.npz"
    before = kept.stat().st_mtime_ns
    again = evaluate("h36m", "--root", str(root), "--limit", "1", "--seed", "1", "--out", str(out), "--json",
                     str(out.parent / "again.json"))  # fmt: skip
    assert again.exit_code == 0, again.output
    rerun = json.loads((out.parent / "again.json").read_text())
    assert rerun["kinematic"]["sequences"] == {"S11/Phoning": report["kinematic"]["sequences"]["S11/Phoning"]}
    assert kept.stat().st_mtime_ns == before
    assert read_result(out / "S11_Phoning.h5").provenance["detections"] == {"file": str(kept), "reused": True}


def test_settings_the_dataset_decides_are_refused_in_one_line(tmp_path):
    from pipelines.evaluate import evaluate as run_evaluation
    from pipelines.configs import VideoConfig

    for args, message in [
        (["--input", "images"], "'images' is not one of"),
        (["--detections", str(tmp_path)], "--detections keeps the detections of --input video"),
    ]:
        result = runner.invoke(app, ["eval", "h36m", "--root", str(tmp_path), *args])
        assert result.exit_code == 2 and message in result.output, result.output
    with pytest.raises(ValueError, match="leave start, camera unset"):
        run_evaluation("h36m", tmp_path, "val", VideoConfig(start=1.0, camera="calib.json"))
