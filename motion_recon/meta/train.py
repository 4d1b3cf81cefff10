"""Meta-training loop: PES gradients, outer Adam with gradient clipping, checkpoints, resume,
a JSON training log and a meta-loss-versus-time plot.

A run is deterministic from its seed: outer step ``k`` uses ``fold_in(seed, k)`` for its
perturbations and every episode samples its tasks from ``fold_in(seed, episode)``. Periodic
checkpoints fall on episode boundaries, where the PES state is empty, so a run resumed from one
continues exactly as an uninterrupted run would; the final checkpoint of a run that stops
mid-episode restarts that episode when resumed. A checkpoint's files are written together
(``io.atomic_folder``): a run killed while writing one leaves the previous one whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from motion_recon.configs import TrainConfig
from motion_recon.io import atomic_folder, recover_folder, write_json
from motion_recon.meta.pes import PESState, pes_step, start_episode
from motion_recon.meta.tasks import TaskBatch, TaskFamily
from motion_recon.optim.checkpoint import CONFIG, save_checkpoint
from motion_recon.optim.learned import LearnedRule, count_parameters, load_rule_checkpoint
from motion_recon.plotting import pyplot
from motion_recon.provenance import code_commit, hardware, versions

OUTER_STATE, LOG, PLOT = "outer_state.npz", "training_log.json", "meta_loss.png"


def _outer_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(config.clip_norm), optax.adam(config.learning_rate))


def _save(out: Path, rule: LearnedRule, theta, opt_state, config: TrainConfig, step: int, wall_s: float, cpu_s: float,
          log: list):  # fmt: skip
    """Writes the checkpoint of ``step`` into ``out``, all its files or none."""
    with atomic_folder(out) as folder:
        save_checkpoint(folder, theta, {
            "architecture": rule.config, "parameters": count_parameters(theta),
            "training": {**asdict(config), "steps_done": step, "wall_s": wall_s, "cpu_hours": cpu_s / 3600,
                         "hardware": hardware(), "versions": versions(), "commit": code_commit()},
        })  # fmt: skip
        with open(folder / OUTER_STATE, "wb") as f:
            np.savez(f, *[np.asarray(a) for a in jax.tree.leaves(opt_state)], step=step, wall_s=wall_s, cpu_s=cpu_s)
        write_json(folder / LOG, {"config": asdict(config), "log": log})
        plot_meta_loss(log, folder / PLOT)


def _resume(out: Path, rule: LearnedRule, tx) -> tuple | None:
    """The state saved in ``out`` (None for a new run), once an interrupted checkpoint write is
    finished (``io.recover_folder``).

    Raises:
      ValueError: the weights, outer state and log are of different steps (a folder written by
        an interrupted run of a version that wrote its files one by one).
    """
    recover_folder(out)
    if not (out / OUTER_STATE).is_file():
        return None
    theta = load_rule_checkpoint(out, rule)
    with np.load(out / OUTER_STATE) as data:
        leaves = [jnp.asarray(data[f"arr_{i}"]) for i in range(sum(name.startswith("arr_") for name in data.files))]
        step, wall_s = int(data["step"]), float(data["wall_s"])
        # runs saved before CPU time was recorded: 2 busy cores for their wall time
        cpu_s = float(data["cpu_s"]) if "cpu_s" in data.files else 2 * wall_s
    opt_state = jax.tree.unflatten(jax.tree.structure(tx.init(theta)), leaves)
    log = json.loads((out / LOG).read_text())["log"]
    weights_step = json.loads((out / CONFIG).read_text())["training"]["steps_done"]
    if not weights_step == step == (log[-1]["step"] if log else 0):
        raise ValueError(f"checkpoint {out} is incomplete: weights of step {weights_step}, outer state of step {step}, "
                         f"log to step {log[-1]['step'] if log else 0}; start again in another folder or from --init {out}")  # fmt: skip
    return theta, opt_state, step, wall_s, cpu_s, log


# (theta, PES state, tasks, the episode's key, the truncation's key) -> (gradient, PES state, meta-loss)
PESStepper = Callable[[dict, PESState, TaskBatch, jax.Array, jax.Array], tuple[dict, PESState, jax.Array]]


def train(
    rule: LearnedRule, family: TaskFamily, config: TrainConfig, out: str | Path,
    progress: Callable[[dict], None] | None = None, stepper: PESStepper | None = None,
) -> dict:
    """Meta-trains ``rule`` on ``family`` and writes checkpoints into the folder ``out``; resumes
    from ``out`` when it holds a run. ``stepper`` runs a PES truncation elsewhere (Ray workers,
    ``pipelines.pes_on_ray``); by default ``pes_step`` here. Returns the final log entry."""
    if stepper is None:
        def stepper(theta, pes, tasks, episode_key, key):
            return pes_step(rule, theta, pes, tasks, key, sigma=config.sigma, steps=config.trunc)

    out = Path(out)
    tx = _outer_optimizer(config)
    resumed = _resume(out, rule, tx)
    if resumed is None:
        theta = rule.init_theta(jax.random.PRNGKey(config.seed)) if config.init is None else load_rule_checkpoint(config.init, rule)
        opt_state, step, wall_before, cpu_before, log = tx.init(theta), 0, 0.0, 0.0, []
    else:
        theta, opt_state, step, wall_before, cpu_before, log = resumed
    apply = jax.jit(lambda g, s, t: _apply(tx, g, s, t))
    root = jax.random.PRNGKey(config.seed)
    start, cpu_start, pes, entry = time.perf_counter(), time.process_time(), None, log[-1] if log else {}
    every = -(-config.checkpoint_every // config.truncations_per_episode) * config.truncations_per_episode
    while step < config.steps:
        if pes is None or step % config.truncations_per_episode == 0:
            episode_key = jax.random.fold_in(jax.random.fold_in(root, 1), step // config.truncations_per_episode)
            tasks = family.sample(episode_key, config.batch)
            pes = start_episode(rule, theta, tasks)
        grad, pes, loss = stepper(theta, pes, tasks, episode_key, jax.random.fold_in(jax.random.fold_in(root, 2), step))
        theta, opt_state, grad_norm = apply(grad, opt_state, theta)
        step += 1
        wall, cpu = wall_before + time.perf_counter() - start, cpu_before + time.process_time() - cpu_start
        entry = {"step": step, "meta_loss": float(loss), "grad_norm": float(grad_norm), "task": tasks.name,
                 "wall_s": wall, "cpu_s": cpu, "steps_per_s": step / max(wall, 1e-9)}
        log.append(entry)
        if progress is not None:
            progress(entry)
        if step % every == 0 or step == config.steps:
            _save(out, rule, theta, opt_state, config, step, wall, cpu, log)
    return entry


def _apply(tx, grad, opt_state, theta):
    updates, opt_state = tx.update(grad, opt_state, theta)
    return optax.apply_updates(theta, updates), opt_state, optax.tree.norm(grad)


def plot_meta_loss(log: list[dict], path: Path) -> None:
    """Meta-loss (and its running mean) against wall time."""
    plt = pyplot()
    wall = np.array([e["wall_s"] for e in log]) / 60.0
    loss = np.array([e["meta_loss"] for e in log])
    window = max(1, len(loss) // 50)
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(wall, loss, alpha=0.3, label="per step")
    ax.plot(wall[window - 1:], smooth, label=f"running mean ({window})")
    ax.set(xlabel="wall time (min)", ylabel="meta-loss (mean log loss)", title="PES meta-training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
