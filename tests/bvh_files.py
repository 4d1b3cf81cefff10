"""BVH fixtures in the styles of the files people have, written from a real 17-joint motion (a
bundled DeepMimic clip): the CMU database's conversions (root 10 cm above the hip joints and
4.5 cm behind them, the thorax joint 7 cm below the shoulders, clavicles, 1/0.45-inch units,
120 Hz, every joint's channels Zrotation Yrotation Xrotation) and Mixamo's rig ("mixamorig:"
names, Spine/Spine1/Spine2, the neck joint above the shoulders, clavicles, centimetres, 30 fps,
channels Zrotation Xrotation Yrotation).

The clip's rigid links (pelvis: hips and spine; chest: spine, thorax and shoulders; head: thorax,
neck and head; the limb segments) carry the style's joints at fixed offsets, so the file's hips,
knees, ankles and the arms move as the clip's, while its root, thorax and head joints sit where
the style puts them. The clavicles raise each shoulder with its arm (a tenth of the arm's
elevation), moving the arm with it. The motion is scaled by ``scale`` in space and by
sqrt(``scale``) in time, so that a ballistic flight stays ballistic.
"""

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from motion_recon.skeleton import INDEX

CMU_UNIT_M = 0.0254 / 0.45
CLAVICLE_RHYTHM = 0.1  # clavicle elevation per radian of the upper arm's elevation
# character axes (x forward, y left, z up) -> BVH axes (x left, y up, z forward), as CMU and Mixamo
TO_BVH = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
# where the world of a BVH written with TO_BVH lands when read back (z up): (x, y, z) -> (y, -x, z)
READ_BACK = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class _Joint:
    name: str
    parent: str | None
    offset: tuple  # metres, character axes, in the parent's rest frame
    drive: str  # its rotation: "root" (the pelvis's), "chest", "head", "heading", "same" (as its parent), "clavicle", "swing"
    target: tuple = ()  # "swing": the 17 joints (from, to) whose direction the child offset follows
    end: tuple | None = None  # end site offset


def cmu_bvh(keypoints, fps: float, *, scale: float = 1.1, out_fps: float = 120.0) -> str:
    """A BVH text of the CMU conversions' skeleton moving as ``keypoints`` (T, 17, 3), z up, metres."""
    clip = _Clip(keypoints, fps, scale, out_fps)
    s, g = scale, clip.geometry
    root = (-0.045 * s, 0.0, 0.10 * s)
    spine1 = g["thorax"][2] - 0.05 * s
    joints = [_Joint("Hips", None, (0, 0, 0), "root"), _Joint("LowerBack", "Hips", (0, 0, 0), "same"),
              _Joint("Spine", "LowerBack", tuple(np.subtract(g["spine"], root)), "chest"),
              _Joint("Spine1", "Spine", (0, 0, spine1), "same"), _Joint("Neck", "Spine1", (0, 0, 0), "same"),
              _Joint("Neck1", "Neck", (0, 0, 0.05 * s), "head"),
              _Joint("Head", "Neck1", g["neck"], "same", end=tuple(np.subtract(g["head"], g["neck"])))]  # fmt: skip
    for side, y, prefix in (("left", 1.0, "L"), ("right", -1.0, "R")):
        Side = side.capitalize()
        joints += [
            _Joint(f"{prefix}HipJoint", "Hips", (0, 0, 0), "same"),
            _Joint(f"{Side}UpLeg", f"{prefix}HipJoint", tuple(np.subtract(g[f"{side}_hip"], root)), "swing", (f"{side}_hip", f"{side}_knee")),
            _Joint(f"{Side}Leg", f"{Side}UpLeg", (0, 0, -g["thigh"]), "swing", (f"{side}_knee", f"{side}_ankle")),
            _Joint(f"{Side}Foot", f"{Side}Leg", (0, 0, -g["shin"]), "heading"),
            _Joint(f"{Side}ToeBase", f"{Side}Foot", (0.13 * s, 0, -0.035 * s), "same", end=(0.05 * s, 0, 0)),
            _Joint(f"{Side}Shoulder", "Spine1", (0, 0, 0), "clavicle"),
            _Joint(f"{Side}Arm", f"{Side}Shoulder", tuple(np.subtract(g[f"{side}_shoulder"], (0, 0, spine1))), "swing",
                   (f"{side}_shoulder", f"{side}_elbow")),
            _Joint(f"{Side}ForeArm", f"{Side}Arm", (0, y * g["upper_arm"], 0), "swing", (f"{side}_elbow", f"{side}_wrist")),
            _Joint(f"{Side}Hand", f"{Side}ForeArm", (0, y * g["forearm"], 0), "same"),
            _Joint(f"{Side}FingerBase", f"{Side}Hand", (0, y * 0.03 * s, 0), "same"),
            _Joint(f"{Side}HandIndex1", f"{Side}FingerBase", (0, y * 0.03 * s, 0), "same", end=(0, y * 0.03 * s, 0)),
            _Joint(f"{prefix}Thumb", f"{Side}Hand", (0.02 * s, y * 0.02 * s, 0), "same", end=(0.03 * s, y * 0.02 * s, 0)),
        ]  # fmt: skip
    channels = ("Xposition Yposition Zposition Zrotation Yrotation Xrotation", "Zrotation Yrotation Xrotation")
    return clip.bvh(_depth_first(joints), root, channels, CMU_UNIT_M)


