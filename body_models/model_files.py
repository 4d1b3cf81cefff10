"""Simulator model files of a humanoid: MJCF for MuJoCo/MJX and URDF for pytinydiffsim.

Both files carry the same links, joint frames and inertials (computed once in ``humanoid``), so
the two engines simulate the same body.
"""

from __future__ import annotations

import numpy as np

from motion_recon.physics.model import DEFAULT_CONFIG, PhysicsModel, SimConfig

from .humanoid import ARMATURE, Humanoid
from motion_recon.skeleton import FEET, JOINTS

FRICTION = (1.0, 0.005, 0.0001)  # sliding, torsional, rolling (MuJoCo's defaults)


def physics_model(humanoid: Humanoid, *, floor_contact: str = "feet", config: SimConfig = DEFAULT_CONFIG) -> PhysicsModel:
    """The simulator description of ``humanoid``: MJCF, URDF, PD stiffness, keypoint sites."""
    kp, _ = humanoid.gains()
    return PhysicsModel(
        mjcf=to_mjcf(humanoid, floor_contact=floor_contact, config=config),
        joint_names=humanoid.joint_names,
        stiffness=tuple(float(k) for k in kp),
        keypoint_sites=JOINTS,
        contact_bodies=FEET,
        urdf=to_urdf(humanoid, floor_contact=floor_contact),
    )


def _v(x) -> str:
    return " ".join(f"{float(c):.9g}" for c in np.ravel(x))


def _inertial(link) -> str:
    return f'<inertial pos="{_v(link.com)}" mass="{link.mass:.9g}" diaginertia="{_v(link.inertia)}"/>'


def to_mjcf(humanoid: Humanoid, *, floor_contact: str = "feet", config: SimConfig = DEFAULT_CONFIG) -> str:
    """MJCF with a free root, ball joints (damping kd, armature) and a floor with friction.

    ``floor_contact``: "feet" (default) lets only the feet touch the floor, as in DiffPhy: 8
    contact points, enough for walking, running and dancing, and 40 % faster to differentiate
    than "all", which lets every body capsule touch it (33 points; for falls, kneeling, lying).
    Body parts never collide with each other.
    """
    if floor_contact not in ("all", "feet"):
        raise ValueError(f"floor_contact must be 'all' or 'feet', got {floor_contact!r}")
    _, kd = humanoid.gains()
    damping = dict(zip(humanoid.joint_names, kd, strict=True))
    kids: dict[int, list[int]] = {}
    for i, link in enumerate(humanoid.links):
        kids.setdefault(link.parent, []).append(i)

    def body(i: int, indent: str) -> list[str]:
        link = humanoid.links[i]
        pos = link.pos if link.parent >= 0 else np.array([0.0, 0.0, humanoid.standing_height])
        lines = [f'{indent}<body name="{link.name}" pos="{_v(pos)}">']
        inner = indent + "  "
        if link.parent < 0:
            lines.append(f'{inner}<freejoint name="root"/>')
        else:
            lines.append(
                f'{inner}<joint name="{link.name}" type="ball" damping="{damping[link.name]:.6g}" armature="{ARMATURE}"/>'
            )
        lines.append(inner + _inertial(link))
        for k, c in enumerate(link.capsules):
            touches = c.contact and (floor_contact == "all" or link.name in FEET)
            shape = (
                f'type="sphere" pos="{_v(c.start)}"'
                if np.allclose(c.start, c.end)
                else f'type="capsule" fromto="{_v(c.start)} {_v(c.end)}"'
            )
            lines.append(
                f'{inner}<geom name="{link.name}_{k}" {shape} size="{c.radius:.6g}" '
                f'contype="{int(touches)}" conaffinity="0"/>'
            )
        for name, pos in link.sites.items():
            lines.append(f'{inner}<site name="{name}" pos="{_v(pos)}"/>')
        for child in kids.get(i, []):
            lines.extend(body(child, inner))
        lines.append(f"{indent}</body>")
        return lines

    header = f"""<mujoco model="motion-recon humanoid ({humanoid.shape.height:.3f} m, {humanoid.mass:.1f} kg)">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{config.timestep}" iterations="{config.solver_iterations}" ls_iterations="{config.linesearch_iterations}"
          integrator="Euler" solver="Newton" cone="pyramidal" gravity="0 0 -9.81"/>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1" contype="1" conaffinity="1" friction="{_v(FRICTION)}"/>"""
    return "\n".join([header, *body(0, "    "), "  </worldbody>", "</mujoco>", ""])


