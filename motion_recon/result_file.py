"""The reconstruction result file (HDF5), written atomically (temporary name, then rename).

Schema, version 1 (also in the README); T frames, K = 17 keypoints, J actuated joints, C contact
bodies, W windows:

  /                        attrs: format = "motion-recon result", version, name, fps, engine
  observations/keypoints3d (T, K, 3) metres, world frame, z up (when known)
  observations/keypoints2d (T, K, 2) pixels (when known); observations/confidence2d (T, K)
  camera/                  (when known) K (3, 3), dist (5,) OpenCV order, R (3, 3) and t (3,)
                           world to camera in metres; attrs name, width, height
  body/                    bone_lengths (K,), attrs ankle_height, foot_length, mass, height,
                           trunk_directions (4, 3): rest directions of left hip, spine, left shoulder
                           and neck in their links (absent in older files: the canonical ones)
  simulation/keypoints3d   (T, K, 3) simulated keypoints; simulation/qpos (T, nq), qvel (T, nv),
                           contacts (T, C) with attrs contact_bodies
  controls/quaternions     (T, J, 4) PD target quaternions (w, x, y, z); attrs joints
  controls/root_wrench     (T, 6) residual root force (N, world x y z) and torque (N m, root axes)
                           held from each frame to the next (only with a residual root force)
  optimization/            start, stop, nfev (W,), status (W,) strings, recovery (W,) strings
                           ("" or how a falling window was recovered; absent in older files),
                           losses (W, L): the loss at every iterate of each window, NaN-padded;
                           attrs optimizer, max_evals, loss config (JSON), feedforward (1: PD
                           targets led by the damping time) and, from video, velocity_half_width
  metrics                  group whose attrs are the metrics (mm, px, m/frame^2, %)
  provenance               group whose attrs are ``motion_recon.provenance.record``: versions and hardware
                           (JSON), command, commit, time, seed, checkpoint (JSON: path, sha256), input
                           (JSON); files before 2026-12-06 have created for time and the checkpoint's path
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import atomic_path

FORMAT = "motion-recon result"
VERSION = 1


@dataclass
class MotionResult:
    """Everything a reconstruction produced (see the module docstring for units)."""

    name: str
    fps: float
    engine: str
    simulated: np.ndarray
    qpos: np.ndarray
    qvel: np.ndarray
    contacts: np.ndarray
    contact_bodies: tuple[str, ...]
    controls: np.ndarray
    joints: tuple[str, ...]
    body: dict
    windows: dict
    optimization: dict = field(default_factory=dict)
    observed3d: np.ndarray | None = None
    observed2d: np.ndarray | None = None
    confidence2d: np.ndarray | None = None
    camera: dict | None = None
    root_wrench: np.ndarray | None = None
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)


def write_result(path, result: MotionResult) -> None:
    """Writes ``result`` to ``path`` (.h5) through a temporary file, so an interrupted write
    never leaves a broken file or replaces an existing one."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, version=VERSION, name=result.name, fps=result.fps, engine=result.engine)
        observations = f.create_group("observations")
        for key, value in (("keypoints3d", result.observed3d), ("keypoints2d", result.observed2d),
                           ("confidence2d", result.confidence2d)):  # fmt: skip
            if value is not None:
                observations.create_dataset(key, data=np.asarray(value, np.float32))
        if result.camera is not None:
            camera = f.create_group("camera")
            for key in ("K", "dist", "R", "t"):
                camera.create_dataset(key, data=np.asarray(result.camera[key], np.float64))
            camera.attrs.update({k: result.camera[k] for k in ("name", "width", "height")})
        body = f.create_group("body")
        body.create_dataset("bone_lengths", data=np.asarray(result.body["bone_lengths"], np.float64))
        body.attrs.update({k: v for k, v in result.body.items() if k != "bone_lengths"})
        simulation = f.create_group("simulation")
        for key in ("simulated", "qpos", "qvel", "contacts"):
            name = "keypoints3d" if key == "simulated" else key
            simulation.create_dataset(name, data=np.asarray(getattr(result, key), np.float32))
        simulation["contacts"].attrs["contact_bodies"] = list(result.contact_bodies)
        controls = f.create_group("controls")
        controls.create_dataset("quaternions", data=np.asarray(result.controls, np.float32))
        controls.attrs["joints"] = list(result.joints)
        if result.root_wrench is not None:
            controls.create_dataset("root_wrench", data=np.asarray(result.root_wrench, np.float32))
        optimization = f.create_group("optimization")
        for key in ("start", "stop", "nfev", "losses"):
            optimization.create_dataset(key, data=np.asarray(result.windows[key]))
        for key in ("status", "recovery"):
            optimization.create_dataset(key, data=np.asarray(result.windows.get(key, [""] * len(result.windows["start"])), dtype="S"))
        optimization.attrs.update(_attrs(result.optimization))
        f.create_group("metrics").attrs.update({k: float(v) for k, v in result.metrics.items()})
        f.create_group("provenance").attrs.update(_attrs(result.provenance))


