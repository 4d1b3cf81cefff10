"""A camera and a metric 3D motion from one video's 2D keypoints and pelvis-centred 3D poses.

1. Intrinsics: those of a calibration (``--camera``), else focal length from ``--focal`` or a
   60 degree field of view across the frame's long side (a typical phone or webcam, whichever
   way it is held), principal point at the image centre, no lens distortion. A calibration's
   lens distortion is removed from the keypoints for the steps below.
2. Root translation per frame: the pelvis-centred pose (camera axes, metres) shifted by the t that
   best reprojects it onto the 2D keypoints (confidence-weighted linear least squares, the
   pinhole equations multiplied out). Its depth, poorly seen by one camera, is smoothed over a
   second (Savitzky-Golay, quadratic); x and y are then solved again at that depth.
3. Up direction, in camera axes: the mean body axis (ankles to thorax) over the frames; where the
   lower feet spread over the ground along a line, the up direction is made perpendicular to it
   and then tilted about that line until the left and right feet stand equally low (both stand
   on one ground; without this the far, occluded foot of a walker seen from the side stood 5 cm
   lower than the near one), and where they spread over an area, it is the normal of the plane
   they span.
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
# Spread (RMS, metres) of the lower-foot positions above which they fix a direction of the ground.
GROUND_SPREAD_M = 0.25
# Sideways distance (metres) between the feet above which their heights fix the ground's tilt.
FEET_APART_M = 0.08
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


def _interpolate(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    frames = np.arange(len(values))
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(frames, frames[seen], flat[seen, i]) for i in range(flat.shape[1])], 1)
    return out.reshape(values.shape)


def up_direction(camera_points: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(3,) unit up vector in camera axes from (T, 17, 3) camera-frame keypoints (see module)."""
    ankles = camera_points[:, [skeleton.INDEX[f] for f in skeleton.FEET]]
    axis = camera_points[seen, skeleton.INDEX["thorax"]] - ankles[seen].mean(axis=1)
    up = (axis / np.linalg.norm(axis, axis=1, keepdims=True)).mean(axis=0)
    up /= np.linalg.norm(up)
    # the lower foot of each frame (largest y is lowest while the camera is roughly upright)
    lower = ankles[seen, np.argmin(ankles[seen] @ up, axis=1)]
    centred = lower - lower.mean(axis=0)
    _, spread, directions = np.linalg.svd(centred, full_matrices=False)
    spread = spread / np.sqrt(len(lower))
    if spread[1] > GROUND_SPREAD_M:
        normal = directions[2]
        return normal * np.sign(normal @ up)
    if spread[0] > GROUND_SPREAD_M:
        along = directions[0]
        up = up - (up @ along) * along
        up /= np.linalg.norm(up)
        across = np.cross(up, along)
        low = np.percentile(ankles[seen] @ up, 5.0, axis=0)  # (2,) each foot's standing height
        side = np.median(ankles[seen] @ across, axis=0)  # (2,) each foot's sideways position
        if abs(side[0] - side[1]) > FEET_APART_M:
            up = up - (low[0] - low[1]) / (side[0] - side[1]) * across
    return up / np.linalg.norm(up)


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
