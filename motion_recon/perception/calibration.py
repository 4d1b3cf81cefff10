"""Calibrated cameras from the files calibration tools write (``recon video --camera``).

``read_calibration(path, width, height)`` reads, by the file's suffix:

* ``.json``: one camera as a plain object: ``K`` (3x3), ``dist`` (4, 5 or more OpenCV
  coefficients k1 k2 p1 p2 [k3 ...]), optional ``R`` (3x3, or a 3-vector in Rodrigues form) and
  ``t`` (3, metres), optional ``width``/``height``; the ``camera`` record of our own result files
  has exactly these keys.
* ``.yml`` / ``.yaml``: OpenCV FileStorage YAML (``%YAML:1.0``, ``!!opencv-matrix`` nodes) as
  OpenCV's calibration sample writes it (``camera_matrix``, ``distortion_coefficients``,
  ``image_width``, ``image_height``), ROS ``camera_info`` YAML (the same names as plain mappings)
  and files with ``K``/``D``/``R``/``T``.
* ``.toml``: Pose2Sim / anipose ``Calib.toml``, one table per camera (``matrix``,
  ``distortions``, ``rotation`` in Rodrigues form, ``translation`` in metres, ``size``,
  ``fisheye``). A file of several cameras needs the camera's name: ``calib.toml#cam_02`` (so
  does a JSON or YAML mapping of named cameras: ``cameras.json#c01``).
* ``.h5``: the ``camera`` of a result file (``recon video``'s fitted camera, or a dataset's).

Extrinsics (``R``, ``t``: world to camera, OpenCV's convention) are optional. Given, they fix the
world frame, which must have z up and the ground at z = 0 (``fit_camera`` checks the up direction
against the body's). Key names are matched without regard to case, with the aliases in
``ALIASES``. Problems raise ``ValueError`` with a one-line message that names the file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.transform import Rotation

if TYPE_CHECKING:  # cameras imports JAX, which a video process reading sizes has no use for
    from motion_recon.perception.cameras import Camera

SUFFIXES = (".json", ".yml", ".yaml", ".toml", ".h5")
ALIASES = {
    "K": ("k", "camera_matrix", "cameramatrix", "intrinsic", "intrinsics", "mtx", "matrix"),
    "dist": ("dist", "d", "distortion_coefficients", "dist_coeffs", "distcoeffs", "distortion", "distortions"),
    "R": ("r", "rotation", "rotation_matrix", "rvec"),
    "t": ("t", "translation", "tvec"),
    "width": ("width", "image_width"),
    "height": ("height", "image_height"),
    "size": ("size", "image_size", "imagesize", "resolution"),
}
# a camera centre this far (metres) from the world origin means the file is not in metres
MAX_DISTANCE_M = 100.0


@dataclass(frozen=True)
class Calibration:
    """A calibrated camera; ``extrinsics`` says whether its R and t came from the file (otherwise
    they are the identity and zero, and ``fit_camera`` places the world)."""

    camera: Camera
    extrinsics: bool


def read_calibration(spec: str | Path, width: int, height: int) -> Calibration:
    """The camera of a calibration file (``path`` or ``path#camera_name``) for a video of
    ``width`` x ``height`` pixels; the intrinsics are scaled when the video is the calibrated
    image resized (same aspect ratio)."""
    path, name = calibration_file(spec)
    try:
        record = _READERS[path.suffix.lower()](path, name)
        return _calibration(record, width, height, name or path.stem)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def calibration_for(camera: Camera, width: int, height: int) -> Calibration:
    """A known camera with extrinsics (a dataset's) for a video of ``width`` x ``height`` pixels,
    checked and scaled as a file's: a ValueError naming the camera when the video is not its
    image (resized with the same aspect ratio)."""
    try:
        return _calibration(camera.to_dict(), width, height, camera.name)
    except ValueError as error:
        raise ValueError(f"camera {camera.name!r}: {error}") from None


def image_scale(calibrated: tuple[int, int], width: int, height: int) -> tuple[float, float]:
    """(x, y) factors from the image size a camera was calibrated for to a video's ``width`` x
    ``height``: 1 for the same size, else the video must be that image resized (same aspect ratio,
    to within a pixel); a ValueError says otherwise."""
    if tuple(calibrated) != (width, height) and abs(calibrated[0] * height - calibrated[1] * width) > max(calibrated):
        raise ValueError(f"calibrated for {calibrated[0]}x{calibrated[1]} images, the video is {width}x{height}")
    return width / calibrated[0], height / calibrated[1]


def calibration_file(spec: str | Path) -> tuple[Path, str]:
    """(path, camera name or "") of ``path`` or ``path#camera_name``, once the file is known to
    exist and to be of a readable type (a check that needs no video)."""
    path, _, name = str(spec).partition("#")
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: unknown camera file type {path.suffix!r} (expected one of {', '.join(SUFFIXES)})")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such camera file")
    return path, name


def _read_json(path: Path, name: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not readable JSON ({error})") from None
    return _choose(data, name, "object")


def _read_yaml(path: Path, name: str) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def matrix(loader, node):
        fields = loader.construct_mapping(node, deep=True)
        return np.reshape(np.asarray(fields["data"], float), (int(fields["rows"]), int(fields["cols"])))

    Loader.add_constructor("tag:yaml.org,2002:opencv-matrix", matrix)
    text = path.read_text(errors="replace")
    if text.startswith("%YAML:"):  # OpenCV's directive is not YAML's "%YAML 1.x"
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        data = yaml.load(text, Loader=Loader)
    except (yaml.YAMLError, KeyError, ValueError) as error:
        raise ValueError(f"not readable YAML ({' '.join(str(error).split())})") from None
    return _choose(data, name, "mapping")


def _read_toml(path: Path, name: str) -> dict:
    try:
        data = tomllib.loads(path.read_text())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"not readable TOML ({error})") from None
    cameras = {key: value for key, value in data.items() if isinstance(value, dict) and "matrix" in value}
    if not cameras:
        raise ValueError("no camera table (a table with 'matrix') in the file")
    if name:
        chosen = next((c for key, c in cameras.items() if name in (key, c.get("name"))), None)
        if chosen is None:
            raise ValueError(f"no camera named {name!r} (cameras: {', '.join(cameras)})")
    elif len(cameras) == 1:
        (chosen,) = cameras.values()
    else:
        raise ValueError(f"holds {len(cameras)} cameras ({', '.join(cameras)}): name one as FILE#NAME")
    if chosen.get("fisheye", False):
        raise ValueError("fisheye cameras are not supported")
    return chosen


def _read_result(path: Path, name: str) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as file:
            if "camera" not in file:
                raise ValueError("result file has no camera (a mocap result without one)")
            group = file["camera"]
            return {**{key: group[key][()] for key in group}, **dict(group.attrs)}
    except OSError as error:
        raise ValueError(f"not a readable HDF5 file ({error})") from None


_READERS = {".json": _read_json, ".yml": _read_yaml, ".yaml": _read_yaml, ".toml": _read_toml, ".h5": _read_result}


def _choose(data, name: str, kind: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"expected a {kind} of camera parameters, got {type(data).__name__}")
    if name:
        if not isinstance(data.get(name), dict):
            raise ValueError(f"no camera named {name!r}")
        return data[name]
    return data


def _field(record: dict, key: str):
    lowered = {str(k).lower(): v for k, v in record.items()}
    for alias in ALIASES[key]:
        if alias in lowered:
            value = lowered[alias]
            if isinstance(value, dict) and "data" in value:  # ROS camera_info: {rows, cols, data}
                value = value["data"]
            return value
    return None


def _numbers(value, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not numeric") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} has non-finite values")
    return array


def _calibration(record: dict, width: int, height: int, name: str) -> Calibration:
    K = _field(record, "K")
    if K is None:
        raise ValueError(f"no intrinsic matrix (one of: {', '.join(('K',) + ALIASES['K'][1:])})")
    K = _numbers(K, "K").reshape(-1)
    if K.size != 9:
        raise ValueError(f"K must have 9 values (3x3), got {K.size}")
    K = K.reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0 or not np.allclose(K[2], [0, 0, 1]):
        raise ValueError("K is not an intrinsic matrix (positive focal lengths, last row 0 0 1)")
    dist = _distortion(_field(record, "dist"))
    size = _image_size(record)
    if size is not None:
        K = np.diag([*image_scale(size, width, height), 1.0]) @ K
    R, t = _field(record, "R"), _field(record, "t")
    if (R is None) != (t is None):
        raise ValueError("has a rotation without a translation or the reverse: give both or neither")
    extrinsics = R is not None
    if extrinsics:
        R = _rotation(_numbers(R, "R"))
        t = _numbers(t, "t").reshape(-1)
        if t.size != 3:
            raise ValueError(f"t must have 3 values, got {t.size}")
        distance = float(np.linalg.norm(R.T @ t))
        if distance > MAX_DISTANCE_M:
            raise ValueError(f"the camera is {distance:g} units from the world origin: give the translation in metres")
    else:
        R, t = np.eye(3), np.zeros(3)
    from motion_recon.perception.cameras import Camera

    return Calibration(Camera(str(record.get("name", name)), width, height, K, dist, R, t), extrinsics)


def _distortion(value) -> np.ndarray:
    if value is None:
        return np.zeros(5)
    dist = _numbers(value, "distortion").reshape(-1)
    if dist.size < 4:
        raise ValueError(f"distortion must have at least 4 coefficients (k1 k2 p1 p2), got {dist.size}")
    if dist.size > 5 and np.any(dist[5:] != 0):
        raise ValueError("only OpenCV's 5-coefficient model is supported (k1 k2 p1 p2 k3); the file uses more")
    return np.concatenate([dist[:5], np.zeros(5 - min(dist.size, 5))])


def _image_size(record: dict) -> tuple[int, int] | None:
    width, height, size = _field(record, "width"), _field(record, "height"), _field(record, "size")
    if width is not None and height is not None:
        size = (width, height)
    if size is None:
        return None
    size = _numbers(size, "image size").reshape(-1)
    if size.size != 2 or np.any(size <= 0):
        raise ValueError(f"image size must be 2 positive numbers (width, height), got {size.tolist()}")
    return int(round(size[0])), int(round(size[1]))


def _rotation(R: np.ndarray) -> np.ndarray:
    if R.size == 3:
        return Rotation.from_rotvec(R.reshape(3)).as_matrix()
    if R.size != 9:
        raise ValueError(f"R must be 3x3 or a 3-value Rodrigues vector, got {R.size} values")
    R = R.reshape(3, 3)
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-4) or np.linalg.det(R) <= 0:
        raise ValueError("R is not a rotation matrix")
    return R
