import json

import jax
import jax.numpy as jnp
import numpy as np

from motion_recon.meta.tasks import FunctionTasks
from motion_recon.meta.train import TrainConfig, train
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


def test_training_writes_log_and_plot(tmp_path):
    train(RULE, FAMILY, _config(2), tmp_path)
    log = json.loads((tmp_path / "training_log.json").read_text())["log"]
    assert [e["step"] for e in log] == [1, 2] and all(np.isfinite(e["meta_loss"]) for e in log)
    assert (tmp_path / "meta_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert bool(jnp.isfinite(jnp.asarray(log[-1]["grad_norm"])))


def test_the_walk_family_holds_the_dance_out():
    from motion_recon.datasets.arrays import read_npz
    from motion_recon.diffphy.loss import DEFAULT_LOSS
    from motion_recon.diffphy.reconstruct import window_starts
    from motion_recon.paths import data_dir
    from pipelines.train import build_family

    everything, walk_only = build_family("diffphy"), build_family("diffphy-walk")
    count = {name: len(window_starts(len(read_npz(data_dir() / "samples" / f"mocap_{name}.npz").keypoints),
                                     DEFAULT_LOSS.window)) for name in ("walk", "dance")}  # fmt: skip
    assert everything.size - walk_only.size == count["dance"] > 0
    walk, synthetic = slice(0, count["walk"]), slice(count["walk"] + count["dance"], None)
    for a, b in zip(jax.tree.leaves(everything.pool), jax.tree.leaves(walk_only.pool), strict=True):
        np.testing.assert_array_equal(a[walk], b[: count["walk"]])
        np.testing.assert_array_equal(a[synthetic], b[count["walk"]:])
