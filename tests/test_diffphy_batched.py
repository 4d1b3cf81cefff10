"""DiffPhy windows under vmap: all windows of a motion optimized together (multiple shooting),
from the library and from ``recon mocap --parallel``, and windows as a meta-training task family.
A file of their own, so that pytest-xdist (``--dist loadfile``) compiles these batched programs on
the other worker than tests/test_diffphy.py's; both parallel tests optimize 3 windows of the default
loss, so they share one compiled value and gradient."""

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon import optim
from motion_recon.configs import LossConfig
from motion_recon.diffphy.reconstruct import reconstruct_in_parallel
from motion_recon.diffphy.tasks import DiffPhyTasks, stack_windows, task_loss
from motion_recon.metrics import mpjpe_g
from motion_recon.paths import data_dir
from motion_recon.result_file import read_result
from pipelines.cli import app

from diffphy_motions import kinematic_motion, synthetic_window_motion, window


@pytest.fixture(scope="module")
def setup():
    return synthetic_window_motion()


@pytest.fixture(scope="module")
def kinematic():
    return kinematic_motion()


def test_windows_optimized_in_parallel_recover_the_motion_and_close_their_gaps(kinematic):
    """All windows at once under vmap (multiple shooting): round 1 starts every window from the
    kinematic state of its first frame, round 2 from where its predecessor ended; the motion is
    recovered as well as window by window, and after round 2 the first two windows join up."""
    sim, sequence, qpos, qvel, reference = kinematic
    optimizer = optim.get("adam", learning_rate=0.02)
    one, two = (reconstruct_in_parallel(sim, sequence.keypoints, reference, qpos, qvel, optimizer, rounds=rounds,
                                        max_evals=25) for rounds in (1, 2))  # fmt: skip
    assert [(w.start, w.stop) for w in two.windows] == [(0, 10), (5, 15), (10, 20)]
    np.testing.assert_allclose(one.qpos[[5, 10]], qpos[[5, 10]], atol=1e-5)  # kinematic starts
    assert all(w.nfev == 50 and len(w.losses) == 50 for w in two.windows)  # 2 rounds of 25
    # measured: gaps of 4.4 and 2.9 mm after round 1; 0.0002 and 7.9 mm after round 2; MPJPE-G 7.0 mm
    assert one.gaps[0] == two.gaps[0] == 0.0 and one.gaps[1:].min() > 1e-3, one.gaps
    assert two.gaps[1] < 0.01 * one.gaps[1], (one.gaps, two.gaps)
    assert mpjpe_g(two.keypoints, sequence.keypoints) < 8.0
    with pytest.raises(ValueError, match="rounds"):
        reconstruct_in_parallel(sim, sequence.keypoints, reference, qpos, qvel, optimizer, rounds=0)


def test_diffphy_windows_form_a_task_family(setup):
    sim, sequence, controls, trajectory = setup
    data = window(sim, sequence, controls, trajectory, controls)
    shifted = data._replace(reference=np.roll(controls, 1, axis=0).astype(np.float32))
    family = DiffPhyTasks(sim.shared, stack_windows([data, shifted]), LossConfig(smoothness_weight=0.0))
    batch = family.sample(jax.random.key(0), 3)
    assert batch.x0.shape == (3, 6 * sim.model.num_joints * 3) and batch.params.reference.shape == (3, 6, 13, 4)
    values = jax.jit(jax.vmap(batch.loss))(batch.params, batch.x0)
    expected = [0.0 if np.array_equal(r, controls.astype(np.float32)) else 1.0 for r in np.asarray(batch.params.reference)]
    assert np.all((np.asarray(values) < 1e-8) == (np.array(expected) == 0.0))
    assert task_loss(sim.shared, family.config) is batch.loss  # one function, one compilation


def test_recon_mocap_parallel_optimizes_the_windows_together(tmp_path):
    """--parallel R: every window starts from the kinematic state, then from its predecessor's end."""
    out = tmp_path / "parallel.h5"
    result = CliRunner().invoke(app, ["mocap", str(data_dir() / "samples" / "mocap_walk.npz"), "--frames", "21",
                                      "--max-evals", "3", "--parallel", "2", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = read_result(out)
    assert saved.optimization["parallel_rounds"] == 2 and saved.optimization["max_gap_mm"] >= 0.0
    assert list(saved.windows["nfev"]) == [6, 6, 6] and np.isfinite(saved.simulated).all()
