"""The mocap flow: 3D keypoints -> shape-specific humanoid -> inverse-kinematics initialisation ->
DiffPhy window optimization -> simulated motion, metrics and a result file."""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Callable

import jax
import numpy as np

from body_models.fit import Initialisation, initialise
from body_models.kinematics import forward_kinematics
from body_models.model_files import physics_model
from motion_recon import optim, physics, skeleton
from motion_recon.datasets import MotionSequence
from motion_recon.datasets.sequence import resample
from motion_recon.configs import LossConfig
from motion_recon.diffphy.loss import GroundContact
from motion_recon.diffphy.reconstruct import reconstruct, reconstruct_in_parallel
from motion_recon.metrics import all_metrics, joint_errors, planted_in_image
from motion_recon.perception.cameras import Camera
from motion_recon.physics.mjx_backend import body_weight
from motion_recon.provenance import record
from motion_recon.result_file import MotionResult, window_table
from pipelines.configs import BASIN_HOPPING, MocapConfig

# How each optimizer runs on DiffPhy windows. The physics gives exact gradients (as CppAD did in
# the paper), so BFGS uses them (value and gradient: one evaluation); MJX runs in float32.
DIFFPHY_SETTINGS = {
    "bfgs": {"gradient": "exact", "loss_precision": "float32"},
    "lbfgs": {"gradient": "exact", "loss_precision": "float32"},
    "adam": {"learning_rate": 0.02},
}
LEARNED = ("optimus", "adafactor-mlp")
# video: an ankle observed this far (m) above a standing ankle, and moving sideways at most this
# fast (m/s), has its foot on the ground (detections jitter by centimetres); higher or faster (a
# runner's foot swinging low), it is free of the ground-contact term. On the semi-synthetic walk
# and run (seed 0; a scratch measurement against the true contacts, not kept) the lifted
# detections' planted ankles moved at a median 0.8 and 1.6 m/s and their swinging ones at 2.4 and
# 4.6 m/s.
GROUNDED_WITHIN_M = 0.10
GROUNDED_SPEED_M_S = 2.0


def diffphy_optimizer(name: str, checkpoint: str | None = None) -> optim.Optimizer:
    """The optimizer ``name`` configured for DiffPhy windows (see ``DIFFPHY_SETTINGS``); learned
    ones load ``checkpoint`` or the shipped DiffPhy checkpoint when there is one, else the
    functions checkpoint, with a one-line warning on stderr."""
    if name in LEARNED:
        from motion_recon.paths import data_dir

        shipped = data_dir() / "checkpoints" / f"{name}-diffphy"
        if checkpoint is None and shipped.is_dir():
            checkpoint = str(shipped)
        elif checkpoint is None:
            print(f"warning: no DiffPhy checkpoint {shipped}; {name} uses its functions checkpoint "
                  f"(--checkpoint DIR picks another)", file=sys.stderr)  # fmt: skip
        return optim.get(name, checkpoint=checkpoint)
    if checkpoint is not None:
        raise ValueError(f"--checkpoint is for learned optimizers ({', '.join(LEARNED)}), not {name}")
    return optim.get(name, **DIFFPHY_SETTINGS.get(name, {}))


def configured_optimizer(config: MocapConfig) -> optim.Optimizer:
    """``config``'s optimizer once its budget is checked: the one-line errors a configuration gives,
    before any file is read."""
    if config.max_evals < 1:
        raise ValueError(f"max_evals must be at least 1, got {config.max_evals}")
    if config.loss.residual_force_weight > 0 and config.engine != "mjx":
        raise ValueError(f"a residual root force is simulated by the mjx engine only, not {config.engine}")
    if config.targets3d not in ("observed", "skeleton"):
        raise ValueError(f"3D targets are 'observed' or 'skeleton', not {config.targets3d!r}")
    if config.parallel_rounds < 0:
        raise ValueError(f"parallel rounds must be 0 (windows one after another) or more, got {config.parallel_rounds}")
    optimizer = diffphy_optimizer(config.optimizer, config.checkpoint)
    return optim.BasinHopping(optimizer, **BASIN_HOPPING) if config.basin_hopping else optimizer


@dataclass(frozen=True)
class ImageObservations:
    """2D keypoints of a sequence's frames as ``camera`` saw them: keypoints (T, 17, 2) pixels
    (NaN where unseen) and confidence (T, 17) (0 where unseen). The loss's planted feet are found
    on ankle tracks that are running medians over ``planted_median_frames`` frames."""

    camera: Camera
    keypoints: np.ndarray
    confidence: np.ndarray
    planted_median_frames: int = 1


