"""DiffPhy window loss on a synthetic motion whose true controls are known."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from motion_recon import physics
from motion_recon.datasets.synthetic import synthetic_sequence
from motion_recon.diffphy.loss import LossConfig, WindowData, pd_targets, window_loss
from motion_recon.physics import rotations


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


def test_gradient_steps_recover_perturbed_controls(setup):
    """Adam on u from a reference perturbed by 0.15 rad cuts the loss by more than two thirds."""
    sim, sequence, controls, trajectory = setup
    rng = np.random.default_rng(1)
    noise = rotations.from_rotvec(jnp.asarray(rng.normal(scale=0.15, size=controls.shape[:-1] + (3,))))
    reference = np.asarray(rotations.mul(jnp.asarray(controls), noise))
    data = window(sequence, controls, trajectory, reference)
    config = LossConfig()
    value_and_grad = jax.jit(jax.value_and_grad(lambda u, data: window_loss(sim, config, u, data)))
    u = jnp.zeros((6, sim.model.num_joints, 3))
    start, _ = value_and_grad(u, data)
    adam = optax.adam(0.05)
    state = adam.init(u)
    for _ in range(30):
        value, grad = value_and_grad(u, data)
        assert np.all(np.isfinite(np.asarray(grad)))
        step, state = adam.update(grad, state)
        u = u + step
    assert float(value) < 0.3 * float(start)  # measured: 0.24
