"""Human3.6M 3D joint positions (``S*/MyPoseFeatures/D3_Positions/*.cdf``, variable ``Pose``):
32 joints in millimetres, world frame (z up), 50 fps; the common 17-joint subset is kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .sequence import MotionSequence

FPS = 50.0
SUBSET_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


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
