"""The evaluation flow: reconstruct every sequence of a protocol split and average the metrics
(the paper's Table 2 layout, plus one row per sequence)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from motion_recon.datasets import MotionSequence, aist, h36m
from motion_recon.datasets.splits import SplitSequence, split_sequences
from motion_recon.perception.cameras import Camera
from motion_recon.result_file import MotionResult, write_result
from pipelines.mocap import MocapConfig, reconstruct_motion


@dataclass
class Evaluation:
    """Per-sequence metrics (with evaluations per window and wall time) and their mean."""

    dataset: str
    split: str
    optimizer: str
    rows: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def mean(self) -> dict[str, float]:
        keys = dict.fromkeys(k for row in self.rows.values() for k in row)
        return {k: float(np.mean([row[k] for row in self.rows.values() if k in row])) for k in keys}

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "optimizer": self.optimizer,
                "mean": self.mean, "sequences": self.rows}  # fmt: skip


def load_sequence(dataset: str, item: SplitSequence) -> tuple[MotionSequence, Camera | None]:
    """The frames of a split sequence at the file's own rate, and its camera where known."""
    if dataset == "h36m":
        sequence = h36m.read_positions(item.path, fps=h36m.FPS)
        camera = h36m.camera(item.subject, item.camera)
    else:
        sequence = aist.read_keypoints3d(item.path)
        camera = None  # AIST++'s cameras are per recording setting; the split names no setting file
    if item.first is not None:
        last = min(item.last, len(sequence.keypoints) - 1)
        sequence = sequence.frames(item.first, last + 1)
    return sequence, camera


def summary(result: MotionResult) -> dict[str, float]:
    """The metrics of a result plus evaluations per window and wall time."""
    return {**result.metrics, "evals_per_window": float(np.mean(result.windows["nfev"])),
            "wall_s": float(result.optimization.get("wall_s", float("nan")))}  # fmt: skip


def evaluate(dataset: str, root, split: str, config: MocapConfig, *, out_dir: Path | None = None, limit: int | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> Evaluation:  # fmt: skip
    """Reconstructs each sequence of ``split`` under ``root`` (the first ``limit`` ones); writes
    ``<out_dir>/<sequence>.h5`` result files when ``out_dir`` is given. ``progress(name, done,
    total)`` is called before and after each sequence."""
    items = split_sequences(dataset, root, split)[:limit]
    evaluation = Evaluation(dataset, split, config.optimizer)
    for k, item in enumerate(items):
        if progress is not None:
            progress(item.name, k, len(items))
        sequence, camera = load_sequence(dataset, item)
        result = reconstruct_motion(sequence, config, camera=camera)
        result.name = item.name
        evaluation.rows[item.name] = summary(result)
        if out_dir is not None:
            write_result(Path(out_dir) / f"{item.name.replace('/', '_').replace(' ', '_')}.h5", result)
    if progress is not None:
        progress("done", len(items), len(items))
    return evaluation
