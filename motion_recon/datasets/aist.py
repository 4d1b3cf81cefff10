"""AIST++ 3D keypoints (``keypoints3d/<sequence>.pkl``): COCO-17 joints, 60 fps, y up; units are
detected from the bone lengths (the release stores centimetres). Cameras (``cameras/<setting>.json``,
one file per environment, ``cameras/mapping.txt`` maps sequences to environments) are in the same
world frame and units. Videos are ``videos/<sequence>.mp4``, one per camera (60 fps, frame for frame
with the keypoints)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from ..perception.cameras import Camera
from .sequence import Y_UP_TO_Z_UP, MotionSequence, detect_unit_scale, metre_scale

FPS = 60.0
# COCO-17 limb bones used for the unit check: hips-knees, knees-ankles, shoulders-elbows
_BONES = ((11, 13), (12, 14), (13, 15), (14, 16), (5, 7), (6, 8))


def all_cameras_name(sequence: str) -> str:
    """The name of a sequence's 3D keypoints file: its camera part (``c06``) made ``cAll``."""
    return "_".join("cAll" if _is_camera(part) else part for part in sequence.split("_"))


def camera_name(sequence: str) -> str:
    """The camera (``c01`` ... ``c09``) a sequence's name holds."""
    cameras = [part for part in sequence.split("_") if _is_camera(part)]
    if len(cameras) != 1:
        raise ValueError(f"AIST++ sequence {sequence!r} names no camera (a part c01 ... c09)")
    return cameras[0]


def _is_camera(part: str) -> bool:
    return part.startswith("c") and part[1:].isdigit()


def video_path(root, sequence: str) -> Path:
    """``<root>/videos/<sequence>.mp4`` (the name with its camera, ``..._c06_...``), whether or not
    it is there."""
    return Path(root) / "videos" / f"{sequence}.mp4"


def sequence_camera(root, sequence: str) -> Camera:
    """The calibrated camera of a sequence's video: ``<root>/cameras/mapping.txt`` names the
    recording setting of each sequence (lines ``<name with cAll> <setting>``), whose cameras are
    in ``<root>/cameras/<setting>.json`` (``read_cameras``). One-line errors name the file."""
    mapping = Path(root) / "cameras" / "mapping.txt"
    if not mapping.is_file():
        raise FileNotFoundError(f"{mapping}: no such file (it maps each sequence to its camera setting)")
    name = all_cameras_name(sequence)
    settings = dict(line.split()[:2] for line in mapping.read_text(errors="replace").splitlines() if len(line.split()) >= 2)
    if name not in settings:
        raise ValueError(f"{mapping}: no line for {name}")
    path = mapping.with_name(f"{settings[name]}.json")
    cameras = read_cameras(path)
    camera = camera_name(sequence)
    if camera not in cameras:
        raise ValueError(f"{path}: no camera {camera} (it has {', '.join(sorted(cameras))})")
    return cameras[camera]


def read_keypoints3d(path, *, optimized: bool = True) -> MotionSequence:
    """One AIST++ keypoints3d pickle (``keypoints3d_optim`` when ``optimized``), in metres, z up."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            content = pickle.load(f)
    except Exception as err:  # unpickling raises many types for foreign files
        raise ValueError(f"{path}: not a readable AIST++ keypoints3d pickle ({err})") from err
    key = "keypoints3d_optim" if optimized and "keypoints3d_optim" in content else "keypoints3d"
    if not isinstance(content, dict) or key not in content:
        raise ValueError(f"{path}: no 'keypoints3d' array in the pickle")
    points = np.asarray(content[key], dtype=float)
    if points.ndim != 3 or points.shape[1:] != (17, 3):
        raise ValueError(f"{path}: {key} must have shape (T, 17, 3), got {points.shape}")
    points = points * detect_unit_scale(points, _BONES) @ Y_UP_TO_Z_UP.T
    return MotionSequence(path.stem, points, FPS, "coco17", source={"file": str(path), "dataset": "aist++", "array": key})


def read_cameras(path, *, unit_scale: float | None = None) -> dict[str, Camera]:
    """The cameras of one AIST++ camera file, by name ("c01" ... "c09"), in our world (metres, z up).

    The file is a JSON list with one record per camera, as aniposelib's ``Camera.get_dict`` writes
    it: ``name``, ``size`` [width, height], ``matrix`` (3x3), ``distortions`` [k1, k2, p1, p2, k3],
    ``rotation`` (Rodrigues vector) and ``translation``, with ``X_cam = Rodrigues(rotation) X +
    translation`` in the y-up world of the keypoints (centimetres in the release). The world is
    turned z up and scaled exactly as ``read_keypoints3d`` does (X' = s Y_UP_TO_Z_UP X), so converted
    keypoints project to the same pixels: R' = R Y_UP_TO_Z_UP^T and t' = s t (a camera frame scaled
    by s projects to the same pixels).

    Args:
      path: the camera JSON file.
      unit_scale: metres per file unit (0.01 for centimetres); by default detected from the spread
        of the camera centres, which for a room of cameras lies between 1 and 10 m.
    Raises:
      FileNotFoundError: no such file. ValueError: not an AIST++ camera file (the message says why).
    """
    from scipy.spatial.transform import Rotation

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        records = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a JSON file ({err})") from err
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected a non-empty JSON list of camera records")
    keys = ("name", "size", "matrix", "distortions", "rotation", "translation")
    fields = {}
    for i, record in enumerate(records):
        missing = [key for key in keys if key not in record]
        if missing:
            raise ValueError(f"{path}: camera record {i} lacks {', '.join(missing)}")
        if record.get("fisheye"):
            raise ValueError(f"{path}: camera {record['name']!r} is a fisheye camera, which is not supported")
        name = str(record["name"])
        try:
            size = np.asarray(record["size"], dtype=float)
            arrays = [np.asarray(record[key], dtype=float) for key in keys[2:]]
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: camera {name!r} has non-numeric values ({err})") from err
        matrix, dist, rvec, tvec = arrays
        for what, array, shape in (("size", size, (2,)), ("matrix", matrix, (3, 3)), ("rotation", rvec, (3,)),
                                   ("translation", tvec, (3,))):  # fmt: skip
            if array.shape != shape:
                raise ValueError(f"{path}: camera {name!r}: {what} must have shape {shape}, got {array.shape}")
        if dist.shape not in ((4,), (5,)):
            raise ValueError(f"{path}: camera {name!r}: distortions must hold 4 or 5 values [k1, k2, p1, p2(, k3)], "
                             f"got shape {dist.shape}")  # fmt: skip
        if name in fields:
            raise ValueError(f"{path}: camera name {name!r} appears twice")
        fields[name] = (size, matrix, np.pad(dist, (0, 5 - len(dist))), Rotation.from_rotvec(rvec).as_matrix(), tvec)
    if unit_scale is None:
        centres = np.array([-R.T @ t for _, _, _, R, t in fields.values()])
        middle = centres.mean(axis=0) if len(centres) > 1 else np.zeros(3)  # one camera: the world origin
        spread = float(np.median(np.linalg.norm(centres - middle, axis=1)))
        unit_scale = metre_scale(spread, 1.0, 10.0, f"{path}: camera centres {spread:g} units from their middle")
    cameras = {}
    for name, (size, matrix, dist, R, tvec) in fields.items():
        try:
            cameras[name] = Camera(name, size[0], size[1], matrix, dist, R @ Y_UP_TO_Z_UP.T, unit_scale * tvec)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
    return cameras
