"""PES meta-training with its rollouts on Ray workers (``recon train ... --ray``).

The learner (outer Adam, checkpoints) stays on the driver, on its GPU where it has one. Each
truncation splits the task batch into one part per worker: a part's particles go out with theta,
the part's task indices and the keys; the worker rebuilds the rule and the task family from a
``RolloutSpec`` (once per process), samples the episode's tasks from the same key as the driver,
draws the same perturbations and runs its particles. The driver joins the parts and finishes the
step as ``motion_recon.meta.pes.pes_step`` does, so a step through Ray equals the local step up to
floating-point summation order. A part that fails on every attempt stops training with an error;
the last checkpoint resumes it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from motion_recon.meta.pes import Particles, PESState, advance, perturbations, run_particles
from motion_recon.meta.tasks import TaskBatch
from pipelines.distributed import TaskFailed, connect, map_tasks


@dataclass(frozen=True)
class RolloutSpec:
    """What a worker needs to rebuild the rule and the task family (see ``pipelines.registry``)."""

    optimizer: str
    variant: str
    hidden_size: int
    tasks: str
    seed: int
    batch: int


class RayPES:
    """A ``motion_recon.meta.train.PESStepper`` whose particles run on Ray workers."""

    def __init__(self, address: str, spec: RolloutSpec, *, sigma: float, steps: int, parts: int | None = None):
        ray = connect(address)
        workers = parts or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.spec, self.sigma, self.steps = spec, sigma, steps
        self.parts = [part for part in np.array_split(np.arange(spec.batch), min(workers, spec.batch)) if part.size]

    def __call__(self, theta, pes: PESState, tasks: TaskBatch, episode_key, key):
        batch = self.spec.batch
        theta_np = jax.tree.map(np.asarray, theta)
        calls = [(self.spec, theta_np, _select(pes.particles, np.concatenate([part, batch + part])), part,
                  np.asarray(episode_key), np.asarray(key), self.sigma, self.steps) for part in self.parts]  # fmt: skip
        labels = [f"tasks {part[0]}-{part[-1]} of {tasks.name}" for part in self.parts]
        results = map_tasks(rollout_part, calls, labels)
        for failed in (r for r in results if isinstance(r, TaskFailed)):
            raise failed
        plus, minus = [], []  # each part's +eps and -eps halves, joined in the batch's order
        for particles, scores in results:
            half = len(scores) // 2
            plus.append((_select(particles, slice(0, half)), scores[:half]))
            minus.append((_select(particles, slice(half, None)), scores[half:]))
        particles = jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *(p for p, _ in plus + minus))
        scores = jnp.concatenate([s for _, s in plus + minus])
        eps = perturbations(theta, batch, key, self.sigma)
        return advance(pes, particles, eps, scores, self.sigma, self.steps)


def rollout_part(spec: RolloutSpec, theta, particles: Particles, part: np.ndarray, episode_key, key, sigma: float,
                 steps: int) -> tuple[Particles, np.ndarray]:  # fmt: skip
    """On a worker: the particles of the tasks ``part`` of the episode's batch after one truncation,
    and their meta-losses (+eps half first, as ``run_particles`` orders them)."""
    rule, tasks = _rule(spec), _episode_tasks(spec, np.asarray(episode_key, np.uint32).tobytes())
    mine = TaskBatch(tasks.loss, jax.tree.map(lambda p: p[part], tasks.params), tasks.x0[part], tasks.name)
    eps = jax.tree.map(lambda e: e[part], perturbations(theta, spec.batch, jnp.asarray(key), sigma))
    particles, scores = run_particles(rule, theta, particles, mine, eps, steps)
    return jax.tree.map(np.asarray, particles), np.asarray(scores)


@functools.lru_cache(maxsize=2)
def _rule(spec: RolloutSpec):
    from pipelines.registry import build_rule

    return build_rule(spec.optimizer, spec.variant, spec.hidden_size)


@functools.lru_cache(maxsize=2)
def _family(spec: RolloutSpec):
    from pipelines.registry import build_family

    return build_family(spec.tasks, spec.seed)


@functools.lru_cache(maxsize=1)
def _episode_tasks(spec: RolloutSpec, episode_key: bytes) -> TaskBatch:
    """The episode's tasks, sampled as the driver samples them (cached per episode; the key as
    the bytes of its uint32 words)."""
    return _family(spec).sample(jnp.asarray(np.frombuffer(episode_key, np.uint32)), spec.batch)


def _select(particles: Particles, rows) -> Particles:
    return jax.tree.map(lambda leaf: np.asarray(leaf)[rows], particles)
