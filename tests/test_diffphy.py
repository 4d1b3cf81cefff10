"""DiffPhy loss and window-by-window reconstruction on synthetic motions whose controls are known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from body_models.kinematics import inverse_kinematics, velocities
from motion_recon import optim, physics
from motion_recon.datasets.synthetic import synthetic_sequence
from motion_recon.diffphy.loss import LossConfig, WindowData, pd_targets, window_loss
from motion_recon.diffphy.reconstruct import reconstruct, window_starts
from motion_recon.metrics import mpjpe_g


@pytest.fixture(scope="module")
def setup():
    model = physics_model(build_humanoid(shape_from_height(1.75)))
    sim = physics.simulator(model)
    sequence, controls, trajectory = synthetic_sequence(sim, 5, seed=3)
    return sim, sequence, controls, trajectory


def window(sequence, controls, trajectory, reference):
    weights = np.ones(sequence.keypoints.shape[:2], np.float32)
    weights[2, 4] = 0.0  # a missing keypoint
    keypoints = np.array(sequence.keypoints, np.float32)
    keypoints[2, 4] = np.nan
    return WindowData(np.asarray(trajectory.qpos[0]), np.asarray(trajectory.qvel[0]),
                      reference.astype(np.float32), keypoints, weights)  # fmt: skip


def test_true_controls_have_zero_loss_and_perturbed_ones_do_not(setup):
    sim, sequence, controls, trajectory = setup
    config = LossConfig(smoothness_weight=0.0)
    loss = jax.jit(lambda u, data: window_loss(sim, config, u, data))
    data = window(sequence, controls, trajectory, controls)
    u = np.zeros((6, sim.model.num_joints, 3), np.float32)
    assert float(loss(u, data)) < 1e-8
    rng = np.random.default_rng(0)
    assert float(loss(u + rng.normal(scale=0.2, size=u.shape).astype(np.float32), data)) > 1e-5
    np.testing.assert_allclose(pd_targets(jnp.zeros(3), jnp.asarray(controls[0, 0])), controls[0, 0], atol=1e-6)


def test_window_starts_cover_the_sequence_with_equal_windows():
    assert window_starts(21, 5) == [0, 5, 10, 15]
    assert window_starts(23, 5) == [0, 5, 10, 15, 17]  # the last window moves back to end at frame 22
    with pytest.raises(ValueError, match="shorter than one window"):
        window_starts(5, 5)


def test_reconstruction_recovers_a_synthetic_motion_from_its_keypoints():
    """Inverse kinematics of the keypoints gives reference targets and the start state; Adam
    (50 evaluations per window) then brings the simulated motion within 10 mm (u = 0: 24 mm)."""
    humanoid = build_humanoid(shape_from_height(1.75))
    sim = physics.simulator(physics_model(humanoid))
    sequence, _, _ = synthetic_sequence(sim, 20, seed=1)
    qpos = inverse_kinematics(humanoid, sequence.keypoints)
    qvel = velocities(humanoid, qpos, sequence.fps)
    reference = qpos[:, 7:].reshape(len(qpos), -1, 4)
    optimizer = optim.get("adam", learning_rate=0.02)
    result = reconstruct(sim, sequence.keypoints, reference, qpos[0], qvel[0], optimizer, max_evals=50)
    assert [(w.start, w.stop) for w in result.windows] == [(0, 5), (5, 10), (10, 15), (15, 20)]
    assert all(w.nfev <= 50 and w.losses.min() < 0.2 * w.losses[0] for w in result.windows)
    assert mpjpe_g(result.keypoints, sequence.keypoints) < 10.0  # measured: 1.8 mm
