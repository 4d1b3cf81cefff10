"""BVH motion files (CMU conversions, Mixamo): joint positions of every joint and end site by
forward kinematics, y up converted to z up, units detected from the skeleton's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .sequence import Y_UP_TO_Z_UP, MotionSequence, metre_scale

_AXES = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITIONS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class _Joint:
    def __init__(self, name: str, parent: int):
        self.name, self.parent = name, parent
        self.offset = np.zeros(3)
        self.channels: list[str] = []


def read_bvh(path, *, up: str = "y") -> MotionSequence:
    """Positions (T, J, 3) of all joints and end sites (named ``<parent>_end``) in metres, z up."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    tokens = path.read_text(errors="replace").split()
    try:
        joints, motion_at = _parse_hierarchy(tokens)
        frames, frame_time, values = _parse_motion(tokens, motion_at)
    except IndexError:
        section = "MOTION header" if "MOTION" in tokens else "HIERARCHY"
        raise ValueError(f"{path}: not a readable BVH file (it ends inside the {section}, after {len(tokens)} words; truncated?)") from None
    except ValueError as err:
        raise ValueError(f"{path}: not a readable BVH file ({err})") from err
    width = sum(len(j.channels) for j in joints)
    if values.size != frames * width:
        raise ValueError(f"{path}: MOTION has {values.size} numbers, expected {frames} frames x {width} channels "
                         f"({values.size / max(width, 1):.1f} frames; truncated?)")  # fmt: skip
    positions = _forward_kinematics(joints, values.reshape(frames, width))
    if up == "y":
        positions = positions @ Y_UP_TO_Z_UP.T
    elif up != "z":
        raise ValueError(f"up must be 'y' or 'z', got {up!r}")
    positions *= _unit_scale(positions[0], path)
    names = tuple(j.name for j in joints)
    return MotionSequence(path.stem, positions, 1.0 / frame_time, "bvh", names, {"file": str(path), "dataset": "bvh"})


def _parse_hierarchy(tokens) -> tuple[list[_Joint], int]:
    if tokens[0] != "HIERARCHY":
        raise ValueError("no HIERARCHY section")
    joints: list[_Joint] = []
    stack: list[int] = []
    i = 1
    while tokens[i] != "MOTION":
        word = tokens[i]
        if word in ("ROOT", "JOINT"):
            joints.append(_Joint(tokens[i + 1], stack[-1] if stack else -1))
            i += 2
        elif word == "End":  # "End Site"
            joints.append(_Joint(f"{joints[stack[-1]].name}_end", stack[-1]))
            i += 2
        elif word == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif word == "}":
            stack.pop()
            i += 1
        elif word == "OFFSET":
            joints[stack[-1]].offset = np.array([float(v) for v in tokens[i + 1 : i + 4]])
            i += 4
        elif word == "CHANNELS":
            count = int(tokens[i + 1])
            joints[stack[-1]].channels = tokens[i + 2 : i + 2 + count]
            i += 2 + count
        else:
            raise ValueError(f"unexpected token {word!r} in HIERARCHY")
    return joints, i


def _parse_motion(tokens, at: int) -> tuple[int, float, np.ndarray]:
    if tokens[at + 1] != "Frames:" or tokens[at + 3 : at + 5] != ["Frame", "Time:"]:
        raise ValueError("MOTION section lacks 'Frames:' and 'Frame Time:'")
    frames, frame_time = int(tokens[at + 2]), float(tokens[at + 5])
    if frames < 1 or frame_time <= 0:
        raise ValueError(f"{frames} frames of {frame_time} s")
    return frames, frame_time, np.array(tokens[at + 6 :], dtype=float)


def _forward_kinematics(joints: list[_Joint], values: np.ndarray) -> np.ndarray:
    frames = len(values)
    positions = np.zeros((frames, len(joints), 3))
    rotations: list[Rotation] = []
    column = 0
    for k, joint in enumerate(joints):
        channels = values[:, column : column + len(joint.channels)]
        column += len(joint.channels)
        local = np.tile(joint.offset, (frames, 1))
        axes = "".join(_AXES[c] for c in joint.channels if c in _AXES)
        for c, name in enumerate(joint.channels):
            if name in _POSITIONS:
                local[:, _POSITIONS[name]] += channels[:, c]
        angles = channels[:, [c for c, name in enumerate(joint.channels) if name in _AXES]]
        # BVH applies the rotation channels in the listed order about the moving axes
        rotation = Rotation.from_euler(axes, angles, degrees=True) if axes else Rotation.identity(frames)
        if joint.parent < 0:
            positions[:, k] = local
            rotations.append(rotation)
        else:
            positions[:, k] = positions[:, joint.parent] + rotations[joint.parent].apply(local)
            rotations.append(rotations[joint.parent] * rotation)
    return positions


def _unit_scale(points: np.ndarray, path: Path) -> float:
    """1, 0.01 or 0.001: whichever makes the skeleton's largest extent 0.5-3 m (a person)."""
    extent = float(np.max(np.ptp(points, axis=0)))
    return metre_scale(extent, 0.5, 3.0, f"{path}: a skeleton {extent:g} units across does")
