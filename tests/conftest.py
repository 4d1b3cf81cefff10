"""Fixtures shared by the physics tests, and the test process's JAX setup."""

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
    """Frees every compiled program after each test module: the modules compile many different
    programs of ~10,000 memory mappings each, and Linux allows 65,530 (motion_recon.compiled_programs)."""
    yield
    from motion_recon.compiled_programs import release_compiled_programs as release

    release()
