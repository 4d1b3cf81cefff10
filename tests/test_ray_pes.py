"""PES through Ray (``recon train --ray``) on a local Ray instance: the same steps as locally."""

import sys

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.meta.pes import pes_step, start_episode
from motion_recon.optim.checkpoint import load_checkpoint
from pipelines.cli import app
from pipelines.registry import build_family, build_rule

ray = pytest.importorskip("ray")  # the distributed extra
runner = CliRunner()
SPEC = dict(optimizer="adafactor-mlp", variant="full", hidden_size=8, tasks="functions", seed=0, batch=3)


@pytest.fixture(scope="module")
def local_ray():
    from pipelines.distributed import connect

    yield connect("local", num_cpus=2)
    ray.shutdown()


def test_a_pes_step_through_ray_equals_the_local_step(local_ray):
    from pipelines.pes_on_ray import RayPES, RolloutSpec

    rule, family = build_rule("adafactor-mlp", hidden_size=8), build_family("functions")
    theta = rule.init_theta(jax.random.PRNGKey(1))
    episode_key, key = jax.random.PRNGKey(2), jax.random.PRNGKey(3)
    tasks = family.sample(episode_key, SPEC["batch"])
    start = start_episode(rule, theta, tasks)
    stepper = RayPES("local", RolloutSpec(**SPEC), sigma=0.01, steps=4, parts=2)
    assert [list(part) for part in stepper.parts] == [[0, 1], [2]]
    here = there = start
    for k in range(2):  # two truncations: the particles persist between them
        key = jax.random.fold_in(key, k)
        grad, here, loss = pes_step(rule, theta, here, tasks, key, sigma=0.01, steps=4)
        grad_ray, there, loss_ray = stepper(theta, there, tasks, episode_key, key)
        for a, b in zip(jax.tree.leaves((grad, here, loss)), jax.tree.leaves((grad_ray, there, loss_ray)), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
        assert np.abs(np.asarray(jax.tree.leaves(grad)[0])).max() > 0


def test_recon_train_on_ray_matches_the_local_run(local_ray, tmp_path, monkeypatch):
    from pipelines.pes_on_ray import RayPES

    through_ray, ray_step = [], RayPES.__call__
    monkeypatch.setattr(RayPES, "__call__", lambda self, *a: through_ray.append(1) or ray_step(self, *a))
    args = ["train", "adafactor-mlp", "--tasks", "functions", "--steps", "3", "--batch", "2", "--trunc", "5",
            "--hidden-size", "8", "--seed", "4"]  # fmt: skip
    for where, extra in (("local", []), ("ray", ["--ray", "local"])):
        done = runner.invoke(app, [*args, *extra, "--out", str(tmp_path / where)])
        assert done.exit_code == 0, done.output
        assert len(through_ray) == (3 if extra else 0)  # --ray sends every PES step to the workers
    here, _ = load_checkpoint(tmp_path / "local")
    there, config = load_checkpoint(tmp_path / "ray")
    assert config["training"]["steps_done"] == 3
    for a, b in zip(jax.tree.leaves(here), jax.tree.leaves(there), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_ray_missing_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    done = runner.invoke(app, ["train", "adafactor-mlp", "--steps", "1", "--ray", "local", "--out", str(tmp_path)])
    assert done.exit_code == 2 and 'pip install "motion-recon[distributed]"' in done.output
