"""The evaluation splits shipped in ``data/splits/`` (see its README) and the files they name
under a dataset root."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..paths import data_dir

SPLITS = ("val", "aist15", "physcap")
_FILES = {"val": "h36m_val.csv", "aist15": "aist15.csv", "physcap": "h36m_physcap.csv"}
DATASET_SPLITS = {"h36m": ("val", "physcap"), "aist": ("aist15",)}


def load_split(name: str) -> list[dict[str, str]]:
    """Rows of a split as dictionaries of its CSV columns."""
    if name not in _FILES:
        raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
    with open(data_dir() / "splits" / _FILES[name], newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class SplitSequence:
    """One sequence of a split: its file, the frames to use (first and last inclusive, at the
    file's own frame rate; None for all), for Human3.6M the subject and camera, and where the
    dataset keeps its video (which may be missing)."""

    name: str
    path: Path
    first: int | None = None
    last: int | None = None
    subject: str | None = None
    camera: str | None = None
    video: Path | None = None


def split_sequences(dataset: str, root, split: str) -> list[SplitSequence]:
    """The sequences of ``split`` found under a dataset ``root``; a one-line error names the first
    missing one. Human3.6M: ``<root>/S*/MyPoseFeatures/D3_Positions/<action>.cdf``; AIST++:
    ``<root>/keypoints3d/<sequence with cAll>.pkl``. The PhysCap split takes every take of each
    action (``Walking.cdf``, ``Walking 1.cdf``). Videos are not looked for here (see
    ``h36m.video_path``, ``aist.video_path``): the mocap experiment needs none."""
    from . import aist, h36m

    if dataset not in DATASET_SPLITS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASET_SPLITS)}")
    if split not in DATASET_SPLITS[dataset]:
        raise ValueError(f"split {split!r} is not a {dataset} split; choose one of {', '.join(DATASET_SPLITS[dataset])}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{dataset} root {root} does not exist")
    rows = load_split(split)
    if dataset == "aist":
        found = []
        for row in rows:
            name = aist.all_cameras_name(row["sequence"])
            path = root / "keypoints3d" / f"{name}.pkl"
            if not path.is_file():
                raise FileNotFoundError(f"AIST++ sequence {name} not found: no file {path}")
            found.append(SplitSequence(row["sequence"], path, int(row["first_frame"]), int(row["last_frame"]),
                                       video=aist.video_path(root, row["sequence"])))  # fmt: skip
        return found
    if split == "val":
        return [SplitSequence(f"{r['subject']}/{r['sequence']}", h36m.sequence_path(root, r["subject"], r["sequence"]),
                              int(r["first_frame"]), int(r["last_frame"]), r["subject"], r["camera"],
                              h36m.video_path(root, r["subject"], r["sequence"], r["camera"]))
                for r in rows]  # fmt: skip
    found = []
    for r in rows:
        takes = _takes(root, r["subject"], r["action"])
        found += [SplitSequence(f"{r['subject']}/{p.stem}", p, None, None, r["subject"], r["camera"],
                                h36m.video_path(root, r["subject"], p.stem, r["camera"])) for p in takes]  # fmt: skip
    return found


def _takes(root: Path, subject: str, action: str) -> list[Path]:
    """Every take of an action (``<action>.cdf``, ``<action> 1.cdf``, ...) of a subject."""
    folder = root / subject / "MyPoseFeatures" / "D3_Positions"
    if not folder.is_dir():
        raise FileNotFoundError(f"Human3.6M subject {subject} not found: no folder {folder}")
    takes = sorted(p for p in folder.glob("*.cdf") if p.stem == action or p.stem.startswith(action + " "))
    if not takes:
        raise FileNotFoundError(f"Human3.6M action {subject}/{action} not found: no {action}*.cdf in {folder}")
    return takes
