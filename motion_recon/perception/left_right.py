"""Left-right swaps of a tracked person's limbs: a detector that labels the left leg (or arm) as
the right one in some frames, a common failure of 2D detectors on people seen from the side or
the back.

``unswap`` goes through a track in time order and compares each frame's legs, and separately its
arms, with the last frame as corrected: when the left and right joints of a limb pair lie much
closer to the other side's previous positions (a squared distance ``SWAP_RATIO`` times smaller)
the pair's labels are exchanged in the keypoints, confidences and metric 3D poses. Limbs that
cross (left and right close together) are ambiguous and kept as detected. The first frame is
taken as labelled correctly.
"""

from __future__ import annotations

import numpy as np

from motion_recon import skeleton

LIMBS = {
    "legs": (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle")),
    "arms": (("left_shoulder", "left_elbow", "left_wrist"), ("right_shoulder", "right_elbow", "right_wrist")),
}
SWAP_RATIO = 0.25  # swap when the exchanged labels fit at least 4x better (squared pixels)
MIN_SEEN = 2  # joints of each side seen in both frames for a decision


def unswap(keypoints: np.ndarray, confidence: np.ndarray, world: np.ndarray | None = None):
    """(keypoints, confidence, world, swapped) with left-right swaps undone (module doc).

    ``keypoints`` (T, 17, 2) pixels, NaN where unseen; ``confidence`` (T, 17); ``world``
    (T, 17, 3) or None. ``swapped`` (T, len(LIMBS)) says which limb pairs were exchanged in which
    frame. The inputs are not modified.
    """
    keypoints, confidence = np.array(keypoints, float), np.array(confidence, float)
    world = None if world is None else np.array(world, float)
    swapped = np.zeros((len(keypoints), len(LIMBS)), bool)
    last = keypoints[0].copy()  # per joint, its last corrected position
    for t in range(1, len(keypoints)):
        for k, (left, right) in enumerate(LIMBS.values()):
            left, right = [skeleton.INDEX[j] for j in left], [skeleton.INDEX[j] for j in right]
            if _exchanged_fits_better(keypoints[t], last, left, right):
                swapped[t, k] = True
                for array in (keypoints, confidence) + (() if world is None else (world,)):
                    array[t, left + right] = array[t, right + left]
        seen = np.isfinite(keypoints[t]).all(axis=-1)
        last[seen] = keypoints[t, seen]
    return keypoints, confidence, world, swapped


def _exchanged_fits_better(current, previous, left, right) -> bool:
    both = np.isfinite(current[left + right]).all(-1) & np.isfinite(previous[left + right]).all(-1)
    n = len(left)
    usable = both[:n] & both[n:]  # joint pairs seen on both sides in both frames
    if usable.sum() < MIN_SEEN:
        return False
    left, right = np.array(left)[usable], np.array(right)[usable]
    keep = np.sum((current[left] - previous[left]) ** 2) + np.sum((current[right] - previous[right]) ** 2)
    exchange = np.sum((current[right] - previous[left]) ** 2) + np.sum((current[left] - previous[right]) ** 2)
    return exchange < SWAP_RATIO * keep