def to_urdf(humanoid: Humanoid, *, floor_contact: str = "feet") -> str:
    """URDF of the same links, inertials and floor-contact capsules, for pytinydiffsim.

    pytinydiffsim's own floating base computes wrong accelerations once the base has children
    (measured against MuJoCo), so the free root is spelled out as a fixed base followed by
    massless links on prismatic x, y, z joints and a spherical joint: its q and qd then have
    MuJoCo's free-joint layout (position, orientation; world linear, local angular velocity).
    Ball joints are pytinydiffsim's non-standard ``type="spherical"``. Joint damping and armature
    are not in the file: the backend applies them exactly as MuJoCo's Euler integrator does.
    ``<collision>`` holds exactly the capsules and spheres that touch the floor in ``to_mjcf``
    with the same ``floor_contact``; a pytinydiffsim capsule lies along its local z axis, centred
    on its origin, so each (link-axis-aligned) capsule is turned onto its axis by the origin's rpy.
    The floor itself is not in the file.
    """
    if floor_contact not in ("all", "feet"):
        raise ValueError(f"floor_contact must be 'all' or 'feet', got {floor_contact!r}")
    lines = ['<?xml version="1.0"?>', '<robot name="motion-recon-humanoid">']
    massless = '<inertial><origin xyz="0 0 0"/><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial>'
    chain = ["root_world", "root_x", "root_y", "root_z"]
    for name in chain:
        lines.append(f'  <link name="{name}">{massless}</link>')
    for link in humanoid.links:
        ixx, iyy, izz = link.inertia
        lines.append(f'  <link name="{link.name}">')
        lines.append(
            f'    <inertial><origin xyz="{_v(link.com)}" rpy="0 0 0"/><mass value="{link.mass:.9g}"/>'
            f'<inertia ixx="{ixx:.9g}" ixy="0" ixz="0" iyy="{iyy:.9g}" iyz="0" izz="{izz:.9g}"/></inertial>'
        )
        for c in link.capsules:
            if c.contact and (floor_contact == "all" or link.name in FEET):
                lines.append(f"    <collision>{_urdf_capsule(c)}</collision>")
        lines.append("  </link>")
    for parent, child, axis in zip(chain, chain[1:], ("1 0 0", "0 1 0", "0 0 1"), strict=False):
        lines.append(
            f'  <joint name="{child}" type="prismatic"><parent link="{parent}"/><child link="{child}"/>'
            f'<origin xyz="0 0 0" rpy="0 0 0"/><axis xyz="{axis}"/></joint>'
        )
    for link in humanoid.links:
        parent = chain[-1] if link.parent < 0 else humanoid.links[link.parent].name
        pos = np.zeros(3) if link.parent < 0 else link.pos
        name = "root" if link.parent < 0 else link.name
        lines.append(
            f'  <joint name="{name}" type="spherical"><parent link="{parent}"/><child link="{link.name}"/>'
            f'<origin xyz="{_v(pos)}" rpy="0 0 0"/></joint>'
        )
    lines.append("</robot>")
    return "\n".join(lines) + "\n"


def _urdf_capsule(capsule) -> str:
    """pytinydiffsim collision geometry (origin and shape) of a sphere or a link-axis capsule."""
    axis = capsule.end - capsule.start
    centre = _v(0.5 * (capsule.start + capsule.end))
    if np.allclose(capsule.start, capsule.end):
        return f'<origin xyz="{centre}" rpy="0 0 0"/><geometry><sphere radius="{capsule.radius:.9g}"/></geometry>'
    along = np.abs(axis) > 1e-9 * np.linalg.norm(axis)
    if along.sum() != 1:
        raise ValueError("the URDF supports capsules along a link axis only")
    rpy = ((0.0, np.pi / 2, 0.0), (np.pi / 2, 0.0, 0.0), (0.0, 0.0, 0.0))[int(np.argmax(along))]  # local z onto x, y, z
    return (
        f'<origin xyz="{centre}" rpy="{_v(rpy)}"/>'
        f'<geometry><capsule radius="{capsule.radius:.9g}" length="{np.linalg.norm(axis):.9g}"/></geometry>'
    )


def result_mujoco_model(body: dict):
    """The ``mujoco.MjModel`` of a result file's ``body`` record (bone lengths, ankle height, foot
    length and trunk directions of the fitted shape; files without trunk directions had the
    canonical ones): the body its ``simulation/qpos`` poses."""
    import mujoco

    from .humanoid import build_humanoid
    from .shape import CANONICAL_TRUNK, BodyShape

    trunk = tuple(tuple(float(v) for v in d) for d in body.get("trunk_directions", CANONICAL_TRUNK))
    shape = BodyShape(tuple(float(b) for b in body["bone_lengths"]), float(body["ankle_height"]), float(body["foot_length"]), trunk)
    return mujoco.MjModel.from_xml_string(to_mjcf(build_humanoid(shape)))