def reconstruct_motion(sequence: MotionSequence, config: MocapConfig = MocapConfig(), *, camera: Camera | None = None,
                       image: ImageObservations | None = None, init: Initialisation | None = None,
                       progress: Callable[[int, int], None] | None = None) -> MotionResult:  # fmt: skip
    """Reconstructs ``sequence`` (any layout, any frame rate) in physical simulation.

    The motion is resampled to the simulator's frame rate and shifted vertically so its feet
    stand on the simulator's ground (z = 0); results are shifted back, so metrics and keypoints
    are in the sequence's own world frame. With the recording ``camera``, both motions are
    projected into its image for MPJPE-2d (the loss stays 3D, as the paper's mocap experiments).

    With ``image`` observations (video), the loss adds their confidence-weighted reprojection
    error, the sequence's 3D keypoints are a prior (weighted by ``config.loss.keypoint_weight``)
    rather than ground truth, and the metrics are MPJPE-2d against the image keypoints, TV and
    foot skate. ``init``: the sequence's ``initialise`` result, when the caller has it already.
    """
    started = time.perf_counter()
    optimizer = configured_optimizer(config)
    sim_config = physics.DEFAULT_CONFIG
    init = initialise(sequence, config.loss.window, feedforward=config.feedforward) if init is None else init
    observed, ground, humanoid = init.observed, init.ground, init.humanoid
    shape = humanoid.shape
    model = physics_model(humanoid, config=sim_config)
    sim = physics.simulator(model, sim_config, "mjx")
    playback = None if config.engine == "mjx" else physics.simulator(model, sim_config, config.engine)
    stop = optim.RelativeDecrease if config.stopping else None
    image_terms = {} if image is None else video_terms(image, init, sequence.fps, sim_config.fps, config.loss)
    skeleton_pose = np.asarray(forward_kinematics(humanoid, init.qpos), np.float32)
    targets3d = skeleton_pose if config.targets3d == "skeleton" else init.lifted
    common = dict(config=config.loss, max_evals=config.max_evals, stop=stop, key=jax.random.key(config.seed),
                  playback=playback, progress=progress, **image_terms)  # fmt: skip
    if config.parallel_rounds:
        motion = reconstruct_in_parallel(sim, targets3d, init.reference, init.qpos, init.qvel, optimizer,
                                         rounds=config.parallel_rounds, **common)  # fmt: skip
    else:
        kinematic = (init.qpos, init.qvel) if config.recover else None
        motion = reconstruct(sim, targets3d, init.reference, init.qpos[0], init.qvel[0], optimizer, kinematic=kinematic, **common)
    simulated = motion.keypoints + np.array([0.0, 0.0, ground], np.float32)
    observed2d = confidence2d = None
    if image is not None:  # 3D was a prior: compare in the image
        camera, confidence2d = image.camera, image_terms["weights2d"]
        observed2d = np.where(confidence2d[..., None] > 0, image_terms["keypoints2d"], np.nan)
        metrics = all_metrics(simulated, None, camera.project(simulated), observed2d, confidence2d,
                              image_terms["planted"][1:] > 0)  # fmt: skip
    elif camera is not None:
        observed2d = camera.project(observed)
        metrics = all_metrics(simulated, observed, camera.project(simulated), observed2d)
    else:
        metrics = all_metrics(simulated, observed)
    metrics.update(kinematic_fit(skeleton_pose, init.lifted))
    root_wrench = None
    if config.loss.residual_force_weight > 0:
        root_wrench = motion.residual * float(body_weight(sim.mj_model))
        metrics.update(residual_force_n=float(np.linalg.norm(root_wrench[:, :3], axis=-1).mean()),
                       residual_force_pct=float(100.0 * np.linalg.norm(motion.residual[:, :3], axis=-1).mean()),
                       residual_torque_nm=float(np.linalg.norm(root_wrench[:, 3:], axis=-1).mean()))  # fmt: skip
    qpos_out = motion.qpos.copy()
    qpos_out[:, 2] += ground
    return MotionResult(
        name=sequence.name, fps=sim_config.fps, engine=config.engine, simulated=simulated, qpos=qpos_out,
        qvel=motion.qvel, contacts=motion.contacts, contact_bodies=model.contact_bodies, controls=motion.controls,
        root_wrench=root_wrench,
        joints=humanoid.joint_names, windows=window_table(motion.windows),
        body={"bone_lengths": np.asarray(shape.bone_lengths), "ankle_height": shape.ankle_height,
              "foot_length": shape.foot_length, "trunk_directions": np.asarray(shape.trunk_directions),
              "mass": humanoid.mass, "height": shape.height, "ground_height": ground},  # fmt: skip
        optimization={"optimizer": config.optimizer, "max_evals": config.max_evals, "stopping": int(config.stopping),
                      "basin_hopping": int(config.basin_hopping), "feedforward": int(config.feedforward),
                      "parallel_rounds": config.parallel_rounds, "max_gap_mm": float(motion.gaps.max() * 1000.0),
                      "recoveries": sum(bool(w.recovery) for w in motion.windows),
                      "loss": asdict(config.loss), "settings": repr(optimizer), "wall_s": time.perf_counter() - started},  # fmt: skip
        observed3d=observed.astype(np.float32), metrics=metrics,
        observed2d=observed2d, confidence2d=confidence2d, camera=None if camera is None else camera.to_dict(),
        provenance=provenance(config, sequence, getattr(optimizer, "source", "")),
    )


