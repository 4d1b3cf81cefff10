"""The 17 joint centres from the markers of optical motion capture (numpy only).

Each joint has recipes, tried in order; the first whose markers the file has places the joint.
Marker names are Vicon Plug-in Gait's (LASI, LKNE, LTHI, LWRA, ...) and the CMU/Vicon set's
(LFWT, LKNI, LIEL, LIWR, ...); ``joint_centres`` takes them without subject prefix.

- Hips: the regression of Harrington et al. (2007), "Prediction of the hip joint centre in
  adults, children, and patients with cerebral palsy based on magnetic resonance imaging",
  J Biomech 40(3):595-602, from pelvic width PW (ASIS to ASIS) and depth PD (ASIS midpoint to
  PSIS midpoint), in mm, in the pelvis frame (origin at the ASIS midpoint; z to the right, LASI
  to RASI; x forward, from the PSIS midpoint, made perpendicular to z; y = z x x, up):
  x = -0.24 PD - 9.9, y = -0.30 PW - 10.9, z = +-(0.33 PW + 7.3). Coefficients as published and
  as restated by Sangeux (2015), Gait Posture 42:402-405. The pelvis is rigid, so PW and PD are
  the trial's medians. The CMU set's waist markers (LFWT, LBWT) stand for ASIS and PSIS; SACR
  stands for the PSIS midpoint.
- Knees, ankles, elbows, wrists: the midpoint of a lateral/medial pair (LKNE/LKNI, LANK/LMED,
  LELB/LIEL, LWRA/LWRB, LIWR/LOWR); else Plug-in Gait's chord function (Davis et al. 1991, Hum
  Mov Sci 10:575-587): the centre lies in the plane of the proximal centre, the lateral marker
  and the wand (LTHI, LTIB), ``offset`` from the lateral marker, with the segment perpendicular to
  the offset; else the lateral marker moved ``offset`` medially along a reference axis made
  perpendicular to the segment: the knee's axis for the ankle (tibial torsion not modelled), the
  thorax's left-right axis for the elbow (the arm's twist is not observed: a humerus turned by
  phi moves the elbow by offset * sin(phi)).
- Offsets: half an adult's joint width plus a 14-mm marker's radius (``JOINT_OFFSETS_M``).
- Shoulders: ``SHOULDER_DROP_M`` below the acromion markers (LSHO) along the trunk's up axis.
- Thorax: midpoint of C7 and CLAV. Spine: midpoint of T10 and STRN, else halfway between pelvis
  and thorax. Pelvis: midpoint of the hips. Neck (Human3.6M's, at the face): centroid of the head
  markers (LFHD, RFHD, LBHD, RBHD). Head (top of the head): ``HEAD_TOP_M`` above that centroid
  along the normal of the head markers' plane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import skeleton

# (joint width + marker diameter) / 2 for an adult: knee 100 mm, ankle 70 mm, elbow 70 mm wide,
# markers 14 mm (Plug-in Gait's subject measurements for a typical adult), metres.
JOINT_OFFSETS_M = {"knee": 0.057, "ankle": 0.042, "elbow": 0.042}
SHOULDER_DROP_M = 0.047  # acromion marker to glenohumeral centre, along the trunk (40 mm + marker radius)
HEAD_TOP_M = 0.10  # head markers' centroid to the top of the head
# The fixed-point placements contract by about offset / segment length (~0.15) per pass
_PASSES = 12


@dataclass(frozen=True)
class Recipe:
    """Places one joint from ``markers`` (names) and joints placed before it."""

    markers: tuple[str, ...]
    how: str
    place: Callable[[dict, dict], np.ndarray]  # (markers (T, 3) by name, joints (T, 3) by name) -> (T, 3)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _perpendicular(v, axis):
    """Unit component of ``v`` perpendicular to ``axis`` (both (T, 3))."""
    axis = _unit(axis)
    return _unit(v - np.sum(v * axis, axis=-1, keepdims=True) * axis)


def _mid(*points):
    return sum(points) / len(points)


def chord(lateral, proximal, wand, offset):
    """(T, 3) Plug-in Gait's chord function: the point in the plane of ``proximal``, ``lateral`` and
    ``wand``, ``offset`` m from ``lateral``, on the far side of the line proximal-lateral from the
    wand, where (proximal - centre) is perpendicular to (lateral - centre)."""
    axis = proximal - lateral
    length = np.linalg.norm(axis, axis=-1, keepdims=True)
    away = -_perpendicular(wand - lateral, axis)
    along = offset / length  # cosine of the angle at the lateral marker (Thales' circle)
    return lateral + offset * (along * axis / length + np.sqrt(1.0 - along**2) * away)


def offset_along(lateral, proximal, toward, offset):
    """(T, 3) ``lateral`` moved ``offset`` m along ``toward`` made perpendicular to the segment from
    the centre to ``proximal`` (a fixed point: the segment's axis depends on the centre)."""
    centre = lateral
    for _ in range(_PASSES):
        centre = lateral + offset * _perpendicular(toward, proximal - centre)
    return centre


def harrington_hips(lasi, rasi, psis_mid):
    """(left, right) hip joint centres (T, 3) by Harrington et al. (2007) from the ASIS markers and
    the PSIS midpoint (T, 3), metres."""
    asis_mid = _mid(lasi, rasi)
    width_mm = 1000.0 * np.nanmedian(np.linalg.norm(rasi - lasi, axis=-1))
    depth_mm = 1000.0 * np.nanmedian(np.linalg.norm(asis_mid - psis_mid, axis=-1))
    right = _unit(rasi - lasi)
    forward = _perpendicular(asis_mid - psis_mid, right)
    up = np.cross(right, forward)
    x, y, z = -0.24 * depth_mm - 9.9, -0.30 * width_mm - 10.9, 0.33 * width_mm + 7.3
    base = asis_mid + 0.001 * (x * forward + y * up)
    return base - 0.001 * z * right, base + 0.001 * z * right


# ASIS pair, then PSIS pair or sacrum: Plug-in Gait's, and the CMU set's waist markers
PELVIS_MARKERS = (("LASI", "RASI", "LPSI", "RPSI"), ("LASI", "RASI", "SACR"), ("LFWT", "RFWT", "LBWT", "RBWT"))


def _hip(names: tuple[str, ...], side: str) -> Recipe:
    def place(m, j):
        lasi, rasi, *back = (m[n] for n in names)
        return harrington_hips(lasi, rasi, _mid(*back))[0 if side == "L" else 1]

    return Recipe(names, f"Harrington 2007 ({' '.join(names)})", place)


def _thorax_axes(j, m):
    """(up, right) unit axes (T, 3) of the thorax: up from spine to thorax, right across C7 -> CLAV."""
    up = _unit(j["thorax"] - j["spine"])
    forward = _perpendicular(m["CLAV"] - m["C7"], up)
    return up, np.cross(forward, up)


def recipes() -> dict[str, list[Recipe]]:
    """Every joint's recipes, best first (a recipe may use joints placed before it, ``_ORDER``)."""
    offsets = JOINT_OFFSETS_M
    book = {f"{name}_hip": [_hip(names, s) for names in PELVIS_MARKERS] for s, name in (("L", "left"), ("R", "right"))}
    book["pelvis"] = [Recipe((), "midpoint of the hips", lambda m, j: _mid(j["left_hip"], j["right_hip"]))]
    book["thorax"] = [Recipe(("C7", "CLAV"), "midpoint of C7 and CLAV", lambda m, j: _mid(m["C7"], m["CLAV"]))]
    book["spine"] = [Recipe(("T10", "STRN"), "midpoint of T10 and STRN", lambda m, j: _mid(m["T10"], m["STRN"])),
                     Recipe((), "halfway between pelvis and thorax", lambda m, j: _mid(j["pelvis"], j["thorax"]))]  # fmt: skip
    heads = ("LFHD", "RFHD", "LBHD", "RBHD")
    book["neck"] = [Recipe(heads, "centroid of the head markers", lambda m, j: _mid(*(m[n] for n in heads)))]
    book["head"] = [Recipe(heads, f"{HEAD_TOP_M * 1000:g} mm above the head markers", _head_top)]
    for s, name in (("L", "left"), ("R", "right")):
        knee, ankle, hip = f"{name}_knee", f"{name}_ankle", f"{name}_hip"
        shoulder, elbow, wrist = f"{name}_shoulder", f"{name}_elbow", f"{name}_wrist"
        book[knee] = [
            _pair(f"{s}KNE", f"{s}KNI"),
            Recipe((f"{s}KNE", f"{s}THI"), f"chord of {s}KNE with {s}THI",
                   lambda m, j, s=s, hip=hip: chord(m[f"{s}KNE"], j[hip], m[f"{s}THI"], offsets["knee"])),
        ]  # fmt: skip
        book[ankle] = [
            _pair(f"{s}ANK", f"{s}MED"),
            Recipe((f"{s}ANK", f"{s}TIB"), f"chord of {s}ANK with {s}TIB",
                   lambda m, j, s=s, knee=knee: chord(m[f"{s}ANK"], j[knee], m[f"{s}TIB"], offsets["ankle"])),
            Recipe((f"{s}ANK", f"{s}KNE"), f"{s}ANK moved medially along the knee's axis",
                   lambda m, j, s=s, knee=knee: offset_along(m[f"{s}ANK"], j[knee], j[knee] - m[f"{s}KNE"], offsets["ankle"])),
        ]  # fmt: skip
        book[shoulder] = [Recipe((f"{s}SHO", "C7", "CLAV"), f"{SHOULDER_DROP_M * 1000:g} mm below {s}SHO",
                                 lambda m, j, s=s: m[f"{s}SHO"] - SHOULDER_DROP_M * _thorax_axes(j, m)[0])]  # fmt: skip
        book[wrist] = [_pair(f"{s}WRA", f"{s}WRB"), _pair(f"{s}IWR", f"{s}OWR")]
        medial = 1.0 if s == "L" else -1.0  # the left arm's medial side is the thorax's right
        book[elbow] = [
            _pair(f"{s}ELB", f"{s}IEL"),
            Recipe((f"{s}ELB", "C7", "CLAV"), f"{s}ELB moved medially along the thorax's left-right axis",
                   lambda m, j, s=s, f=medial, sh=shoulder: offset_along(
                       m[f"{s}ELB"], j[sh], f * _thorax_axes(j, m)[1], offsets["elbow"])),
        ]  # fmt: skip
    return book


def _pair(lateral: str, medial: str) -> Recipe:
    return Recipe((lateral, medial), f"midpoint of {lateral} and {medial}", lambda m, j: _mid(m[lateral], m[medial]))


def _head_top(m, j):
    forward = _mid(m["LFHD"], m["RFHD"]) - _mid(m["LBHD"], m["RBHD"])
    left = _mid(m["LFHD"], m["LBHD"]) - _mid(m["RFHD"], m["RBHD"])
    return j["neck"] + HEAD_TOP_M * _unit(np.cross(forward, left))


# Every marker name a recipe may use.
MARKER_NAMES = frozenset(name for options in recipes().values() for recipe in options for name in recipe.markers)

# Joints in the order their recipes may use each other.
_ORDER = ("left_hip", "right_hip", "pelvis", "thorax", "spine", "neck", "head", "left_knee", "left_ankle",
          "right_knee", "right_ankle", "left_shoulder", "left_wrist", "left_elbow", "right_shoulder",
          "right_wrist", "right_elbow")  # fmt: skip


def choose_recipes(names) -> dict[str, Recipe]:
    """The first recipe of each joint whose markers are all in ``names``.

    Raises ``ValueError`` naming, for each joint no recipe places, the markers it could use."""
    names = set(names)
    book, chosen, missing = recipes(), {}, []
    for joint in _ORDER:
        found = next((r for r in book[joint] if names.issuperset(r.markers)), None)
        if found is None:
            missing.append(f"{joint} ({' or '.join('+'.join(r.markers) for r in book[joint])})")
        else:
            chosen[joint] = found
    if missing:
        raise ValueError(f"no marker set places {', '.join(missing)}")
    return chosen


def joint_centres(markers: dict[str, np.ndarray], chosen: dict[str, Recipe]) -> np.ndarray:
    """(T, 17, 3) joint centres, Human3.6M order, from ``markers`` (name -> (T, 3), metres; NaN
    where unseen, which leaves NaN in the joints it places) by the ``chosen`` recipes."""
    joints: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):  # unseen markers are NaN and stay NaN
        for joint in _ORDER:
            joints[joint] = chosen[joint].place(markers, joints)
    return np.stack([joints[name] for name in skeleton.JOINTS], axis=1)
