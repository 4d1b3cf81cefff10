"""Converts DeepMimic's retargeted motion-capture clips to 17-joint Human3.6M keypoints (.npz).

Source: the PyPI package pybullet 3.2.7 (zlib licence), which ships DeepMimic's clips (MIT licence)
in ``pybullet_data/data/motions/humanoid3d_*.txt`` and the DeepMimic humanoid in
``pybullet_data/humanoid/humanoid.urdf``. See LICENSE-mocap.txt and README.md next to this file.

Run, from the repository root, on an unzipped pybullet wheel (a wheel is a zip file)::

    unzip -q pybullet-3.2.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl -d /tmp/pyb
    python data/samples/make_mocap_sample.py /tmp/pyb/pybullet_data

It writes ``mocap_<motion>.npz`` for every clip of ``CLIPS`` next to this file: ``keypoints`` (T, 17, 3)
float64 metres, world frame, z up, floor at z = 0, in the joint order of
``motion_recon.skeleton.JOINTS``; ``fps`` (25.0); ``name`` (the source clip). Needs numpy, scipy and
this project installed (it imports ``body_models`` and ``motion_recon``); pybullet is not imported.

Motion file (JSON, documented in DeepMimic's README): "Loop" ("wrap" or "none") and "Frames", each
frame = [duration of the frame (s), root position xyz (3, metres, world), root rotation (4, world),
then local rotations of chest (4), neck (4), right hip (4), right knee (1), right ankle (4), right
shoulder (4), right elbow (1), left hip (4), left knee (1), left ankle (4), left shoulder (4), left
elbow (1)]; quaternions are (w, x, y, z), 1-D joints are angles in radians about the joint axis.
The same layout is read by pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py.

Skeleton: humanoid.urdf is DeepMimic's data/characters/humanoid3d.txt multiplied by 4; pybullet's
DeepMimic environment loads it with ``globalScaling=0.25`` (humanoid_stable_pd.py), so offsets are
the URDF's times 0.25, in metres. The character is y up, x forward, z to its right (right hip at
+z). The script checks a few offsets against the values of humanoid3d.txt.

Mapping of the DeepMimic humanoid to the 17 Human3.6M joints:

- pelvis: the root joint (the hips' midpoint; the hip joints sit level with it).
- right/left hip, knee, ankle, shoulder, elbow, wrist: the joints of the same name (the wrist is
  the fixed joint at the end of the forearm, the centre of DeepMimic's hand sphere).
- spine: the chest joint, 0.236 m above the root. Human3.6M's spine joint lies about halfway
  between pelvis and thorax, and the chest joint is at 0.51 of the root-to-neck-base distance.
- thorax: the neck joint, i.e. the base of the neck (0.224 m above the chest joint, 2 cm below
  the shoulder joints).
- neck: the centre of DeepMimic's head sphere, 0.175 m up the neck link from the neck joint: about
  nose/ear height, where Human3.6M's "neck/nose" point and this project's COCO mapping (nose) put it.
- head: the top of the head sphere, centre + its radius (0.1025 m) along the neck link's y axis;
  Human3.6M's "head" is the top of the head.

Processing: the pose is resampled at 25 fps from the first to the last keyframe (keyframe times are
the cumulative frame durations; between two keyframes the root position and the 1-D angles are
interpolated linearly in time and the 3-D rotations by slerp, i.e. linearly in rotation angle) and
each resampled pose goes through forward kinematics, so bone lengths stay exact; y up to z up with ``motion_recon.datasets.sequence.Y_UP_TO_Z_UP`` (x forward
stays x, the person's left becomes +y); then a vertical shift that puts the lowest ankle of the clip
at DeepMimic's flat-foot ankle height, 0.05 m: the distance from the ankle joint down to the sole of
the character's foot box (box centre 0.0225 m below the ankle, 0.055 m tall). The file's own ground
(y = 0, the plane pybullet simulates the character on) is not used as is, because the foot boxes of
several clips sink a few centimetres below it; the script prints where the floor lies in the file
and the height of the lowest foot-box corner over the clip (negative: below the floor). Nothing is
scaled. The clip is taken as it is: no loops are concatenated.
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_recon.skeleton import INDEX, JOINTS
from motion_recon.datasets.sequence import Y_UP_TO_Z_UP

FPS = 25.0
URDF_SCALE = 0.25  # globalScaling with which pybullet_envs/deep_mimic loads humanoid/humanoid.urdf
# The clips written by default: output file name -> source motion file. Every upright clip of the
# package: the others (backflip, cartwheel, crawl, getup, roll, spin) leave their feet.
CLIPS = {
    "mocap_walk": "humanoid3d_walk.txt", "mocap_dance": "humanoid3d_dance_b.txt",
    "mocap_dance_a": "humanoid3d_dance_a.txt", "mocap_spinkick": "humanoid3d_spinkick.txt",
    "mocap_run": "humanoid3d_run.txt", "mocap_jump": "humanoid3d_jump.txt",
    "mocap_kick": "humanoid3d_kick.txt", "mocap_punch": "humanoid3d_punch.txt",
}  # fmt: skip

# Channels of one motion frame after the duration and the root (position 3, rotation 4).
MOTION_JOINTS = (
    ("chest", 4), ("neck", 4),
    ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4), ("right_shoulder", 4), ("right_elbow", 1),
    ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1),
)  # fmt: skip
FRAME_SIZE = 1 + 3 + 4 + sum(n for _, n in MOTION_JOINTS)  # 44

# A few joint offsets (metres, parent frame) of DeepMimic's data/characters/humanoid3d.txt, to check
# the URDF and its scale against.
CHARACTER_OFFSETS = {
    "chest": (0.0, 0.236151, 0.0), "neck": (0.0, 0.223894, 0.0), "right_hip": (0.0, 0.0, 0.084887),
    "right_knee": (0.0, -0.421546, 0.0), "right_ankle": (0.0, -0.409870, 0.0),
    "right_shoulder": (-0.02405, 0.24350, 0.18311), "right_elbow": (0.0, -0.274788, 0.0),
    "right_wrist": (0.0, -0.258947, 0.0),
}  # fmt: skip


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def read_character(urdf_path) -> dict:
    """Joint tree, offsets (m), 1-D joint axes, head sphere and foot box of the DeepMimic humanoid."""
    text = Path(urdf_path).read_text().rstrip("\x00\r\n\t ")  # pybullet's file ends in a NUL byte
    root = ET.fromstring(text)
    joints = {}
    for joint in root.iter("joint"):
        name = joint.get("name")
        origin = joint.find("origin")
        axis = joint.find("axis")
        joints[name] = {
            "type": joint.get("type"),
            "parent": joint.find("parent").get("link"),
            "offset": _floats(origin.get("xyz")) * URDF_SCALE,
            "axis": _floats(axis.get("xyz")) if axis is not None else None,
        }
    links = {link.get("name"): link for link in root.iter("link")}

    def collision(link_name):
        col = links[link_name].find("collision")
        return _floats(col.find("origin").get("xyz")) * URDF_SCALE, col.find("geometry")[0]

    head_centre, sphere = collision("neck")
    foot_centre, box = collision("right_ankle")
    if sphere.tag != "sphere" or box.tag != "box":
        raise ValueError(f"{urdf_path}: expected a sphere head and box feet, got {sphere.tag} and {box.tag}")
    for name, expected in CHARACTER_OFFSETS.items():
        if not np.allclose(joints[name]["offset"], expected, atol=1e-5):
            raise ValueError(f"{urdf_path}: {name} offset {joints[name]['offset']} is not DeepMimic's {expected}")
    return {
        "joints": joints,
        "head_centre": head_centre,  # in the neck joint's frame
        "head_radius": float(sphere.get("radius")) * URDF_SCALE,
        "foot_centre": foot_centre,  # in the ankle joint's frame
        "foot_half_size": _floats(box.get("size")) * URDF_SCALE / 2,
    }


def read_motion(path) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Keyframe times (K,), local joint values {name: (K, 4) wxyz quaternions or (K,) angles},
    root positions (K, 3) and root quaternions (K, 4) wxyz of one DeepMimic motion file."""
    frames = np.asarray(json.loads(Path(path).read_text())["Frames"], dtype=float)
    if frames.ndim != 2 or frames.shape[1] != FRAME_SIZE:
        raise ValueError(f"{path}: frames must have {FRAME_SIZE} values, got shape {frames.shape}")
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])  # a frame's duration leads to the next
    values, column = {}, 8
    for name, size in MOTION_JOINTS:
        values[name] = frames[:, column] if size == 1 else frames[:, column : column + 4]
        column += size
    return times, values, frames[:, 1:4], frames[:, 4:8]


