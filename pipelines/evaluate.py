"""The evaluation flow: reconstruct every sequence of a protocol split and average the metrics
(the paper's Table 2 layout, plus one row per sequence).

The input is the dataset's 3D joints (a ``MocapConfig``: the mocap experiment of the paper's
Table 1) or its videos (a ``VideoConfig``: Tables 2 and 3, ``pipelines.video_eval``), where the
kinematic baseline (the lifted detections, no physics) is scored beside the physics result.

Sequences run one after another here, or as Ray tasks (``ray_address``, ``recon eval --ray``):
one task per sequence, through ``reconstruct_item`` on both paths, so a seed gives the same
metrics either way. A sequence is the unit of work because its windows are not independent:
each window starts from the state the previous window's optimized controls simulated at its
end, so the windows of one sequence run in order inside one task. A sequence that fails (an
unreadable file, a motion shorter than one window...) is recorded in ``Evaluation.failures``
with its error, on both paths, and the run goes on; the mean is over the sequences that
succeeded.

A run that was interrupted resumes (``resume``): each result file in ``out_dir`` records the
hash of its settings (``settings_hash``), and a sequence whose file holds the hash of this run's
settings is read back instead of reconstructed, so the table equals an uninterrupted run's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import threadpoolctl

from motion_recon import physics
from motion_recon.datasets import MotionSequence, h36m
from motion_recon.datasets.splits import SplitSequence, split_sequences
from motion_recon.optim.checkpoint import checkpoint_hash
from motion_recon.perception.cameras import Camera
from motion_recon.provenance import code_commit, versions
from motion_recon.result_file import MotionResult, read_result, write_result
from pipelines.distributed import MAX_RETRIES, TaskFailed, connect, error_line, map_tasks
from pipelines.configs import MocapConfig, VideoConfig
from pipelines.mocap import configured_optimizer, reconstruct_motion
from pipelines.video_eval import check_config, read_truth, reconstruct_from_video, split_metrics, video_sha256

SETTINGS_KEY = "settings_sha256"  # the provenance entry of a result file that holds its settings hash


@dataclass
class Evaluation:
    """Per-sequence metrics (with evaluations per window and wall time) and their mean over the
    sequences that succeeded; ``failures`` maps each sequence that failed to its error. From
    video (``input``), ``kinematic`` holds the kinematic baseline's metrics per sequence."""

    dataset: str
    split: str
    optimizer: str
    input: str = "mocap"
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    kinematic: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)  # sequences read back from their result files

    @property
    def mean(self) -> dict[str, float]:
        return _mean(self.rows)

    @property
    def kinematic_mean(self) -> dict[str, float]:
        return _mean(self.kinematic)

    def to_json(self) -> dict:
        record = {"dataset": self.dataset, "split": self.split, "input": self.input, "optimizer": self.optimizer,
                  "mean": self.mean, "sequences": self.rows, "failures": self.failures}  # fmt: skip
        if self.input == "video":
            record["kinematic"] = {"mean": self.kinematic_mean, "sequences": self.kinematic}
        return record


def _mean(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for row in rows.values() for k in row)
    return {k: float(np.mean([row[k] for row in rows.values() if k in row])) for k in keys}


def load_sequence(dataset: str, item: SplitSequence) -> tuple[MotionSequence, Camera | None]:
    """The frames of a split sequence at the file's own rate, and its camera where known."""
    sequence = read_truth(dataset, item)
    # AIST++'s cameras are per recording setting, which only its video layout names (cameras/mapping.txt)
    camera = h36m.camera(item.subject, item.camera) if dataset == "h36m" else None
    if item.first is not None:
        last = min(item.last, len(sequence.keypoints) - 1)
        sequence = sequence.frames(item.first, last + 1)
    return sequence, camera


