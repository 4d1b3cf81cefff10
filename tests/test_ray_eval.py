"""``recon eval --ray`` on a local Ray instance: the same metrics as the local run, retried tasks,
failed sequences reported (never dropped), and a one-line error without Ray."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.datasets.arrays import read_npz
from motion_recon.datasets.splits import load_split
from motion_recon.paths import data_dir
from motion_recon.result_file import read_result
from pipelines.cli import app

from dataset_files import h36m_pose_mm, write_h36m_cdf

ray = pytest.importorskip("ray")  # the distributed extra
runner = CliRunner()
FIRST_TWO = ["S11/Phoning", "S11/Posing 1"]  # the validation split's first sequences (different cameras)
EVAL = ["eval", "h36m", "--max-evals", "2", "--seed", "3"]


def h36m_val_tree(root: Path, corrupt: str | None = None) -> Path:
    """Every file of the validation split (its first two sequences: the bundled walk's first 0.6 s
    at frames 400-429, two DiffPhy windows; the others empty, as only ``--limit 2`` reads them);
    ``corrupt``: that sequence's file holds bytes no CDF reader takes."""
    walk = read_npz(data_dir() / "samples" / "mocap_walk.npz").resampled(50.0).keypoints
    pose = h36m_pose_mm(np.concatenate([np.repeat(walk[:1], 400, axis=0), walk[:30]]))
    for row in load_split("val"):
        name = f"{row['subject']}/{row['sequence']}"
        path = root / row["subject"] / "MyPoseFeatures" / "D3_Positions" / f"{row['sequence']}.cdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == corrupt:
            path.write_bytes(b"not a CDF file" * 10)
        elif name in FIRST_TWO:
            write_h36m_cdf(path, pose)
        else:
            path.touch()
    return root


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with one CPU: one worker process runs the tasks one after another and
    traces the window programs once (two workers would trace and load them twice, ~1 minute each
    on a loaded core, beside the other pytest worker)."""
    from pipelines.distributed import connect

    yield connect("local", num_cpus=1)
    ray.shutdown()  # later test modules must not find Ray running


@pytest.fixture
def pickled_by_value():
    """This module's functions travel to the workers by value: the tests folder is not on their path."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_eval_on_ray_gives_the_local_metrics_and_result_files(local_ray, tmp_path):
    """``recon eval --ray local`` against ``evaluate`` here. The local run goes first: it compiles
    the window programs once into the persistent compilation cache, which the Ray worker then reads
    instead of compiling them again (~90 s on a loaded core)."""
    from pipelines.evaluate import evaluate, result_path
    from pipelines.configs import MocapConfig

    root = h36m_val_tree(tmp_path / "h36m")
    report = tmp_path / "ray.json"
    here = evaluate("h36m", root, "val", MocapConfig(max_evals=2, seed=3), out_dir=tmp_path / "local", limit=2)
    done = runner.invoke(app, [*EVAL, "--limit", "2", "--root", str(root), "--out", str(tmp_path / "ray"),
                               "--json", str(report), "--ray", "local"])  # fmt: skip
    assert done.exit_code == 0, done.output
    there = json.loads(report.read_text())
    assert list(there["sequences"]) == list(here.rows) == FIRST_TWO and there["failures"] == here.failures == {}
    for name in FIRST_TWO:
        row = here.rows[name]
        assert there["sequences"][name].keys() == row.keys() and row["evals_per_window"] <= 2
        keys = [k for k in row if k != "wall_s"]
        np.testing.assert_allclose([there["sequences"][name][k] for k in keys], [row[k] for k in keys], rtol=1e-9)
        local_file = read_result(result_path(tmp_path / "local", name))
        ray_file = read_result(result_path(tmp_path / "ray", name))
        assert ray_file.name == name and ray_file.windows["losses"].shape[0] == 2  # both windows in one task
        np.testing.assert_allclose(ray_file.simulated, local_file.simulated, rtol=1e-9)
    first, second = (there["sequences"][name]["mpjpe_2d"] for name in FIRST_TWO)
    assert np.isfinite(first) and first != second  # the same motion seen by two cameras: rows not swapped


def fail_first_attempts(marker: str, failures: int, value):
    """A task that fails on its first ``failures`` attempts (counted in the file ``marker``)."""
    path = Path(marker)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails")
    return value


def test_a_failed_task_is_retried_and_one_failing_every_attempt_is_reported(local_ray, pickled_by_value, tmp_path):
    from pipelines.distributed import MAX_RETRIES, TaskFailed, map_tasks

    once, always = tmp_path / "once", tmp_path / "always"
    seen = []
    values = map_tasks(fail_first_attempts, [(str(once), 1, "ok"), (str(always), 99, "never")], ["once", "always"],
                       progress=lambda label, done, total: seen.append((done, total)))  # fmt: skip
    assert values[0] == "ok" and once.read_text() == "2"
    assert isinstance(values[1], TaskFailed) and always.read_text() == str(MAX_RETRIES + 1)
    assert values[1].label == "always" and values[1].error == f"RuntimeError: attempt {MAX_RETRIES + 1} fails"
    assert sorted(seen) == [(1, 2), (2, 2)]


def test_a_sequence_that_fails_is_named_and_the_exit_code_is_1(local_ray, tmp_path):
    """Both paths record the failure (on Ray after every attempt), keep going, write --json and exit 1.
    The failing sequence is the only one: a sequence that succeeds costs a JAX trace (~12 s) per path."""
    from pipelines.distributed import MAX_RETRIES
    from pipelines.evaluate import Evaluation

    root = h36m_val_tree(tmp_path / "h36m", corrupt="S11/Phoning")
    for where, extra in (("local", []), ("ray", ["--ray", "local"])):
        report = tmp_path / f"{where}.json"
        done = runner.invoke(app, [*EVAL, "--limit", "1", "--root", str(root), "--json", str(report), *extra])
        assert done.exit_code == 1, done.output
        failed = [line for line in done.output.splitlines() if line.startswith("failed:")]
        assert len(failed) == 1 and failed[0].startswith("failed: S11/Phoning: ValueError: "), done.output
        assert "not a readable Human3.6M CDF file" in failed[0] and f"wrote {report}" in done.output
        saved = json.loads(report.read_text())
        assert saved["sequences"] == {} and saved["mean"] == {} and list(saved["failures"]) == ["S11/Phoning"]
        assert saved["failures"]["S11/Phoning"].endswith(f"(on all {MAX_RETRIES + 1} attempts)") == (where == "ray")
    evaluation = Evaluation("h36m", "val", "adam", rows={"a": {"mpjpe": 1.0}, "b": {"mpjpe": 3.0}}, failures={"c": "boom"})
    assert evaluation.mean == {"mpjpe": 2.0} and evaluation.to_json()["failures"] == {"c": "boom"}


def test_ray_missing_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    root = h36m_val_tree(tmp_path / "h36m")
    done = runner.invoke(app, [*EVAL, "--limit", "1", "--root", str(root), "--ray", "local"])
    assert done.exit_code == 2, done.output
    assert 'pip install "motion-recon[distributed]"' in done.output and len(done.output.strip().splitlines()) == 1
