"""C3D fixtures written with the c3d package: the markers of Plug-in Gait or the CMU set placed at the
documented offsets (``motion_recon.marker_sets``) from a known 17-joint motion, so the joint
centres read back can be checked against it."""

import warnings

import c3d
import numpy as np

from motion_recon import marker_sets, skeleton

PELVIC_DEPTH_MM = 160.0  # ASIS midpoint to PSIS midpoint of an adult
PLUG_IN_GAIT = ("LASI", "RASI", "LPSI", "RPSI", "LTHI", "LKNE", "LTIB", "LANK", "LHEE", "LTOE", "RTHI", "RKNE",
                "RTIB", "RANK", "RHEE", "RTOE", "C7", "T10", "CLAV", "STRN", "RBAK", "LFHD", "RFHD", "LBHD", "RBHD",
                "LSHO", "LELB", "LWRA", "LWRB", "LFIN", "RSHO", "RELB", "RWRA", "RWRB", "RFIN")  # fmt: skip
CMU = ("LFWT", "RFWT", "LBWT", "RBWT", "LKNE", "LKNI", "LSHN", "LANK", "LHEL", "LTOE", "RKNE", "RKNI", "RSHN",
       "RANK", "RHEL", "RTOE", "C7", "T10", "CLAV", "STRN", "LFHD", "RFHD", "LBHD", "RBHD", "LSHO", "LELB",
       "LIEL", "LIWR", "LOWR", "RSHO", "RELB", "RIEL", "RIWR", "ROWR")  # fmt: skip


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _across(v, axis):
    axis = _unit(axis)
    return _unit(v - np.sum(v * axis, axis=-1, keepdims=True) * axis)


def place_markers(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Every marker of both sets (name -> (T, 3) metres) on a body moving as ``joints`` (T, 17, 3), z up."""
    j = {name: joints[:, k] for k, name in enumerate(skeleton.JOINTS)}
    off = marker_sets.JOINT_OFFSETS_M
    m = {}
    # pelvis: ASIS and PSIS where Harrington's regression puts the hips at the given ones
    right = _unit(j["right_hip"] - j["left_hip"])
    forward = _unit(np.cross(j["spine"] - j["pelvis"], right))
    up = np.cross(right, forward)
    half_mm = 500.0 * np.linalg.norm(j["right_hip"] - j["left_hip"], axis=-1, keepdims=True)
    width_mm = (half_mm - 7.3) / 0.33
    x, y = -0.24 * PELVIC_DEPTH_MM - 9.9, -0.30 * width_mm - 10.9
    asis = j["pelvis"] - 0.001 * (x * forward + y * up)
    psis = asis - 0.001 * PELVIC_DEPTH_MM * forward
    for s, sign in (("L", -1.0), ("R", 1.0)):
        m[f"{s}ASI"] = m[f"{s}FWT"] = asis + sign * 0.0005 * width_mm * right
        m[f"{s}PSI"] = m[f"{s}BWT"] = psis + sign * 0.045 * right
    m["SACR"] = psis
    # trunk and head
    t_up = _unit(j["thorax"] - j["spine"])
    t_fwd = _across(np.cross(j["left_shoulder"] - j["right_shoulder"], t_up), t_up)
    t_right = np.cross(t_fwd, t_up)
    m["C7"], m["CLAV"] = j["thorax"] - 0.07 * t_fwd + 0.025 * t_up, j["thorax"] + 0.07 * t_fwd - 0.025 * t_up
    m["T10"], m["STRN"] = j["spine"] - 0.09 * t_fwd, j["spine"] + 0.09 * t_fwd
    m["RBAK"] = j["thorax"] - 0.08 * t_fwd - 0.1 * t_up + 0.07 * t_right
    h_up = _unit(j["head"] - j["neck"])
    h_fwd = _across(t_fwd, h_up)
    h_left = np.cross(h_up, h_fwd)
    for name, a, b in (("LFHD", 1, 1), ("RFHD", 1, -1), ("LBHD", -1, 1), ("RBHD", -1, -1)):
        m[name] = j["neck"] + 0.08 * a * h_fwd + 0.07 * b * h_left
    for s, name, sign in (("L", "left", -1.0), ("R", "right", 1.0)):
        hip, knee, ankle = j[f"{name}_hip"], j[f"{name}_knee"], j[f"{name}_ankle"]
        thigh = _across(sign * right, hip - knee)  # lateral
        shank = _across(thigh, knee - ankle)
        m[f"{s}KNE"], m[f"{s}KNI"] = knee + off["knee"] * thigh, knee - off["knee"] * thigh
        m[f"{s}THI"] = 0.5 * (hip + knee) + 0.07 * thigh
        m[f"{s}ANK"], m[f"{s}MED"] = ankle + off["ankle"] * shank, ankle - off["ankle"] * shank
        m[f"{s}TIB"] = m[f"{s}SHN"] = 0.5 * (knee + ankle) + 0.06 * shank
        m[f"{s}HEE"] = m[f"{s}HEL"] = ankle - 0.05 * forward - 0.04 * up
        m[f"{s}TOE"] = ankle + 0.14 * forward - 0.05 * up
        shoulder, elbow, wrist = j[f"{name}_shoulder"], j[f"{name}_elbow"], j[f"{name}_wrist"]
        upper = _across(sign * t_right, shoulder - elbow)
        fore = _across(upper, elbow - wrist)
        m[f"{s}SHO"] = shoulder + marker_sets.SHOULDER_DROP_M * t_up
        m[f"{s}ELB"], m[f"{s}IEL"] = elbow + off["elbow"] * upper, elbow - off["elbow"] * upper
        m[f"{s}WRA"], m[f"{s}WRB"] = wrist + 0.03 * fore, wrist - 0.03 * fore
        m[f"{s}OWR"], m[f"{s}IWR"] = wrist + 0.025 * fore, wrist - 0.025 * fore
        m[f"{s}FIN"] = wrist + 0.08 * _unit(wrist - elbow)
    return m


def write_c3d(path, markers: dict[str, np.ndarray], fps: float, *, labels=None, units: str = "mm", up: str = "z",
              prefix: str = "", units_label: str | None = None) -> None:  # fmt: skip
    """Writes ``markers`` (name -> (T, 3) metres, z up, NaN where unseen) as a C3D file with its
    ``labels`` (default: every name), ``prefix`` before each, in ``units`` (mm or m), the file's
    ``up`` axis y or z; POINT:UNITS says ``units_label`` (default: ``units``). Unseen samples are written as C3D marks them: residual -1."""
    labels = list(markers) if labels is None else list(labels)
    points = np.stack([markers[name] for name in labels], axis=1) * {"mm": 1000.0, "m": 1.0}[units]
    if up == "y":  # world (x, y, z) is the file's (x, -z, y)
        points = np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
    writer = c3d.Writer(point_rate=fps, point_units=(units if units_label is None else units_label).ljust(4))
    writer.set_point_labels([prefix + name for name in labels])
    for frame in points:
        seen = np.isfinite(frame).all(axis=-1)
        rows = np.zeros((len(labels), 5), np.float32)
        rows[:, :3] = np.where(seen[:, None], frame, 0.0)
        rows[:, 3] = np.where(seen, 0.0, -1.0)
        writer.add_frames([(rows, np.zeros((0, 0), np.float32))])
    with open(path, "wb") as handle, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No analog data")  # markers only, as most gait files
        writer.write(handle)
