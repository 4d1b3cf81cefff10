"""Pose and physics metrics of the paper's evaluation (REFERENCE.md section 5).

Positions are (T, J, 3) metres, world z up; 3D errors are reported in millimetres, 2D errors in
pixels. Missing observations (NaN) are left out of the means. Each error has a per-frame form
(``*_per_frame``, (T,), NaN in frames with nothing observed) for plots and failure analysis; the
scalar is the mean over every observed joint of every frame.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import skeleton

CONTACT_HEIGHT = 0.05  # m above the ground
CONTACT_SPEED = 0.02  # m per frame
GROUND_QUANTILE = 0.05  # the ground is the mean of the lowest 5 % of foot heights


def _check(pred, gt, dims: int):
    pred, gt = np.asarray(pred, dtype=float), np.asarray(gt, dtype=float)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != dims:
        raise ValueError(f"need two (T, J, {dims}) arrays of one shape, got {pred.shape} and {gt.shape}")
    return pred, gt


def joint_errors(pred, gt) -> np.ndarray:
    """(T, J) distances between two (T, J, D) arrays in their unit; NaN where either is missing."""
    return np.linalg.norm(np.asarray(pred, float) - np.asarray(gt, float), axis=-1)


def frame_means(errors, weights=None) -> np.ndarray:
    """(T,) mean of (T, J) ``errors`` over each frame's joints, weighted by ``weights`` (T, J) if
    given; NaN errors are left out, and frames with no weight left are NaN."""
    weights = np.ones_like(errors) if weights is None else np.asarray(weights, float)
    weights = np.where(np.isfinite(errors), weights, 0.0)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.nan_to_num(errors) * weights).sum(axis=1) / total, np.nan)


def root_relative(positions, root: int = skeleton.ROOT) -> np.ndarray:
    """(T, J, 3) positions less each frame's ``root`` joint."""
    positions = np.asarray(positions, float)
    return positions - positions[:, root : root + 1]


def mpjpe_g(pred, gt) -> float:
    """Global mean per-joint position error (mm), no alignment."""
    pred, gt = _check(pred, gt, 3)
    return 1000.0 * float(np.nanmean(joint_errors(pred, gt)))


def mpjpe_g_per_frame(pred, gt) -> np.ndarray:
    """(T,) ``mpjpe_g`` of each frame (mm)."""
    pred, gt = _check(pred, gt, 3)
    return 1000.0 * frame_means(joint_errors(pred, gt))


def mpjpe(pred, gt, root: int = skeleton.ROOT) -> float:
    """Mean per-joint position error (mm) after moving each frame's root onto the ground truth's."""
    pred, gt = _check(pred, gt, 3)
    return mpjpe_g(root_relative(pred, root), root_relative(gt, root))


def mpjpe_per_frame(pred, gt, root: int = skeleton.ROOT) -> np.ndarray:
    """(T,) ``mpjpe`` of each frame (mm)."""
    pred, gt = _check(pred, gt, 3)
    return mpjpe_g_per_frame(root_relative(pred, root), root_relative(gt, root))


def procrustes_align(pred, gt) -> np.ndarray:
    """``pred`` mapped per frame by the similarity transform (rotation, uniform scale,
    translation) that best fits ``gt`` in least squares over the joints both have; the rotation
    is proper (no reflection). Frames with fewer than 3 such joints are NaN. All frames at once."""
    pred, gt = _check(pred, gt, 3)
    valid = (np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)).astype(float)[..., None]  # (T, J, 1)
    count = np.maximum(valid.sum(axis=1, keepdims=True), 1.0)
    p, g = np.nan_to_num(pred), np.nan_to_num(gt)
    mu_p, mu_g = (valid * p).sum(1, keepdims=True) / count, (valid * g).sum(1, keepdims=True) / count
    p0, g0 = valid * (p - mu_p), valid * (g - mu_g)
    u, s, vt = np.linalg.svd(np.einsum("tji,tjk->tik", p0, g0))
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    d = np.stack([np.ones_like(sign), np.ones_like(sign), sign], axis=-1)  # (T, 3)
    rotation = (u * d[:, None, :]) @ vt  # applied on the right: p0 @ rotation
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (s * d).sum(-1) / (p0**2).sum(axis=(1, 2))
    aligned = scale[:, None, None] * (pred - mu_p) @ rotation + mu_g
    return np.where(valid.sum(axis=1, keepdims=True) >= 3, aligned, np.nan)


def mpjpe_pa(pred, gt) -> float:
    """Mean per-joint position error (mm) after per-frame similarity Procrustes alignment."""
    pred, gt = _check(pred, gt, 3)
    return mpjpe_g(procrustes_align(pred, gt), gt)


def mpjpe_pa_per_frame(pred, gt) -> np.ndarray:
    """(T,) ``mpjpe_pa`` of each frame (mm)."""
    pred, gt = _check(pred, gt, 3)
    return mpjpe_g_per_frame(procrustes_align(pred, gt), gt)


def mpjpe_2d(pred, observed, confidence=None) -> float:
    """Mean 2D keypoint distance (pixels), weighted by per-keypoint ``confidence`` (T, J) if given."""
    pred, observed = _check(pred, observed, 2)
    error = joint_errors(pred, observed)
    weight = np.ones_like(error) if confidence is None else np.asarray(confidence, dtype=float)
    weight = np.where(np.isfinite(error), weight, 0.0)
    return float(np.sum(np.nan_to_num(error) * weight) / np.sum(weight))


