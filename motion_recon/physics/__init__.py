"""Simulation of a PD-controlled body: ``rollout(model, state, controls)`` on one of three engines:
``mjx`` (default; differentiable, batchable, runs on a GPU), ``tds`` (pytinydiffsim, the DiffPhy
paper's engine, forward only, rigid contacts) and ``mujoco`` (C MuJoCo with a converged
constraint solver, the reference). See ``model`` for the data types."""

from __future__ import annotations

import os
from pathlib import Path

from .model import DEFAULT_CONFIG, PhysicsModel, SimConfig, State, Trajectory

ENGINES = ("mjx", "tds", "mujoco")


def simulator(model: PhysicsModel, config: SimConfig = DEFAULT_CONFIG, engine: str = "mjx"):
    """A simulator of ``model``; its ``rollout(qpos0, qvel0, controls)`` returns a ``Trajectory``.

    The mjx one is a pure JAX function (``jit``, ``grad``, ``vmap``) and is cached per (model,
    config); the first call of a compiled rollout pays the compilation, later runs reuse JAX's
    persistent compilation cache.
    """
    if engine == "mjx":
        enable_compilation_cache()
        from .mjx_backend import cached_simulator

        return cached_simulator(model, config)
    if engine == "tds":
        from .tds_backend import TdsSimulator

        return TdsSimulator(model, config)
    if engine == "mujoco":
        from .mujoco_backend import MujocoSimulator

        return MujocoSimulator(model, config)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def rollout(model: PhysicsModel, init_state: State, controls, config: SimConfig = DEFAULT_CONFIG, engine: str = "mjx") -> Trajectory:
    """Simulates ``len(controls) - 1`` frames of ``model`` from ``init_state`` under PD control
    towards ``controls`` (F+1, J, 4) target quaternions per frame."""
    sim = simulator(model, config, engine)
    run = sim.compiled_rollout if engine == "mjx" else sim.rollout
    return run(init_state.qpos, init_state.qvel, controls)


def cache_dir() -> Path:
    """JAX's persistent compilation cache: ``$MOTION_RECON_CACHE`` or the user cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get("MOTION_RECON_CACHE") or Path(base) / "motion-recon" / "jax")


def enable_compilation_cache() -> None:
    """Turns on JAX's persistent compilation cache unless the user configured one (or set
    ``MOTION_RECON_CACHE=off``)."""
    import jax

    if os.environ.get("MOTION_RECON_CACHE") == "off" or jax.config.jax_compilation_cache_dir:
        return
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))


__all__ = ["ENGINES", "PhysicsModel", "SimConfig", "State", "Trajectory", "rollout", "simulator", "enable_compilation_cache"]