def _rotation(wxyz: np.ndarray) -> Rotation:
    return Rotation.from_quat(np.roll(wxyz, -1, axis=-1))  # scipy wants (x, y, z, w)


def _slerp(a: Rotation, b: Rotation, fraction: np.ndarray) -> Rotation:
    return a * Rotation.from_rotvec((a.inv() * b).as_rotvec() * fraction[:, None])


def resample(times, values, root_pos, root_quat, fps=FPS):
    """Rotations and positions at ``fps`` over the clip, interpolated between keyframes."""
    t = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    f = np.clip((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-12), 0.0, 1.0)
    pos = root_pos[i] + f[:, None] * (root_pos[i + 1] - root_pos[i])
    rot = _slerp(_rotation(root_quat[i]), _rotation(root_quat[i + 1]), f)
    local = {}
    for name, v in values.items():
        if v.ndim == 1:
            local[name] = v[i] + f * (v[i + 1] - v[i])
        else:
            local[name] = _slerp(_rotation(v[i]), _rotation(v[i + 1]), f)
    return pos, rot, local


def forward_kinematics(character, root_pos, root_rot, local):
    """World positions (T, 3) and rotations of every URDF joint, y up."""
    joints = character["joints"]
    world_pos, world_rot = {"root": root_pos}, {"root": root_rot}
    pending = [name for name in joints if name != "root"]
    while pending:  # parents before children
        if not any(joints[name]["parent"] in world_rot for name in pending):
            raise ValueError(f"joints {pending} do not hang from the root")
        for name in list(pending):
            spec = joints[name]
            parent = spec["parent"]
            if parent not in world_rot:
                continue
            if spec["type"] == "spherical":
                rot = local[name]
            elif spec["type"] == "revolute":
                rot = Rotation.from_rotvec(local[name][:, None] * spec["axis"])
            else:  # fixed
                rot = Rotation.identity(len(root_pos))
            world_pos[name] = world_pos[parent] + world_rot[parent].apply(spec["offset"])
            world_rot[name] = world_rot[parent] * rot
            pending.remove(name)
    return world_pos, world_rot


