"""Freeing the compiled XLA programs this package keeps in its caches.

A compiled DiffPhy window program holds about 10,000 memory mappings (XLA's CPU JIT maps its
code sections one by one) for as long as any cache keeps it, and Linux's default limit is 65,530
(XLA then aborts: "LLVM ERROR: Unable to allocate section memory"). Bodies share their programs
(the model is data), so reconstructing sequence after sequence adds none; a process that builds
many *different* programs (the test suite: other window lengths, loss settings, optimizers) calls
``release_compiled_programs`` between groups of them. JAX's persistent compilation cache makes
building them again cheap.
"""

from __future__ import annotations

import gc

import jax


def release_compiled_programs() -> None:
    """Drops the simulators, window losses and optimizer steps cached here and JAX's own caches."""
    from motion_recon.diffphy.loss import loss_function
    from motion_recon.optim import base, first_order, quasi_newton
    from motion_recon.physics.mjx_backend import cached_simulator

    for cache in (loss_function, cached_simulator, base.compiled_loss, first_order._compiled_update, quasi_newton._compiled_finite_difference):
        cache.cache_clear()
    jax.clear_caches()
    gc.collect()
