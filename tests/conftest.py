"""Fixtures shared by the physics tests, the test process's JAX setup, and the check that CI
skips nothing it must run (tests/skip_allowlist.py)."""

import os

import pytest

from body_models.humanoid import build_humanoid
from body_models.model_files import physics_model
from body_models.shape import shape_from_height
from skip_allowlist import ALLOWED_SKIPS, read_allowed, unexpected_skips

_SKIPS: list[tuple[str, str]] = []  # (test id, reason) of every skip in this session
# Files whose compilations take minutes, longest first (measured with --durations): they are
# collected first, and the test command (-n 2 --dist loadfile --no-loadscope-reorder) hands files to
# the two workers in collection order, so the long ones start at once instead of ending the run alone.
SLOW_FILES = ("test_ray_eval.py", "test_diffphy_batched.py", "test_diffphy.py", "test_eval_video.py", "test_mocap.py",
              "test_c3d.py", "test_video.py", "test_physics.py", "test_train.py")  # fmt: skip


def pytest_collection_modifyitems(items):
    """Puts the tests of SLOW_FILES first, in that order; the others keep theirs."""
    rank = {name: k for k, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))


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


def _record_skip(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPS.append((report.nodeid, reason.removeprefix("Skipped: ")))


pytest_runtest_logreport = pytest_collectreport = _record_skip


def pytest_sessionfinish(session, exitstatus):
    """Lists the skips tests/allowed_skips.txt does not allow; on CI they fail the run. Under
    pytest-xdist the controller, which receives every worker's reports, does it once."""
    if hasattr(session.config, "workerinput"):  # an xdist worker
        return
    unexpected = unexpected_skips(_SKIPS, read_allowed())
    if not unexpected:
        return
    on_ci = bool(os.environ.get("CI"))
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.ensure_newline()
        terminal.write_line(f"{len(unexpected)} skipped not allowed by {ALLOWED_SKIPS.name}"
                            f"{': CI fails' if on_ci else ' (CI would fail)'}:", red=on_ci, yellow=not on_ci)  # fmt: skip
        for test, reason in unexpected:
            terminal.write_line(f"  {test}: {reason}")
    if on_ci and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
