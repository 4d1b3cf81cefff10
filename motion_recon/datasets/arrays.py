"""Plain arrays: an ``.npz`` with ``keypoints`` (T, 17, 3) in metres, z up, in the 17-joint
Human3.6M order, and an optional ``fps`` (default 25)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .sequence import MotionSequence


def read_npz(path, *, fps: float | None = None) -> MotionSequence:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):  # else numpy reads it as a pickle and suggests loading it unsafely
        raise ValueError(f"{path}: not a readable .npz file (not a zip archive of arrays: truncated, or another format?)")
    try:
        content = np.load(path)
    except Exception as err:  # numpy raises several types for foreign files
        raise ValueError(f"{path}: not a readable .npz file ({err})") from err
    if "keypoints" not in content:
        raise ValueError(f"{path}: no 'keypoints' array (found {', '.join(content.files) or 'none'})")
    keypoints = np.asarray(content["keypoints"], dtype=float)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (17, 3):
        raise ValueError(f"{path}: keypoints must have shape (T, 17, 3), got {keypoints.shape}")
    if np.isnan(keypoints).all(axis=(1, 2)).any():
        raise ValueError(f"{path}: some frames have no keypoints (all NaN)")
    rate = fps if fps is not None else float(content["fps"]) if "fps" in content else 25.0
    return MotionSequence(path.stem, keypoints, rate, "h36m17", source={"file": str(path)})
