"""BVH motion files (CMU conversions, Mixamo, Truebones): joint positions of every joint and end
site by forward kinematics, y up converted to z up, the length unit detected from the skeleton's
anatomy (``detect_units``) or given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .sequence import Y_UP_TO_Z_UP, MotionSequence

# Length units of BVH files in the wild, metres per unit: "cmu" is the ASF/AMC convention of the
# CMU database's conversions (``length 0.45``: one unit is 1/0.45 inch).
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "foot": 0.3048, "cmu": 0.0254 / 0.45}
# The rest pose's root height above its lowest point (about the leg length) that a unit must give,
# metres: children to tall adults. The window is narrower than the closest ratio of two units
# (inch to cmu, 2.22), so at most one unit fits.
LEG_RANGE_M = (0.55, 1.2)
_AXES = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITIONS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class _Joint:
    def __init__(self, name: str, parent: int):
        self.name, self.parent = name, parent
        self.offset = np.zeros(3)
        self.channels: list[str] = []


def read_bvh(path, *, up: str = "y", units: str | None = None) -> MotionSequence:
    """Positions (T, J, 3) of all joints and end sites (named ``<parent>_end``) in metres, z up.
    ``units``: a name of ``UNITS``, or None to detect it (``detect_units``); the source records
    which was used and how it was chosen."""
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
    if up not in ("y", "z"):
        raise ValueError(f"up must be 'y' or 'z', got {up!r}")
    positions = _forward_kinematics(joints, values.reshape(frames, width))
    if up == "y":
        positions = positions @ Y_UP_TO_Z_UP.T
    if units is None:
        rest = _forward_kinematics(joints, np.zeros((1, width)))[0]
        units, how = detect_units(rest[:, 1 if up == "y" else 2], path)
    elif units not in UNITS:
        raise ValueError(f"{path}: unknown units {units!r}; choose one of {', '.join(UNITS)}")
    else:
        how = "given"
    names = tuple(j.name for j in joints)
    source = {"file": str(path), "dataset": "bvh", "units": units, "units_chosen": how}
    return MotionSequence(path.stem, positions * UNITS[units], 1.0 / frame_time, "bvh", names, source)


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


def detect_units(heights: np.ndarray, path: Path) -> tuple[str, str]:
    """(unit, how it was chosen) of a skeleton from its rest pose's joint ``heights`` (along up,
    file units): the one unit of ``UNITS`` that puts the root's height above the lowest joint
    (about the leg length) in ``LEG_RANGE_M``."""
    leg = float(heights[0] - heights.min())
    fits = [name for name, scale in UNITS.items() if LEG_RANGE_M[0] <= leg * scale <= LEG_RANGE_M[1]]
    if not fits:
        raise ValueError(f"{path}: a rest pose whose root is {leg:g} units above its lowest joint is no person's leg "
                         f"({LEG_RANGE_M[0]}-{LEG_RANGE_M[1]} m) in any of {', '.join(UNITS)}; give the units")  # fmt: skip
    unit = fits[0]
    return unit, f"detected: the rest pose's leg, {leg:g} units, is {leg * UNITS[unit]:.2f} m in {unit}"
