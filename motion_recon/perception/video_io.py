"""Reading video files (OpenCV, imported on first use: it comes with the ``video`` extra)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """A video's frame rate, frame count and frame size (pixels)."""

    path: Path
    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def _cv2():
    # FFmpeg's own log lines ("moov atom not found") would come before our one-line errors;
    # OPENCV_FFMPEG_LOGLEVEL set by the user (e.g. 24, warnings) shows them again
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        import cv2
    except ImportError:
        raise ImportError("reading video needs OpenCV: pip install -e '.[video]'") from None
    return cv2


def _open(path: Path):
    cv2 = _cv2()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: not a readable video")
    return capture


def probe_video(path) -> VideoInfo:
    """Frame rate, count and size of ``path``; one-line errors for a missing file, a file that is
    not a video, and a video without frames. Frames are counted by decoding when the container
    does not say."""
    cv2 = _cv2()
    path = Path(path)
    capture = _open(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, _ = capture.read()
        if not ok or width <= 0 or height <= 0:
            raise ValueError(f"{path}: the video has no frames")
        if frames <= 0:
            frames = 1
            while capture.grab():
                frames += 1
    finally:
        capture.release()
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"{path}: the video has no frame rate")
    return VideoInfo(path, float(fps), frames, width, height)


def read_frames(path, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
    """RGB frames (H, W, 3) uint8 of ``path`` from index ``start`` up to ``stop`` (exclusive)."""
    cv2 = _cv2()
    capture = _open(Path(path))
    try:
        if start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        index = start
        while stop is None or index < stop:
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
