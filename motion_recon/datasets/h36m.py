"""Human3.6M 3D joint positions (``S*/MyPoseFeatures/D3_Positions/*.cdf``, variable ``Pose``):
32 joints in millimetres, world frame (z up), 50 fps; the common 17-joint subset is kept. The four
calibrated cameras per subject come from ``data/cameras/h36m.json`` (see its README); the videos
are ``S*/Videos/<action>.<camera>.mp4``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..paths import data_dir
from ..perception.cameras import Camera
from .sequence import MotionSequence

FPS = 50.0
SUBSET_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
CAMERAS = ("54138969", "55011271", "58860488", "60457274")
SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")  # those with released poses and cameras


def sequence_path(root, subject: str, action: str) -> Path:
    """Path of ``<root>/<subject>/MyPoseFeatures/D3_Positions/<action>.cdf``; a one-line error names
    what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Human3.6M root {root} does not exist")
    folder = root / subject / "MyPoseFeatures" / "D3_Positions"
    if not folder.is_dir():
        raise FileNotFoundError(f"Human3.6M subject {subject} not found: no folder {folder}")
    path = folder / f"{action}.cdf"
    if not path.is_file():
        raise FileNotFoundError(f"Human3.6M sequence {subject}/{action} not found: no file {path}")
    return path


def video_path(root, subject: str, action: str, camera_id: str) -> Path:
    """``<root>/<subject>/Videos/<action>.<camera_id>.mp4``: where the release puts the video of a
    sequence (50 fps, frame for frame with its D3_Positions file), whether or not it is there."""
    return Path(root) / subject / "Videos" / f"{action}.{camera_id}.mp4"


def read_positions(path, *, fps: float = 25.0) -> MotionSequence:
    """The 17-joint positions (metres) of one D3_Positions file, resampled from 50 fps to ``fps``
    by keeping every (50 / fps)-th frame (25 fps: every second frame, as PhysCap's protocol)."""
    import cdflib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    step = FPS / fps
    if abs(step - round(step)) > 1e-9 or step < 1:
        raise ValueError(f"{path}: {fps} fps is not 50 fps divided by a whole number")
    try:
        pose = np.asarray(cdflib.CDF(str(path)).varget("Pose"), dtype=float)
    except Exception as err:  # cdflib raises several types for damaged files
        raise ValueError(f"{path}: not a readable Human3.6M CDF file ({err})") from err
    if pose.size % 96:
        raise ValueError(f"{path}: Pose has {pose.size} values, not a multiple of 32 joints x 3")
    joints = pose.reshape(-1, 32, 3)[:: int(round(step)), list(SUBSET_17)] / 1000.0
    return MotionSequence(path.stem, joints, fps, "h36m17", source={"file": str(path), "dataset": "human36m"})


def camera(subject: str, camera_id: str) -> Camera:
    """The calibrated camera ``camera_id`` (one of CAMERAS) of ``subject`` (one of SUBJECTS), with R
    and t in metres in the world frame of the subject's D3_Positions files (z up).

    Human3.6M stores a camera-to-world quaternion q [w, x, y, z] and the camera centre T (mm) with
    world_to_camera(X) = rotate(q^-1, X - T), so R = matrix(q)^T and t = -R T / 1000. Its distortion
    k [k1, k2, k3], p [p1, p2] becomes OpenCV's [k1, k2, p1, p2, k3]; Human3.6M's own projection code
    weights the tangential terms slightly differently (data/cameras/README.md: < 0.3 px in the image's
    central half, up to 1.4 px in the corners).
    """
    from scipy.spatial.transform import Rotation

    table = _camera_table()
    if subject not in table["extrinsics"]:
        raise ValueError(f"unknown Human3.6M subject {subject!r}; choose one of {', '.join(SUBJECTS)}")
    if camera_id not in table["intrinsics"]:
        raise ValueError(f"unknown Human3.6M camera {camera_id!r}; choose one of {', '.join(CAMERAS)}")
    intrinsics, extrinsics = table["intrinsics"][camera_id], table["extrinsics"][subject][camera_id]
    (fx, fy), (cx, cy) = intrinsics["focal_length"], intrinsics["center"]
    (k1, k2, k3), (p1, p2) = intrinsics["radial_distortion"], intrinsics["tangential_distortion"]
    R = Rotation.from_quat(extrinsics["orientation"], scalar_first=True).as_matrix().T
    t = -R @ (np.asarray(extrinsics["translation"], dtype=float) / 1000.0)
    width, height = intrinsics["size"]
    K = [[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]
    return Camera(camera_id, width, height, K, [k1, k2, p1, p2, k3], R, t)


@lru_cache(maxsize=1)
def _camera_table() -> dict:
    with open(data_dir() / "cameras" / "h36m.json") as f:
        return json.load(f)
