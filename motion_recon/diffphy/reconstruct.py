"""Window-by-window DiffPhy reconstruction: each window's control offsets are optimized with any
optimizer of ``motion_recon.optim``.

``reconstruct`` runs the windows one after another, each from the previous window's simulated end
state. A window that falls (``FallTest``: the pelvis sinks, the trunk tips over, or the pose leaves
the observations) would hand its fallen state to every later window; given the kinematic states,
``reconstruct`` optimizes such a window again from the kinematic state at its start (re-anchoring,
recorded as a gap and in the window's ``recovery``) and keeps whichever of the two stays closer to
the observations. ``reconstruct_in_parallel`` optimizes all windows together (multiple shooting, under
``vmap`` for pure-JAX optimizers): in the first round every window starts from the kinematic state
at its first frame, with a continuity term pulling its state at the next window's start towards
that window's start state; each further round restarts every window from where its predecessor
ended in the round before. After round ``r`` the first ``r`` windows form one simulated motion; the
gaps left at the other window starts are reported (``Reconstruction.gaps``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import numpy as np

from .. import skeleton
from ..optim import Budget, minimize_batch
from ..configs import DEFAULT_LOSS, LossConfig
from .loss import GroundContact, NextStart, WindowData, control_rows, loss_function, pd_targets, split_controls


PELVIS, THORAX = skeleton.INDEX["pelvis"], skeleton.INDEX["thorax"]


@dataclass(frozen=True)
class WindowTrace:
    """One window: its frames [start, stop], the loss at every iterate, evaluations, status, and
    how it was recovered from a fall ("" none, "reanchored": optimized again from the kinematic
    state at its start, "failed": that fell too, the better of the two was kept)."""

    start: int
    stop: int
    losses: np.ndarray
    nfev: int
    status: str
    recovery: str = ""


@dataclass(frozen=True)
class FallTest:
    """When a window's simulated keypoints have left the observed ones, in any frame: the pelvis
    below ``min_height_ratio`` of the observed pelvis height, the trunk (pelvis to thorax) tilted
    more than ``max_tilt_deg`` from the observed trunk, or the pose (keypoints relative to the
    pelvis) ``max_pose_gap_m`` or more from the observed pose on average."""

    min_height_ratio: float = 0.75
    max_tilt_deg: float = 35.0
    max_pose_gap_m: float = 0.15

    def measures(self, simulated: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """(3, T) per frame: sinking, tilt and pose gap, each divided by its limit (1 or more is a
        fall by that measure); NaN in frames whose pelvis or thorax is unobserved."""
        sinking = (1.0 - simulated[:, PELVIS, 2] / np.maximum(observed[:, PELVIS, 2], 1e-3)) / (1.0 - self.min_height_ratio)
        trunk, trunk_seen = (p[:, THORAX] - p[:, PELVIS] for p in (simulated, observed))
        cosine = np.sum(trunk * trunk_seen, -1) / np.maximum(np.linalg.norm(trunk, axis=-1) * np.linalg.norm(trunk_seen, axis=-1), 1e-9)
        tilt = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))) / self.max_tilt_deg
        pose = (simulated - simulated[:, PELVIS:PELVIS + 1]) - (observed - observed[:, PELVIS:PELVIS + 1])
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # unobserved frames: NaN
            gap = np.nanmean(np.linalg.norm(pose, axis=-1), axis=-1) / self.max_pose_gap_m
        seen = np.isfinite(observed[:, [PELVIS, THORAX]]).all(axis=(1, 2))
        return np.where(seen, np.stack([sinking, tilt, gap]), np.nan)

    def deviation(self, simulated: np.ndarray, observed: np.ndarray) -> float:
        """The largest of the three ``measures`` over the frames: the window falls when it
        reaches 1. Frames whose pelvis or thorax is unobserved are skipped."""
        measures = self.measures(simulated, observed)
        return float(np.nanmax(measures)) if np.isfinite(measures).any() else 0.0


@dataclass
class Reconstruction:
    """The simulated motion: keypoints (T, K, 3), qpos (T, nq), qvel (T, nv), PD targets
    (T, J, 4), floor contacts (T, C) of the simulator's contact bodies, the residual root wrench
    (T, 6) in units of body weight (zero without one; ``LossConfig.residual_force_weight``), and
    one trace per window."""

    keypoints: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    controls: np.ndarray
    contacts: np.ndarray
    residual: np.ndarray
    windows: list[WindowTrace] = field(default_factory=list)
    # per window: mean keypoint distance (m) between its start and the previous window's simulated
    # state at that frame; 0 when the windows were simulated one from the other
    gaps: np.ndarray | None = None


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


class Observations(NamedTuple):
    """What the windows are scored against, whole-sequence arrays in float32 (see ``reconstruct``)."""

    keypoints: np.ndarray
    weights: np.ndarray
    keypoints2d: np.ndarray | None
    weights2d: np.ndarray | None
    camera: tuple | None
    planted: np.ndarray | None
    ground: GroundContact | None

    @classmethod
    def of(cls, keypoints, weights=None, keypoints2d=None, weights2d=None, camera=None, planted=None,
           ground=None) -> "Observations":
        keypoints = np.asarray(keypoints, np.float32)
        if weights is None:
            weights = np.isfinite(keypoints).all(axis=-1)
        if keypoints2d is not None:
            keypoints2d = np.asarray(keypoints2d, np.float32)
            if weights2d is None:
                weights2d = np.isfinite(keypoints2d).all(axis=-1)
            weights2d = np.asarray(weights2d, np.float32)
            camera = tuple(np.asarray(c, np.float32) for c in camera)
        planted = None if planted is None else np.asarray(planted, np.float32)
        if ground is not None:
            ground = GroundContact(np.asarray(ground.weight, np.float32), np.float32(ground.ankle_height))
        return cls(keypoints, np.asarray(weights, np.float32), keypoints2d, weights2d, camera, planted, ground)

    def window(self, body, reference: np.ndarray, start: int, length: int, qpos0, qvel0) -> WindowData:
        """The data of the window of ``body`` of ``length`` simulated frames from frame ``start``."""
        span = slice(start, start + length + 1)
        data = WindowData(body, np.asarray(qpos0, np.float32), np.asarray(qvel0, np.float32), reference[span],
                          self.keypoints[span], self.weights[span])  # fmt: skip
        if self.keypoints2d is not None:
            data = data._replace(keypoints2d=self.keypoints2d[span], weights2d=self.weights2d[span], camera=self.camera)
        if self.planted is not None:
            data = data._replace(planted=self.planted[span])
        if self.ground is not None:
            data = data._replace(ground=GroundContact(self.ground.weight[span], self.ground.ankle_height))
        return data


def _empty_result(frames: int, keypoints_shape, reference: np.ndarray, qpos0, qvel0, contact_bodies: int) -> Reconstruction:
    qpos = np.zeros((frames, len(qpos0)), np.float32)
    qvel = np.zeros((frames, len(qvel0)), np.float32)
    qpos[0], qvel[0] = qpos0, qvel0
    return Reconstruction(np.full(keypoints_shape, np.nan, np.float32), qpos, qvel, reference.copy(),
                          np.zeros((frames, contact_bodies), np.float32), np.zeros((frames, 6), np.float32))  # fmt: skip


def _keep(result: Reconstruction, start: int, kept: int, trajectory, targets, residual) -> None:
    """Stores frames start..start+kept of a window's simulated ``trajectory``, its PD targets and
    residual root wrench (None: none)."""
    done = slice(start, start + kept + 1)
    if residual is not None:
        result.residual[done] = residual[: kept + 1]
    result.keypoints[done] = np.asarray(trajectory.keypoints)[: kept + 1]
    result.qpos[done], result.qvel[done] = np.asarray(trajectory.qpos)[: kept + 1], np.asarray(trajectory.qvel)[: kept + 1]
    result.controls[done] = targets[: kept + 1]
    result.contacts[done] = np.asarray(trajectory.contacts)[: kept + 1]


def _windows(observations: Observations, reference, config: LossConfig) -> tuple[np.ndarray, int, list[int]]:
    """(reference in float32, frames, window starts) of a sequence."""
    frames = len(observations.keypoints)
    return np.asarray(reference, np.float32), frames, window_starts(frames, config.window, config.overlap)


def _key(key: jax.Array | None) -> jax.Array:
    return jax.random.key(0) if key is None else key


def _ends(trajectories: list, kept: list[int], field: str) -> list[np.ndarray]:
    """``field`` of every window but the last at its last kept frame: where its successor starts."""
    return [np.asarray(getattr(t, field))[n] for t, n in zip(trajectories[:-1], kept[:-1], strict=True)]


def _kept_frames(starts: list[int], frames: int) -> list[int]:
    """Frames each window keeps: up to the next window's start (the rest, the overlap, only looks
    ahead), the last window up to the end."""
    return [b - a for a, b in zip(starts, starts[1:] + [frames - 1], strict=True)]


def _targets(offsets: np.ndarray, reference) -> tuple[np.ndarray, np.ndarray | None]:
    """(PD targets (W+1, J, 4), residual root wrench (W+1, 6) or None) of a window's optimized
    controls (W+1, rows, 3)."""
    joint_offsets, residual = split_controls(offsets, reference.shape[1])
    return np.asarray(pd_targets(joint_offsets, reference)), residual


def _play(play, data: WindowData, targets, residual):
    """The window's trajectory under its targets (and residual wrench, MJX only)."""
    if residual is None:
        return play(data.qpos0, data.qvel0, targets)
    return play(data.qpos0, data.qvel0, targets, residual)


