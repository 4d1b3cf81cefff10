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


def test_the_diffphy_training_pool_holds_the_test_motions_out_and_varies_the_body():
    from pipelines.motion_pools import test_family
    from pipelines.registry import build_family

    train, test = build_family("diffphy"), test_family()
    assert train.sim is test.sim  # every body of both pools: one compiled window program
    trained = {np.asarray(k).tobytes() for k in train.pool.keypoints}
    assert not any(np.asarray(k).tobytes() in trained for k in test.pool.keypoints)
    masses = {round(float(m), 1) for m in np.asarray(train.pool.body.model.body_subtreemass[:, 1])}
    assert len(masses) >= 8 and min(masses) < 55 and max(masses) > 85  # 1.5-2.0 m bodies
