"""Window-by-window DiffPhy reconstruction: each window's control offsets are optimized with any
optimizer of ``motion_recon.optim``, starting from the previous window's simulated end state."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from ..optim import Budget
from .loss import DEFAULT_LOSS, LossConfig, WindowData, loss_function, pd_targets


@dataclass(frozen=True)
class WindowTrace:
    """One window: its frames [start, stop], the loss at every iterate, evaluations, status."""

    start: int
    stop: int
    losses: np.ndarray
    nfev: int
    status: str


@dataclass
class Reconstruction:
    """The simulated motion: keypoints (T, K, 3), qpos (T, nq), qvel (T, nv), PD targets
    (T, J, 4), floor contacts (T, C) of the simulator's contact bodies, and one trace per window."""

    keypoints: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    controls: np.ndarray
    contacts: np.ndarray
    windows: list[WindowTrace] = field(default_factory=list)


def window_starts(frames: int, window: int, overlap: int = 0) -> list[int]:
    """Starts of windows of ``window`` simulated frames covering frames 0..T-1, one every
    ``window - overlap`` frames; the last window is moved back to end at T-1 (it starts from the
    state simulated there), so every window has the same length and one compilation serves them
    all."""
    if frames < window + 1:
        raise ValueError(f"a sequence of {frames} frames is shorter than one window ({window} frames + start)")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, {window - 1}] for windows of {window} frames, got {overlap}")
    starts = list(range(0, frames - 1 - window + 1, window - overlap))
    if starts[-1] + window < frames - 1:
        starts.append(frames - 1 - window)
    return starts


def reconstruct(sim, keypoints, reference, qpos0, qvel0, optimizer, *, config: LossConfig = DEFAULT_LOSS,
                max_evals: int = 50, weights=None, keypoints2d=None, weights2d=None, camera=None, planted=None,
                stop=None, key=None, playback=None, progress=None) -> Reconstruction:  # fmt: skip
    """Optimizes PD controls so that ``sim`` reproduces observed ``keypoints`` (T, K, 3).

    ``reference`` (T, J, 4): kinematic PD targets (e.g. the inverse-kinematics poses), the
    controls at u = 0; (qpos0, qvel0): the state at frame 0; ``weights`` (T, K): per-keypoint
    weights (default 1, 0 where a keypoint is NaN); ``keypoints2d`` (T, K, 2) pixels seen by
    ``camera`` (K, dist, R, t) with ``weights2d`` (T, K) (default as for 3D) add the reprojection
    term (for 2D only, give NaN 3D keypoints); ``planted`` (T, 2): ankles the video shows standing
    still since the previous frame (the loss's planted-foot term); ``max_evals``: function evaluations per
    window; ``stop``: a stopping rule factory called per window (e.g. ``RelativeDecrease``);
    ``key``: a ``jax.random`` key for stochastic optimizers (folded with the window index).
    ``playback``: the simulator whose rollout of the optimized controls is the result and the
    next window's start (default ``sim``; e.g. a forward-only engine, with ``sim``'s gradients).
    ``progress(done, total)`` is called after every window.
    """
    keypoints = np.asarray(keypoints, np.float32)
    reference = np.asarray(reference, np.float32)
    frames, window = len(keypoints), config.window
    if weights is None:
        weights = np.isfinite(keypoints).all(axis=-1).astype(np.float32)
    weights = np.asarray(weights, np.float32)
    if keypoints2d is not None:
        keypoints2d = np.asarray(keypoints2d, np.float32)
        if weights2d is None:
            weights2d = np.isfinite(keypoints2d).all(axis=-1)
        weights2d = np.asarray(weights2d, np.float32)
        camera = tuple(np.asarray(c, np.float32) for c in camera)
    loss = loss_function(sim, config)
    key = jax.random.key(0) if key is None else key
    play = sim.compiled_rollout if playback is None else playback.rollout
    qpos = np.zeros((frames, len(qpos0)), np.float32)
    qvel = np.zeros((frames, len(qvel0)), np.float32)
    qpos[0], qvel[0] = qpos0, qvel0
    simulated = np.full(keypoints.shape, np.nan, np.float32)
    controls = reference.copy()
    contacts = np.zeros((frames, len(sim.model.contact_bodies)), np.float32)
    result = Reconstruction(simulated, qpos, qvel, controls, contacts)
    starts = window_starts(frames, window, config.overlap)
    u0 = np.zeros((window + 1, reference.shape[1], 3), np.float32)
    for k, start in enumerate(starts):
        span = slice(start, start + window + 1)
        # frames up to the next window's start are kept; the rest (the overlap) only looks ahead
        kept = (starts[k + 1] if k + 1 < len(starts) else frames - 1) - start
        data = WindowData(qpos[start], qvel[start], reference[span], keypoints[span], weights[span])
        if keypoints2d is not None:
            data = data._replace(keypoints2d=keypoints2d[span], weights2d=weights2d[span], camera=camera)
        if planted is not None:
            data = data._replace(planted=np.asarray(planted[span], np.float32))
        res = optimizer.minimize(loss, u0.ravel(), budget=Budget(evaluations=max_evals), args=(data,),
                                 key=jax.random.fold_in(key, k), stop=None if stop is None else stop())  # fmt: skip
        offsets = np.asarray(res.best, np.float32).reshape(data.reference.shape[:-1] + (3,))
        targets = np.asarray(pd_targets(offsets, data.reference))
        trajectory = play(data.qpos0, data.qvel0, targets)
        done = slice(start, start + kept + 1)
        simulated[done] = np.asarray(trajectory.keypoints)[: kept + 1]
        qpos[done], qvel[done] = np.asarray(trajectory.qpos)[: kept + 1], np.asarray(trajectory.qvel)[: kept + 1]
        controls[done] = targets[: kept + 1]
        contacts[done] = np.asarray(trajectory.contacts)[: kept + 1]
        # the next window starts from the optimized offsets of the frames it shares with this one
        u0 = np.concatenate([offsets[kept:], np.zeros_like(offsets[:kept])])
        result.windows.append(WindowTrace(start, start + window, np.asarray(res.losses), res.nfev, str(res.status)))
        if progress is not None:
            progress(k + 1, len(starts))
    return result
