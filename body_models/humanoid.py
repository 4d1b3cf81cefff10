"""The simulated humanoid built from a body shape: links, capsules, mass properties, PD gains.

One link per skeleton joint that has a child (14 links): its frame sits at the joint's keypoint
with the world's orientation in the rest pose, it hangs from its parent on a ball joint (the
pelvis on a free joint) and carries the capsule(s) of the segment below it. The keypoints without
a link (head top, wrists) are sites on their parent link. Masses come from the capsule volumes and
a uniform body density, so the generated MJCF and URDF files carry identical inertials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shape import BodyShape
from motion_recon.skeleton import FEET, INDEX, JOINTS, NUM_JOINTS, PARENTS, children

BODY_DENSITY = 1000.0  # kg/m^3, about that of the human body
REFERENCE_HEIGHT = 1.75  # m
# Capsule radii (m) of a REFERENCE_HEIGHT body. Radii scale with sqrt(height / reference) so that
# mass grows with height squared, as a constant body-mass index has it.
RADII = {
    "pelvis": 0.09, "abdomen": 0.09, "chest": 0.095, "neck": 0.05, "head": 0.095,
    "thigh": 0.068, "shank": 0.05, "foot": 0.03, "upper_arm": 0.042, "forearm": 0.034,
}  # fmt: skip
# PD stiffness kp (N m/rad) and joint damping kd (N m s/rad) per joint group for a 70 kg body,
# scaled with the body's mass. Standing needs kp above the gravity torque gradient m g h of the
# body above a joint (ankle: ~70 kg * 9.81 * 1 m ~ 700 N m/rad). kd = kp / 10 s is integrated
# implicitly by the simulator (joint damping).
GAINS = {
    "hip": (800.0, 80.0), "knee": (800.0, 80.0), "ankle": (1000.0, 100.0),
    "spine": (1000.0, 100.0), "neck": (100.0, 10.0), "shoulder": (200.0, 20.0), "elbow": (150.0, 15.0),
}  # fmt: skip
GAIN_GROUP = {
    "right_hip": "hip", "left_hip": "hip", "right_knee": "knee", "left_knee": "knee",
    "right_ankle": "ankle", "left_ankle": "ankle", "spine": "spine", "thorax": "spine", "neck": "neck",
    "left_shoulder": "shoulder", "right_shoulder": "shoulder", "left_elbow": "elbow", "right_elbow": "elbow",
}  # fmt: skip
FOOT_BEHIND_ANKLE = 0.25  # fraction of the foot's length behind the ankle
FOOT_WIDTH = 0.38  # fraction of the foot's length
ARMATURE = 0.01  # kg m^2 added to every ball joint's inertia, for stability at millisecond steps
REFERENCE_MASS = 70.0
HUMAN_HEIGHT = (0.9, 2.5)  # m
PLAUSIBLE_BMI = (16.0, 35.0)  # kg/m^2: a generated body outside this range signals bad bone lengths


@dataclass(frozen=True)
class Capsule:
    start: np.ndarray  # (3,) in the link frame
    end: np.ndarray
    radius: float
    contact: bool  # collides with the floor


@dataclass(frozen=True)
class Link:
    name: str  # the joint at its origin
    parent: int  # index into Humanoid.links, -1 for the root
    pos: np.ndarray  # (3,) origin in the parent link's frame (rest pose)
    capsules: tuple[Capsule, ...]
    sites: dict[str, np.ndarray]  # keypoint name -> position in the link frame
    mass: float
    com: np.ndarray  # (3,) in the link frame
    inertia: np.ndarray  # (3,) about the centre of mass along the link axes (diagonal: see below)


@dataclass(frozen=True)
class Humanoid:
    shape: BodyShape
    links: tuple[Link, ...]

    @property
    def mass(self) -> float:
        return float(sum(link.mass for link in self.links))

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The actuated ball joints, in link order (every link but the root)."""
        return tuple(link.name for link in self.links[1:])

    def gains(self) -> tuple[np.ndarray, np.ndarray]:
        """(kp, kd) per actuated joint, scaled with body mass."""
        scale = self.mass / REFERENCE_MASS
        kp, kd = zip(*(GAINS[GAIN_GROUP[name]] for name in self.joint_names), strict=True)
        return scale * np.array(kp), scale * np.array(kd)

    @property
    def standing_height(self) -> float:
        """Pelvis height above the floor in the rest pose."""
        return float(self.shape.rest_keypoints[INDEX["pelvis"], 2])


def build_humanoid(shape: BodyShape) -> Humanoid:
    """The humanoid of ``shape``; raises ``ValueError`` if its height or its mass for that height
    is not human."""
    if not HUMAN_HEIGHT[0] <= shape.height <= HUMAN_HEIGHT[1]:
        raise ValueError(
            f"body height {shape.height:.2f} m from the bone lengths is outside {HUMAN_HEIGHT[0]}-{HUMAN_HEIGHT[1]} m"
        )
    offsets = shape.rest_offsets
    scale = np.sqrt(shape.height / REFERENCE_HEIGHT)
    radius = {name: r * scale for name, r in RADII.items()}
    with_link = [j for j in range(NUM_JOINTS) if children(j) or JOINTS[j] in FEET]
    link_of = {j: i for i, j in enumerate(with_link)}
    links = []
    for j in with_link:
        name = JOINTS[j]
        capsules = _segment_capsules(name, j, offsets, radius, shape)
        sites = {name: np.zeros(3)}
        sites.update({JOINTS[c]: offsets[c].copy() for c in children(j) if c not in link_of})
        mass, com, inertia = _mass_properties(capsules)
        parent = -1 if PARENTS[j] < 0 else link_of[PARENTS[j]]
        links.append(Link(name, parent, offsets[j].copy(), tuple(capsules), sites, mass, com, inertia))
    humanoid = Humanoid(shape, tuple(links))
    bmi = humanoid.mass / shape.height**2
    if not PLAUSIBLE_BMI[0] <= bmi <= PLAUSIBLE_BMI[1]:
        raise ValueError(
            f"body mass {humanoid.mass:.1f} kg is implausible for height {shape.height:.2f} m (BMI {bmi:.1f})"
        )
    return humanoid


