"""Fixtures shared by the physics tests, and the test process's JAX setup."""

import os

import pytest

# No persistent compilation cache in the test process: jaxlib 0.10.2 aborted the whole run
# (SIGABRT in compilation_cache.put_executable_and_time, serialising a new executable) in two
# full runs with a cold cache, at different tests; compiling in memory only avoids it. A
# developer's own MOTION_RECON_CACHE setting wins.
os.environ.setdefault("MOTION_RECON_CACHE", "off")

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height


@pytest.fixture(scope="session")
def humanoid():
    """The 1.75 m humanoid."""
    return build_humanoid(shape_from_height(1.75))


@pytest.fixture(scope="session")
def model(humanoid):
    """Its physics model with the default (feet) floor contact."""
    return physics_model(humanoid)
