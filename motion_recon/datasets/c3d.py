"""C3D files of optical motion capture (Vicon, Qualisys, OptiTrack, gait labs): markers to the 17
joint centres (``motion_recon.marker_sets``), in metres, z up.

Read with the pure-Python ``c3d`` package (0.6, numpy only) rather than ``ezc3d`` (1.7.2): both
read every processor format and expose POINT:LABELS/UNITS/RATE (``reader.get("POINT:UNITS")``,
ezc3d's nested dictionaries) and both write the tests' fixtures; ezc3d has the more active
upstream, but measured on a fixture cut short it crashed the interpreter (segmentation fault)
on a file cut after its header and silently returned fewer frames on a file cut in its data,
whereas ``c3d`` raises on a cut header or parameter section and warns on a cut data section,
which this reader turns into a one-line error. It is also a 31-kB wheel for any platform.

- Labels lose a subject prefix (``Name:LASI`` -> ``LASI``) and are matched in upper case;
  ``markers`` maps the marker names of ``marker_sets`` to a custom set's labels.
- Lengths come in the unit of ``POINT:UNITS`` (mm, cm or m) unless ``units`` is given.
- Gaps up to ``MAX_FILLED_GAP_S`` are filled by a cubic spline through the marker's samples;
  longer ones stay NaN (the body fit interpolates the joints they leave unplaced) and are listed
  in ``source["warnings"]``. A marker without any sample counts as absent; a joint left without
  markers is an error that names them.
- Up is the coordinate axis nearest the mean direction from the ankles to the head.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import c3d
import numpy as np
from scipy.interpolate import CubicSpline

from .. import marker_sets
from ..skeleton import ANKLES, INDEX
from .sequence import MotionSequence

UNITS = {"mm": 0.001, "cm": 0.01, "m": 1.0}  # metres per unit
MAX_FILLED_GAP_S = 0.1  # longest gap a spline fills (Vicon Nexus fills 10 frames at 100 Hz by default)
# rotations that turn each signed axis of the file into +z (right-handed, about x or y)
_TO_Z_UP = {
    "+x": np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]]), "-x": np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
    "+y": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]), "-y": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
    "+z": np.eye(3), "-z": np.diag([1.0, -1.0, -1.0]),
}  # fmt: skip


def read_c3d(path, *, units: str | None = None, markers=None) -> MotionSequence:
    """The 17 joint centres (T, 17, 3) of a C3D file's markers, metres, z up, "h36m17" layout.

    Args:
      path: the .c3d file.
      units: length unit of the file (mm, cm, m), overriding ``POINT:UNITS``.
      markers: a JSON file mapping marker names of ``marker_sets`` to this file's labels.
    Raises:
      ValueError: one line naming the file: unreadable or truncated file, unknown units, markers
        that place no joint (naming the markers each joint needs), markers without any sample.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    labels, points, fps, file_units = _read_points(path)
    if units is not None:
        if units not in UNITS:
            raise ValueError(f"{path}: unknown units {units!r}; choose one of {', '.join(UNITS)}")
        how = "given"
    elif file_units in UNITS:
        units, how = file_units, "POINT:UNITS"
    else:
        raise ValueError(f"{path}: POINT:UNITS is {file_units!r}, not one of {', '.join(UNITS)}; give the units")
    by_name = _names(labels, path, _read_mapping(markers, path) if markers is not None else {})
    empty = sorted(name for name in marker_sets.MARKER_NAMES & set(by_name) if np.isnan(points[:, by_name[name]]).all())
    try:
        chosen = marker_sets.choose_recipes(set(by_name) - set(empty))
    except ValueError as err:
        unseen = f"marker(s) {', '.join(empty)} have no sample in any frame, so " if empty else ""
        raise ValueError(f"{path}: {unseen}{err}; give --markers mapping.json for another set") from None
    needed = sorted({name for recipe in chosen.values() for name in recipe.markers})
    trajectories = points[:, [by_name[name] for name in needed]] * UNITS[units]
    filled, long_gaps = fill_short_gaps(trajectories, round(MAX_FILLED_GAP_S * fps))
    joints = marker_sets.joint_centres({name: filled[:, k] for k, name in enumerate(needed)}, chosen)
    up = detect_up(joints)
    source = {"file": str(path), "dataset": "c3d", "units": units, "units_chosen": how, "up": up,
              "joint_recipes": {joint: recipe.how for joint, recipe in chosen.items()}}  # fmt: skip
    if long_gaps:
        listed = ", ".join(f"{needed[k]} (frames {a}-{b - 1})" for k, a, b in long_gaps)
        source["warnings"] = [f"{path}: gaps longer than {MAX_FILLED_GAP_S:g} s left unfilled in {listed}; "
                              f"the body fit interpolates the joints they place"]  # fmt: skip
    return MotionSequence(path.stem, joints @ _TO_Z_UP[up].T, fps, "h36m17", source=source)


