"""2D and metric 3D keypoints from images: MediaPipe's PoseLandmarker (BlazePose) with the model
bundle that ships in ``data/models`` (no network). MediaPipe is imported on first use; it comes
with the ``video`` extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_recon.paths import data_dir
from motion_recon.perception.people import Detection

MODEL_FILE = "pose_landmarker_full.task"
# People the landmarker looks for per frame: the chosen person plus others to tell apart.
MAX_PEOPLE = 4


def bundled_model() -> Path:
    """The shipped BlazePose (full) model bundle; see data/models/README.md."""
    path = data_dir() / "models" / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the bundled pose model is missing (see data/models/README.md)")
    return path


class PoseDetector:
    """BlazePose on a video's frames in order (MediaPipe's video mode tracks people between
    frames). Use as a context manager; call with an RGB frame and its time in milliseconds."""

    def __init__(self, model: Path | None = None, max_people: int = MAX_PEOPLE):
        try:
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError:
            raise ImportError("keypoint detection needs MediaPipe: pip install -e '.[video]'") from None
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model or bundled_model())),
            running_mode=vision.RunningMode.VIDEO, num_poses=max_people,
        )
        self._landmarker = vision.PoseLandmarker.create_from_options(options)

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc) -> None:
        self._landmarker.close()

    def __call__(self, rgb: np.ndarray, time_ms: int) -> list[Detection]:
        """The people in one (H, W, 3) uint8 RGB frame, mapped to the 17 joints; confidence is
        BlazePose's per-landmark visibility."""
        import mediapipe as mp

        height, width = rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        found = self._landmarker.detect_for_video(image, int(time_ms))
        people = []
        for landmarks, world in zip(found.pose_landmarks, found.pose_world_landmarks, strict=True):
            pixels = np.array([[p.x * width, p.y * height] for p in landmarks])
            visibility = np.array([p.visibility if p.visibility is not None else 1.0 for p in landmarks])
            metric = np.array([[p.x, p.y, p.z] for p in world])
            people.append(Detection.from_layout(pixels, visibility, "blazepose33", world=metric))
        return people
