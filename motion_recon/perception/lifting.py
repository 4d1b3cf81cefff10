"""Metric 3D poses from one person's 2D keypoints and known bone lengths, after Taylor,
"Reconstruction of articulated objects from point correspondences in a single uncalibrated
image" (CVIU 2000), under scaled orthographic projection.

Per frame, the keypoints are unprojected to normalised image coordinates (K^-1 [u, v, 1]). The
scale s (normalised units per metre, i.e. 1 / depth of the person) is the largest ratio of
projected to true length over the bones whose two ends are seen: the smallest scale at which no
bone is longer in the image than in 3D. Walking the kinematic tree from the pelvis, a seen joint
gets x, y = (its normalised coordinates - the pelvis's) / s and z = its parent's z + dz with
|dz| = sqrt(L^2 - (l / s)^2), l the bone's projected length; bone lengths are thus kept exactly.

The sign of dz is each bone's sign in the previous frame, when that frame was lifted and the
bone's |dz| there was at least ``SIGN_MEMORY_M``; otherwise (first frame, after a gap, a bone
that was in the image plane) a fixed anatomical rule, "forward" being -z (towards the camera)
when the person faces the camera (the left shoulder, or else the left hip, is right of its twin
in the image; facing the camera when neither pair is seen) and +z otherwise:

* knees, elbows, wrists, spine, thorax, neck and head lie forward of their parents (hip and
  shoulder flexion, elbow flexion and bending over reach further forward than backward);
* ankles lie behind the knees (the knee bends one way only);
* hips and shoulders: the person's right side lies farther from the camera than the left.

Joints that are not seen (confidence below ``SEEN_CONFIDENCE`` or NaN), or whose parent was not
placed from the image, take their parent's position plus the bone along its rest direction
(``motion_recon.skeleton.REST_DIRECTIONS``) of an upright person facing as above: legs and arms
straight down (+y), trunk and head up, hips and shoulders sideways.
"""

from __future__ import annotations

import numpy as np

from motion_recon import skeleton

SEEN_CONFIDENCE = 0.3
MIN_SEEN = 6  # fewer seen keypoints in a frame: NaN pose
DEFAULT_HEIGHT_M = 1.70
SIGN_MEMORY_M = 0.01  # a bone's depth sign is carried over from a previous |dz| of at least this

_I = skeleton.INDEX
_FORWARD = {_I[n] for n in ("right_knee", "left_knee", "right_elbow", "left_elbow", "right_wrist", "left_wrist",
                            "spine", "thorax", "neck", "head")}  # fmt: skip
_BACKWARD = {_I["right_ankle"], _I["left_ankle"]}
_FARTHER = {_I["right_hip"], _I["right_shoulder"]}  # the person's right side away from the camera
_NEARER = {_I["left_hip"], _I["left_shoulder"]}


def lift_poses(keypoints, confidence, K, bone_lengths=None) -> np.ndarray:
    """(T, 17, 3) pelvis-centred poses in camera axes (x right, y down, z forward; metres) from
    (T, 17, 2) pixel keypoints, (T, 17) confidences and (3, 3) intrinsics ``K``.

    ``bone_lengths`` (17,) metres, each joint's distance to its parent (0 for the pelvis), or
    anything with a ``bone_lengths`` attribute (a body shape); default: the 1.70 m body of
    ``skeleton.average_bone_lengths``. Frames with fewer than ``MIN_SEEN`` seen keypoints, an unseen pelvis or
    no bone seen at both ends are NaN. See the module doc for the method and the depth signs.
    """
    keypoints = np.asarray(keypoints, dtype=float)
    confidence = np.asarray(confidence, dtype=float)
    K = np.asarray(K, dtype=float)
    joints = skeleton.NUM_JOINTS
    if keypoints.ndim != 3 or keypoints.shape[1:] != (joints, 2):
        raise ValueError(f"keypoints must have shape (T, 17, 2), got {keypoints.shape}")
    if confidence.shape != keypoints.shape[:2]:
        raise ValueError(f"confidence must have shape {keypoints.shape[:2]}, got {confidence.shape}")
    if K.shape != (3, 3) or not np.isfinite(K).all() or abs(np.linalg.det(K)) < 1e-12:
        raise ValueError(f"K must be an invertible (3, 3) intrinsics matrix, got {K.tolist()}")
    lengths = _bone_lengths(bone_lengths)

    homogeneous = np.concatenate([keypoints, np.ones(keypoints.shape[:2] + (1,))], axis=-1) @ np.linalg.inv(K).T
    normalised = homogeneous[..., :2] / homogeneous[..., 2:]
    seen = (np.nan_to_num(confidence) >= SEEN_CONFIDENCE) & np.isfinite(normalised).all(axis=-1)

    poses = np.full((len(keypoints), joints, 3), np.nan)
    previous_dz = None  # per bone, in the previous frame when it was lifted (NaN: not from the image)
    for t in range(len(keypoints)):
        lifted = _lift_frame(normalised[t], seen[t], lengths, previous_dz)
        if lifted is None:
            previous_dz = None
            continue
        poses[t], previous_dz = lifted
    return poses


