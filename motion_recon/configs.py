"""Every stage's settings as plain dataclasses with their defaults, importing no JAX: the command
line shows and passes these defaults without loading the numerical stack, and the modules that
run a stage (``diffphy.loss``, ``meta.train``, ``functions.benchmark``) take them as arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

PAPER_DIMS = (2, 10, 20, 50, 100, 250, 500, 1000)
BASELINES = ("bfgs", "adam", "gd-momentum")
BENCHMARK_MODES = ("fixed", "stopping", "basin-hopping")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms, the window length and overlap.

    Windows of 10 frames that keep their first 5 (the other 5 look ahead and are optimized again
    by the next window) reconstruct the bundled walking clip with Adam at 50 evaluations per
    window to 16 mm MPJPE-G, against 36 mm for consecutive 5-frame windows: without look-ahead a
    window trades balance for its own keypoints (8/4: 18 mm, 10/7: 15 mm, 15/10: 23 mm;
    ``benchmarks/diffphy_windows.py``).

    Defaults: 3D keypoint error as mean squared distance in m^2 (weight 1); 2D reprojection error
    (windows with 2D keypoints and a camera) as mean squared distance in px^2, weight 2e-5 m^2/px^2:
    at f = 1150 px and 5 m depth one pixel is 4.3 mm, so a pixel of 2D error weighs about as much
    as its 3D equivalent; control smoothness as the mean squared change of ``u`` between frames in
    rad^2 (weight 1e-3: a 10 cm keypoint error weighs as much as 0.3 rad of control change per
    frame).
    """

    window: int = 10  # simulated frames per window (0.4 s at 25 fps)
    overlap: int = 5  # frames a window shares with the next: optimized for look-ahead, then redone
    keypoint_weight: float = 1.0
    keypoint2d_weight: float = 2e-5
    smoothness_weight: float = 1e-3
    # Video: squared ankle motion (m^2 per frame) in frames where the video shows the foot
    # planted (``WindowData.planted``); 0 leaves the term out.
    planted_foot_weight: float = 0.0
    # Video: an ankle the observations put on the ground (``WindowData.ground``) is held there:
    # its squared height above a standing ankle (m^2), and with ``ground_slide_weight`` its
    # squared horizontal motion from a frame where it was on the ground too. Detections that
    # jitter by centimetres otherwise make the body hop and shuffle after them. 0 leaves it out.
    ground_contact_weight: float = 0.0
    ground_slide_weight: float = 0.0
    # 2D term: 0 gives the squared pixel error; c > 0 the Geman-McClure error c^2 e^2 / (c^2 + e^2)
    # (``robust_square``), about e^2 for errors well below c px and at most c^2 for outliers (a
    # left-right swap, another person's limb), weighted by the detector's per-joint confidence.
    robust_2d_px: float = 0.0
    # 2D term: weight of each frame's mean error (the whole body shifted in the image) beside the
    # joints' errors about it; below 1 discounts the shifts of a detector's crop, which move every
    # keypoint of a frame together (1: the plain mean square).
    image_shift_weight: float = 1.0
    # Residual root force (as SimPoE's residual force control): a per-frame 6-D wrench on the
    # root, free in the optimization, penalised by this weight times its mean square in units of
    # body weight (m g; torque m g x 1 m); 0 leaves it out (the controls are the joints' alone).
    residual_force_weight: float = 0.0
    # Parallel windows (``reconstruct_in_parallel``): squared gap (``state_gap``) between the
    # simulated state at the next window's start frame and that window's start state.
    continuity_weight: float = 1.0


DEFAULT_LOSS = LossConfig()


@dataclass(frozen=True)
class TrainConfig:
    """Meta-training settings; defaults follow the paper (section B, Table 7)."""

    optimizer: str = "optimus"
    tasks: str = "functions"
    steps: int = 1000  # outer (meta) steps, one truncation each
    batch: int = 8  # tasks per outer step, each with an antithetic pair
    trunc: int = 10  # inner steps per truncation
    unroll: int = 50  # inner steps per episode
    sigma: float = 0.01
    learning_rate: float = 5e-4
    clip_norm: float = 3.0
    seed: int = 0
    checkpoint_every: int = 50  # outer steps, rounded up to an episode boundary
    init: str | None = None  # checkpoint folder to start from (fine-tuning) instead of random weights

    def __post_init__(self):
        if self.optimizer not in ("optimus", "adafactor-mlp"):
            raise ValueError(f"unknown learned optimizer {self.optimizer!r}; choose optimus or adafactor-mlp")
        if self.unroll % self.trunc:
            raise ValueError(f"unroll ({self.unroll}) must be a multiple of trunc ({self.trunc})")
        if min(self.steps, self.batch, self.trunc) < 1 or not self.sigma > 0:
            raise ValueError("steps, batch and trunc must be >= 1 and sigma > 0")

    @property
    def truncations_per_episode(self) -> int:
        return self.unroll // self.trunc


def _all_functions() -> tuple[str, ...]:
    from motion_recon.functions.library import FUNCTIONS

    return tuple(FUNCTIONS)


@dataclass(frozen=True)
class BenchmarkConfig:
    """What to run; the defaults are the paper's protocol."""

    functions: tuple[str, ...] = field(default_factory=_all_functions)
    dims: tuple[int, ...] = PAPER_DIMS
    optimizers: tuple[str, ...] = BASELINES
    starts: int = 64
    iterations: int = 200
    seed: int = 0
    start_range: float = 10.0
    learning_rates: tuple[float, ...] = tuple(np.logspace(-6, 0, 100).tolist())
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # how a run spends its ``iterations`` (the paper's Table 4 operating modes): "fixed" takes them
    # all; "stopping" ends when the paper's rule (``optim.RelativeDecrease``, N = 5) fires;
    # "basin-hopping" runs inside ``optim.BasinHopping`` (defaults: a hop every 25 iterations,
    # perturbation 0.5), a hop counting as one of the iterations
    mode: str = "fixed"

    def __post_init__(self):
        from motion_recon import optim
        from motion_recon.functions.library import FUNCTIONS

        for name in self.functions:
            if name not in FUNCTIONS:
                raise ValueError(f"unknown function {name!r}; choose from {', '.join(FUNCTIONS)}")
        for name in self.optimizers:
            if name not in optim.available():
                raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(optim.available())}")
        if any(d < 2 for d in self.dims):
            raise ValueError(f"dimensions must be at least 2, got {list(self.dims)}")
        if self.starts < 1 or self.iterations < 1 or self.workers < 1 or not self.learning_rates:
            raise ValueError("starts, iterations, workers and the learning-rate grid must be positive")
        if not self.start_range > 0:
            raise ValueError(f"start_range must be positive, got {self.start_range}")
        if self.mode not in BENCHMARK_MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose from {', '.join(BENCHMARK_MODES)}")