def mpjpe_2d_per_frame(pred, observed, confidence=None) -> np.ndarray:
    """(T,) ``mpjpe_2d`` of each frame (pixels)."""
    pred, observed = _check(pred, observed, 2)
    return frame_means(joint_errors(pred, observed), confidence)


def total_variation(positions) -> float:
    """Jitter: (1/T) sum_t sum_k |a_{t+1}^k - a_t^k| with a the joint acceleration by second
    differences, in metres per frame^2 (the unit of the paper's TV column)."""
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or len(positions) < 4:
        raise ValueError(f"TV needs (T >= 4, J, 3) positions, got {positions.shape}")
    acceleration = positions[2:] - 2 * positions[1:-1] + positions[:-2]
    change = np.linalg.norm(np.diff(acceleration, axis=0), axis=-1)
    return float(np.nansum(change) / len(positions))


def foot_skate(pred, reference=None, feet=skeleton.ANKLES, up: int = 2, contact=None) -> float:
    """Percentage of frame transitions in which a foot that should stand still slides.

    A ``reference`` foot (ground truth; default: ``pred`` itself) is in contact when it is within
    5 cm of the ground (the mean of the lowest 5 % of its foot heights) and moves at most 2 cm
    per frame; the transition skates when ``pred``'s foot then moves more than 2 cm. Without a
    reference, contact is the height test alone. ``contact`` (T - 1, 2) given explicitly (e.g.
    ``planted_in_image``) replaces both. ``feet`` are the ankle joints.
    """
    pred = np.asarray(pred, dtype=float)
    if contact is not None:
        slides = np.linalg.norm(np.diff(pred[:, list(feet)], axis=0), axis=-1) > CONTACT_SPEED
        return 100.0 * float(np.mean(np.any(np.asarray(contact, bool) & slides, axis=1)))
    self_reference = reference is None
    reference = pred if self_reference else np.asarray(reference, dtype=float)
    if pred.shape != reference.shape or pred.ndim != 3 or len(pred) < 2:
        raise ValueError(f"foot skate needs (T >= 2, J, 3) positions of one shape, got {pred.shape}")
    ref_feet, pred_feet = reference[:, list(feet)], pred[:, list(feet)]
    heights = np.sort(ref_feet[..., up].ravel())
    heights = heights[np.isfinite(heights)]
    ground = heights[: max(1, int(np.ceil(GROUND_QUANTILE * heights.size)))].mean()
    near = ref_feet[:-1, :, up] - ground <= CONTACT_HEIGHT
    still = np.linalg.norm(np.diff(ref_feet, axis=0), axis=-1) <= CONTACT_SPEED
    contact = near if self_reference else near & still
    slides = np.linalg.norm(np.diff(pred_feet, axis=0), axis=-1) > CONTACT_SPEED
    return 100.0 * float(np.mean(np.any(contact & slides, axis=1)))


def planted_in_image(keypoints2d, confidence, depth, focal: float, feet=skeleton.ANKLES, min_confidence: float = 0.5,
                     median_frames: int = 1):
    """(T - 1, 2) feet standing still as a video shows them: the ankle's pixel motion between two
    frames, at its ``depth`` (T, 2) metres and ``focal`` pixels, is at most 2 cm and it is seen
    (``confidence`` >= ``min_confidence``) in both. The contact reference of foot skate for a
    video, where no ground truth says when a foot is down. ``median_frames`` (odd) first replaces
    each ankle position by the median of that many frames around it (unseen ones left out), so
    that detector jitter does not hide a planted foot."""
    ankles = np.asarray(keypoints2d, float)[:, list(feet)]
    seen = np.asarray(confidence, float)[:, list(feet)] >= min_confidence
    if median_frames > 1:
        ankles = _running_median(np.where(seen[..., None], ankles, np.nan), int(median_frames) // 2)
    metres = np.linalg.norm(np.diff(ankles, axis=0), axis=-1) * np.asarray(depth, float)[:-1] / focal
    return (np.nan_to_num(metres, nan=np.inf) <= CONTACT_SPEED) & seen[:-1] & seen[1:]


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    """The median over ``half`` frames each side (fewer at the ends) along axis 0, NaN left out."""
    padded = np.concatenate([np.full((half, *values.shape[1:]), np.nan), values,
                             np.full((half, *values.shape[1:]), np.nan)])  # fmt: skip
    stacked = np.stack([padded[k : k + len(values)] for k in range(2 * half + 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN stretches stay NaN
        return np.nanmedian(stacked, axis=0)


def all_metrics(pred, gt=None, pred_2d=None, observed_2d=None, confidence_2d=None, contact=None) -> dict[str, float]:
    """The paper's table columns that the given arrays allow (``contact``: see ``foot_skate``)."""
    result = {}
    if gt is not None:
        result.update(mpjpe_g=mpjpe_g(pred, gt), mpjpe=mpjpe(pred, gt), mpjpe_pa=mpjpe_pa(pred, gt))
    if pred_2d is not None and observed_2d is not None:
        result["mpjpe_2d"] = mpjpe_2d(pred_2d, observed_2d, confidence_2d)
    result["tv"] = total_variation(pred)
    result["foot_skate"] = foot_skate(pred, gt, contact=contact)
    return result