def mixamo_bvh(keypoints, fps: float, *, scale: float = 1.0, out_fps: float = 30.0) -> str:
    """A BVH text of Mixamo's rig (centimetres) moving as ``keypoints`` (T, 17, 3), z up, metres."""
    clip = _Clip(keypoints, fps, scale, out_fps)
    s, g = scale, clip.geometry
    root, spine = (0.015 * s, 0.0, 0.067 * s), (-0.01 * s, 0.0, 0.10 * s)
    spine2 = g["thorax"][2] - 0.10 * s
    clavicle = (0.0, 0.03 * s, 0.09 * s)

    def m(name):
        return f"mixamorig:{name}"

    joints = [_Joint(m("Hips"), None, (0, 0, 0), "root"), _Joint(m("Spine"), m("Hips"), spine, "same"),
              _Joint(m("Spine1"), m("Spine"), tuple(np.subtract(g["spine"], np.add(root, spine))), "chest"),
              _Joint(m("Spine2"), m("Spine1"), (0, 0, spine2), "same"),
              _Joint(m("Neck"), m("Spine2"), (0, 0, 0.16 * s), "head"), _Joint(m("Head"), m("Neck"), (0, 0, 0.09 * s), "same"),
              _Joint(m("HeadTop_End"), m("Head"), (0, 0, 0.19 * s), "same", end=(0, 0, 0.02 * s))]  # fmt: skip
    for side, y in (("left", 1.0), ("right", -1.0)):
        Side = side.capitalize()
        shoulder = np.subtract(g[f"{side}_shoulder"], (0, 0, spine2)) - np.multiply(clavicle, (1, y, 1))
        joints += [
            _Joint(m(f"{Side}UpLeg"), m("Hips"), tuple(np.subtract(g[f"{side}_hip"], root)), "swing", (f"{side}_hip", f"{side}_knee")),
            _Joint(m(f"{Side}Leg"), m(f"{Side}UpLeg"), (0, 0, -g["thigh"]), "swing", (f"{side}_knee", f"{side}_ankle")),
            _Joint(m(f"{Side}Foot"), m(f"{Side}Leg"), (0, 0, -g["shin"]), "heading"),
            _Joint(m(f"{Side}ToeBase"), m(f"{Side}Foot"), (0.12 * s, 0, -0.035 * s), "same"),
            _Joint(m(f"{Side}Toe_End"), m(f"{Side}ToeBase"), (0.05 * s, 0, 0), "same", end=(0.01 * s, 0, 0)),
            _Joint(m(f"{Side}Shoulder"), m("Spine2"), tuple(np.multiply(clavicle, (1, y, 1))), "clavicle"),
            _Joint(m(f"{Side}Arm"), m(f"{Side}Shoulder"), tuple(shoulder), "swing", (f"{side}_shoulder", f"{side}_elbow")),
            _Joint(m(f"{Side}ForeArm"), m(f"{Side}Arm"), (0, y * g["upper_arm"], 0), "swing", (f"{side}_elbow", f"{side}_wrist")),
            _Joint(m(f"{Side}Hand"), m(f"{Side}ForeArm"), (0, y * g["forearm"], 0), "same"),
            _Joint(m(f"{Side}HandIndex1"), m(f"{Side}Hand"), (0, y * 0.04 * s, 0), "same", end=(0, y * 0.03 * s, 0)),
        ]  # fmt: skip
    channels = ("Xposition Yposition Zposition Zrotation Xrotation Yrotation", "Zrotation Xrotation Yrotation")
    return clip.bvh(_depth_first(joints), root, channels, 0.01)


