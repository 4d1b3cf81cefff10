"""A result's simulated motion in the files other tools read (``recon export``).

- BVH: the simulated body's skeleton (one joint per body, offsets from the fitted body's own bone
  lengths, an end site at each leaf's farthest keypoint or capsule end) and per frame the root
  position and every joint's rotation from ``simulation/qpos`` (root channels Xposition
  Yposition Zposition Zrotation Xrotation Yrotation, the others Zrotation Xrotation Yrotation, in
  degrees); y up (the BVH default) or z up, metres or centimetres; frame time 1 / the result's fps.
- GLB: the simulated body's capsules, animated, on a floor (``pipelines/glb.py``).
- npz and CSV: the 17 simulated keypoints per frame (metres, z up), the floor contacts of the
  contact bodies and, where the reconstruction had one, the residual root wrench (N, N m).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from body_models.model_files import result_mujoco_model
from motion_recon.datasets.sequence import Y_UP_TO_Z_UP
from motion_recon.io import atomic_path
from motion_recon.result_file import MotionResult
from motion_recon.skeleton import JOINTS

FORMATS = (".bvh", ".glb", ".npz", ".csv")
UNITS = {"m": 1.0, "cm": 100.0}  # file units per metre
WRENCH = ("force_x_n", "force_y_n", "force_z_n", "torque_x_nm", "torque_y_nm", "torque_z_nm")


def export(result: MotionResult, path, *, up: str = "y", units: str = "m") -> Path:
    """Writes ``result`` to ``path`` in the format of its suffix (``FORMATS``), atomically;
    ``up`` and ``units`` apply to BVH."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown export format {path.suffix!r}; use one of {', '.join(FORMATS)}")
    if suffix == ".bvh":
        if up not in ("y", "z") or units not in UNITS:
            raise ValueError(f"BVH exports take --up y|z and --units m|cm, got {up!r} and {units!r}")
        text = bvh_text(result, up, units)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)
    elif suffix == ".glb":
        from pipelines.glb import write_glb

        with atomic_path(path) as tmp:
            write_glb(result, tmp)
    elif suffix == ".npz":
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **_arrays(result))
    else:
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            _write_csv(csv.writer(f), result)
    return path


def bvh_text(result: MotionResult, up: str = "y", units: str = "m") -> str:
    """The BVH file of ``result`` (see the module docstring)."""
    import mujoco

    model = result_mujoco_model(result.body)
    qpos = np.asarray(result.qpos, float)
    if qpos.ndim != 2 or qpos.shape[1] != model.nq:
        raise ValueError(f"{result.name}: simulation/qpos has shape {qpos.shape}, the body needs (T, {model.nq})")
    axes = Y_UP_TO_Z_UP.T if up == "y" else np.eye(3)  # world z up -> the file's axes
    scale = UNITS[units]
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
    children = {b: [c for c in range(1, model.nbody) if model.body_parentid[c] == b and c != b] for b in range(model.nbody)}

    def number(values) -> str:
        return " ".join(f"{v:.6f}" for v in values)

    def hierarchy(body: int, depth: int) -> list[str]:
        pad = "  " * depth
        offset = np.zeros(3) if body == 1 else axes @ model.body_pos[body] * scale
        lines = [f"{pad}{'ROOT' if body == 1 else 'JOINT'} {names[body]}", f"{pad}{{", f"{pad}  OFFSET {number(offset)}"]
        channels = "Xposition Yposition Zposition Zrotation Xrotation Yrotation" if body == 1 else "Zrotation Xrotation Yrotation"
        lines.append(f"{pad}  CHANNELS {6 if body == 1 else 3} {channels}")
        for child in children[body]:
            lines += hierarchy(child, depth + 1)
        if not children[body]:
            end = axes @ _end_site(model, body) * scale
            lines += [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {number(end)}", f"{pad}  }}"]
        return lines + [f"{pad}}}"]

    order = _depth_first(children, 1)
    local = body_rotations(model, qpos)
    frames = []
    for t, q in enumerate(qpos):
        values = [axes @ q[:3] * scale]
        for body in order:
            in_file = Rotation.from_matrix(axes @ Rotation.from_quat(local[t, body - 1], scalar_first=True).as_matrix() @ axes.T)
            values.append(in_file.as_euler("ZXY", degrees=True))
        frames.append(number(np.concatenate(values)))
    header = ["HIERARCHY", *hierarchy(1, 0), "MOTION", f"Frames: {len(qpos)}", f"Frame Time: {1.0 / result.fps:.8f}"]
    return "\n".join(header + frames) + "\n"


def body_rotations(model, qpos: np.ndarray) -> np.ndarray:
    """(T, nbody - 1, 4) each body's rotation in its parent's frame (the root's in the world),
    quaternions [w, x, y, z], world z up: the body's fixed ``body_quat`` times its joint's
    rotation from ``qpos`` (T, nq)."""
    local = np.empty((len(qpos), model.nbody - 1, 4))
    for body in range(1, model.nbody):
        address = model.jnt_qposadr[model.body_jntadr[body]] + (3 if body == 1 else 0)
        joint = Rotation.from_quat(qpos[:, address : address + 4], scalar_first=True)
        local[:, body - 1] = (Rotation.from_quat(model.body_quat[body], scalar_first=True) * joint).as_quat(scalar_first=True)
    return local


def _depth_first(children: dict, body: int) -> list[int]:
    return [body] + [b for child in children[body] for b in _depth_first(children, child)]


def _end_site(model, body: int) -> np.ndarray:
    """The farthest point from a leaf body's origin among its sites and its capsules' ends, in
    the body's frame."""
    points = [model.site_pos[s] for s in np.flatnonzero(model.site_bodyid == body)]
    for g in np.flatnonzero(model.geom_bodyid == body):
        along = Rotation.from_quat(model.geom_quat[g], scalar_first=True).apply([0.0, 0.0, model.geom_size[g, 1]])
        points += [model.geom_pos[g] + along, model.geom_pos[g] - along]
    return max(points, key=np.linalg.norm) if points else np.zeros(3)


def _arrays(result: MotionResult) -> dict:
    arrays = {"keypoints": np.asarray(result.simulated, np.float32), "joint_names": np.array(JOINTS),
              "fps": np.float64(result.fps), "contacts": np.asarray(result.contacts, np.float32),
              "contact_bodies": np.array(result.contact_bodies)}  # fmt: skip
    if result.root_wrench is not None:
        arrays["root_wrench"] = np.asarray(result.root_wrench, np.float32)
    return arrays


def _write_csv(writer, result: MotionResult) -> None:
    keypoints = np.asarray(result.simulated, float)
    header = ["frame", "time_s"] + [f"{j}_{a}" for j in JOINTS for a in "xyz"]
    header += [f"contact_{b}" for b in result.contact_bodies] + (list(WRENCH) if result.root_wrench is not None else [])
    writer.writerow(header)
    for t in range(len(keypoints)):
        row = [t, f"{t / result.fps:.6f}"] + [f"{v:.6f}" for v in keypoints[t].ravel()]
        row += [f"{c:g}" for c in np.asarray(result.contacts)[t]]
        if result.root_wrench is not None:
            row += [f"{w:.4f}" for w in np.asarray(result.root_wrench)[t]]
        writer.writerow(row)
