"""The video's own process: frames and per-frame detections are read in a spawned process
(``isolated``), never in the one that compiles with XLA.

This module imports neither JAX nor the body models, so the spawned process loads only what it
runs: a call costs about 0.7 s where it cost 6.5 s while the video flow's module (JAX, MuJoCo)
had to be imported there first (2 CPU cores, one busy).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

from motion_recon.perception.calibration import image_scale
from motion_recon.perception.video_io import VideoInfo, probe_video, read_frames

# A dataset's video whose frame rate is off its mocap's by more than this fraction is refused
FPS_TOLERANCE = 0.01


def isolated(fn, *args, progress: Callable[[int, int | None], None] | None = None):
    """``fn(*args, progress=...)`` in a spawned process, its progress reports relayed here.

    OpenCV, MediaPipe, PyAV and OpenGL never load into the process that compiles with XLA, whose
    memory mappings its compiled programs need (``motion_recon.compiled_programs``), and a crash
    in native video code cannot take a reconstruction down. Errors raised by ``fn`` are raised here.
    """
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(1, mp_context=context) as pool:
        reports = manager.Queue()
        future = pool.submit(_report_to, reports, fn, *args)
        while not (future.done() and reports.empty()):
            try:
                done, total = reports.get(timeout=0.1)
            except queue.Empty:
                continue
            if progress is not None:
                progress(done, total)
        return future.result()


def _report_to(reports, fn, *args):
    return fn(*args, progress=lambda done, total: reports.put((done, total)))


def frame_range(info: VideoInfo, start: float, end: float | None, max_frames: int | None) -> tuple[int, int]:
    """Video frames [first, stop) between ``start`` and ``end`` seconds, at most ``max_frames``."""
    if start < 0 or (end is not None and end <= start):
        raise ValueError(f"{info.path}: bad time range: start {start:g} s, end {end} s")
    first = int(round(start * info.fps))
    stop = info.frames if end is None else min(info.frames, int(round(end * info.fps)))
    if max_frames is not None:
        if max_frames < 1:
            raise ValueError(f"max frames must be at least 1, got {max_frames}")
        stop = min(stop, first + max_frames)
    if first >= stop:
        raise ValueError(f"{info.path}: no frames between {start:g} s and the end ({info.duration:.2f} s)")
    return first, stop


def detect_frames(info: VideoInfo, first: int, stop: int, progress: Callable[[int, int | None], None]) -> tuple:
    """The per-frame detections (``PoseDetector``) of video frames [first, stop) and the seconds
    spent decoding and detecting."""
    from motion_recon.perception.detector import PoseDetector

    frames, seconds = [], {"decode": 0.0, "detect": 0.0}
    with PoseDetector() as detector:
        clock = time.perf_counter()
        for index, rgb in enumerate(read_frames(info.path, first, stop), start=first):
            now = time.perf_counter()
            seconds["decode"] += now - clock
            frames.append(detector(rgb, round(index * 1000.0 / info.fps)))
            clock = time.perf_counter()
            seconds["detect"] += clock - now
            progress(len(frames), stop - first)
    return frames, seconds


def open_video(path: Path, start: float, end: float | None, max_frames: int | None, detect: bool,
               progress: Callable[[int, int | None], None]) -> tuple:  # fmt: skip
    """The video's ``VideoInfo``, its frames [first, stop) for the chosen times and, with
    ``detect``, their per-frame detections and the seconds spent decoding and detecting (run it
    through ``isolated``)."""
    info = probe_video(path)
    first, stop = frame_range(info, start, end, max_frames)
    if not detect:
        return info, first, stop, [], {"decode": 0.0, "detect": 0.0}
    frames, seconds = detect_frames(info, first, stop, progress)
    return info, first, stop, frames, seconds


def open_dataset_video(path: Path, camera: str, camera_size: tuple[int, int], fps: float, first: int, last: int,
                       progress: Callable[[int, int | None], None]) -> tuple:  # fmt: skip
    """A dataset's video (run it through ``isolated``): its ``VideoInfo``, the end ``stop`` of its
    frames [first, stop) up to ``last`` (inclusive), their detections and the seconds spent on them. A ValueError names the video when it is not the image of the
    ``camera`` calibrated for ``camera_size`` (width, height; another size or aspect ratio), not
    at the mocap's frame rate ``fps`` (the two are frame for frame), or ends before ``first``."""
    info = probe_video(path)
    try:
        image_scale(camera_size, info.width, info.height)
    except ValueError as error:
        raise ValueError(f"{path}: camera {camera!r} is {error}") from None
    if abs(info.fps - fps) > FPS_TOLERANCE * fps:
        raise ValueError(f"{path}: {info.fps:g} fps, but its mocap has {fps:g} fps (the two are frame for frame)")
    stop = min(last + 1, info.frames)
    if stop <= first:
        raise ValueError(f"{path}: {info.frames} frames, ends before frame {first} where the split starts")
    frames, seconds = detect_frames(info, first, stop, progress)
    return info, stop, frames, seconds