def reconstruct(sim, keypoints, reference, qpos0, qvel0, optimizer, *, config: LossConfig = DEFAULT_LOSS,
                max_evals: int = 50, weights=None, keypoints2d=None, weights2d=None, camera=None, planted=None,
                ground=None, stop=None, key=None, playback=None, progress=None, kinematic=None,
                fall: FallTest = FallTest()) -> Reconstruction:  # fmt: skip
    """Optimizes PD controls so that ``sim`` (an ``MjxSimulator``) reproduces observed
    ``keypoints`` (T, K, 3).

    ``reference`` (T, J, 4): kinematic PD targets (e.g. the inverse-kinematics poses), the
    controls at u = 0; (qpos0, qvel0): the state at frame 0; ``weights`` (T, K): per-keypoint
    weights (default 1, 0 where a keypoint is NaN); ``keypoints2d`` (T, K, 2) pixels seen by
    ``camera`` (K, dist, R, t) with ``weights2d`` (T, K) (default as for 3D) add the reprojection
    term (for 2D only, give NaN 3D keypoints); ``planted`` (T, 2): ankles the video shows standing
    still since the previous frame (the loss's planted-foot term); ``ground``: a ``GroundContact``
    whose weights (T, 2) say which ankles are on the ground (the ground-contact term);
    ``max_evals``: function evaluations per window; ``stop``: a stopping rule factory called per
    window (e.g. ``RelativeDecrease``);
    ``key``: a ``jax.random`` key for stochastic optimizers (folded with the window index).
    ``playback``: the simulator whose rollout of the optimized controls is the result and the
    next window's start (default ``sim``; e.g. a forward-only engine, with ``sim``'s gradients).
    ``progress(done, total)`` is called after every window. ``kinematic``: (qpos (T, nq), qvel
    (T, nv)) kinematic states of every frame; with them, a window that falls by ``fall`` is
    optimized again from the kinematic state at its start (see the module docstring), its gap is
    the mean keypoint distance between the two start states, and its trace says ``recovery``.
    """
    observations = Observations.of(keypoints, weights, keypoints2d, weights2d, camera, planted, ground)
    (reference, frames, starts), window = _windows(observations, reference, config), config.window
    loss, key, play = loss_function(sim.shared, config), _key(key), sim.compiled_rollout if playback is None else playback.rollout
    result = _empty_result(frames, observations.keypoints.shape, reference, qpos0, qvel0, len(sim.model.contact_bodies))
    result.gaps = np.zeros(len(starts), np.float32)
    joints = reference.shape[1]
    u0 = np.zeros((window + 1, control_rows(joints, config), 3), np.float32)

    def optimize(k: int, start: int, kept: int, qpos, qvel, u0):
        data = observations.window(sim.body, reference, start, window, qpos, qvel)
        res = optimizer.minimize(loss, u0.ravel(), budget=Budget(evaluations=max_evals), args=(data,),
                                 key=jax.random.fold_in(key, k), stop=None if stop is None else stop())  # fmt: skip
        offsets = np.asarray(res.best, np.float32).reshape(u0.shape)
        targets, residual = _targets(offsets, data.reference)
        trajectory = _play(play, data, targets, residual)
        seen = observations.keypoints[start : start + kept + 1]
        deviation = fall.deviation(np.asarray(trajectory.keypoints)[: kept + 1], seen)
        return res, offsets, targets, residual, trajectory, deviation

    for k, (start, kept) in enumerate(zip(starts, _kept_frames(starts, frames), strict=True)):
        res, offsets, targets, residual, trajectory, deviation = optimize(k, start, kept, result.qpos[start],
                                                                          result.qvel[start], u0)  # fmt: skip
        recovery = ""
        if kinematic is not None and start > 0 and deviation >= 1.0:
            qpos, qvel = (np.asarray(a, np.float32)[start] for a in kinematic)
            again = optimize(k, start, kept, qpos, qvel, np.zeros_like(u0))
            recovery = "reanchored" if again[-1] < 1.0 else "failed"
            if again[-1] < deviation:
                res, offsets, targets, residual, trajectory, deviation = again
                result.gaps[k] = np.linalg.norm(np.asarray(trajectory.keypoints)[0] - result.keypoints[start], axis=-1).mean()
        _keep(result, start, kept, trajectory, targets, residual)
        # the next window starts from the optimized offsets of the frames it shares with this one
        u0 = np.concatenate([offsets[kept:], np.zeros_like(offsets[:kept])])
        result.windows.append(WindowTrace(start, start + window, np.asarray(res.losses), res.nfev, str(res.status), recovery))
        if progress is not None:
            progress(k + 1, len(starts))
    return result


