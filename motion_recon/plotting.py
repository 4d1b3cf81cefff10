"""matplotlib for writing figure files only (the Agg backend, no display), imported on demand so
the core does not load it at import time."""

from __future__ import annotations


def pyplot():
    """``matplotlib.pyplot`` set to the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
