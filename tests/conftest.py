"""Fixtures shared by the physics tests, and the test process's JAX setup."""

import os

import pytest

# No persistent compilation cache in the test process: jaxlib 0.10.2 aborted the process twice
# while (de)serialising a cached MJX executable late in a full run, once OpenCV/MediaPipe were
# loaded (SIGABRT in compilation_cache.put_executable_and_time / get_executable_and_time); every
# test compiles in memory instead. A developer's own setting wins.
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
