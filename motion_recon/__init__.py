"""motion-recon: physics-based human motion reconstruction with learned optimizers."""

import os

__version__ = "0.1.0"

# XLA's CPU runtime deadlocks (every thread idle, block_until_ready never returns) on the first
# run of 64 physics windows under vmap with its concurrency-optimized scheduler (jaxlib 0.10.x,
# 2 cores); the default scheduler runs them (benchmarks/physics.py). The flag must be set before
# JAX starts its CPU backend, and GPUs ignore it. A user's own XLA_FLAGS setting wins.
_SCHEDULER_FLAG = "xla_cpu_enable_concurrency_optimized_scheduler"
if _SCHEDULER_FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --{_SCHEDULER_FLAG}=false").strip()