def read_result(path) -> MotionResult:
    """Reads a result file written by :func:`write_result`; a one-line error names a missing or
    foreign file."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not an HDF5 file ({err})") from err
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a motion-recon result file")
        observations = f["observations"]
        optional = {k: observations[k][()] if k in observations else None
                    for k in ("keypoints3d", "keypoints2d", "confidence2d")}  # fmt: skip
        camera = None
        if "camera" in f:
            camera = {k: f["camera"][k][()] for k in ("K", "dist", "R", "t")}
            camera.update({k: _plain(v) for k, v in f["camera"].attrs.items()})
        optimization = f["optimization"]
        windows = {k: optimization[k][()] for k in ("start", "stop", "nfev", "losses")}
        windows["status"] = [s.decode() for s in optimization["status"][()]]
        windows["recovery"] = [s.decode() for s in optimization["recovery"][()]] if "recovery" in optimization else [""] * len(windows["start"])
        simulation = f["simulation"]
        return MotionResult(
            name=str(f.attrs["name"]), fps=float(f.attrs["fps"]), engine=str(f.attrs["engine"]),
            simulated=simulation["keypoints3d"][()], qpos=simulation["qpos"][()], qvel=simulation["qvel"][()],
            contacts=simulation["contacts"][()],
            contact_bodies=tuple(str(b) for b in simulation["contacts"].attrs["contact_bodies"]),
            controls=f["controls/quaternions"][()], joints=tuple(str(j) for j in f["controls"].attrs["joints"]),
            root_wrench=f["controls/root_wrench"][()] if "root_wrench" in f["controls"] else None,
            body={"bone_lengths": f["body/bone_lengths"][()], **{k: _plain(v) for k, v in f["body"].attrs.items()}},
            windows=windows, optimization=_read_attrs(optimization), observed3d=optional["keypoints3d"],
            observed2d=optional["keypoints2d"], confidence2d=optional["confidence2d"], camera=camera,
            metrics={k: float(v) for k, v in f["metrics"].attrs.items()}, provenance=_read_attrs(f["provenance"]),
        )


def window_table(traces) -> dict:
    """The ``windows`` entry of a result from per-window traces (start, stop, losses, nfev,
    status, recovery): losses NaN-padded to the longest window."""
    longest = max((len(t.losses) for t in traces), default=0)
    losses = np.full((len(traces), longest), np.nan)
    for row, trace in zip(losses, traces, strict=True):
        row[: len(trace.losses)] = trace.losses
    return {
        "start": np.array([t.start for t in traces], np.int64), "stop": np.array([t.stop for t in traces], np.int64),
        "nfev": np.array([t.nfev for t in traces], np.int64), "status": [t.status for t in traces], "losses": losses,
        "recovery": [t.recovery for t in traces],
    }


def _attrs(values: dict) -> dict:
    """HDF5 attributes: numbers and strings as they are, anything else as JSON text."""
    return {k: v if isinstance(v, (int, float, str)) else json.dumps(v) for k, v in values.items() if v is not None}


def _read_attrs(group) -> dict:
    out = {}
    for key, value in group.attrs.items():
        value = _plain(value)
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        out[key] = value
    return out


def _plain(value):
    """numpy scalars and bytes from h5py as Python values."""
    if isinstance(value, bytes):
        return value.decode()
    return value.item() if isinstance(value, np.generic) else value
