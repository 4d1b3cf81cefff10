"""The test-time stopping rule of the paper's section 4 (relative function-value decrease)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class RelativeDecrease:
    """Stop at step ``k`` when ``f(x_k) > beta * mean(f(x_{k-N}), ..., f(x_{k-1})) + epsilon``.

    Not applied during the first ``window`` steps. The paper uses ``N = 5`` and does not give
    ``beta`` or ``epsilon``; ``beta = 1, epsilon = 0`` stops as soon as the loss rises above the
    average of the last ``N`` losses.
    """

    window: int = 5
    beta: float = 1.0
    epsilon: float = 0.0

    def __post_init__(self):
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")

    def __call__(self, losses: Sequence[float]) -> bool:
        k = len(losses) - 1  # index of the newest iterate
        if k < self.window:
            return False
        previous = np.asarray(losses[k - self.window : k], dtype=np.float64)
        return bool(losses[k] > self.beta * previous.mean() + self.epsilon)
