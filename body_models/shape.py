"""Body shape: bone lengths, trunk geometry and foot size of one subject, from keypoints or from
a height.

The rest pose is standing upright, facing +x, left towards +y, arms hanging (world z-up). A
shape stores each joint's rest offset from its parent: a bone length times a rest direction.
The limbs' and the spine link's directions are the canonical ones
(``motion_recon.skeleton.REST_DIRECTIONS``). The links with several children, pelvis and thorax,
take their children's directions from the data (``TRUNK``): skeletons differ there (a CMU root
sits 10 cm above the hip joints, its clavicles put the shoulders above the thorax joint), and
bone lengths alone cannot say where. A shape is left/right symmetric by design.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from motion_recon.skeleton import INDEX, JOINTS, MIRROR, NUM_JOINTS, PARENTS, REST_DIRECTIONS, average_bone_lengths

# Ankle height and foot length as fractions of standing height (the proportions of
# ``motion_recon.skeleton.HEIGHT_FRACTIONS``).
ANKLE_HEIGHT_FRACTION = 0.039
FOOT_LENGTH_FRACTION = 0.152
# The children of the pelvis and the thorax whose rest directions (unit vectors in the link's
# frame; the right twin mirrors the left one, y negated) are part of a shape. A shape keeps its
# link frames so that the spine lies straight above the hips' midpoint and the neck straight
# above the shoulders' midpoint (x = 0 in the link frame): the trunk's capsules then lie along
# the link axes (``humanoid``).
TRUNK = ("left_hip", "spine", "left_shoulder", "neck")
CANONICAL_TRUNK = tuple(tuple(float(v) for v in REST_DIRECTIONS[name]) for name in TRUNK)
_LEFT_TO_RIGHT = {left: right for right, left in MIRROR.items()}
_MIRRORED = np.array([1.0, -1.0, 1.0])


@dataclass(frozen=True)
class BodyShape:
    """Bone lengths (metres, per non-root joint: distance to its parent), the rest directions of
    the ``TRUNK`` joints (in ``TRUNK`` order) and foot dimensions."""

    bone_lengths: tuple[float, ...]  # (17,), 0 for the root
    ankle_height: float
    foot_length: float
    trunk_directions: tuple[tuple[float, float, float], ...] = CANONICAL_TRUNK

    def __post_init__(self):
        lengths = np.asarray(self.bone_lengths, dtype=float)
        if lengths.shape != (NUM_JOINTS,) or not np.all(np.isfinite(lengths)) or np.any(lengths[1:] <= 0):
            raise ValueError(f"bone lengths must be 17 positive numbers, got {self.bone_lengths}")
        directions = np.asarray(self.trunk_directions, dtype=float)
        if directions.shape != (len(TRUNK), 3) or not np.allclose(np.linalg.norm(directions, axis=-1), 1.0, atol=1e-6):
            raise ValueError(f"trunk directions must be {len(TRUNK)} unit vectors ({', '.join(TRUNK)}), got {self.trunk_directions}")
        offsets = self.rest_offsets
        for left, centre in (("left_hip", "spine"), ("left_shoulder", "neck")):
            side, middle = offsets[INDEX[left]], offsets[INDEX[centre]]
            if side[1] <= 0 or abs(middle[1]) > 1e-9 or abs(middle[0] - side[0]) > 1e-6:
                raise ValueError(f"the rest offsets of {left} {side.round(4).tolist()} and {centre} {middle.round(4).tolist()} "
                                 f"must put {left} on the left and {centre} straight above the twins' midpoint")  # fmt: skip

    @property
    def rest_offsets(self) -> np.ndarray:
        """(17, 3) offset of each joint from its parent in the rest pose (zero for the root)."""
        directions = {name: np.asarray(REST_DIRECTIONS[name], float) for name in JOINTS[1:]}
        for name, direction in zip(TRUNK, self.trunk_directions, strict=True):
            directions[name] = np.asarray(direction, float)
            if name in _LEFT_TO_RIGHT:
                directions[_LEFT_TO_RIGHT[name]] = directions[name] * _MIRRORED
        offsets = np.zeros((NUM_JOINTS, 3))
        for j in range(1, NUM_JOINTS):
            offsets[j] = self.bone_lengths[j] * directions[JOINTS[j]]
        return offsets

    def with_trunk_offsets(self, offsets) -> BodyShape:
        """This shape with the (4, 3) rest offsets (metres) of the ``TRUNK`` joints: their bone
        lengths (the right twins' too) and directions."""
        offsets = np.asarray(offsets, dtype=float)
        lengths = np.array(self.bone_lengths, dtype=float)
        for name, offset in zip(TRUNK, offsets, strict=True):
            lengths[INDEX[name]] = np.linalg.norm(offset)
            if name in _LEFT_TO_RIGHT:
                lengths[INDEX[_LEFT_TO_RIGHT[name]]] = lengths[INDEX[name]]
        directions = tuple(tuple(float(v) for v in offset / np.linalg.norm(offset)) for offset in offsets)
        return replace(self, bone_lengths=tuple(float(v) for v in lengths), trunk_directions=directions)

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


def estimate_shape(keypoints, *, trunk: bool = True) -> BodyShape:
    """Robust bone lengths from (T, 17, 3) metric keypoints: the per-bone median over the frames
    where both ends are finite, averaged between the left and right twins; with ``trunk``, the
    ``TRUNK`` offsets from ``trunk_geometry`` (else the canonical directions: the body fit before
    the trunk was estimated, kept for comparisons). The height is the fitted skeleton's
    (``BodyShape.height``); foot size follows from it by the proportions above."""
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
    skeleton = BodyShape(tuple(lengths), 0.0, 0.0)
    if trunk:
        skeleton = skeleton.with_trunk_offsets(trunk_geometry(keypoints))
    # height = ankle height + the rest pose's ankle-to-head-top span, ankle height a fixed fraction of it
    height = skeleton.rest_keypoints[INDEX["head"], 2] / (1.0 - ANKLE_HEIGHT_FRACTION)
    return replace(skeleton, ankle_height=ANKLE_HEIGHT_FRACTION * height, foot_length=FOOT_LENGTH_FRACTION * height)


def trunk_geometry(keypoints) -> np.ndarray:
    """(4, 3) rest offsets (metres) of the ``TRUNK`` joints from their links, from (T, 17, 3)
    keypoints. Per frame, a link's three children are expressed in the frame they span (y from
    the right to the left twin; z from the twins' midpoint towards the centre child, made
    orthogonal to y) about the link's joint; the median over the frames that see them all is made
    left/right symmetric, the centre child above the twins' midpoint as in every frame."""
    keypoints = np.asarray(keypoints, dtype=float)
    offsets = []
    for link, left, right, centre in (("pelvis", "left_hip", "right_hip", "spine"),
                                      ("thorax", "left_shoulder", "right_shoulder", "neck")):  # fmt: skip
        point = {name: keypoints[:, INDEX[name]] for name in (link, left, right, centre)}
        with np.errstate(invalid="ignore", divide="ignore"):  # unseen (NaN) or collapsed joints: NaN, left out below
            y = point[left] - point[right]
            y = y / np.linalg.norm(y, axis=-1, keepdims=True)
            z = point[centre] - 0.5 * (point[left] + point[right])
            z = z - np.sum(z * y, axis=-1, keepdims=True) * y
            z = z / np.linalg.norm(z, axis=-1, keepdims=True)
        axes = np.stack([np.cross(y, z), y, z], axis=-2)  # (T, 3, 3) rows: the frame's axes in the world
        local = np.einsum("tij,tkj->tki", axes, np.stack([point[left], point[right], point[centre]], axis=1) - point[link][:, None])
        seen = np.isfinite(local).all(axis=(1, 2))
        if not seen.any():
            raise ValueError(f"no frame sees {link}, {left}, {right} and {centre} apart")
        side_l, side_r, middle = np.median(local[seen], axis=0)
        side = 0.5 * (side_l + side_r * _MIRRORED)
        middle[:2] = side[0], 0.0
        offsets += [side, middle]
    return np.array(offsets)
