"""A result with a real pose for the viewer tests (no JAX): the 1.75 m humanoid standing in its
rest pose and gliding along x, seen by a camera from the side, with its own keypoints as
observations, the feet taking turns touching the floor (5 frames each) and windows of 10 frames
whose loss traces have different lengths; and the same with every joint turned (exports)."""

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from body_models.humanoid import build_humanoid
from body_models.model_files import result_mujoco_model, to_mjcf
from body_models.shape import shape_from_height
from motion_recon.skeleton import FEET, JOINTS
from motion_recon.diffphy.reconstruct import WindowTrace
from motion_recon.perception.cameras import Camera
from motion_recon.result_file import MotionResult, window_table

SIZE = (320, 240)
STEP = 0.02  # m per frame along x


def side_camera() -> Camera:
    """A 60-degree camera 4 m in front of the body (looking along +y), 1 m high."""
    eye, target = np.array([0.0, -4.0, 1.0]), np.array([0.0, 0.0, 0.9])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    R = np.stack([right, np.cross(forward, right), forward])
    focal = SIZE[0] / 2 / np.tan(np.radians(30.0))
    K = np.array([[focal, 0.0, (SIZE[0] - 1) / 2], [0.0, focal, (SIZE[1] - 1) / 2], [0.0, 0.0, 1.0]])
    return Camera("side", *SIZE, K, np.zeros(5), R, -R @ eye)


def posed_result(frames: int = 10, fps: float = 25.0, video=None, optimizer: str = "adam") -> MotionResult:
    """The gliding rest pose as a result (``video``: the file recorded as its input)."""
    window = 10
    shape = shape_from_height(1.75)
    model = mujoco.MjModel.from_xml_string(to_mjcf(build_humanoid(shape)))
    data = mujoco.MjData(model)
    qpos = np.tile(model.qpos0, (frames, 1))
    qpos[:, 0] += STEP * np.arange(frames)
    sites = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name) for name in JOINTS]
    keypoints = np.empty((frames, len(JOINTS), 3))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        keypoints[t] = data.site_xpos[sites]
    camera = side_camera()
    traces = [WindowTrace(start, min(start + window, frames), np.geomspace(3.0 - w, 0.3, 4 - w % 3), 4 - w % 3,
                          "budget" if w % 3 != 1 else "converged")
              for w, start in enumerate(range(0, frames, window))]  # fmt: skip
    left = (np.arange(frames) // 5) % 2 == 0
    return MotionResult(
        name="glide", fps=fps, engine="mjx", simulated=keypoints, qpos=qpos, qvel=np.zeros((frames, model.nv)),
        contacts=np.stack([left, ~left], 1).astype(float), contact_bodies=FEET, controls=np.zeros((frames, 13, 4)),
        joints=tuple(f"j{i}" for i in range(13)),
        body={"bone_lengths": np.asarray(shape.bone_lengths), "ankle_height": shape.ankle_height,
              "foot_length": shape.foot_length, "mass": 60.0, "height": shape.height},
        windows=window_table(traces), optimization={"optimizer": optimizer}, observed3d=keypoints + 0.01,
        observed2d=np.asarray(camera.project(keypoints)), confidence2d=np.ones((frames, len(JOINTS))),
        camera=camera.to_dict(), metrics={"mpjpe_g": 10.0},
        provenance={"input": {"file": str(video), "frames": [0, frames]} if video else {}},
    )  # fmt: skip


def turned_result():
    """The gliding rest pose with every joint and the root turned at random, 40 degrees or so."""
    result = posed_result(frames=6)
    model = result_mujoco_model(result.body)
    rng = np.random.default_rng(0)
    qpos = np.asarray(result.qpos, float).copy()
    for body in range(1, model.nbody):
        address = model.jnt_qposadr[model.body_jntadr[body]] + (3 if body == 1 else 0)
        qpos[:, address : address + 4] = Rotation.from_rotvec(rng.normal(0.0, 0.4, (len(qpos), 3))).as_quat(scalar_first=True)
    result.qpos = qpos
    return result, model


def body_positions(model, qpos) -> np.ndarray:
    """(T, nbody - 1, 3) the bodies' world positions (C MuJoCo's kinematics), metres, z up."""
    data = mujoco.MjData(model)
    out = []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        out.append(data.xpos[1:].copy())
    return np.array(out)
