"""Where an output came from: one record (versions, command, git commit, hardware, time, seed,
checkpoint path and content hash) shared by result files, benchmark JSON and checkpoints."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import jax

from motion_recon.optim.checkpoint import checkpoint_hash

PACKAGES = ("motion-recon", "jax", "jaxlib", "mujoco", "mujoco-mjx", "optax", "numpy", "scipy")


def versions() -> dict[str, str]:
    """Installed versions of the packages that decide a result."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def hardware() -> dict:
    """The machine and the JAX device that ran."""
    device = jax.devices()[0]
    return {"machine": platform.machine(), "cpus": os.cpu_count(), "platform": jax.default_backend(),
            "device": str(device), "device_kind": device.device_kind, "python": platform.python_version()}  # fmt: skip


def code_commit() -> str:
    """The git commit of the code that runs (with ``+changes`` when the tree differs from it), or
    ``unknown`` outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        run = functools.partial(subprocess.run, cwd=root, capture_output=True, text=True, check=True)
        commit = run(["git", "rev-parse", "HEAD"]).stdout.strip()
        changed = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if changed else "")


def record(seed: int | None = None, checkpoint: str | Path | None = None) -> dict:
    """The provenance of an output made now by this process (``checkpoint``: a learned
    optimizer's folder, recorded with the SHA-256 of its weights)."""
    made = {"versions": versions(), "command": " ".join(sys.argv), "commit": code_commit(), "hardware": hardware(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
    if seed is not None:
        made["seed"] = seed
    if checkpoint:
        made["checkpoint"] = {"path": str(checkpoint), "sha256": checkpoint_hash(checkpoint)}
    return made