def scaled_clip(keypoints, fps: float, *, scale: float, out_fps: float) -> np.ndarray:
    """(T', 17, 3) ``keypoints`` (T, 17, 3) scaled by ``scale`` about the origin and in time by
    sqrt(``scale``), at ``out_fps`` (cubic spline): the motion a fixture's hips, knees, ankles
    and, but for the clavicles, arms follow (in the world of ``READ_BACK``)."""
    source = np.asarray(keypoints, float) * scale
    duration = (len(source) - 1) / fps * np.sqrt(scale)
    times = np.arange(0.0, duration + 1e-9, 1.0 / out_fps)
    return CubicSpline(np.linspace(0.0, duration, len(source)), source)(times)


def _depth_first(joints: list[_Joint]) -> list[_Joint]:
    """``joints`` in BVH order: every joint followed by its subtree."""
    children = {}
    for joint in joints:
        children.setdefault(joint.parent, []).append(joint)

    def walk(joint):
        return [joint] + [j for child in children.get(joint.name, []) for j in walk(child)]

    return walk(children[None][0])


def _frame(y_axis, z_axis) -> Rotation:
    """Per frame, the rotation (world <- link) of the frame whose y axis is ``y_axis`` and whose z
    axis is ``z_axis`` made orthogonal to it."""
    y = y_axis / np.linalg.norm(y_axis, axis=-1, keepdims=True)
    z = z_axis - np.sum(z_axis * y, axis=-1, keepdims=True) * y
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return Rotation.from_matrix(np.stack([np.cross(y, z), y, z], axis=-1))


