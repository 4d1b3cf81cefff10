"""The paper's video protocols (Table 2: Human3.6M, Table 3: AIST++): one split sequence's video
-> detections (kept in a cache file) -> the reconstruction of ``recon video`` with the dataset's
calibrated camera -> scores of the simulated motion and of the kinematic baseline (the lifted
detections, no physics) against the dataset's 3D joints, in its world frame.

A dataset's video and mocap are frame for frame (Human3.6M 50 fps, AIST++ 60 fps). The split's
frames are detected; the span that is reconstructed (from the first to the last frame the person
is seen in, as ``recon video`` does) is scored against the same mocap frames, both resampled to
the simulator's rate as the observations are (``resample``). MPJPE-2d compares the projections of
both through the dataset's camera; foot skate takes its contacts from the dataset's 3D, as the
mocap experiment does.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from body_models.fit import to_h36m17
from motion_recon.datasets import MotionSequence, aist, h36m
from motion_recon.datasets.sequence import resample
from motion_recon.datasets.splits import SplitSequence
from motion_recon.metrics import all_metrics
from motion_recon.perception.calibration import calibration_for
from motion_recon.perception.cameras import Camera
from motion_recon.perception.detector import MAX_PEOPLE, bundled_model
from motion_recon.perception.keypoint_files import read_keypoints, write_keypoints
from motion_recon.perception.video_io import VideoInfo
from motion_recon.result_file import MotionResult
from pipelines.configs import VideoConfig
from pipelines.video import reconstruct_detections
from pipelines.video_process import isolated, open_dataset_video

# The kinematic baseline's metrics in a result file's metrics: this prefix and the metric's name
KINEMATIC_PREFIX = "kinematic_baseline_"
# VideoConfig fields that a dataset's evaluation sets itself (the split's frames, the dataset's camera)
DATASET_CHOSEN = ("start", "end", "max_frames", "focal", "estimate_focal", "camera", "keypoints")


def check_config(config: VideoConfig) -> None:
    """A ValueError when ``config`` sets what the dataset and split decide."""
    default = VideoConfig()
    chosen = [name for name in DATASET_CHOSEN if getattr(config, name) != getattr(default, name)]
    if chosen:
        raise ValueError(f"a dataset's video takes its frames from the split and its camera from the dataset: "
                         f"leave {', '.join(chosen)} unset")  # fmt: skip


def read_truth(dataset: str, item: SplitSequence) -> MotionSequence:
    """Every frame of a split sequence's 3D joints at the file's own rate (the video's)."""
    if dataset == "h36m":
        return h36m.read_positions(item.path, fps=h36m.FPS)
    return aist.read_keypoints3d(item.path)


def dataset_camera(dataset: str, item: SplitSequence) -> Camera:
    """The calibrated camera that filmed a split sequence's video: Human3.6M's of its subject
    and camera id, AIST++'s of the setting ``cameras/mapping.txt`` names (the split's files lie
    in ``<root>/keypoints3d/``)."""
    if dataset == "h36m":
        return h36m.camera(item.subject, item.camera)
    return aist.sequence_camera(Path(item.path).parents[1], item.name)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def detection_key(video: Path, first: int, last: int) -> str:
    """SHA-256 of what decides a video's detections: its content, the frames asked for and the
    detector (model file, people per frame, MediaPipe's version)."""
    settings = {"video_sha256": file_sha256(video), "frames": [first, last], "model_sha256": file_sha256(bundled_model()),
                "max_people": MAX_PEOPLE, "mediapipe": _version("mediapipe")}  # fmt: skip
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # detection then fails, saying what to install
        return None


def detections_path(folder: Path, item: SplitSequence) -> Path:
    """``<folder>/<sequence>[.<camera>].npz`` (the sequence's name made a file name)."""
    name = item.name.replace("/", "_").replace(" ", "_") + ("" if item.camera is None else f".{item.camera}")
    return Path(folder) / f"{name}.npz"


def read_detections(path: Path, video: Path, key: str) -> tuple[VideoInfo, int, int, list] | None:
    """(video info, first, stop, detections of frames [first, stop)) that ``write_detections``
    kept in ``path`` under ``key``; None when there is no such file or it holds another key."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["detection_key"]) != key:
                return None
            first, stop = (int(v) for v in archive["detected_frames"])
            fps, frames, width, height = archive["video"]
            nobody = bool(np.isnan(archive["keypoints"]).all())
        people = [[] for _ in range(stop)] if nobody else read_keypoints(path)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # none, or not one of ours: detected again
        return None
    return VideoInfo(video, float(fps), int(frames), int(width), int(height)), first, stop, people[first:stop]


def write_detections(path: Path, key: str, info: VideoInfo, first: int, frames: list) -> None:
    """Keeps the detections of video frames [first, first + len(frames)) in ``path``: a keypoints
    file (``write_keypoints``) of video frames 0..stop - 1, nobody before ``first``, so it also
    serves ``recon video VIDEO --keypoints FILE``; with the ``key``, the frames detected and the
    video's frame rate, frame count and size."""
    write_keypoints(path, [[] for _ in range(first)] + list(frames), detection_key=np.array(key),
                    detected_frames=np.array([first, first + len(frames)]),
                    video=np.array([info.fps, info.frames, info.width, info.height], float))  # fmt: skip


def reconstruct_from_video(dataset: str, item: SplitSequence, config: VideoConfig,
                           detections: Path | None = None) -> MotionResult:  # fmt: skip
    """One split sequence reconstructed from its video and scored against its 3D joints (see the
    module doc). ``detections``: the folder that keeps each sequence's detections; a file there
    made from the same video, frames and detector is read instead of detecting again. The
    result's metrics are the physics result's, with the kinematic baseline's under
    ``KINEMATIC_PREFIX``."""
    truth = read_truth(dataset, item)
    camera = dataset_camera(dataset, item)
    video = Path(item.video)
    if not video.is_file():
        raise FileNotFoundError(f"{video}: no such file")
    first = 0 if item.first is None else item.first
    last = len(truth.keypoints) - 1 if item.last is None else min(item.last, len(truth.keypoints) - 1)
    cache = None if detections is None else detections_path(detections, item)
    key = detection_key(video, first, last) if cache is not None else ""
    kept = None if cache is None else read_detections(cache, video, key)
    if kept is not None:
        info, first, stop, frames = kept
        stage_s = {"detect": 0.0}
    else:
        info, stop, frames, stage_s = isolated(open_dataset_video, video, camera.name, (camera.width, camera.height),
                                               truth.fps, first, last)  # fmt: skip
        if cache is not None:
            write_detections(cache, key, info, first, frames)
    calibration = calibration_for(camera, info.width, info.height)
    run = reconstruct_detections(frames, info, first, config, str(video), stage_s, calibration=calibration)
    result = run.result
    span = [run.first, run.first + len(run.track.found)]
    observed = to_h36m17(truth.frames(*span))
    target = resample(observed, info.fps, result.fps)
    if target.shape != result.simulated.shape:
        raise ValueError(f"{item.path}: frames {span[0]}-{span[1] - 1} give {len(target)} frames at {result.fps:g} fps, "
                         f"the reconstruction {len(result.simulated)}")  # fmt: skip
    physics, kinematic = scores(result, target, Camera.from_dict(result.camera))
    kept_metrics = {k: v for k, v in result.metrics.items() if k.startswith(("kinematic_fit", "residual_"))}
    result.metrics = {**physics, **kept_metrics, **{KINEMATIC_PREFIX + k: v for k, v in kinematic.items()}}
    result.provenance["truth"] = {"file": str(item.path), "frames": span, "dataset": dataset}
    result.provenance["detections"] = {"file": None if cache is None else str(cache), "reused": kept is not None}
    return result


def scores(result: MotionResult, target: np.ndarray, camera: Camera) -> tuple[dict[str, float], dict[str, float]]:
    """The paper's metrics of the simulated motion and of the kinematic baseline (the result's
    observed 3D: the lifted detections) against ``target`` (T, 17, 3), the dataset's joints at
    the result's frames, with 2D through ``camera``."""
    truth2d = camera.project(target)
    simulated, lifted = np.asarray(result.simulated, float), np.asarray(result.observed3d, float)
    return (all_metrics(simulated, target, camera.project(simulated), truth2d),
            all_metrics(lifted, target, camera.project(lifted), truth2d))  # fmt: skip


def split_metrics(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """A row's metrics without the kinematic baseline's, and the kinematic baseline's by name."""
    own = {k: v for k, v in metrics.items() if not k.startswith(KINEMATIC_PREFIX)}
    return own, {k.removeprefix(KINEMATIC_PREFIX): v for k, v in metrics.items() if k.startswith(KINEMATIC_PREFIX)}


def video_sha256(item: SplitSequence) -> str | None:
    """The content hash of a split sequence's video; None when it is missing (the sequence fails)."""
    video = None if item.video is None else Path(item.video)
    return file_sha256(video) if video is not None and video.is_file() else None