def reconstruct_item(dataset: str, item: SplitSequence, config: MocapConfig | VideoConfig,
                     detections: Path | None = None) -> MotionResult:  # fmt: skip
    """One sequence of a split, loaded and reconstructed (named as in the split): the unit of work
    of ``evaluate``, run here or on a Ray worker. All its windows run here, in order: each is
    warm-started from the state the previous one simulated at its end. From its video with a
    ``VideoConfig`` (``video_eval.reconstruct_from_video``; ``detections``: the folder that keeps
    the detections).

    numpy's BLAS runs on one thread meanwhile, as on a Ray worker (Ray sets OMP_NUM_THREADS=1 for
    a task of one CPU): its thread count changes the rounding (metrics by ~1e-6 relative), so
    this keeps a seed's metrics identical here and on every worker, whatever their core count.
    Every sequence's body runs the same compiled programs (the model is data), so the next
    sequence reuses them."""
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        if isinstance(config, VideoConfig):
            result = reconstruct_from_video(dataset, item, config, detections)
        else:
            sequence, camera = load_sequence(dataset, item)
            result = reconstruct_motion(sequence, config, camera=camera)
    result.name = item.name
    return result


def summary(result: MotionResult) -> dict[str, float]:
    """The metrics of a result plus evaluations per window and wall time."""
    return {**result.metrics, "evals_per_window": float(np.mean(result.windows["nfev"])),
            "wall_s": float(result.optimization.get("wall_s", float("nan")))}  # fmt: skip


def result_path(out_dir, name: str) -> Path:
    """``<out_dir>/<sequence>.h5``, the sequence's name made a file name."""
    return Path(out_dir) / f"{name.replace('/', '_').replace(' ', '_')}.h5"


def settings_hash(dataset: str, split: str, item: SplitSequence, config: MocapConfig | VideoConfig, optimizer) -> str:
    """SHA-256 of everything that decides a sequence's result: the dataset, split, sequence (name,
    frames, camera, the input file's content and, from video, the video's), the whole ``config``
    (optimizer, budget, stopping rule, loss, engine, seed...), the configured ``optimizer``'s
    settings and its checkpoint's content hash, the simulator's settings, the installed package
    versions and the code's git commit (``provenance.code_commit``: a run resumes only with the
    code it started with)."""
    source = getattr(optimizer, "source", "")
    settings = {
        "dataset": dataset, "split": split, "sequence": [item.name, item.first, item.last, item.camera],
        "input_sha256": hashlib.sha256(Path(item.path).read_bytes()).hexdigest(),
        "config": dataclasses.asdict(config), "simulator": dataclasses.asdict(physics.DEFAULT_CONFIG),
        "optimizer": re.sub(r" at 0x[0-9a-f]+", "", repr(optimizer)),  # function addresses change per process
        "checkpoint_sha256": checkpoint_hash(source) if source and Path(source).is_dir() else None,
        "versions": versions(), "commit": code_commit(),
    }  # fmt: skip
    if isinstance(config, VideoConfig):
        settings.update(input="video", video_sha256=video_sha256(item))
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _finished(path: Path, digest: str) -> MotionResult | None:
    """The result file at ``path`` when it exists and was made with the settings hash ``digest``."""
    if not path.is_file():
        return None
    try:
        saved = read_result(path)
    except (ValueError, OSError, KeyError):  # not a result file (or an old one): made again
        return None
    return saved if saved.provenance.get(SETTINGS_KEY) == digest else None


