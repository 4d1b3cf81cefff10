"""Overlay videos of a result, written as H.264 with PyAV: the simulated body (pyrender capsule
meshes) drawn over the video frames through the result's camera, with the observed 2D keypoints
and their skeleton on top, optionally beside a second view of the 3D scene (floor, contacts)
from a camera that follows the body; a result with no video (mocap) gets the 3D view alone.

The result's motion (its own frame rate) is interpolated to the video's frames.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.ndimage import uniform_filter1d

from motion_recon import skeleton
from motion_recon.io import atomic_path
from motion_recon.perception.video_io import probe_video, read_frames
from motion_recon.result_file import MotionResult

from .render import SceneRenderer, ViewCamera, composite, side_camera
from .scene import body_scene

BONES = tuple((joint, parent) for joint, parent in enumerate(skeleton.PARENTS) if parent >= 0)
OBSERVED_RGB = (255, 150, 30)
SEEN_CONFIDENCE = 0.3
SCENE_SIZE = (960, 720)  # the 3D view alone (no video)
SCENE_BACKGROUND = (38, 42, 48)
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


def draw_skeleton(image: np.ndarray, points: np.ndarray, color, thickness: int, seen=None) -> None:
    """Draws the 17-joint skeleton ``points`` (17, 2) pixels onto ``image`` in place; bones with
    an unseen or non-finite end are left out."""
    import cv2

    seen = np.isfinite(points).all(axis=-1) if seen is None else seen & np.isfinite(points).all(axis=-1)
    for joint, parent in BONES:
        if seen[joint] and seen[parent]:
            a, b = (tuple(int(round(v)) for v in points[i]) for i in (joint, parent))
            cv2.line(image, a, b, color, thickness, cv2.LINE_AA)
    for joint in np.flatnonzero(seen):
        cv2.circle(image, tuple(int(round(v)) for v in points[joint]), thickness + 1, color, -1, cv2.LINE_AA)


def result_video(result: MotionResult) -> tuple[Path | None, int]:
    """The video a result was reconstructed from (when its file is still there) and the index
    of the video frame the result starts at."""
    source = result.provenance.get("input") or {}
    path = Path(source["file"]) if isinstance(source, dict) and source.get("file") else None
    if path is None or path.suffix.lower() not in VIDEO_SUFFIXES or not path.is_file():
        return None, 0
    return path, int((source.get("frames") or [0])[0])


def write_overlay(path, result: MotionResult, video=None, first: int = 0, side_view: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> int:  # fmt: skip
    """Writes the overlay video of ``result`` to ``path`` (.mp4) through a temporary file:
    over ``video``'s frames from index ``first`` on, or the 3D view alone when ``video`` is None;
    returns the number of frames written."""
    import av

    scene = body_scene(result)
    if video is not None:
        if result.camera is None:
            raise ValueError(f"{result.name}: the result has no camera to draw it over {video}")
        info = probe_video(video)
        count = min(info.frames - first, int(round(scene.frames / scene.fps * info.fps)))
        if count <= 0:
            raise ValueError(f"{video}: has {info.frames} frames, the result starts at frame {first}")
        fps, (width, height) = info.fps, (info.width, info.height)
    else:
        fps, (width, height), count = scene.fps, SCENE_SIZE, scene.frames
    seconds = np.arange(count) / fps
    scene = scene.at_times(seconds)
    renderer = SceneRenderer(scene)
    pelvis = uniform_filter1d(scene.position[:, 0, :2], size=max(1, int(fps)), axis=0, mode="nearest")
    view_from = _side_direction(result.camera if video is not None else None, pelvis.mean(axis=0))
    observed, seen = _observed_2d(result, seconds) if video is not None else (None, None)
    thickness = max(2, round(height / 240))
    panel = (height, height) if video is not None else (width, height)
    frames = read_frames(video, first, first + count) if video is not None else None
    out_width = (width if video is not None else 0) + (panel[0] if side_view or video is None else 0)
    out_width, out_height = out_width - out_width % 2, height - height % 2
    try:
        with atomic_path(Path(path)) as tmp, av.open(str(tmp), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = out_width, out_height, "yuv420p"
            stream.options = {"crf": "20", "preset": "veryfast"}
            for t in range(count):
                parts = []
                if video is not None:
                    rgb = next(frames)
                    image = composite(rgb, renderer.render(t, ViewCamera.from_result(result.camera), floor=False))
                    draw_skeleton(image, observed[t], OBSERVED_RGB, max(1, thickness // 2), seen[t])
                    parts.append(image)
                if side_view or video is None:
                    camera = side_camera(pelvis[t], *panel, view_from, scene.ground)
                    background = np.full((panel[1], panel[0], 3), SCENE_BACKGROUND, np.uint8)
                    parts.append(composite(background, renderer.render(t, camera), opacity=1.0))
                image = np.ascontiguousarray(np.hstack(parts)[:out_height, :out_width])
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                if progress is not None:
                    progress(t + 1, count)
            container.mux(stream.encode())
    finally:
        renderer.close()
    return count


def _observed_2d(result: MotionResult, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The observed 2D keypoints (N, 17, 2) at ``seconds`` and whether each was seen (N, 17)."""
    if result.observed2d is None:
        return np.full((len(seconds), skeleton.NUM_JOINTS, 2), np.nan), np.zeros((len(seconds), skeleton.NUM_JOINTS), bool)
    times = np.arange(len(result.observed2d)) / result.fps
    points = np.asarray(result.observed2d, float).reshape(len(times), -1)
    confidence = np.ones(points.shape[:1] + (skeleton.NUM_JOINTS,)) if result.confidence2d is None else result.confidence2d
    moved = np.stack([np.interp(seconds, times, column) for column in points.T], -1)
    seen = np.stack([np.interp(seconds, times, column) for column in np.asarray(confidence, float).T], -1)
    return moved.reshape(len(seconds), -1, 2), seen >= SEEN_CONFIDENCE


def _side_direction(camera: dict | None, body) -> np.ndarray:
    """Where the 3D view looks from: 60 degrees around the body from the video camera (so it
    shows the depth the video cannot), or from the front-left for a result with no camera."""
    if camera is None:
        return np.array([1.0, -1.0])
    R, t = np.asarray(camera["R"], float), np.asarray(camera["t"], float)
    towards_camera = (-R.T @ t)[:2] - body
    angle = np.radians(60.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return rotation @ (towards_camera / np.linalg.norm(towards_camera))
