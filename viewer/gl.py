"""pyrender for offscreen rendering on a machine with no display.

pyrender 0.1.45 (the last release) needs three fixes on current stacks (REFERENCE.md section 8):
the OpenGL platform must be chosen before anything imports OpenGL (EGL by default: Mesa's
llvmpipe on the CPU, the GPU where there is one; ``PYOPENGL_PLATFORM=osmesa`` picks OSMesa), its
desktop viewer module needs pyglet with a display, so a stand-in replaces it, and it uses
``np.infty``, which numpy 2 removed.
"""

from __future__ import annotations

import os
import sys
import types

import numpy as np

SYSTEM_PACKAGES = "libegl1 libopengl0 libgl1-mesa-dri"  # Debian/Ubuntu packages EGL needs


def pyrender():
    """The ``pyrender`` module, importable and usable offscreen; a one-line error says what to
    install when it is missing."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    if not hasattr(np, "infty"):
        np.infty = np.inf
    sys.modules.setdefault("pyrender.viewer", types.SimpleNamespace(Viewer=None))
    try:
        import pyrender
    except ImportError as err:
        raise RuntimeError(f'rendering needs pyrender: pip install "motion-recon[viewer]" ({err})') from err
    return pyrender


def offscreen_renderer(width: int, height: int):
    """A pyrender ``OffscreenRenderer``; a one-line error names the system packages when no
    OpenGL context can be made."""
    module = pyrender()
    try:
        return module.OffscreenRenderer(width, height)
    except Exception as err:  # EGL/OSMesa raise many types when a library is missing
        raise RuntimeError(f"no offscreen OpenGL context ({type(err).__name__}: {err}); on Debian/Ubuntu: "
                           f"apt-get install {SYSTEM_PACKAGES}") from err  # fmt: skip