def _swing(a, b) -> Rotation:
    """Per frame, the shortest rotation taking unit vectors ``a`` onto ``b``."""
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis, axis=-1, keepdims=True), np.sum(a * b, axis=-1, keepdims=True)
    return Rotation.from_rotvec(axis / np.maximum(sin, 1e-12) * np.arctan2(sin, cos))


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class _Clip:
    """The clip's links, scaled and resampled: frames (world <- link) of the pelvis, chest, head
    and heading, and the constant geometry of its links (metres, link axes)."""

    def __init__(self, keypoints, fps, scale, out_fps):
        source = np.asarray(keypoints, float) * scale
        self.fps, self.points = out_fps, scaled_clip(keypoints, fps, scale=scale, out_fps=out_fps)
        self.frames = {name: frame(self.points) for name, frame in _LINK_FRAMES.items()}
        # the clip's links are rigid: their geometry from the source frames
        frames = {name: frame(source) for name, frame in _LINK_FRAMES.items()}
        p = {name: source[:, INDEX[name]] for name in INDEX}

        def local(link, point, origin):
            return tuple(np.median(frames[link].inv().apply(p[point] - p[origin]), axis=0))

        def length(a, b):
            return float(np.median(np.linalg.norm(p[a] - p[b], axis=-1)))

        self.geometry = {
            "left_hip": local("pelvis", "left_hip", "pelvis"), "right_hip": local("pelvis", "right_hip", "pelvis"),
            "spine": local("pelvis", "spine", "pelvis"), "thorax": local("chest", "thorax", "spine"),
            "left_shoulder": local("chest", "left_shoulder", "spine"), "right_shoulder": local("chest", "right_shoulder", "spine"),
            "neck": local("head", "neck", "thorax"), "head": local("head", "head", "thorax"),
            "thigh": length("left_hip", "left_knee"), "shin": length("left_knee", "left_ankle"),
            "upper_arm": length("left_shoulder", "left_elbow"), "forearm": length("left_elbow", "left_wrist"),
        }  # fmt: skip

    def bvh(self, joints: list[_Joint], root_offset, channels: tuple[str, str], unit_m: float) -> str:
        """The BVH text of ``joints`` (depth first) driven by this clip, lengths in ``unit_m``."""
        p, frames = self.points, self.frames
        world: dict[str, Rotation] = {}
        for joint in joints:
            parent = world.get(joint.parent)
            if joint.drive == "root":
                world[joint.name] = frames["pelvis"]
            elif joint.drive in ("chest", "head", "heading"):
                world[joint.name] = frames[joint.drive]
            elif joint.drive == "same":
                world[joint.name] = parent
            elif joint.drive == "clavicle":
                side, sign = ("left", 1.0) if "Left" in joint.name else ("right", -1.0)
                arm = _unit(p[:, INDEX[f"{side}_elbow"]] - p[:, INDEX[f"{side}_shoulder"]])
                elevation = np.arccos(np.clip(-np.sum(arm * frames["chest"].apply([0, 0, 1.0]), axis=-1), -1, 1))
                lift = Rotation.from_rotvec(np.outer(sign * CLAVICLE_RHYTHM * elevation, [1.0, 0, 0]))  # about forward
                world[joint.name] = frames["chest"] * lift
            else:  # swing: the child's rest offset turned onto the clip's bone, no twist from the parent
                child = next(j for j in joints if j.parent == joint.name)
                rest = parent.apply(_unit(np.asarray(child.offset, float)))
                a, b = (p[:, INDEX[name]] for name in joint.target)
                world[joint.name] = _swing(rest, _unit(b - a)) * parent
        root = p[:, INDEX["pelvis"]] + frames["pelvis"].apply(root_offset)
        columns = [root @ TO_BVH.T / unit_m]
        for joint in joints:
            local = world[joint.name] if joint.parent is None else world[joint.parent].inv() * world[joint.name]
            axes = "".join(c[0] for c in (channels[0] if joint.parent is None else channels[1]).split() if c.endswith("rotation"))
            in_file = Rotation.from_matrix(TO_BVH @ local.as_matrix() @ TO_BVH.T)
            columns.append(in_file.as_euler(axes, degrees=True))
        values = np.concatenate(columns, axis=1)
        children = {}
        for joint in joints:
            children.setdefault(joint.parent, []).append(joint)

        def numbers(vector) -> str:
            return " ".join(f"{v:.6f}" for v in TO_BVH @ np.asarray(vector, float) / unit_m)

        def hierarchy(joint: _Joint, pad: str) -> list[str]:
            chans = channels[0] if joint.parent is None else channels[1]
            lines = [f"{pad}{'ROOT' if joint.parent is None else 'JOINT'} {joint.name}", f"{pad}{{",
                     f"{pad}\tOFFSET {numbers(joint.offset)}", f"{pad}\tCHANNELS {len(chans.split())} {chans}"]  # fmt: skip
            for child in children.get(joint.name, []):
                lines += hierarchy(child, pad + "\t")
            if joint.end is not None:
                lines += [f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {numbers(joint.end)}", f"{pad}\t}}"]
            return lines + [f"{pad}}}"]

        lines = ["HIERARCHY", *hierarchy(joints[0], "")]
        lines += ["MOTION", f"Frames: {len(values)}", f"Frame Time: {1.0 / self.fps:.7f}"]
        lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
        return "\n".join(lines) + "\n"


def _pelvis(points):
    return _frame(points[:, INDEX["left_hip"]] - points[:, INDEX["right_hip"]], points[:, INDEX["spine"]] - points[:, INDEX["pelvis"]])


def _chest(points):
    return _frame(points[:, INDEX["left_shoulder"]] - points[:, INDEX["right_shoulder"]], points[:, INDEX["thorax"]] - points[:, INDEX["spine"]])


def _head(points):
    return _frame(_chest(points).apply([0.0, 1.0, 0.0]), points[:, INDEX["head"]] - points[:, INDEX["neck"]])


def _heading(points):
    forward = _pelvis(points).apply([1.0, 0.0, 0.0]) * [1.0, 1.0, 0.0]
    return _frame(np.cross([0.0, 0.0, 1.0], forward), np.tile([0.0, 0.0, 1.0], (len(points), 1)))


_LINK_FRAMES = {"pelvis": _pelvis, "chest": _chest, "head": _head, "heading": _heading}
