"""Fixtures shared by the physics tests, and the test process's JAX setup."""

import gc

import jax
import pytest

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


@pytest.fixture(autouse=True, scope="module")
def release_compiled_programs():
    """Frees every compiled program after each test module. Hundreds of MJX executables kept alive
    in one process crashed XLA's CPU compiler late in full runs (SIGSEGV while compiling, SIGABRT
    while serialising, each time after about 280 tests); the persistent cache makes recompiling
    them cheap."""
    yield
    from motion_recon.diffphy.loss import loss_function

    loss_function.cache_clear()
    jax.clear_caches()
    gc.collect()