def to_h36m(character, world_pos, world_rot) -> np.ndarray:
    """(T, 17, 3) Human3.6M keypoints, y up, from the DeepMimic joints (see the module docstring)."""
    names = {name: name for name in JOINTS if name.startswith(("left_", "right_"))}
    names.update({"pelvis": "root", "spine": "chest", "thorax": "neck"})
    points = np.zeros((len(world_pos["root"]), len(JOINTS), 3))
    for joint, source in names.items():
        points[:, INDEX[joint]] = world_pos[source]
    up = np.array([0.0, 1.0, 0.0])
    centre = character["head_centre"]
    points[:, INDEX["neck"]] = world_pos["neck"] + world_rot["neck"].apply(centre)
    points[:, INDEX["head"]] = world_pos["neck"] + world_rot["neck"].apply(centre + character["head_radius"] * up)
    return points


def flat_foot_ankle_height(character) -> float:
    """Height of the ankle joint above the floor when the foot box lies flat on it (0.05 m)."""
    return float(character["foot_half_size"][1] - character["foot_centre"][1])


def foot_corners(character, world_pos, world_rot) -> np.ndarray:
    """(T, 16, 3) corners of both foot boxes, y up."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    local = character["foot_centre"] + signs * character["foot_half_size"]
    corners = [world_pos[a][:, None] + np.stack([world_rot[a].apply(c) for c in local], axis=1)
               for a in ("right_ankle", "left_ankle")]  # fmt: skip
    return np.concatenate(corners, axis=1)


def convert(character, motion_path, fps=FPS) -> tuple[np.ndarray, dict]:
    """Keypoints (T, 17, 3), z up, floor at z = 0, and a summary of one clip."""
    times, values, root_pos, root_quat = read_motion(motion_path)
    pos, rot, local = resample(times, values, root_pos, root_quat, fps)
    world_pos, world_rot = forward_kinematics(character, pos, rot, local)
    keypoints = to_h36m(character, world_pos, world_rot) @ Y_UP_TO_Z_UP.T
    corners = foot_corners(character, world_pos, world_rot) @ Y_UP_TO_Z_UP.T
    ankles = keypoints[:, [INDEX["left_ankle"], INDEX["right_ankle"]], 2]
    floor = float(ankles.min()) - flat_foot_ankle_height(character)
    keypoints[..., 2] -= floor
    summary = {"keyframes": len(times), "duration_s": round(float(times[-1]), 4), "frames": len(keypoints),
               "floor_in_file_m": round(floor, 4),
               "lowest_foot_point_m": round(float(corners[..., 2].min()) - floor, 4)}  # fmt: skip
    return keypoints, summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pybullet_data", type=Path, help="the pybullet_data folder of an unzipped pybullet wheel")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    args = parser.parse_args(argv)
    character = read_character(args.pybullet_data / "humanoid" / "humanoid.urdf")
    for out_name, clip in CLIPS.items():
        keypoints, summary = convert(character, args.pybullet_data / "data" / "motions" / clip)
        path = args.out / f"{out_name}.npz"
        np.savez_compressed(path, keypoints=keypoints, fps=np.float64(FPS), name=np.str_(clip))
        print(f"{path}: {clip}, {summary}")


if __name__ == "__main__":
    main()
