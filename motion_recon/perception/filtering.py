"""Temporal filtering of detected keypoints: the One-Euro filter (Casiez, Roussel, Vogel, CHI 2012).

A low-pass filter whose cutoff rises with the signal's speed: slow motion (and detector jitter
about a still pose) is smoothed hard, fast motion passes with little lag. Per signal and frame,
with ``Te = 1 / fps``::

    alpha(fc) = 1 / (1 + tau / Te),  tau = 1 / (2 pi fc)
    dx        = (x - x_hat_prev) / Te,        dx_hat = alpha(d_cutoff) dx + (1 - alpha) dx_hat_prev
    fc        = min_cutoff + beta |dx_hat|,   x_hat  = alpha(fc) x + (1 - alpha) x_hat_prev

A NaN sample (an unseen keypoint) stays NaN and restarts the filter of that signal at its next
seen sample.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from motion_recon.perception.people import PersonTrack


def smoothing_factor(cutoff_hz, fps: float):
    """``alpha(fc)`` of the module docstring."""
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz, float))
    return 1.0 / (1.0 + tau * fps)


@dataclass(frozen=True)
class OneEuro:
    """The filter's settings: ``min_cutoff`` (Hz) sets the smoothing of slow motion, ``beta``
    (1 / signal unit) how fast the cutoff rises with speed, ``d_cutoff`` (Hz) the smoothing of
    the speed itself."""

    min_cutoff: float = 1.0
    beta: float = 0.0
    d_cutoff: float = 1.0

    def __post_init__(self):
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError(f"One-Euro cutoffs must be positive and beta non-negative, got {self}")

    def __call__(self, signal, fps: float) -> np.ndarray:
        """``signal`` (T, ...) sampled at ``fps``, filtered along its first axis, every other
        element an independent signal."""
        x = np.asarray(signal, float)
        out = np.full_like(x, np.nan)
        previous = np.full(x.shape[1:], np.nan)
        speed = np.zeros(x.shape[1:])
        alpha_d = smoothing_factor(self.d_cutoff, fps)
        for t in range(len(x)):
            seen, restart = np.isfinite(x[t]), ~np.isfinite(previous)
            velocity = np.where(restart, 0.0, (x[t] - np.nan_to_num(previous)) * fps)
            speed = np.where(restart, 0.0, alpha_d * velocity + (1.0 - alpha_d) * speed)
            alpha = smoothing_factor(self.min_cutoff + self.beta * np.abs(speed), fps)
            filtered = np.where(restart, x[t], alpha * x[t] + (1.0 - alpha) * np.nan_to_num(previous))
            out[t] = np.where(seen, filtered, np.nan)
            previous = out[t]
            speed = np.where(seen, speed, 0.0)
        return out


# Detections of a person, in units of the body's size (2D: its median image height; 3D: metres
# over a 1.7 m body): still poses smoothed below 1.5 Hz, the cutoff rising by 2 Hz per body
# height per second of speed.
BODY_HEIGHT_M = 1.7
DETECTION_SMOOTHING = OneEuro(min_cutoff=1.5, beta=2.0, d_cutoff=1.0)


def smooth_track(track: PersonTrack, settings: OneEuro = DETECTION_SMOOTHING) -> PersonTrack:
    """``track`` with its keypoints and metric 3D poses One-Euro filtered in body-size units."""
    seen = track.found
    heights = np.nanmax(track.keypoints[seen, :, 1], axis=1) - np.nanmin(track.keypoints[seen, :, 1], axis=1)
    scale = float(np.median(heights)) if seen.any() else 1.0
    keypoints = settings(track.keypoints / scale, track.fps) * scale
    world = None if track.world is None else settings(track.world / BODY_HEIGHT_M, track.fps) * BODY_HEIGHT_M
    return replace(track, keypoints=keypoints, world=world)