def _read_points(path: Path) -> tuple[list[str], np.ndarray, float, str]:
    """(labels, points (T, M, 3) in file units with NaN gaps, frame rate, POINT:UNITS)."""
    with warnings.catch_warnings(), path.open("rb") as handle:
        warnings.simplefilter("ignore")  # "no analog data"; a file that ends early is caught below
        try:
            reader = c3d.Reader(handle)
            frames = [points[:, :4] for _, points, _ in reader.read_frames()]
            expected, rate = reader.frame_count, float(reader.point_rate)
            labels = [str(label).strip() for key in ("POINT:LABELS", *(f"POINT:LABELS{k}" for k in range(2, 100)))
                      if reader.get(key) is not None for label in reader.get(key).string_array]  # fmt: skip
            units = reader.get("POINT:UNITS")
        except Exception as err:  # the reader raises struct, value, key and index errors on foreign bytes
            raise ValueError(f"{path}: not a readable C3D file ({str(err) or type(err).__name__}; truncated?)") from None
    if len(frames) < expected:
        raise ValueError(f"{path}: the file ends after {len(frames)} of its {expected} frames (truncated?)")
    points = np.array(frames, float).reshape(len(frames), -1, 4)
    if len(frames) < 2 or points.shape[1] == 0 or len(labels) < points.shape[1] or rate <= 0:
        raise ValueError(f"{path}: a C3D file needs labelled markers in 2 frames or more at a positive rate, got "
                         f"{points.shape[1]} markers, {len(labels)} labels, {len(frames)} frames at {rate:g} Hz")  # fmt: skip
    xyz = np.where(points[..., 3:] < 0, np.nan, points[..., :3])  # residual -1: the marker is unseen
    return labels[: points.shape[1]], xyz, rate, (units.string_value if units is not None else "").strip().lower()


def _read_mapping(markers, path: Path) -> dict[str, str]:
    markers = Path(markers)
    try:
        mapping = json.loads(markers.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{markers}: not a readable marker mapping ({err})") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ValueError(f"{markers}: a marker mapping is a JSON object of names, e.g. {{\"LASI\": \"L_ASIS\"}}")
    return {name.upper(): label for name, label in mapping.items()}


def _names(labels: list[str], path: Path, mapping: dict[str, str]) -> dict[str, int]:
    """Column of each marker name: labels without subject prefix, upper case, renamed by ``mapping``."""
    by_label: dict[str, int] = {}
    subjects = set()
    for k, label in enumerate(labels):
        subject, _, name = label.strip().rpartition(":")
        subjects.add(subject)
        by_label.setdefault(name.strip().upper(), k)
        by_label.setdefault(label.strip().upper(), k)
    if len(subjects - {""}) > 1:
        raise ValueError(f"{path}: markers of several subjects ({', '.join(sorted(subjects - {''}))}); one subject per file")
    names = dict(by_label)
    for name, label in mapping.items():
        if label.strip().upper() not in by_label:
            raise ValueError(f"{path}: the marker mapping names {label!r}, which the file does not have")
        names[name] = by_label[label.strip().upper()]
    return names


def fill_short_gaps(trajectories: np.ndarray, max_frames: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Fills gaps of at most ``max_frames`` inside each trajectory by a cubic spline through its samples.

    Args:
      trajectories: (T, M, 3), NaN where a marker is unseen.
    Returns:
      the filled (T, M, 3), and (marker, first, stop) of each gap left open (longer, or at an end).
    """
    filled = np.array(trajectories, float)
    frames = np.arange(len(filled))
    open_gaps = []
    for k in range(filled.shape[1]):
        seen = np.isfinite(filled[:, k]).all(axis=-1)
        starts = np.flatnonzero(~seen & np.r_[True, seen[:-1]])
        stops = np.flatnonzero(~seen & np.r_[seen[1:], True]) + 1
        short = [(a, b) for a, b in zip(starts, stops) if 0 < a and b < len(seen) and b - a <= max_frames]
        open_gaps += [(k, int(a), int(b)) for a, b in zip(starts, stops) if (a, b) not in short]
        if short:
            spline = CubicSpline(frames[seen], filled[seen, k]) if seen.sum() >= 4 else None
            for a, b in short:
                inside = frames[a:b]
                filled[a:b, k] = spline(inside) if spline is not None else np.stack(
                    [np.interp(inside, frames[seen], filled[seen, k, d]) for d in range(3)], axis=-1)  # fmt: skip
    return filled, open_gaps


def detect_up(joints: np.ndarray) -> str:
    """The signed coordinate axis ("+x" ... "-z") nearest the mean direction from the ankles to the
    head of ``joints`` (T, 17, 3) in Human3.6M order."""
    rise = np.nanmean(joints[:, INDEX["head"]] - joints[:, list(ANKLES)].mean(axis=1), axis=0)
    axis = int(np.argmax(np.abs(rise)))
    return f"{'+' if rise[axis] > 0 else '-'}{'xyz'[axis]}"
