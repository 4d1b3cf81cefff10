"""``recon report ... --plots``: loss, joint-error and contact plots of synthetic result files."""

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from motion_recon.skeleton import FEET
from motion_recon.perception.cameras import Camera
from motion_recon.result_file import MotionResult, read_result, write_result
from pipelines.cli import app
from viewer.report_plots import loss_curves, median_curve, result_labels, write_report_plots

runner = CliRunner()
PLOTS = ["loss_per_window.png", "joint_error.png", "contacts.png"]


def front_camera() -> Camera:
    """A 640x480 camera 4 m in front of the origin (looking along +y), 1 m high."""
    R = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    K = np.array([[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])
    return Camera("front", 640, 480, K, np.zeros(5), R, -R @ np.array([0.0, -4.0, 1.0]))


def synthetic_result(optimizer: str, seed: int, frames: int = 60, window: int = 12) -> MotionResult:
    """A walking-like random motion with 3D and 2D observations, contacts alternating between the
    feet, and per-window loss curves: first-order (one evaluation per iterate) for adam, fewer
    iterates than evaluations otherwise."""
    rng = np.random.default_rng(seed)
    observed = np.cumsum(rng.normal(0.0, 0.01, (frames, 17, 3)), axis=0) + rng.normal(0.0, 0.3, (1, 17, 3))
    observed[..., 2] += 1.0
    simulated = observed + rng.normal(0.0, 0.02 + 0.01 * seed, observed.shape)
    camera = front_camera()
    confidence = rng.uniform(0.5, 1.0, (frames, 17))
    confidence[10:15] = 0.0  # the person is unseen for five frames
    phase = np.sin(2 * np.pi * np.arange(frames) / 25.0)
    starts = np.arange(0, frames, window)
    iterates = 20 if optimizer == "adam" else 8
    losses = np.full((len(starts), iterates), np.nan)
    nfev = np.empty(len(starts), np.int64)
    for w in range(len(starts)):
        n = iterates - (w % 3 if optimizer != "adam" else 0)  # some windows stop early
        losses[w, :n] = rng.uniform(5.0, 20.0) * np.geomspace(1.0, rng.uniform(0.01, 0.2), n)
        nfev[w] = n if optimizer == "adam" else 8 * n
    return MotionResult(
        name="walk", fps=25.0, engine="mjx", simulated=simulated, qpos=np.zeros((frames, 35)), qvel=np.zeros((frames, 34)),
        contacts=np.stack([phase > 0, phase < 0.2], axis=1).astype(float), contact_bodies=FEET,
        controls=np.zeros((frames, 13, 4)), joints=tuple(f"j{i}" for i in range(13)),
        body={"bone_lengths": np.ones(17), "ankle_height": 0.07, "mass": 70.0, "height": 1.75},
        windows={"start": starts, "stop": np.minimum(starts + window, frames), "nfev": nfev, "losses": losses,
                 "status": ["budget"] * len(starts)},
        optimization={"optimizer": optimizer}, observed3d=observed,
        observed2d=camera.project(observed) + rng.normal(0.0, 2.0, (frames, 17, 2)), confidence2d=confidence,
        camera=camera.to_dict(), metrics={"mpjpe_g": 20.0},
    )  # fmt: skip


def write_pair(tmp_path):
    paths = [tmp_path / "adam.h5", tmp_path / "bfgs.h5"]
    for seed, (path, optimizer) in enumerate(zip(paths, ["adam", "bfgs"], strict=True)):
        write_result(path, synthetic_result(optimizer, seed))
    return paths


def assert_images(paths):
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        assert image.shape[0] > 200 and image.shape[1] > 400, (path, image.shape)
        assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10, path  # drawn, not blank


def test_loss_curves_place_iterates_on_the_evaluation_count():
    windows = {"losses": np.array([[4.0, 2.0, 1.0, np.nan], [3.0, 2.0, 1.5, 1.0]]), "nfev": np.array([3, 31])}
    (x0, y0), (x1, y1) = loss_curves(windows)
    np.testing.assert_allclose(x0, [1, 2, 3])  # one evaluation per iterate: exact
    np.testing.assert_allclose(x1, [1, 11, 21, 31])
    assert list(y0) == [4.0, 2.0, 1.0] and list(y1) == [3.0, 2.0, 1.5, 1.0]
    grid, median = median_curve([(x0, y0), (x1, y1)])
    np.testing.assert_allclose(grid, [1, 2, 3, 11, 21, 31])
    np.testing.assert_allclose(median, [3.5, 2.5, 2.0, 1.5, 1.25, 1.0])  # window 0 keeps its final 1.0
    assert result_labels([synthetic_result("adam", 0), synthetic_result("bfgs", 1)]) == ["adam", "bfgs"]
    assert result_labels([synthetic_result("adam", 0)] * 2) == ["adam (walk) #1", "adam (walk) #2"]


def test_report_plots_compare_results_in_each_figure(tmp_path):
    results = [read_result(path) for path in write_pair(tmp_path)]
    written = write_report_plots(results, tmp_path / "new" / "plots")
    assert [p.name for p in written] == PLOTS
    assert_images(written)
    results[0].observed3d = results[0].observed2d = None  # one result without observations still plots
    assert len(write_report_plots(results, tmp_path / "partial")) == 3
    results[1].observed3d = results[1].observed2d = None
    assert [p.name for p in write_report_plots(results, tmp_path / "none")] == ["loss_per_window.png", "contacts.png"]


def test_recon_report_prints_each_summary_and_writes_plots(tmp_path):
    paths = write_pair(tmp_path)
    out = tmp_path / "plots"
    result = runner.invoke(app, ["report", *map(str, paths), "--plots", str(out)])
    assert result.exit_code == 0, result.output
    assert "optimizer adam" in result.output and "optimizer bfgs" in result.output
    assert [line.split()[-1] for line in result.output.splitlines() if line.startswith("wrote")] == [
        str(out / name) for name in PLOTS]  # fmt: skip
    assert_images(out / name for name in PLOTS)
    missing = runner.invoke(app, ["report", str(paths[0]), str(tmp_path / "none.h5"), "--plots", str(tmp_path / "p2")])
    assert missing.exit_code == 2 and "none.h5: no such file" in missing.output
    assert len(missing.output.strip().splitlines()) == 1, missing.output
    assert not (tmp_path / "p2").exists()