def evaluate(dataset: str, root, split: str, config: MocapConfig | VideoConfig, *, out_dir: Path | None = None,
             limit: int | None = None, progress: Callable[[str, int, int], None] | None = None,
             ray_address: str | None = None, resume: bool = False, detections: Path | None = None) -> Evaluation:  # fmt: skip
    """Reconstructs each sequence of ``split`` under ``root`` (the first ``limit`` ones) from its
    3D joints (``MocapConfig``) or from its video (``VideoConfig``); writes
    ``<out_dir>/<sequence>.h5`` result files when ``out_dir`` is given, each with its settings
    hash (``settings_hash``). With ``resume`` a sequence whose result file in ``out_dir`` holds
    this run's settings hash is read back, not reconstructed (listed in ``resumed``); any other
    is reconstructed and its file replaced. ``progress(name, done, total)`` is called before and
    after each sequence (on Ray: as each finishes).

    From video, each sequence's detections are kept in the folder ``detections`` (default
    ``<out_dir>/detections`` when ``out_dir`` is given), so a run with another optimizer or budget
    detects nothing again (``video_eval.read_detections``).

    With ``ray_address`` (``local``, ``auto`` or a cluster address, see ``pipelines.distributed``)
    every sequence is one Ray task, retried on failure; the workers need ``motion-recon``
    installed and the dataset ``root`` at the same absolute path (a shared or copied folder).
    The results come back to this process, which writes the result files and collects the
    rows, so ``out_dir`` needs to exist only here; the workers keep the detections themselves,
    so a ``detections`` folder shared at the same absolute path lets every worker reuse them.

    A sequence that fails (here: raises; on Ray: fails on every attempt) is recorded in
    ``failures`` with its error and the others go on. Errors in the arguments (split, root,
    optimizer, budget) are raised before any sequence runs."""
    if resume and out_dir is None:
        raise ValueError("--resume reads the result files of an earlier run: give their folder with --out DIR")
    from_video = isinstance(config, VideoConfig)
    if from_video:
        check_config(config)
        if detections is None and out_dir is not None:
            detections = Path(out_dir) / "detections"
    elif detections is not None:
        raise ValueError("--detections keeps the detections of --input video; the mocap input has none")
    items = split_sequences(dataset, root, split)[:limit]
    optimizer = configured_optimizer(config.mocap() if from_video else config)  # a bad setting fails once, before any sequence
    evaluation = Evaluation(dataset, split, config.optimizer, "video" if from_video else "mocap")
    total = len(items)
    digests = {} if out_dir is None else {item.name: settings_hash(dataset, split, item, config, optimizer) for item in items}
    done: dict[str, dict[str, float]] = {}
    if resume:
        for item in items:
            saved = _finished(result_path(out_dir, item.name), digests[item.name])
            if saved is not None:
                done[item.name] = summary(saved)
                evaluation.resumed.append(item.name)
    todo = [item for item in items if item.name not in done]

    def collect(item: SplitSequence, result: MotionResult) -> None:
        result.provenance["command"] = " ".join(sys.argv)  # a Ray worker's own is its worker script
        done[item.name] = summary(result)
        if out_dir is not None:
            result.provenance[SETTINGS_KEY] = digests[item.name]
            write_result(result_path(out_dir, item.name), result)

    if ray_address is None:
        for k, item in enumerate(todo, start=len(done)):
            if progress is not None:
                progress(item.name, k, total)
            try:
                result = reconstruct_item(dataset, item, config, detections)
            except Exception as err:  # recorded, as a failed Ray task is
                evaluation.failures[item.name] = error_line(err)
                continue
            collect(item, result)
    else:
        connect(ray_address)
        before = len(done)
        if progress is not None:
            progress(f"{len(todo)} sequences on Ray", before, total)
        shared = None if detections is None else Path(detections).absolute()
        calls = [(dataset, dataclasses.replace(item, path=Path(item.path).absolute(),
                                               video=None if item.video is None else Path(item.video).absolute()),
                  config, shared) for item in todo]  # fmt: skip
        finished = None if progress is None else (lambda name, k, count: progress(f"{name} finished", before + k, total))
        outcomes = map_tasks(reconstruct_item, calls, [item.name for item in todo], finished)
        for item, outcome in zip(todo, outcomes, strict=True):
            if isinstance(outcome, TaskFailed):
                evaluation.failures[item.name] = f"{outcome.error} (on all {MAX_RETRIES + 1} attempts)"
            else:
                collect(item, outcome)
    for item in items:  # the split's order
        if item.name in done:
            evaluation.rows[item.name], kinematic = split_metrics(done[item.name])
            if from_video:
                evaluation.kinematic[item.name] = kinematic
    if progress is not None:
        progress("done", total, total)
    return evaluation