def reconstruct_in_parallel(sim, keypoints, reference, qpos, qvel, optimizer, *, rounds: int = 2,
                            config: LossConfig = DEFAULT_LOSS, max_evals: int = 50, weights=None, keypoints2d=None,
                            weights2d=None, camera=None, planted=None, ground=None, stop=None, key=None, playback=None,
                            progress=None) -> Reconstruction:  # fmt: skip
    """``reconstruct`` with all windows optimized together (see the module docstring), each round
    with ``max_evals`` evaluations per window, warm-started from the previous round's controls.

    ``qpos`` (T, nq), ``qvel`` (T, nv): the kinematic state of every frame (e.g. inverse
    kinematics and finite-difference velocities), the first round's window starts; frame 0's is
    the motion's start. ``progress(done, total)`` is called after every round; the other
    arguments are ``reconstruct``'s. A window's trace holds the losses of all rounds in order.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    observations = Observations.of(keypoints, weights, keypoints2d, weights2d, camera, planted, ground)
    (reference, frames, starts), window = _windows(observations, reference, config), config.window
    loss, key, play = loss_function(sim.shared, config), _key(key), sim.compiled_rollout if playback is None else playback.rollout
    kept = _kept_frames(starts, frames)
    start_q, start_v = np.asarray(qpos, np.float32)[starts], np.asarray(qvel, np.float32)[starts]
    rows = control_rows(reference.shape[1], config)
    u = np.zeros((len(starts), (window + 1) * rows * 3), np.float32)
    losses, nfev = [[] for _ in starts], np.zeros(len(starts), int)
    last = len(starts) - 1  # the last window has no successor: its continuity weight is 0
    for r in range(rounds):
        windows = [
            observations.window(sim.body, reference, start, window, start_q[k], start_v[k])._replace(next_start=NextStart(
                np.int32(kept[k]), start_q[min(k + 1, last)], start_v[min(k + 1, last)], np.float32(k < last)))
            for k, start in enumerate(starts)
        ]  # fmt: skip
        batch = jax.tree.map(lambda *leaves: np.stack(leaves), *windows)
        results = minimize_batch(optimizer, loss, u, budget=Budget(evaluations=max_evals), args=(batch,),
                                 key=jax.random.fold_in(key, r), stop=None if stop is None else stop())  # fmt: skip
        u = np.stack([np.asarray(res.best, np.float32) for res in results])
        controls = [_targets(u[k].reshape(window + 1, rows, 3), w.reference) for k, w in enumerate(windows)]
        trajectories = [_play(play, w, *c) for w, c in zip(windows, controls, strict=True)]
        for k, res in enumerate(results):
            losses[k].append(np.asarray(res.losses))
            nfev[k] += res.nfev
        if progress is not None:
            progress(r + 1, rounds)
        if r + 1 < rounds:  # every window but the first restarts where its predecessor ended
            start_q[1:], start_v[1:] = _ends(trajectories, kept, "qpos"), _ends(trajectories, kept, "qvel")
    result = _empty_result(frames, observations.keypoints.shape, reference, start_q[0], start_v[0], len(sim.model.contact_bodies))
    for k, start in enumerate(starts):
        _keep(result, start, kept[k], trajectories[k], *controls[k])
        result.windows.append(WindowTrace(start, start + window, np.concatenate(losses[k]), int(nfev[k]), str(results[k].status)))
    ends = _ends(trajectories, kept, "keypoints")
    begins = [np.asarray(t.keypoints)[0] for t in trajectories[1:]]
    result.gaps = np.array([0.0] + [np.linalg.norm(e - b, axis=-1).mean() for e, b in zip(ends, begins, strict=True)], np.float32)
    return result
