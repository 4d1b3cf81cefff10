"""Overlay video: the input frames with the detected keypoints (thin, orange) and the simulated
motion projected through the fitted camera (thick, cyan), written as H.264 with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from body_models import skeleton
from motion_recon.datasets.sequence import resample
from motion_recon.io import atomic_path
from motion_recon.perception.cameras import Camera
from motion_recon.perception.video_io import probe_video, read_frames
from motion_recon.result_file import MotionResult

BONES = tuple((joint, parent) for joint, parent in enumerate(skeleton.PARENTS) if parent >= 0)
DETECTED_RGB = (255, 150, 30)
SIMULATED_RGB = (40, 220, 255)
SEEN_CONFIDENCE = 0.3


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


def write_overlay(path, video_path, first: int, detected: np.ndarray, confidence: np.ndarray,
                  result: MotionResult, progress: Callable[[int, int], None] | None = None) -> None:  # fmt: skip
    """Writes the overlay of video frames ``first``.. (one per row of ``detected`` (T, 17, 2) and
    ``confidence`` (T, 17)) and ``result``'s simulated motion to ``path`` (.mp4, H.264), through a
    temporary file."""
    import av

    video = probe_video(video_path)
    count = len(detected)
    simulated = Camera.from_dict(result.camera).project(np.asarray(result.simulated, float))
    simulated = resample(simulated, result.fps, video.fps)[:count]
    simulated = np.concatenate([simulated, np.full((count - len(simulated), 17, 2), np.nan)])
    width, height = video.width - video.width % 2, video.height - video.height % 2
    thickness = max(2, round(video.height / 240))
    with atomic_path(Path(path)) as tmp:
        with av.open(str(tmp), mode="w") as container:
            stream = container.add_stream("libx264", rate=Fraction(video.fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for t, rgb in enumerate(read_frames(video.path, first, first + count)):
                image = np.ascontiguousarray(rgb[:height, :width])
                draw_skeleton(image, detected[t], DETECTED_RGB, max(1, thickness // 2), confidence[t] >= SEEN_CONFIDENCE)
                draw_skeleton(image, simulated[t], SIMULATED_RGB, thickness)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
                if progress is not None:
                    progress(t + 1, count)
            container.mux(stream.encode())
