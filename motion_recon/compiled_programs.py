"""Freeing the compiled XLA programs this package keeps in its caches.

A compiled DiffPhy window program holds about 10,000 memory mappings (XLA's CPU JIT maps its
code sections one by one) for as long as any cache keeps it. Every body shape has its own
programs, so a process that reconstructs sequence after sequence (``recon eval``, the tests)
reached Linux's default limit of 65,530 mappings after about six bodies, and XLA aborted
("LLVM ERROR: Unable to allocate section memory"; earlier as SIGSEGV/SIGABRT in compilation).
Flows that move from one body to the next call ``release_compiled_programs`` in between (measured:
mappings stay at ~1,100 instead of growing by ~10,000 per body); JAX's persistent compilation
cache makes building them again cheap.
"""

from __future__ import annotations

import gc

import jax


def release_compiled_programs() -> None:
    """Drops the simulators, window losses and optimizer steps cached here and JAX's own caches."""
    from motion_recon.diffphy.loss import loss_function
    from motion_recon.optim import first_order, learned, quasi_newton
    from motion_recon.physics.mjx_backend import cached_simulator

    for cache in (loss_function, cached_simulator, first_order._compiled, learned._compiled, quasi_newton._compiled):
        cache.cache_clear()
    jax.clear_caches()
    gc.collect()
