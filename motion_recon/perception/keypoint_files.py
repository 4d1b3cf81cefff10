"""2D keypoints of any number of people per frame from files written by other detectors.

``read_keypoints`` reads, by the file's suffix:

* ``.json``, COCO style, in one of three shapes:

  1. a COCO results list ``[{"image_id": t, "keypoints": [x, y, c] * K, ...}, ...]``, one entry
     per person, ``image_id`` the 0-based frame index;
  2. per-frame people, ``[{"frame": t, "people": [{"keypoints": [x, y, c] * K}, ...]}, ...]``
     or ``{"frames": [...the same...], "layout": optional}`` (``"frame"`` defaults to the list
     position);
  3. a COCO annotation file ``{"images": [{"id", "file_name"}, ...], "annotations":
     [{"image_id", "keypoints"}, ...]}``: frames in the order the images are listed; when every
     third value is a visibility flag (integers 0, 1, 2), flag 0 is confidence 0 and 1 or 2 is
     confidence 1.

  Otherwise the third value is a confidence, clipped to [0, 1]. K is 17 (COCO-17) or 33
  (BlazePose-33); keypoints with confidence 0 (COCO's (0, 0, 0) for unlabelled points) are unseen.
* ``.npz`` with ``keypoints`` (T, K, 2|3) for one person or (T, P, K, 2|3) for up to P people (a
  third channel is the confidence; a person's all-NaN keypoints mean absent from that frame),
  optional ``confidence`` (T, [P,] K) (wins over a third channel; default 1), ``layout``
  ("coco17", "blazepose33" or "h36m17"; default from K: 17 is COCO-17, 33 BlazePose-33) and
  ``world`` (T, [P,] K, 3) metric pelvis-centred poses in camera axes (x right, y down,
  z forward).

Every person becomes a ``Detection`` in the 17-joint layout; one with no keypoint of confidence
above 0 is left out. ``write_keypoints`` writes detections as such an ``.npz`` (``recon eval
--input video`` keeps its detections so). Problems raise ``ValueError`` (or ``FileNotFoundError``) with a one-line
message that names the file.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from motion_recon import skeleton
from motion_recon.io import atomic_path
from motion_recon.perception.people import Detection

LAYOUTS = ("coco17", "blazepose33", "h36m17")
LAYOUT_BY_COUNT = {17: "coco17", 33: "blazepose33"}
JOINT_COUNT = {"coco17": 17, "blazepose33": 33, "h36m17": 17}


def read_keypoints(path) -> list[list[Detection]]:
    """Per frame (list index = frame index), the people in a keypoints file (see the module doc);
    frames with nobody are empty lists."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such keypoints file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        frames = _read_json(path)
    elif suffix == ".npz":
        frames = _read_npz(path)
    else:
        raise ValueError(f"{path}: unknown keypoints file type {path.suffix!r}; expected .json or .npz")
    if not any(frames):
        raise ValueError(f"{path}: no keypoints at all ({len(frames)} frames, nobody in any)")
    return frames


def write_keypoints(path, frames: list[list[Detection]], **extra: np.ndarray) -> None:
    """Writes per-frame people as a ``.npz`` that ``read_keypoints`` reads back to the same
    detections (those with a keypoint of confidence above 0): keypoints (T, P, 17, 2) with P the
    most people in one frame (all NaN: nobody there), confidence (T, P, 17), world (T, P, 17, 3)
    when any detection has it (NaN for those without) and layout "h36m17"; the ``extra`` arrays
    are stored beside them (``read_keypoints`` leaves them alone). Written atomically."""
    joints = len(skeleton.JOINTS)
    people = max([len(frame) for frame in frames] + [1])
    keypoints = np.full((len(frames), people, joints, 2), np.nan)
    confidence = np.zeros((len(frames), people, joints))
    world = np.full((len(frames), people, joints, 3), np.nan)
    for t, frame in enumerate(frames):
        for p, detection in enumerate(frame):
            keypoints[t, p], confidence[t, p] = detection.keypoints, detection.confidence
            if detection.world is not None:
                world[t, p] = detection.world
    arrays = {"keypoints": keypoints, "confidence": confidence, "layout": np.array("h36m17")}
    if any(d.world is not None for frame in frames for d in frame):
        arrays["world"] = world
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez_compressed(file, **arrays, **extra)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------------------------- JSON


