"""Semi-synthetic video: a known 3D motion seen through a virtual camera by a virtual detector.

``virtual_camera`` draws a camera from an integer: portrait (1080x1920) for even numbers,
landscape (1920x1080) for odd ones, focal length 800-2000 px, 2-8 m away (at least as far as
keeps the body in the frame), camera height 0.3-2.5 m (low and high viewpoints), any azimuth,
looking at the motion's mean pelvis.

``detections`` draws detector-like errors from (number, seed): per-joint pixel jitter (0.8 % of
the body's image height), a whole-body offset that drifts and now and then jumps by up to
``JUMP_PX`` (the largest frame-to-frame shift BlazePose made on the bundled clip), 3 % of frames
with no person, 5 % of joints unseen, confidences in [0.5, 1]. The detector's metric 3D
(pelvis-centred, camera axes) is the true pose scaled by a per-sequence factor in [0.92, 1.08],
with 2 cm of per-joint noise across the image and 4 cm along the depth.

The semi-synthetic video benchmark scores ``recon video`` on them against the known motion, and
the DiffPhy meta-training and test pools draw their video-style windows from them.
"""

from __future__ import annotations

import numpy as np

from .. import skeleton
from ..perception.cameras import Camera
from ..perception.people import Detection

JUMP_PX = 27.0


def virtual_camera(number: int, world: np.ndarray) -> Camera:
    """Camera ``number`` (module doc) for the (T, 17, 3) motion ``world`` (z up)."""
    rng = np.random.default_rng([number, 2026])
    width, height = (1080, 1920) if number % 2 == 0 else (1920, 1080)
    focal = rng.uniform(800.0, 2000.0)
    extent = np.ptp(world.reshape(-1, 3), axis=0)  # the motion's box, metres
    body = max(extent[2], 0.5 * max(extent[0], extent[1])) + 0.3
    closest = focal * body / (0.8 * min(width, height) if width > height else 0.8 * height)
    distance = rng.uniform(max(2.0, closest), max(8.0, closest + 1.0))
    target = world[:, skeleton.ROOT].mean(axis=0)
    azimuth = rng.uniform(0.0, 2 * np.pi)
    camera_height = rng.uniform(0.3, 2.5)
    flat = np.sqrt(max(distance**2 - (camera_height - target[2]) ** 2, 1.0))
    eye = target + np.array([flat * np.cos(azimuth), flat * np.sin(azimuth), camera_height - target[2]])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    R = np.stack([right, np.cross(forward, right), forward])
    K = [[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]]
    return Camera(f"virtual_{number}", width, height, K, np.zeros(5), R, -R @ eye)


def detections(world: np.ndarray, camera: Camera, seed: int, number: int) -> tuple[list, dict]:
    """Per-frame detections (``Detection`` lists, as a keypoints file gives them) of ``world``
    seen by ``camera`` with detector-like errors drawn from (``number``, ``seed``) (module doc),
    and what was drawn."""
    rng = np.random.default_rng([number, seed, 7])
    frames = len(world)
    pixels = camera.project(world)
    body_px = np.median(np.ptp(pixels[..., 1], axis=1))
    offset, offsets = np.zeros(2), []
    for _ in range(frames):  # a slow drift with occasional jumps
        offset = 0.8 * offset + rng.normal(0.0, 1.5, 2)
        if rng.random() < 0.08:
            size = rng.uniform(0.4, 1.0) * JUMP_PX
            angle = rng.uniform(0.0, 2 * np.pi)
            offset = offset + size * np.array([np.cos(angle), np.sin(angle)])
        offsets.append(offset.copy())
    noisy = pixels + np.array(offsets)[:, None] + rng.normal(0.0, 0.008 * body_px, pixels.shape)
    confidence = rng.uniform(0.5, 1.0, world.shape[:2])
    confidence[rng.random(world.shape[:2]) < 0.05] = 0.0
    missing = rng.random(frames) < 0.03
    missing[[0, -1]] = False  # the person is seen from the first to the last frame
    scale = rng.uniform(0.92, 1.08)
    camera_points = camera.world_to_camera(world)
    poses = scale * (camera_points - camera_points[:, skeleton.ROOT : skeleton.ROOT + 1])
    poses = poses + rng.normal(0.0, 1.0, poses.shape) * np.array([0.02, 0.02, 0.04])
    people = []
    for t in range(frames):
        seen = confidence[t] > 0
        if missing[t] or seen.sum() < 6:
            people.append([])
            continue
        people.append([Detection(np.where(seen[:, None], noisy[t], np.nan), confidence[t], poses[t])])
    drawn = {"body_px": float(body_px), "detector_scale": float(scale), "frames_missing": int(missing.sum()),
             "joints_unseen_pct": float(100.0 * np.mean(confidence == 0.0))}  # fmt: skip
    return people, drawn
