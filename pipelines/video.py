"""The video flow: frames -> 2D keypoints (BlazePose, or a keypoints file) -> the chosen person
(left-right swaps undone) -> camera and metric 3D -> DiffPhy with the reprojection term -> result
file (and overlay video)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from body_models.fit import Initialisation, initialise
from motion_recon.datasets import MotionSequence
from motion_recon.metrics import foot_skate, mpjpe_2d, total_variation
from motion_recon.perception.calibration import Calibration, calibration_file, read_calibration
from motion_recon.perception.camera_fit import estimate_focal, fit_camera, intrinsics
from motion_recon.perception.cameras import Camera, undistort_pixels
from motion_recon.perception.filtering import smooth_track
from motion_recon.perception.keypoint_files import read_keypoints
from motion_recon.perception.left_right import LIMBS, unswap
from motion_recon.perception.people import PersonTrack, select_person
from motion_recon.perception.video_io import VideoInfo
from motion_recon.result_file import MotionResult
from pipelines.configs import VideoConfig
from pipelines.mocap import ImageObservations, planted_feet, reconstruct_motion
from pipelines.video_process import isolated, open_video

STAGES = ("decode", "detect", "initialise", "optimize")


# stage name, items done, items in all (None while unknown)
Progress = Callable[[str, int, int | None], None]


@dataclass
class VideoRun:
    """A reconstruction from video: the result, the chosen person's track (video frames
    ``first``..``first + len - 1``), the kinematic baseline's metrics, seconds per stage and
    warnings (also in the result's provenance)."""

    result: MotionResult
    track: PersonTrack
    first: int
    kinematic: dict[str, float]
    stage_s: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def render_overlay(path, video: Path, run: VideoRun, progress: Callable[[int, int | None], None] | None = None) -> float:
    """Writes ``run``'s overlay video (``viewer.overlay``) in a separate process; its seconds."""
    from viewer.overlay import write_overlay

    clock = time.perf_counter()
    isolated(write_overlay, Path(path), run.result, Path(video), run.first, progress=progress)
    run.stage_s["render"] = time.perf_counter() - clock
    return run.stage_s["render"]


def keypoint_file_people(path: Path, frames: list, first: int, stop: int) -> list:
    """Per-frame detections of video frames [first, stop) from the ``frames`` of the keypoints
    file ``path`` (``read_keypoints``), which must cover them."""
    if len(frames) < stop:
        raise ValueError(f"{path}: has {len(frames)} frames, the video's frames {first}-{stop - 1} need {stop}")
    return frames[first:stop]


def person_span(track: PersonTrack) -> tuple[int, int]:
    """Frames [first, stop) from the first to the last frame the person is seen in."""
    seen = np.flatnonzero(track.found)
    return int(seen[0]), int(seen[-1]) + 1


def trimmed(track: PersonTrack, first: int, stop: int) -> PersonTrack:
    world = None if track.world is None else track.world[first:stop]
    return replace(track, keypoints=track.keypoints[first:stop], confidence=track.confidence[first:stop], world=world)


def kinematic_metrics(result: MotionResult) -> dict[str, float]:
    """MPJPE-2d, TV and foot skate of the kinematic baseline: the lifted detections, no physics
    (foot skate against the feet the video shows planted, as for the physics result)."""
    from motion_recon.perception.cameras import Camera

    lifted = np.asarray(result.observed3d, float)
    camera = Camera.from_dict(result.camera)
    contact = planted_feet(camera, lifted, result.observed2d, result.confidence2d)
    return {"mpjpe_2d": mpjpe_2d(camera.project(lifted), result.observed2d, result.confidence2d),
            "tv": total_variation(lifted), "foot_skate": foot_skate(lifted, contact=contact)}  # fmt: skip


def reconstruct_video(path, config: VideoConfig = VideoConfig(), progress: Progress | None = None) -> VideoRun:
    """Reconstructs the chosen person of a video in physical simulation (see the module doc)."""
    progress = progress or (lambda stage, done, total: None)
    path = Path(path)
    if not path.is_file():  # the inputs are checked before the video process starts (seconds)
        raise FileNotFoundError(f"{path}: no such file")
    if config.camera is not None:
        calibration_file(config.camera)
    clock = time.perf_counter()
    file_frames = None if config.keypoints is None else read_keypoints(Path(config.keypoints))
    read_s = time.perf_counter() - clock
    info, first, stop, frames, stage_s = isolated(open_video, path, config.start, config.end, config.max_frames,
                                                  file_frames is None,
                                                  progress=lambda done, total: progress("detect", done, total))  # fmt: skip
    label = str(path)
    if file_frames is not None:
        frames, label = keypoint_file_people(Path(config.keypoints), file_frames, first, stop), str(config.keypoints)
        stage_s["detect"] = read_s
    return reconstruct_detections(frames, info, first, config, label, stage_s, progress)


@dataclass
class VideoObservations:
    """What ``recon video`` optimizes against, before any simulation: the chosen person's track
    (video frames ``first``...), the fitted camera, the lifted motion in its world frame (a
    ``MotionSequence``), the kinematic initialisation, and warnings."""

    track: PersonTrack
    first: int
    camera: Camera
    sequence: MotionSequence
    init: Initialisation
    warnings: list[str]

    def image(self, config: VideoConfig) -> ImageObservations:
        """The track's 2D keypoints as the loss's image observations."""
        return ImageObservations(self.camera, self.track.keypoints, self.track.confidence, config.planted_median_frames)


def observe_detections(frames: list, info: VideoInfo, first: int, config: VideoConfig, label: str,
                       calibration: Calibration | None = None) -> VideoObservations:  # fmt: skip
    """The chosen person of per-frame detections (video frames ``first``...) of the video
    ``info``, lifted to 3D and placed in the world by the camera fit (``label`` names the
    detections' source in messages; ``calibration``: the camera when the caller has it already,
    in place of ``config.camera``'s file)."""
    if calibration is None and config.camera is not None:
        calibration = read_calibration(config.camera, info.width, info.height)
    camera_source = config.camera if config.camera is not None or calibration is None else calibration.camera.name
    source = {"file": str(info.path), "keypoints": None if config.keypoints is None else str(config.keypoints),
              "camera": camera_source}  # fmt: skip
    track = select_person(frames, config.person_index, info.fps, info.width, info.height, source, label)
    stop = first + len(frames)
    warnings = []
    seen_first, seen_stop = person_span(track)
    if (seen_first, seen_stop) != (0, len(frames)):
        warnings.append(f"person {config.person_index} seen only in video frames {first + seen_first}-"
                        f"{first + seen_stop - 1} of {first}-{stop - 1}: reconstructing those")  # fmt: skip
        track, first = trimmed(track, seen_first, seen_stop), first + seen_first
    keypoints, confidence, world, swapped = unswap(track.keypoints, track.confidence, track.world)
    if swapped.any():
        counts = ", ".join(f"{limb} in {n}" for limb, n in zip(LIMBS, swapped.sum(axis=0)) if n)
        warnings.append(f"left-right swaps of the detections undone: {counts} frames")
        track = replace(track, keypoints=keypoints, confidence=confidence, world=world)
    if config.smoothing:
        track = smooth_track(track)
    unseen = int((~track.found).sum())
    if unseen:
        warnings.append(f"person {config.person_index} not seen in {unseen} of {len(track.found)} frames: "
                        "bridged by interpolation, without 2D weight (observations/confidence2d is 0 there)")  # fmt: skip
    focal = config.focal
    if calibration is None and focal is None and config.estimate_focal and track.world is not None:
        focal = estimate_focal(track.keypoints, track.confidence, track.world, info.width, info.height)
        warnings.append(f"focal length estimated from the body's perspective: {focal:.0f} px; --focal or --camera "
                        "give the true one")  # fmt: skip
    elif calibration is None and focal is None:
        warnings.append(f"focal length assumed: {intrinsics(info.width, info.height)[0, 0]:.0f} px (60 degrees across "
                        "the long side" + ("; 2D-only keypoints cannot tell it" if config.estimate_focal else "")
                        + "); --focal or --camera give the true one")  # fmt: skip
    poses = track.world
    if poses is None:  # 2D-only keypoints
        from motion_recon.perception.lifting import lift_poses

        if calibration is None:
            poses = lift_poses(track.keypoints, track.confidence, intrinsics(info.width, info.height, focal))
        else:
            K, dist = calibration.camera.K, calibration.camera.dist
            poses = lift_poses(undistort_pixels(track.keypoints, K, dist), track.confidence, K)
    camera, world = fit_camera(track.keypoints, track.confidence, poses, info.fps, info.width, info.height,
                               focal, calibration)  # fmt: skip
    sequence = MotionSequence(Path(info.path).stem, world, info.fps, "h36m17",
                              source={**track.source, "frames": [first, first + len(world)]})  # fmt: skip
    init = initialise(sequence, config.mocap().loss.window, velocity_half_width=config.velocity_half_width,
                      feedforward=config.feedforward)
    return VideoObservations(track, first, camera, sequence, init, warnings)


def reconstruct_detections(frames: list, info: VideoInfo, first: int, config: VideoConfig, label: str,
                           stage_s: dict[str, float] | None = None, progress: Progress | None = None,
                           calibration: Calibration | None = None) -> VideoRun:  # fmt: skip
    """Reconstructs the chosen person of per-frame detections (``observe_detections``) in
    physical simulation."""
    progress = progress or (lambda stage, done, total: None)
    stage_s = dict(stage_s or {})
    clock = time.perf_counter()
    progress("initialise", 0, 1)
    seen = observe_detections(frames, info, first, config, label, calibration)
    stage_s["initialise"] = time.perf_counter() - clock
    progress("initialise", 1, 1)
    clock = time.perf_counter()
    result = reconstruct_motion(seen.sequence, config.mocap(), image=seen.image(config), init=seen.init,
                                progress=lambda done, total: progress("optimize", done, total))  # fmt: skip
    stage_s["optimize"] = time.perf_counter() - clock
    result.optimization["velocity_half_width"] = config.velocity_half_width
    result.provenance["warnings"] = seen.warnings
    result.provenance["stage_s"] = dict(stage_s)
    return VideoRun(result, seen.track, seen.first, kinematic_metrics(result), stage_s, seen.warnings)
