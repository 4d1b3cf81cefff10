"""Where the project's bundled data lives (the repository's ``data/`` folder)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$MOTION_RECON_DATA`` if set, else ``data/`` of the checkout the package runs from.

    The package is installed from its repository (``pip install -e .``), which ships the data.
    """
    path = Path(os.environ.get("MOTION_RECON_DATA", Path(__file__).resolve().parent.parent / "data"))
    if not path.is_dir():
        raise FileNotFoundError(
            f"data folder {path} not found; install motion-recon from its repository "
            "(pip install -e .) or set MOTION_RECON_DATA"
        )
    return path