def _segment_capsules(name, j, offsets, radius, shape) -> list[Capsule]:
    zero = np.zeros(3)
    child = {JOINTS[c]: offsets[c] for c in children(j)}
    # the trunk's capsules hang from the twins' midpoint, which the shape puts straight below the
    # centre child (``shape.TRUNK``): every capsule lies along a link axis
    if name == "pelvis":
        mid = 0.5 * (child["right_hip"] + child["left_hip"])
        return [
            Capsule(mid + 0.5 * (child["right_hip"] - mid), mid + 0.5 * (child["left_hip"] - mid), radius["pelvis"], True),
            Capsule(mid, mid + 0.5 * (child["spine"] - mid), radius["abdomen"], True),
        ]
    if name == "spine":
        return [Capsule(zero, child["thorax"], radius["abdomen"], True)]
    if name == "thorax":
        mid = 0.5 * (child["right_shoulder"] + child["left_shoulder"])
        drop = np.array([0.0, 0.0, -0.35 * np.linalg.norm(offsets[INDEX["thorax"]])])
        return [
            Capsule(mid + 0.6 * (child["right_shoulder"] - mid) + drop, mid + 0.6 * (child["left_shoulder"] - mid) + drop,
                    radius["chest"], True),
            Capsule(mid, mid + 0.5 * (child["neck"] - mid), radius["neck"], False),
        ]
    if name == "neck":
        centre = 0.45 * child["head"]
        return [Capsule(centre, centre, radius["head"], True)]
    if name.endswith("_ankle"):
        # the foot, sole at the ankle height below the ankle: a long capsule from heel to toes and
        # two crosswise ones under heel and ball that touch the floor at four corners
        r, z = radius["foot"], -(shape.ankle_height - radius["foot"])
        heel, ball = -FOOT_BEHIND_ANKLE * shape.foot_length + r, (1 - FOOT_BEHIND_ANKLE) * shape.foot_length - r
        side = np.array([0.0, 0.5 * FOOT_WIDTH * shape.foot_length - r, 0.0])
        return [
            Capsule(np.array([heel, 0.0, z]), np.array([ball, 0.0, z]), r, False),
            Capsule(np.array([heel, 0.0, z]) - side, np.array([heel, 0.0, z]) + side, r, True),
            Capsule(np.array([ball, 0.0, z]) - side, np.array([ball, 0.0, z]) + side, r, True),
        ]
    part = {"hip": "thigh", "knee": "shank", "shoulder": "upper_arm", "elbow": "forearm"}[name.split("_")[1]]
    (end,) = child.values()
    return [Capsule(zero, end, radius[part], True)]


def _mass_properties(capsules) -> tuple[float, np.ndarray, np.ndarray]:
    """Total mass, centre of mass and principal moments about it of solid capsules of BODY_DENSITY."""
    parts = [_capsule_inertia(c) for c in capsules]
    mass = sum(m for m, _, _ in parts)
    com = sum(m * c for m, c, _ in parts) / mass
    inertia = np.zeros((3, 3))
    for m, c, i in parts:
        d = c - com
        inertia += i + m * (d @ d * np.eye(3) - np.outer(d, d))
    # every capsule lies along a link axis and the centres differ along one axis, so the tensor is
    # diagonal; pytinydiffsim reads only the diagonal, so make sure nothing is lost
    assert np.allclose(inertia, np.diag(np.diag(inertia)), atol=1e-9), inertia
    return float(mass), com, np.diag(inertia).copy()


def _capsule_inertia(capsule: Capsule) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass, centre and inertia tensor (about the centre) of a solid capsule: a cylinder of the
    segment's length plus two hemispherical caps (cap centroid 3r/8 from its flat face)."""
    r = capsule.radius
    axis = capsule.end - capsule.start
    length = float(np.linalg.norm(axis))
    m_cyl = BODY_DENSITY * np.pi * r**2 * length
    m_cap = BODY_DENSITY * 2.0 / 3.0 * np.pi * r**3
    along = m_cyl * r**2 / 2 + 2 * m_cap * 2 * r**2 / 5
    across = m_cyl * (length**2 / 12 + r**2 / 4) + 2 * m_cap * (2 * r**2 / 5 + length**2 / 4 + 3 * length * r / 8)
    u = axis / length if length > 0 else np.array([0.0, 0.0, 1.0])
    inertia = across * np.eye(3) + (along - across) * np.outer(u, u)
    return m_cyl + 2 * m_cap, 0.5 * (capsule.start + capsule.end), inertia

