"""The common result of every motion reader."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # +90 deg about x


@dataclass(frozen=True)
class MotionSequence:
    """3D joint positions of one recorded motion.

    keypoints (T, J, 3) metres, world frame, z up; ``layout`` names the joint order ("h36m17",
    "coco17" or "bvh", whose joint names are in ``joint_names``).
    """

    name: str
    keypoints: np.ndarray
    fps: float
    layout: str
    joint_names: tuple[str, ...] = ()
    source: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.keypoints.ndim != 3 or self.keypoints.shape[-1] != 3:
            raise ValueError(f"{self.name}: keypoints must have shape (T, J, 3), got {self.keypoints.shape}")

    def frames(self, start: int, stop: int) -> MotionSequence:
        """Frames [start, stop) of this sequence."""
        if not 0 <= start < stop <= len(self.keypoints):
            raise ValueError(f"{self.name}: frames {start}-{stop} outside 0-{len(self.keypoints)}")
        return MotionSequence(self.name, self.keypoints[start:stop], self.fps, self.layout, self.joint_names,
                              {**self.source, "frames": [start, stop]})  # fmt: skip

    def resampled(self, fps: float) -> MotionSequence:
        """This motion at ``fps`` frames per second, linearly interpolated in time (a frame rate
        that divides this one exactly keeps every n-th frame unchanged)."""
        if fps <= 0:
            raise ValueError(f"{self.name}: frame rate must be positive, got {fps}")
        if abs(fps - self.fps) < 1e-9:
            return self
        points = resample(self.keypoints, self.fps, fps)
        return MotionSequence(self.name, points, fps, self.layout, self.joint_names,
                              {**self.source, "resampled_from_fps": self.fps})  # fmt: skip


def resample(values, fps: float, new_fps: float) -> np.ndarray:
    """(T', ...) ``values`` (T, ...) sampled at ``fps`` linearly interpolated in time to ``new_fps``
    over the same duration (a rate that divides ``fps`` keeps every n-th frame unchanged, NaN
    included)."""
    values = np.asarray(values, float)
    duration = (len(values) - 1) / fps
    times = np.arange(0.0, duration + 1e-9, 1.0 / new_fps)
    position = times * fps
    before = np.minimum(np.floor(position + 1e-9).astype(int), len(values) - 1)
    after = np.minimum(before + 1, len(values) - 1)
    weight = np.clip(position - before, 0.0, 1.0).reshape((-1,) + (1,) * (values.ndim - 1))
    blended = (1.0 - weight) * values[before] + weight * values[after]
    return np.where(weight == 0.0, values[before], blended)  # NaN-free where no blend is needed


def detect_unit_scale(positions, bone_pairs) -> float:
    """The factor (1, 0.01 or 0.001) that turns ``positions`` into metres, from the median length of
    the given (joint, joint) bones, which for a person are 0.2-0.6 m long (thighs, shins, arms)."""
    positions = np.asarray(positions, dtype=float)
    lengths = [np.linalg.norm(positions[:, a] - positions[:, b], axis=-1) for a, b in bone_pairs]
    median = float(np.nanmedian(np.concatenate(lengths)))
    return metre_scale(median, 0.1, 1.0, f"bone lengths of median {median:g}")


def metre_scale(size: float, low: float, high: float, what: str) -> float:
    """1, 0.01 or 0.001: the unit factor that puts ``size`` between ``low`` and ``high`` metres."""
    for scale in (1.0, 0.01, 0.001):
        if low <= size * scale <= high:
            return scale
    raise ValueError(f"{what} fit neither metres, centimetres nor millimetres")
