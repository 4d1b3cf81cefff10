"""The 17-joint Human3.6M skeleton and the mappings into it from COCO-17, BlazePose-33 and BVH.

Joint order, names and parents follow the common 17-joint subset of Human3.6M (REFERENCE.md
section 5). Every other keypoint convention is mapped into it here and nowhere else.
"""

from __future__ import annotations

import numpy as np

JOINTS = (
    "pelvis",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
INDEX = {name: i for i, name in enumerate(JOINTS)}
NUM_JOINTS = len(JOINTS)
ROOT = 0

# Left/right twins: the same bone length on both sides.
MIRROR = {
    "right_hip": "left_hip", "right_knee": "left_knee", "right_ankle": "left_ankle",
    "right_shoulder": "left_shoulder", "right_elbow": "left_elbow", "right_wrist": "left_wrist",
}  # fmt: skip
FEET = ("left_ankle", "right_ankle")
ANKLES = (INDEX["right_ankle"], INDEX["left_ankle"])  # indices, in the order of per-foot arrays (right, left)


def children(joint: int) -> list[int]:
    return [j for j, p in enumerate(PARENTS) if p == joint]


COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

BLAZEPOSE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

_LIMBS = [name for name in JOINTS if name.split("_")[0] in ("left", "right")]
_MID_HIP = {"left_hip": 0.5, "right_hip": 0.5}
_MID_SHOULDER = {"left_shoulder": 0.5, "right_shoulder": 0.5}
# Each Human3.6M joint as a weighted mean of the source keypoints. Human3.6M's spine joint lies
# about halfway between pelvis and thorax; its "head" is the top of the head, approximated by the
# ears' midpoint, which sits a few centimetres lower.
_FROM_COCO = {
    "pelvis": _MID_HIP,
    "spine": {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    "thorax": _MID_SHOULDER,
    "neck": {"nose": 1.0},
    "head": {"left_ear": 0.5, "right_ear": 0.5},
    **{name: {name: 1.0} for name in _LIMBS},
}


def _weights(recipe: dict[str, dict[str, float]], source: tuple[str, ...]) -> np.ndarray:
    weights = np.zeros((NUM_JOINTS, len(source)))
    for joint, parts in recipe.items():
        for name, w in parts.items():
            weights[INDEX[joint], source.index(name)] = w
    return weights


# (17, K) matrices: h36m = weights @ source keypoints. BlazePose names its COCO-17 subset alike.
COCO17_TO_H36M = _weights(_FROM_COCO, COCO17)
BLAZEPOSE33_TO_H36M = _weights(_FROM_COCO, BLAZEPOSE33)
_MAPPINGS = {"coco17": COCO17_TO_H36M, "blazepose33": BLAZEPOSE33_TO_H36M}


def to_h36m(keypoints, source: str, confidence=None):
    """Maps (..., K, D) keypoints of ``source`` ("coco17" or "blazepose33") to (..., 17, D).

    With per-keypoint ``confidence`` (..., K), also returns (..., 17) confidences: the smallest
    confidence among the keypoints a joint is made from.
    """
    if source not in _MAPPINGS:
        raise ValueError(f"unknown keypoint layout {source!r}; known: {sorted(_MAPPINGS)}")
    weights = _MAPPINGS[source]
    keypoints = np.asarray(keypoints, dtype=float)
    if keypoints.shape[-2] != weights.shape[1]:
        raise ValueError(f"{source} keypoints need {weights.shape[1]} joints, got shape {keypoints.shape}")
    mapped = np.einsum("jk,...kd->...jd", weights, keypoints)
    if confidence is None:
        return mapped
    confidence = np.asarray(confidence, dtype=float)[..., None, :]
    used = weights > 0
    return mapped, np.where(used, confidence, np.inf).min(axis=-1)


# BVH joint names of CMU (cgspeed conversion) and Mixamo rigs for each Human3.6M joint, best first.
# Names are compared lowercased with any "prefix:" removed; end sites are named "<parent>_end".
_BVH_NAMES = {
    "pelvis": ["hips", "pelvis", "root"],
    "right_hip": ["rightupleg", "rthigh", "rightthigh"],
    "right_knee": ["rightleg", "rshin", "rightshin"],
    "right_ankle": ["rightfoot", "rfoot"],
    "left_hip": ["leftupleg", "lthigh", "leftthigh"],
    "left_knee": ["leftleg", "lshin", "leftshin"],
    "left_ankle": ["leftfoot", "lfoot"],
    "spine": ["spine1", "spine", "chest"],  # "spine1" only when "spine2" exists (Mixamo), see below
    "thorax": ["neck", "spine2", "upperchest"],
    "neck": ["head"],
    "head": ["headtop_end", "head_end", "headend", "head_top"],
    "left_shoulder": ["leftarm", "lhumerus", "leftupperarm"],
    "left_elbow": ["leftforearm", "lradius", "leftlowerarm"],
    "left_wrist": ["lefthand", "lwrist", "lhand"],
    "right_shoulder": ["rightarm", "rhumerus", "rightupperarm"],
    "right_elbow": ["rightforearm", "rradius", "rightlowerarm"],
    "right_wrist": ["righthand", "rwrist", "rhand"],
}


def bvh_joint_map(names) -> dict[str, str]:
    """Chooses, for each of the 17 joints, the BVH joint that stands for it.

    Raises ``ValueError`` naming the joints that none of ``names`` matches.
    """
    by_key = {}
    for name in names:
        by_key.setdefault(name.split(":")[-1].lower().replace(" ", ""), name)
    mapping, missing = {}, []
    for joint, candidates in _BVH_NAMES.items():
        if joint == "spine" and "spine2" not in by_key:
            candidates = [c for c in candidates if c != "spine1"]  # CMU: Spine is mid-back
        found = next((by_key[c] for c in candidates if c in by_key), None)
        if found is None:
            missing.append(joint)
        else:
            mapping[joint] = found
    if missing:
        raise ValueError(f"BVH skeleton has no joint for {', '.join(missing)}")
    return mapping


# The rest pose: standing upright, facing +x, left towards +y, arms hanging (world z up); each
# joint's direction from its parent.
UP, DOWN, LEFT, RIGHT = np.array([0, 0, 1.0]), np.array([0, 0, -1.0]), np.array([0, 1.0, 0]), np.array([0, -1.0, 0])
REST_DIRECTIONS = {
    "right_hip": RIGHT, "right_knee": DOWN, "right_ankle": DOWN,
    "left_hip": LEFT, "left_knee": DOWN, "left_ankle": DOWN,
    "spine": UP, "thorax": UP, "neck": UP, "head": UP,
    "left_shoulder": LEFT, "left_elbow": DOWN, "left_wrist": DOWN,
    "right_shoulder": RIGHT, "right_elbow": DOWN, "right_wrist": DOWN,
}  # fmt: skip

# Segment lengths as fractions of standing height (Drillis & Contini proportions, as tabulated by
# Winter, "Biomechanics and Motor Control of Human Movement"), for bodies built from a height.
# Ankle height (3.9 %) plus the vertical chain (shank, thigh, spine, thorax, neck, head) sums to 1.
HEIGHT_FRACTIONS = {
    "right_hip": 0.0955, "right_knee": 0.245, "right_ankle": 0.246,
    "spine": 0.144, "thorax": 0.144, "neck": 0.092, "head": 0.090,
    "right_shoulder": 0.129, "right_elbow": 0.186, "right_wrist": 0.146,
}  # fmt: skip


def average_bone_lengths(height: float) -> np.ndarray:
    """(17,) bone lengths (m; 0 for the pelvis) of an average-proportioned person ``height`` m tall."""
    if not 0.5 < height < 2.8:
        raise ValueError(f"height {height} m is not a human height")
    lengths = np.zeros(NUM_JOINTS)
    for name, fraction in HEIGHT_FRACTIONS.items():
        lengths[INDEX[name]] = fraction * height
        if name in MIRROR:
            lengths[INDEX[MIRROR[name]]] = fraction * height
    return lengths
