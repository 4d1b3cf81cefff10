"""Body shape: bone lengths and foot size of one subject, from keypoints or from a height.

The rest pose is standing upright, facing +x, left towards +y, arms hanging (world z-up). A
shape stores each joint's rest offset from its parent; only bone *lengths* come from data, the
rest directions are the canonical ones (``motion_recon.skeleton.REST_DIRECTIONS``), so a shape is
left/right symmetric by design.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_recon.skeleton import INDEX, JOINTS, MIRROR, NUM_JOINTS, PARENTS, REST_DIRECTIONS, average_bone_lengths

# Ankle height and foot length as fractions of standing height (the proportions of
# ``motion_recon.skeleton.HEIGHT_FRACTIONS``).
ANKLE_HEIGHT_FRACTION = 0.039
FOOT_LENGTH_FRACTION = 0.152


@dataclass(frozen=True)
class BodyShape:
    """Bone lengths (metres, per non-root joint: distance to its parent) and foot dimensions."""

    bone_lengths: tuple[float, ...]  # (17,), 0 for the root
    ankle_height: float
    foot_length: float

    def __post_init__(self):
        lengths = np.asarray(self.bone_lengths, dtype=float)
        if lengths.shape != (NUM_JOINTS,) or not np.all(np.isfinite(lengths)) or np.any(lengths[1:] <= 0):
            raise ValueError(f"bone lengths must be 17 positive numbers, got {self.bone_lengths}")

    @property
    def rest_offsets(self) -> np.ndarray:
        """(17, 3) offset of each joint from its parent in the rest pose (zero for the root)."""
        offsets = np.zeros((NUM_JOINTS, 3))
        for j in range(1, NUM_JOINTS):
            offsets[j] = self.bone_lengths[j] * REST_DIRECTIONS[JOINTS[j]]
        return offsets

    @property
    def rest_keypoints(self) -> np.ndarray:
        """(17, 3) keypoints of the rest pose with the feet's soles on z = 0."""
        points = np.zeros((NUM_JOINTS, 3))
        offsets = self.rest_offsets
        for j in range(1, NUM_JOINTS):
            points[j] = points[PARENTS[j]] + offsets[j]
        points[:, 2] -= points[INDEX["left_ankle"], 2] - self.ankle_height
        return points

    @property
    def height(self) -> float:
        """Sole to top of head in the rest pose."""
        return float(self.rest_keypoints[INDEX["head"], 2])


def shape_from_height(height: float) -> BodyShape:
    """An average-proportioned body of the given standing height (metres)."""
    lengths = average_bone_lengths(height)
    return BodyShape(tuple(lengths), ANKLE_HEIGHT_FRACTION * height, FOOT_LENGTH_FRACTION * height)


def estimate_shape(keypoints) -> BodyShape:
    """Robust bone lengths from (T, 17, 3) metric keypoints: the per-bone median over the frames
    where both ends are finite, averaged between the left and right twins. Foot size follows from
    the estimated height by the proportions above."""
    keypoints = np.asarray(keypoints, dtype=float)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"keypoints must have shape (T, 17, 3), got {keypoints.shape}")
    lengths = np.zeros(NUM_JOINTS)
    for j in range(1, NUM_JOINTS):
        bone = np.linalg.norm(keypoints[:, j] - keypoints[:, PARENTS[j]], axis=-1)
        bone = bone[np.isfinite(bone)]
        if bone.size == 0:
            raise ValueError(f"no frame sees both ends of the {JOINTS[j]} bone")
        lengths[j] = np.median(bone)
    for right, left in MIRROR.items():
        mean = 0.5 * (lengths[INDEX[right]] + lengths[INDEX[left]])
        lengths[INDEX[right]] = lengths[INDEX[left]] = mean
    # height = ankle height + leg + trunk + head, with ankle height a fixed fraction of it
    chain = lengths[[INDEX["right_knee"], INDEX["right_ankle"], INDEX["spine"], INDEX["thorax"], INDEX["neck"], INDEX["head"]]]
    height = chain.sum() / (1.0 - ANKLE_HEIGHT_FRACTION)
    return BodyShape(tuple(lengths), ANKLE_HEIGHT_FRACTION * height, FOOT_LENGTH_FRACTION * height)
