"""The settings of the end-to-end flows (``recon mocap``, ``recon video``, ``recon eval``) with their
defaults, importing no JAX, so the command line reads its defaults from here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motion_recon.configs import DEFAULT_LOSS, LossConfig

# Basin hopping on DiffPhy windows: the perturbation is in the controls' units (radians of joint
# rotation offset per frame), chosen on training-pool windows (benchmarks/diffphy_modes.py --tune)
BASIN_HOPPING = {"hop_every": 25, "perturbation": 0.01}


@dataclass(frozen=True)
class MocapConfig:
    """What a reconstruction from mocap runs with: 50 evaluations per window and no stopping rule
    as the paper's Table 1. The default optimizer is Adam: on the DiffPhy test pool (3 seeds,
    benchmarks/results/diffphy_pool_5900_cpu.md) the pool-trained Optimus is better on 8 of 10
    motions and in the mean, but 3 mm worse on the real clips' mean (55.4 against Adam's 52.4 mm
    MPJPE-G) and behind Adam on video-style windows."""

    optimizer: str = "adam"
    max_evals: int = 50
    engine: str = "mjx"
    loss: LossConfig = DEFAULT_LOSS
    stopping: bool = False
    # the paper's Table 4 mode: perturb the best controls every ``BASIN_HOPPING['hop_every']``
    # iterations and go on within the same budget (``optim.BasinHopping``)
    basin_hopping: bool = False
    seed: int = 0
    checkpoint: str | None = None
    # 0: windows one after another; R >= 1: all windows together, R rounds of multiple shooting
    # (``diffphy.reconstruct.reconstruct_in_parallel``)
    parallel_rounds: int = 0
    # windows one after another: a window that falls is optimized again from the kinematic state
    # at its start (``diffphy.reconstruct.FallTest``)
    recover: bool = True
    # the 3D keypoints the loss compares with: the motion's own ("observed"), or the fitted
    # skeleton's pose (IK, "skeleton"): a prior cleaned of what no body of one size can do
    # (bones that change length from frame to frame, detector noise)
    targets3d: str = "observed"
    # the PD targets at zero controls lead the kinematic poses by the joints' damping time, so
    # that they are followed without lag (``body_models.kinematics.led_targets``)
    feedforward: bool = False


# The detector's metric 3D is a guess at depth: a weak prior beside the 2D term. At weight 0.1 a
# 10 cm 3D offset costs 1e-3, as much as a 7 px reprojection error (2e-5 per px^2). Control
# smoothness twice the mocap default: detections jump by up to 27 px from frame to frame, and
# following them costs balance (README, "Benchmark" of the video section, for the settings tried).
# A residual root force, penalised at 0.1 per (body weight)^2: on the semi-synthetic tuning
# sequences (benchmarks/video_semisynthetic.py, seed 0) it took the mean PA-MPJPE from 44.3 to
# 35.0 mm, below the detections' own 41.0 mm, where without it the physics was worse than its input.
# Ground contact 1 and slide 1: an ankle the detections put on the ground is held there, so the
# body no longer hops after the detector's crop shifts; on the semi-synthetic sequences foot skate
# fell from 52 to 27 % of the true contacts on the tuning ones (seed 0) with the 2D and pose errors
# lower too, and the bundled clip stays within its bounds (README, video benchmarks). The
# image-shift discount stays at 1 (off): at 0.2 the bundled clip's reprojection error against the
# detections rose to 1.33x the kinematic baseline's.
VIDEO_LOSS = LossConfig(keypoint_weight=0.1, smoothness_weight=2e-3, planted_foot_weight=1.0,
                        ground_contact_weight=1.0, ground_slide_weight=1.0, residual_force_weight=0.1)  # fmt: skip


def loss_changes(text: str) -> dict[str, float]:
    """``LossConfig`` fields from ``name=value,...`` (e.g. ``residual_force_weight=0.1``)."""
    pairs = [item.split("=") for item in text.split(",") if item]
    return {name.strip(): float(value) for name, value in pairs}


@dataclass(frozen=True)
class VideoConfig:
    """What ``recon video`` runs with; times in seconds of the video. 150 evaluations per window:
    on the bundled clip Adam's reprojection error was 3x the kinematic baseline's at 50 (on a 2 s
    excerpt), 12 % above it at 100 and 6 % at 150 (benchmarks/video.py)."""

    optimizer: str = "adam"
    max_evals: int = 150
    loss: LossConfig = VIDEO_LOSS
    start: float = 0.0
    end: float | None = None
    max_frames: int | None = None
    focal: float | None = None
    estimate_focal: bool = False  # without focal or camera: from the body's perspective (``camera_fit.estimate_focal``)
    camera: str | None = None
    smoothing: bool = False  # One-Euro filter the detections (``perception.filtering.smooth_track``)
    targets3d: str = "observed"  # the 3D prior: the lifted detections, or the fitted skeleton's pose
    # start velocities: slopes over this many frames each side (3: on the semi-synthetic tuning
    # sequences, a crop jump in the first frames no longer sets the body drifting; README, video)
    velocity_half_width: int = 3
    planted_median_frames: int = 1  # the loss's planted feet: on ankle tracks that are running medians
    feedforward: bool = True  # PD targets lead the poses by the damping time (``MocapConfig.feedforward``)
    person_index: int = 0
    keypoints: Path | None = None
    stopping: bool = False
    basin_hopping: bool = False
    seed: int = 0
    checkpoint: str | None = None

    def mocap(self) -> MocapConfig:
        return MocapConfig(optimizer=self.optimizer, max_evals=self.max_evals, loss=self.loss, stopping=self.stopping,
                           basin_hopping=self.basin_hopping,
                           seed=self.seed, checkpoint=self.checkpoint, targets3d=self.targets3d,
                           feedforward=self.feedforward)  # fmt: skip