def _read_json(path: Path) -> list[list[Detection]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({_one_line(error)})") from None
    if isinstance(data, dict) and "annotations" in data:
        return _coco_annotations(path, data)
    layout = None
    if isinstance(data, dict) and "frames" in data:
        layout = data.get("layout")
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f"{path}: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
        data = data["frames"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: unrecognised JSON keypoints; expected a COCO results list, a list of "
                         "{'frame', 'people'} entries, {'frames': [...]} or a COCO annotation file")  # fmt: skip
    if not data:
        raise ValueError(f"{path}: no keypoints at all (empty list)")
    if not all(isinstance(item, dict) for item in data):
        raise ValueError(f"{path}: every entry of the JSON list must be an object")
    if all("image_id" in item for item in data):
        return _coco_results(path, data)
    if all("people" in item for item in data):
        return _per_frame(path, data, layout)
    raise ValueError(f"{path}: unrecognised JSON keypoints; entries need 'image_id' and 'keypoints' (COCO "
                     "results) or 'people' (per-frame lists)")  # fmt: skip


def _frame_index(path: Path, value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{path}: {what} {value!r} is not a frame index (an integer from 0)")
    return value


def _coco_results(path: Path, entries: list) -> list[list[Detection]]:
    indices = [_frame_index(path, item["image_id"], "image_id") for item in entries]
    frames: list[list[Detection]] = [[] for _ in range(max(indices) + 1)]
    for t, item in zip(indices, entries, strict=True):
        person = _json_person(path, item, t, None, flags=False)
        if person is not None:
            frames[t].append(person)
    return frames


def _per_frame(path: Path, entries: list, layout: str | None) -> list[list[Detection]]:
    indices = [_frame_index(path, item.get("frame", i), "frame") for i, item in enumerate(entries)]
    if len(set(indices)) != len(indices):
        raise ValueError(f"{path}: a frame index appears more than once")
    frames: list[list[Detection]] = [[] for _ in range(max(indices) + 1)]
    for t, item in zip(indices, entries, strict=True):
        people = item["people"]
        if not isinstance(people, list):
            raise ValueError(f"{path}: frame {t}: 'people' must be a list")
        for person in people:
            if not isinstance(person, dict):
                raise ValueError(f"{path}: frame {t}: every person must be an object with 'keypoints'")
            detection = _json_person(path, person, t, layout, flags=False)
            if detection is not None:
                frames[t].append(detection)
    return frames


def _coco_annotations(path: Path, data: dict) -> list[list[Detection]]:
    images, annotations = data.get("images"), data["annotations"]
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise ValueError(f"{path}: a COCO annotation file needs 'images' and 'annotations' lists")
    try:
        frame_of = {image["id"]: t for t, image in enumerate(images)}
    except (TypeError, KeyError):
        raise ValueError(f"{path}: every entry of 'images' needs an 'id'") from None
    if len(frame_of) != len(images):
        raise ValueError(f"{path}: an image id appears more than once in 'images'")
    annotations = [a for a in annotations if isinstance(a, dict) and "keypoints" in a]  # other categories
    values = [v for a in annotations if isinstance(a["keypoints"], list) for v in a["keypoints"][2::3]]
    flags = all(isinstance(v, int) and not isinstance(v, bool) and v in (0, 1, 2) for v in values)
    frames: list[list[Detection]] = [[] for _ in images]
    for annotation in annotations:
        if annotation.get("image_id") not in frame_of:
            raise ValueError(f"{path}: annotation for image_id {annotation.get('image_id')!r}, which 'images' lacks")
        t = frame_of[annotation["image_id"]]
        person = _json_person(path, annotation, t, None, flags=flags)
        if person is not None:
            frames[t].append(person)
    return frames


def _json_person(path: Path, item: dict, t: int, layout: str | None, flags: bool) -> Detection | None:
    """One person's flat [x, y, c] * K list as a Detection; None when no keypoint is seen."""
    values = item.get("keypoints")
    if not isinstance(values, list):
        raise ValueError(f"{path}: frame {t}: a person has no 'keypoints' list")
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: frame {t}: keypoints are not all numbers") from None
    count = len(values) // 3
    if len(values) % 3 or count not in (17, 33):
        raise ValueError(f"{path}: frame {t}: {len(values)} keypoint values; expected [x, y, c] for 17 "
                         "(COCO-17) or 33 (BlazePose-33) keypoints, i.e. 51 or 99 values")  # fmt: skip
    layout = layout or LAYOUT_BY_COUNT[count]
    _check_count(path, count, layout)
    values = values.reshape(count, 3)
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: frame {t}: a person's keypoints contain NaN or infinite values")
    confidence = (values[:, 2] > 0).astype(float) if flags else np.clip(values[:, 2], 0.0, 1.0)
    if not (confidence > 0).any():
        return None
    return Detection.from_layout(values[:, :2], confidence, layout)


def _check_count(path: Path, count: int, layout: str) -> None:
    if count not in (17, 33):
        raise ValueError(f"{path}: {count} keypoints per person; expected 17 (COCO-17) or 33 (BlazePose-33)")
    if JOINT_COUNT[layout] != count:
        raise ValueError(f"{path}: layout {layout} has {JOINT_COUNT[layout]} keypoints, the file has {count}")


# ----------------------------------------------------------------------------------------------- npz


def _read_npz(path: Path) -> list[list[Detection]]:
    if not zipfile.is_zipfile(path):  # else numpy reads it as a pickle and suggests loading it unsafely
        raise ValueError(f"{path}: not a readable .npz file (not a zip archive of arrays: truncated, or another format?)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable .npz file ({_one_line(error)})") from None
    if "keypoints" not in arrays:
        raise ValueError(f"{path}: no 'keypoints' array (found: {', '.join(sorted(arrays)) or 'none'})")
    keypoints = _numeric(path, arrays["keypoints"], "keypoints")
    if keypoints.ndim not in (3, 4) or keypoints.shape[-1] not in (2, 3):
        raise ValueError(f"{path}: keypoints must have shape (T, K, 2|3) or (T, P, K, 2|3), got {keypoints.shape}")
    single = keypoints.ndim == 3
    if single:
        keypoints = keypoints[:, None]
    frames_count, people, count, channels = keypoints.shape
    if frames_count == 0 or people == 0:
        raise ValueError(f"{path}: no keypoints at all (keypoints shape {arrays['keypoints'].shape})")
    layout = _npz_layout(path, arrays, count)
    expected = (frames_count, count) if single else (frames_count, people, count)
    if "confidence" in arrays:
        confidence = _shaped(path, arrays["confidence"], "confidence", expected)
        confidence = confidence[:, None] if single else confidence
    elif channels == 3:
        confidence = keypoints[..., 2]
    else:
        confidence = np.ones(keypoints.shape[:3])
    world = None
    if "world" in arrays:
        world = _shaped(path, arrays["world"], "world", (*expected, 3))
        world = world[:, None] if single else world
    keypoints = keypoints[..., :2]
    present = ~np.isnan(keypoints).all(axis=(2, 3))
    frames: list[list[Detection]] = []
    for t in range(frames_count):
        frame = []
        for p in np.flatnonzero(present[t]):
            who = "" if single else f" person {p}"
            if not np.isfinite(keypoints[t, p]).all():
                raise ValueError(f"{path}: frame {t}{who}: NaN or infinite keypoints of a person otherwise present")
            pose = None
            if world is not None and not np.isnan(world[t, p]).all():
                pose = world[t, p]
                if not np.isfinite(pose).all():
                    raise ValueError(
                        f"{path}: frame {t}{who}: NaN or infinite world keypoints of a person otherwise present"
                    )
            if (np.nan_to_num(confidence[t, p]) > 0).any():
                frame.append(Detection.from_layout(keypoints[t, p], confidence[t, p], layout, pose))
        frames.append(frame)
    return frames


def _numeric(path: Path, array: np.ndarray, name: str) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{path}: '{name}' must be a numeric array, got dtype {array.dtype}")
    return array.astype(float)


def _shaped(path: Path, array: np.ndarray, name: str, expected: tuple) -> np.ndarray:
    array = _numeric(path, array, name)
    if array.shape != expected:
        raise ValueError(f"{path}: '{name}' must have shape {expected} to match the keypoints, got {array.shape}")
    return array


def _npz_layout(path: Path, arrays: dict, count: int) -> str:
    if "layout" not in arrays:
        if count not in LAYOUT_BY_COUNT:
            _check_count(path, count, "coco17")
        return LAYOUT_BY_COUNT[count]
    value = arrays["layout"]
    if value.dtype.kind not in "US" or value.size != 1:
        raise ValueError(f"{path}: 'layout' must be one string, one of {', '.join(LAYOUTS)}")
    layout = value.item()
    layout = layout.decode() if isinstance(layout, bytes) else str(layout)
    if layout not in LAYOUTS:
        raise ValueError(f"{path}: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    _check_count(path, count, layout)
    return layout
