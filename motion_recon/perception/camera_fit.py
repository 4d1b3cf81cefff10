"""A camera and a metric 3D motion from one video's 2D keypoints and pelvis-centred 3D poses.

1. Intrinsics: those of a calibration (``--camera``), else focal length from ``--focal``, or
   ``estimate_focal`` (the focal length whose perspective best fits the metric 3D poses to the
   2D keypoints), or a 60 degree field of view across the frame's long side (a typical phone or
   webcam, whichever way it is held); principal point at the image centre, no lens distortion.
   A calibration's lens distortion is removed from the keypoints for the steps below.
2. Root translation per frame: the pelvis-centred pose (camera axes, metres) shifted by the t that
   best reprojects it onto the 2D keypoints (confidence-weighted linear least squares, the
   pinhole equations multiplied out). Its depth, poorly seen by one camera, is smoothed over a
   second (Savitzky-Golay, quadratic); x and y are then solved again at that depth.
3. Up direction, in camera axes: the unit vector that best fits three pieces of evidence, by
   least squares in its tilt: (a) the mean body axis (ankles to thorax), within about 10 degrees
   (a leaning dancer or runner tilts it by 10-20); (b) the ankles near the ground, which stand at
   one height (within about 10 cm; ankles more than 10 cm above the lowest tenth of all ankle
   heights are taken to be in the air, and the selection is redone as the estimate moves); (c) a
   person who travels does so along the ground: the pelvis's main direction of travel, where it
   spreads more than 25 cm, is level within about 5 cm over the whole sequence.
4. World frame (z up, metres): x along the camera's x on the ground plane, origin on the ground
   below the first seen pelvis; the ground is where the lowest ankles stand, less an ankle height.
   A calibration with extrinsics replaces steps 3 and 4: its world frame is used (z up, ground
   at z = 0), once its up direction is checked against the body's.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from motion_recon import skeleton
from motion_recon.perception.calibration import Calibration
from motion_recon.perception.cameras import Camera, undistort_pixels

DEFAULT_FOV_DEG = 60.0  # across the frame's long side
# Up direction (``up_direction``): how far each piece of evidence may be off, one standard
# deviation, chosen on the semi-synthetic tuning sequences (walk, dance, two synthetic motions;
# seeds 0-4: mean error of the up direction 6.2 -> 3.4 degrees, worst 20.8 -> 7.8).
# benchmarks/camera_fit.py (seeds 0-2) gives 3.2 (worst 7.8) there and 5.9 (14.6) on the other
# ten sequences, where the plane through the lower feet of before gave 11.6 (85: a spin kick's
# raised foot had been fitted as the ground).
BODY_AXIS_DEG = 10.0
STANCE_HEIGHT_M = 0.1
STANCE_BAND_M = 0.1  # ankles farther than this from the lowest tenth of ankle heights: in the air (or outliers)
TRAVEL_LEVEL_M = 0.05
TRAVEL_SPREAD_M = 0.25  # RMS spread of the pelvis along its main direction that counts as travel
UP_ITERATIONS = 10
# Focal length estimate (``estimate_focal``): candidates from 0.22x to 4.5x the default, and a
# log-normal prior about the default of this standard deviation, chosen on the semi-synthetic
# tuning sequences (seeds 0-2; benchmarks/camera_fit.py):
# median |log(estimate / true)| 0.23 (default) -> 0.06 there, 0.16 -> 0.08 on the other ten
# (worst 0.47 -> 0.27). Detections whose 3D was lifted from 2D at an assumed focal cannot tell.
FOCAL_LOG_RANGE = 1.5
FOCAL_PRIOR_LOG_SD = 0.5
DEPTH_SMOOTHING_S = 1.0  # Savitzky-Golay window of the root depth, seconds
ANKLE_HEIGHT_M = 0.08  # ankle joint above the sole, before the body is fitted
# a calibration's world z this far (degrees) from the body's mean up direction is not "up"
MAX_UP_DISAGREEMENT_DEG = 30.0
SEEN_CONFIDENCE = 0.3


def intrinsics(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """(3, 3) pinhole matrix: ``focal`` pixels (default: a 60 degree field of view across the
    long side), principal point at the image centre."""
    if focal is None:
        focal = 0.5 * max(width, height) / np.tan(np.radians(DEFAULT_FOV_DEG) / 2)
    if not np.isfinite(focal) or focal <= 0:
        raise ValueError(f"focal length must be a positive number of pixels, got {focal}")
    return np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])


def root_translation(pose: np.ndarray, pixels: np.ndarray, confidence: np.ndarray, K: np.ndarray,
                     depth: float | None = None) -> np.ndarray:  # fmt: skip
    """(3,) camera-frame translation t with pinhole(pose + t) closest to ``pixels`` (at the given
    ``depth`` tz, when given).

    Per joint, u = cx + f (X + tx) / (Z + tz) becomes f tx - (u - cx) tz = (u - cx) Z - f X (and
    alike for v): linear in t, solved by weighted least squares.
    """
    f, cx, cy = K[0, 0], K[0, 2], K[1, 2]
    w = np.tile(np.sqrt(confidence), 2)
    du, dv = pixels[:, 0] - cx, pixels[:, 1] - cy
    zeros, ones = np.zeros_like(du), np.full_like(du, f)
    rows = np.concatenate([np.stack([ones, zeros, -du], 1), np.stack([zeros, ones, -dv], 1)]) * w[:, None]
    rhs = np.concatenate([du * pose[:, 2] - f * pose[:, 0], dv * pose[:, 2] - f * pose[:, 1]]) * w
    if depth is None:
        return np.linalg.lstsq(rows, rhs, rcond=None)[0]
    xy = np.linalg.lstsq(rows[:, :2], rhs - rows[:, 2] * depth, rcond=None)[0]
    return np.array([xy[0], xy[1], depth])


def estimate_focal(pixels: np.ndarray, confidence: np.ndarray, poses: np.ndarray, width: int, height: int) -> float:
    """The focal length (px) that best fits (T, 17, 3) pelvis-centred metric ``poses`` (camera
    axes) to their (T, 17, 2) ``pixels``: per frame the best root translation at each candidate
    focal length, scored by the frames' confidence-weighted mean squared reprojection error as a
    likelihood with one independent error per frame, times a log-normal prior about the default
    (60 degrees across the long side). A body far from the camera shows little perspective and
    leaves the default; one within a few metres fixes the focal length to about 10 %."""
    default = intrinsics(width, height)[0, 0]
    valid = confidence >= SEEN_CONFIDENCE
    frames = np.flatnonzero((valid.sum(axis=1) >= 6) & np.isfinite(poses).all(axis=(1, 2)))
    if not len(frames):
        raise ValueError("no frame sees enough of the person (6 keypoints) to estimate the focal length")
    candidates = default * np.exp(np.linspace(-FOCAL_LOG_RANGE, FOCAL_LOG_RANGE, 61))
    scores = []
    for focal in candidates:
        K = intrinsics(width, height, focal)
        squared, weight = 0.0, 0.0
        for t in frames:
            v = valid[t]
            placed = poses[t, v] + root_translation(poses[t, v], pixels[t, v], confidence[t, v], K)
            projected = focal * placed[:, :2] / placed[:, 2:] + K[:2, 2]
            squared += np.sum(confidence[t, v] * np.sum((projected - pixels[t, v]) ** 2, axis=-1))
            weight += np.sum(confidence[t, v])
        prior = np.log(focal / default) ** 2 / (2 * FOCAL_PRIOR_LOG_SD**2)
        scores.append(0.5 * len(frames) * np.log(squared / weight) + prior)
    return float(candidates[int(np.argmin(scores))])


def _interpolate(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    frames = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(frames, frames[seen], flat[seen, i]) for i in range(flat.shape[1])], 1)
    return out.reshape(values.shape)


def up_direction(camera_points: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(3,) unit up vector in camera axes from (T, 17, 3) camera-frame keypoints of the ``seen``
    frames (see the module doc, step 3)."""
    points = camera_points[seen]
    ankles = points[:, [skeleton.INDEX[f] for f in skeleton.FEET]].reshape(-1, 3)
    axis = points[:, skeleton.INDEX["thorax"]] - ankles.reshape(len(points), 2, 3).mean(axis=1)
    body_axis = (axis / np.linalg.norm(axis, axis=1, keepdims=True)).mean(axis=0)
    body_axis /= np.linalg.norm(body_axis)
    pelvis = points[:, skeleton.ROOT] - points[:, skeleton.ROOT].mean(axis=0)
    _, spread, directions = np.linalg.svd(pelvis, full_matrices=False)
    travel = np.zeros((3, 3))
    if spread[0] / np.sqrt(len(pelvis)) > TRAVEL_SPREAD_M:  # sum of squared heights gained along the travel
        travel = spread[0] ** 2 * np.outer(directions[0], directions[0]) / TRAVEL_LEVEL_M**2
    prior = 1.0 / np.radians(BODY_AXIS_DEG) ** 2
    up = body_axis
    for _ in range(UP_ITERATIONS):
        heights = ankles @ up
        stance = ankles[np.abs(heights - np.percentile(heights, 10.0)) < STANCE_BAND_M]
        centred = stance - stance.mean(axis=0)
        evidence = centred.T @ centred / STANCE_HEIGHT_M**2 + travel
        # minimise (up + d)' evidence (up + d) + prior |up + d - body_axis|^2 over d in up's tangent plane
        tangent = np.eye(3) - np.outer(up, up)
        step = np.linalg.lstsq(tangent @ evidence @ tangent + prior * tangent,
                               -tangent @ (evidence @ up + prior * (up - body_axis)), rcond=None)[0]  # fmt: skip
        up = up + tangent @ step
        up /= np.linalg.norm(up)
    return up


