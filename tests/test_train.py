import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from motion_recon.meta.tasks import FunctionTasks
import motion_recon.io
import motion_recon.meta.train
from motion_recon.configs import TrainConfig
from motion_recon.meta.train import train
from motion_recon.optim.adafactor_mlp import adafactor_mlp_rule
from motion_recon.optim.checkpoint import load_checkpoint

FAMILY = FunctionTasks(functions=("sphere", "rosenbrock"), dims=(3,))
RULE = adafactor_mlp_rule(hidden_size=8, hidden_layers=2)


def _config(steps):
    return TrainConfig(optimizer="adafactor-mlp", steps=steps, batch=2, trunc=2, unroll=4, checkpoint_every=2, seed=5)


def test_training_is_deterministic_and_resume_is_exact(tmp_path):
    train(RULE, FAMILY, _config(4), tmp_path / "straight")
    train(RULE, FAMILY, _config(2), tmp_path / "resumed")
    entries = []
    train(RULE, FAMILY, _config(4), tmp_path / "resumed", progress=entries.append)
    assert [e["step"] for e in entries] == [3, 4]  # picked up after step 2
    a, config = load_checkpoint(tmp_path / "straight")
    b, _ = load_checkpoint(tmp_path / "resumed")
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    initial = RULE.init_theta(jax.random.PRNGKey(5))
    assert not np.allclose(a["net"]["mlp/~/linear_0"]["w"], initial["net"]["mlp/~/linear_0"]["w"])
    assert config["architecture"] == RULE.config and config["training"]["steps_done"] == 4
    assert config["training"]["hardware"]["platform"] == jax.default_backend()


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_checkpoint_write_killed_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    """The run dies after the weights and outer state of step 4 are written but before the log
    and plot (Ctrl-C in the plot): the folder still holds step 2's checkpoint byte for byte, and
    the next run resumes from it. Killed between the two renames of the swap, the complete new
    checkpoint is put in place when the run resumes."""
    out = tmp_path / "run"
    train(RULE, FAMILY, _config(2), out)
    (out / "notes.txt").write_text("kept")  # a file of the user's in the checkpoint folder
    before = _files(out)

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(motion_recon.meta.train, "plot_meta_loss", killed)
    with pytest.raises(KeyboardInterrupt):
        train(RULE, FAMILY, _config(4), out)
    assert _files(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    monkeypatch.undo()

    replace = os.replace

    def dies_after_moving_the_old_folder(src, dst):
        replace(src, dst)
        if str(dst).endswith(".prev"):
            raise KeyboardInterrupt

    monkeypatch.setattr(motion_recon.io.os, "replace", dies_after_moving_the_old_folder)
    with pytest.raises(KeyboardInterrupt):
        train(RULE, FAMILY, _config(4), out)
    monkeypatch.undo()
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [".run.next", ".run.prev"]
    entries = []
    train(RULE, FAMILY, _config(4), out, progress=entries.append)
    assert entries == [] and json.loads((out / "config.json").read_text())["training"]["steps_done"] == 4
    assert (out / "notes.txt").read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_resume_refuses_a_checkpoint_whose_files_are_of_different_steps(tmp_path):
    train(RULE, FAMILY, _config(2), tmp_path)
    outer = dict(np.load(tmp_path / "outer_state.npz"))
    np.savez(tmp_path / "outer_state.npz", **{**outer, "step": 4})  # as a run killed between files once left it
    with pytest.raises(ValueError, match="incomplete: weights of step 2, outer state of step 4, log to step 2"):
        train(RULE, FAMILY, _config(6), tmp_path)


def test_training_writes_log_and_plot(tmp_path):
    train(RULE, FAMILY, _config(2), tmp_path)
    log = json.loads((tmp_path / "training_log.json").read_text())["log"]
    assert [e["step"] for e in log] == [1, 2] and all(np.isfinite(e["meta_loss"]) for e in log)
    assert (tmp_path / "meta_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert bool(jnp.isfinite(jnp.asarray(log[-1]["grad_norm"])))


@pytest.fixture(scope="module")
def pools():
    """The DiffPhy training family and the test pool's mocap and video-style windows."""
    from pipelines.motion_pools import test_family, video_test_family
    from pipelines.registry import build_family

    return build_family("diffphy"), test_family(), video_test_family()


def test_the_diffphy_training_pool_holds_the_test_motions_out_and_varies_the_body(pools):
    from pipelines.motion_pools import VIDEO_PROBABILITY

    train, test, video_test = pools
    mocap, video = train.families
    assert train.probabilities == (1 - VIDEO_PROBABILITY, VIDEO_PROBABILITY)
    # every body of every pool: one compiled window program
    assert mocap.sim is test.sim is video.sim is video_test.sim
    for trained, tested in ((mocap, test), (video, video_test)):
        seen = {np.asarray(k).tobytes() for k in trained.pool.keypoints}
        assert not any(np.asarray(k).tobytes() in seen for k in tested.pool.keypoints)
    masses = {round(float(m), 1) for m in np.asarray(mocap.pool.body.model.body_subtreemass[:, 1])}
    assert len(masses) >= 8 and min(masses) < 55 and max(masses) > 85  # 1.5-2.0 m bodies


def test_video_style_windows_carry_what_recon_video_scores(pools):
    from motion_recon.diffphy.loss import control_rows
    from motion_recon.perception.cameras import project
    from pipelines.configs import VIDEO_LOSS

    family = pools[2]
    pool = family.pool
    assert family.config == VIDEO_LOSS and family.size >= 40
    window = VIDEO_LOSS.window + 1
    assert pool.keypoints2d.shape == (family.size, window, 17, 2) and pool.ground.weight.shape == (family.size, window, 2)
    assert family.dim == window * control_rows(pool.reference.shape[2], VIDEO_LOSS) * 3  # with the root wrench
    # the 3D prior (lifted, placed by the camera fit, shifted onto the simulator's ground) seen
    # through the window's camera lands on its 2D detections (median over windows 6.4 px; the
    # detections jitter by 0.8 % of the body's height and drift by a few px)
    errors = []
    for i in range(family.size):
        camera = tuple(np.asarray(c[i]) for c in pool.camera)
        pixels = np.asarray(project(jnp.asarray(pool.keypoints[i]), *camera))
        seen = np.asarray(pool.weights2d[i]) > 0
        errors.append(np.median(np.linalg.norm(pixels - np.asarray(pool.keypoints2d[i]), axis=-1)[seen]))
    assert np.median(errors) < 8.0
    assert 0.3 < float(np.mean(pool.ground.weight)) < 0.95  # feet held down only where low and slow