def _bone_lengths(bone_lengths) -> np.ndarray:
    if bone_lengths is None:
        bone_lengths = skeleton.average_bone_lengths(DEFAULT_HEIGHT_M)
    lengths = np.asarray(getattr(bone_lengths, "bone_lengths", bone_lengths), dtype=float)
    if lengths.shape != (skeleton.NUM_JOINTS,) or not np.isfinite(lengths).all() or (lengths[1:] <= 0).any():
        raise ValueError(f"bone_lengths must be 17 finite metres, positive but for the pelvis, got {lengths.tolist()}")
    return lengths


def _facing_camera(normalised: np.ndarray, seen: np.ndarray) -> bool:
    """Whether the person faces the camera: their left side appears on the image's right."""
    for left, right in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
        if seen[_I[left]] and seen[_I[right]]:
            return bool(normalised[_I[left], 0] > normalised[_I[right], 0])
    return True


def _default_sign(joint: int, forward: float) -> float:
    if joint in _FORWARD:
        return forward
    if joint in _BACKWARD:
        return -forward
    return 1.0 if joint in _FARTHER else -1.0 if joint in _NEARER else forward


def _rest_direction(joint: int, facing: bool) -> np.ndarray:
    """The joint's rest direction (world z up, left +y) in camera axes for an upright person."""
    _, left, up = skeleton.REST_DIRECTIONS[skeleton.JOINTS[joint]]
    return np.array([left if facing else -left, -up, 0.0])


def _lift_frame(normalised, seen, lengths, previous_dz):
    """(17, 3) pose and (17,) per-bone dz (NaN where not from the image), or None."""
    parents = skeleton.PARENTS
    if seen.sum() < MIN_SEEN or not seen[skeleton.ROOT]:
        return None
    ratios = [np.linalg.norm(normalised[j] - normalised[parents[j]]) / lengths[j]
              for j in range(1, len(parents)) if seen[j] and seen[parents[j]]]  # fmt: skip
    scale = max(ratios, default=0.0)
    if not scale > 0:
        return None
    facing = _facing_camera(normalised, seen)
    forward = -1.0 if facing else 1.0
    pose = np.zeros((len(parents), 3))
    dz = np.full(len(parents), np.nan)
    placed = np.zeros(len(parents), dtype=bool)
    placed[skeleton.ROOT] = True
    for j in range(1, len(parents)):
        p = parents[j]
        if not (seen[j] and placed[p]):
            pose[j] = pose[p] + lengths[j] * _rest_direction(j, facing)
            continue
        xy = (normalised[j] - normalised[skeleton.ROOT]) / scale
        step = xy - pose[p, :2]
        magnitude = np.sqrt(max(lengths[j] ** 2 - step @ step, 0.0))
        if previous_dz is not None and abs(np.nan_to_num(previous_dz[j])) >= SIGN_MEMORY_M:
            sign = np.sign(previous_dz[j])
        else:
            sign = _default_sign(j, forward)
        dz[j] = sign * magnitude
        pose[j] = [xy[0], xy[1], pose[p, 2] + dz[j]]
        placed[j] = True
    return pose, dz
