"""DiffPhy windows as a meta-training task family (``meta.tasks.TaskBatch``): one shared rollout
and loss for all tasks, a pool of windows (body, start state, reference targets, observations)
to draw from; the bodies may differ, their joint structure may not. The pools are built by
``pipelines.motion_pools`` from synthetic and bundled real motions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..meta.tasks import TaskBatch
from ..configs import DEFAULT_LOSS, LossConfig
from .loss import WindowData, control_rows, window_loss


@functools.lru_cache(maxsize=8)
def task_loss(sim, config: LossConfig):
    """``(data, u) -> loss``: one function object per (shared rollout, config), so every batch of
    windows reuses one compilation."""
    return lambda data, u: window_loss(sim, config, u, data)


def stack_windows(windows: list[WindowData]) -> WindowData:
    """A pool of windows as one WindowData whose arrays have a leading window axis."""
    return jax.tree.map(lambda *leaves: np.stack(leaves), *windows)


@dataclass(frozen=True, eq=False)
class DiffPhyTasks:
    """Random windows of ``pool`` (a stacked ``WindowData``) simulated by ``sim`` (the bodies'
    ``MjxRollout``); every task starts at u = 0 (the reference targets), as reconstruction does."""

    sim: object
    pool: WindowData
    config: LossConfig = DEFAULT_LOSS
    name: str = "diffphy"

    @property
    def size(self) -> int:
        return len(self.pool.qpos0)

    @property
    def dim(self) -> int:
        """The number of controls of a window."""
        frames, joints = self.pool.reference.shape[1:3]
        return frames * control_rows(joints, self.config) * 3

    def sample(self, key: jax.Array, batch_size: int) -> TaskBatch:
        chosen = np.asarray(jax.random.choice(key, self.size, (batch_size,), replace=batch_size > self.size))
        params = jax.tree.map(lambda leaf: jnp.asarray(leaf[chosen]), self.pool)
        return TaskBatch(task_loss(self.sim, self.config), params, jnp.zeros((batch_size, self.dim)), f"{self.name} windows")
