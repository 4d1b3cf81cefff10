"""AIST++ 3D keypoints (``keypoints3d/<sequence>.pkl``): COCO-17 joints, 60 fps, y up; units are
detected from the bone lengths (the release stores centimetres)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .sequence import Y_UP_TO_Z_UP, MotionSequence, detect_unit_scale

FPS = 60.0
# COCO-17 limb bones used for the unit check: hips-knees, knees-ankles, shoulders-elbows
_BONES = ((11, 13), (12, 14), (13, 15), (14, 16), (5, 7), (6, 8))


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