def fit_camera(pixels: np.ndarray, confidence: np.ndarray, poses: np.ndarray, fps: float, width: int,
               height: int, focal: float | None = None, calibration: Calibration | None = None,
               ) -> tuple[Camera, np.ndarray]:  # fmt: skip
    """The camera and the (T, 17, 3) world keypoints (z up, metres) of a person seen in a video.

    Args:
      pixels: (T, 17, 2) keypoints, NaN where unseen.
      confidence: (T, 17), 0 where unseen.
      poses: (T, 17, 3) pelvis-centred metric poses in camera axes, NaN where unseen.
      calibration: the camera's calibration (``--camera``), if known; ``focal`` is then unused.
    Frames where the person is unseen get the linearly interpolated pose and translation.
    """
    if calibration is None:
        K, dist = intrinsics(width, height, focal), np.zeros(5)
    else:
        K, dist = calibration.camera.K, calibration.camera.dist
        pixels = undistort_pixels(pixels, K, dist)
    seen = (confidence >= SEEN_CONFIDENCE).sum(axis=1) >= 6
    seen &= np.isfinite(poses).all(axis=(1, 2))
    if not seen.any():
        raise ValueError("no frame sees enough of the person (6 keypoints) to place it")
    roots = np.zeros((len(pixels), 3))
    frames = np.flatnonzero(seen)
    valid = confidence >= SEEN_CONFIDENCE
    for t in frames:
        roots[t] = root_translation(poses[t, valid[t]], pixels[t, valid[t]], confidence[t, valid[t]], K)
    depth = _interpolate(roots[:, 2], seen)
    window = min(int(round(DEPTH_SMOOTHING_S * fps)), len(depth) - (len(depth) + 1) % 2) | 1
    if window >= 5:
        depth = savgol_filter(depth, window, 2)
    for t in frames:
        roots[t] = root_translation(poses[t, valid[t]], pixels[t, valid[t]], confidence[t, valid[t]], K, depth[t])
    roots = _interpolate(roots, seen)
    poses = _interpolate(np.nan_to_num(poses), seen)
    camera_points = poses + roots[:, None]
    up = up_direction(camera_points, seen)
    if calibration is not None and calibration.extrinsics:
        camera = calibration.camera
        world_up = camera.R[:, 2]  # the world z axis in camera axes
        angle = np.degrees(np.arccos(np.clip(world_up @ up, -1.0, 1.0)))
        if angle > MAX_UP_DISAGREEMENT_DEG:
            raise ValueError(f"camera {camera.name!r}: its world z axis is {angle:.0f} degrees from the body's up "
                             "direction; the extrinsics must have z up and the ground at z = 0")  # fmt: skip
        return camera, (camera_points - camera.t) @ camera.R
    x_axis = np.array([1.0, 0.0, 0.0]) - up[0] * up
    x_axis /= np.linalg.norm(x_axis)
    to_world = np.stack([x_axis, np.cross(up, x_axis), up])  # rows: world axes in camera coordinates
    ankles = camera_points[seen][:, [skeleton.INDEX[f] for f in skeleton.FEET]] @ up
    floor = np.percentile(ankles, 5.0) - ANKLE_HEIGHT_M
    first = camera_points[np.flatnonzero(seen)[0], skeleton.ROOT]
    origin = first - (first @ up - floor) * up  # on the ground below the first seen pelvis
    world = (camera_points - origin) @ to_world.T
    name = "video" if calibration is None else calibration.camera.name
    camera = Camera(name, width, height, K, dist, to_world.T, origin)
    return camera, world
