"""Learned-optimizer checkpoints: a folder with ``weights.npz`` (the nested meta-parameter dict,
keys joined by ``:``) and ``config.json`` (architecture, features, training provenance)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from motion_recon.io import atomic_path, write_json

WEIGHTS, CONFIG = "weights.npz", "config.json"
_SEP = ":"  # haiku module names use "/" and "~", never ":"


def _flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{_SEP}{key}" if prefix else key
        flat.update(_flatten(value, name) if isinstance(value, dict) else {name: np.asarray(value)})
    return flat


def _unflatten(flat: dict[str, np.ndarray]) -> dict:
    tree: dict = {}
    for name, value in flat.items():
        *parents, leaf = name.split(_SEP)
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return tree


def save_checkpoint(path: str | Path, theta: dict, config: dict) -> None:
    """Writes ``theta`` (nested dict of arrays) and ``config`` into the folder ``path``, atomically."""
    path = Path(path)
    with atomic_path(path / WEIGHTS) as tmp:
        with open(tmp, "wb") as f:  # an open file keeps numpy from appending another .npz
            np.savez(f, **_flatten(theta))
    write_json(path / CONFIG, config)


def load_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """Reads ``(theta, config)`` from the folder ``path``.

    Raises:
      FileNotFoundError: the folder, its weights or its config is missing (named in the message).
    """
    path = Path(path)
    for name in (WEIGHTS, CONFIG):
        if not (path / name).is_file():
            raise FileNotFoundError(f"checkpoint {path}: missing {name}")
    with np.load(path / WEIGHTS) as data:
        theta = _unflatten({key: data[key] for key in data.files})
    return theta, json.loads((path / CONFIG).read_text())


def checkpoint_hash(path: str | Path) -> str:
    """SHA-256 of the checkpoint's weights file: which meta-parameters a result was made with."""
    return hashlib.sha256((Path(path) / WEIGHTS).read_bytes()).hexdigest()