def planted_feet(camera: Camera, keypoints3d: np.ndarray, keypoints2d: np.ndarray, confidence: np.ndarray,
                 median_frames: int = 1) -> np.ndarray:  # fmt: skip
    """(T - 1, 2) frames in which the video shows each foot standing still (``planted_in_image``
    at the depth of the ankles of ``keypoints3d``): foot skate's contact reference for video."""
    ankles = camera.world_to_camera(np.asarray(keypoints3d, float)[:, skeleton.ANKLES])
    return planted_in_image(keypoints2d, confidence, ankles[..., 2], camera.K[0, 0], feet=skeleton.ANKLES,
                            median_frames=median_frames)  # fmt: skip


def grounded_feet(keypoints3d: np.ndarray, ground: float, ankle_height: float, fps: float) -> np.ndarray:
    """(T, 2) 1 where an ankle (right, left) of ``keypoints3d`` (T, K, 3, at ``fps``) is within
    ``GROUNDED_WITHIN_M`` of where a standing ankle is (``ankle_height`` above ``ground``) and
    moves sideways at most ``GROUNDED_SPEED_M_S`` (central differences), else 0 (a swinging foot,
    a jump, an ankle not seen): the feet the ground-contact term holds down."""
    ankles = np.asarray(keypoints3d, float)[:, skeleton.ANKLES]
    lift = ankles[..., 2] - ground - ankle_height
    speed = np.linalg.norm(np.gradient(ankles[..., :2], axis=0), axis=-1) * fps
    low = np.nan_to_num(lift, nan=np.inf) <= GROUNDED_WITHIN_M
    slow = np.nan_to_num(speed, nan=np.inf) <= GROUNDED_SPEED_M_S
    return (low & slow).astype(np.float32)


def video_terms(image: ImageObservations, init: Initialisation, fps: float, sim_fps: float, loss: LossConfig) -> dict:
    """The video terms' arguments of ``reconstruct`` for the initialised sequence ``init`` (at
    ``fps``): 2D keypoints and confidences at the simulator's rate (0 weight where unseen), the
    camera moved with the ground shift, the feet the video shows planted (``planted_feet`` of the
    observed 3D keypoints; per frame, from the previous one), and, where ``loss`` weights it, the
    feet on the ground (``grounded_feet``)."""
    observed, ground, ankle_height = init.observed, init.ground, init.humanoid.shape.ankle_height
    keypoints = resample(image.keypoints, fps, sim_fps)
    weights = resample(image.confidence, fps, sim_fps)
    seen = np.isfinite(keypoints).all(axis=-1)
    weights = np.where(seen, weights, 0.0)
    planted = planted_feet(image.camera, observed, np.where(seen[..., None], keypoints, np.nan), weights,
                           image.planted_median_frames)  # fmt: skip
    cam = image.camera
    shifted_t = cam.t + cam.R @ np.array([0.0, 0.0, ground])
    terms = {"keypoints2d": np.where(seen[..., None], keypoints, 0.0), "weights2d": weights,
             "camera": (cam.K, cam.dist, cam.R, shifted_t),
             "planted": np.concatenate([np.zeros((1, len(skeleton.ANKLES))), planted]).astype(np.float32)}  # fmt: skip
    if loss.ground_contact_weight > 0 or loss.ground_slide_weight > 0:
        terms["ground"] = GroundContact(grounded_feet(observed, ground, ankle_height, sim_fps), ankle_height)
    return terms


def kinematic_fit(skeleton_pose: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """How well the fitted body can represent the input at all, before any physics: the IK
    poses' keypoints against the observed ones, the mean over joints of each joint's mean error
    and the largest joint's (mm)."""
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # a joint never observed: NaN
        per_joint = 1000.0 * np.nanmean(joint_errors(skeleton_pose, observed), axis=0)
    return {"kinematic_fit_mm": float(np.nanmean(per_joint)), "kinematic_fit_max_mm": float(np.nanmax(per_joint))}


def provenance(config: MocapConfig, sequence: MotionSequence, checkpoint: str = "") -> dict:
    """``motion_recon.provenance.record`` of a run, with its input."""
    return {**record(config.seed, checkpoint or None), "input": sequence.source}
