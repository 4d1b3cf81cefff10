"""The mocap flow end to end: result files, splits on a fixture tree, ``recon mocap``,
``recon eval`` and ``recon report``."""

import json
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon import skeleton
from motion_recon.datasets import read_motion
from motion_recon.datasets.sequence import Y_UP_TO_Z_UP
from motion_recon.datasets.arrays import read_npz
from motion_recon.datasets.splits import load_split, split_sequences
from motion_recon.paths import data_dir
from motion_recon.result_file import MotionResult, read_result, window_table, write_result
from motion_recon.diffphy.reconstruct import WindowTrace
from pipelines.cli import app

from dataset_files import h36m_pose_mm, write_h36m_cdf

runner = CliRunner()
WALK = data_dir() / "samples" / "mocap_walk.npz"


def small_result(rng, frames=6) -> MotionResult:
    traces = [WindowTrace(0, 5, np.array([3.0, 2.0, 1.0]), 3, "budget"), WindowTrace(5, 10, np.array([2.0]), 1, "converged")]
    return MotionResult(
        name="walk", fps=25.0, engine="mjx", simulated=rng.normal(size=(frames, 17, 3)), qpos=rng.normal(size=(frames, 59)),
        qvel=rng.normal(size=(frames, 45)), contacts=np.ones((frames, 2)), contact_bodies=("left_ankle", "right_ankle"),
        controls=rng.normal(size=(frames, 13, 4)), joints=tuple(f"j{i}" for i in range(13)),
        body={"bone_lengths": np.arange(17.0), "ankle_height": 0.07, "mass": 70.0, "height": 1.75},
        windows=window_table(traces), optimization={"optimizer": "bfgs", "loss": {"window": 5}},
        observed3d=rng.normal(size=(frames, 17, 3)), observed2d=rng.normal(size=(frames, 17, 2)),
        camera={"name": "c", "width": 1000, "height": 1002, "K": np.eye(3), "dist": np.zeros(5), "R": np.eye(3), "t": np.ones(3)},
        metrics={"mpjpe_g": 12.5, "tv": 0.1}, provenance={"seed": 3, "versions": {"jax": "0.10"}, "command": "recon mocap x"},
    )  # fmt: skip


def test_result_file_round_trips_and_a_failed_write_keeps_the_old_file(tmp_path):
    result = small_result(np.random.default_rng(0))
    path = tmp_path / "r.h5"
    write_result(path, result)
    back = read_result(path)
    np.testing.assert_allclose(back.simulated, result.simulated, rtol=1e-6)
    np.testing.assert_allclose(back.observed2d, result.observed2d, rtol=1e-6)
    np.testing.assert_array_equal(back.windows["losses"], [[3.0, 2.0, 1.0], [2.0, np.nan, np.nan]])
    assert back.windows["status"] == ["budget", "converged"] and list(back.windows["nfev"]) == [3, 1]
    assert back.metrics == {"mpjpe_g": 12.5, "tv": 0.1} and back.provenance["versions"] == {"jax": "0.10"}
    assert back.optimization["loss"] == {"window": 5} and back.camera["width"] == 1000 and back.body["mass"] == 70.0
    assert back.joints == result.joints and back.contact_bodies == result.contact_bodies
    before = path.read_bytes()
    broken = small_result(np.random.default_rng(1))
    broken.windows = {}  # fails half-way through the write
    with pytest.raises(KeyError):
        write_result(path, broken)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["r.h5"]
    (tmp_path / "foreign.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="foreign.h5: not an HDF5 file"):
        read_result(tmp_path / "foreign.h5")


def test_sequences_resample_in_time_and_files_are_read_by_suffix(tmp_path):
    walk = read_motion(WALK)
    assert walk.fps == 25.0 and walk.keypoints.shape[1:] == (17, 3)
    double = walk.resampled(50.0)
    assert len(double.keypoints) == 2 * len(walk.keypoints) - 1
    np.testing.assert_allclose(double.keypoints[::2], walk.keypoints)
    np.testing.assert_allclose(double.keypoints[1], 0.5 * (walk.keypoints[0] + walk.keypoints[1]))
    with pytest.raises(ValueError, match="unknown motion file type '.txt'"):
        read_motion(tmp_path / "motion.txt")
    with pytest.raises(FileNotFoundError, match="missing.bvh: no such file"):
        read_motion(tmp_path / "missing.bvh")


def h36m_tree(root, keypoints17, frames=600):
    """Every sequence of the validation split, each ``frames`` long at 50 fps: ``keypoints17``
    at 50 fps from frame 400 on, its first pose held before and its last pose after."""
    motion = np.concatenate([np.repeat(keypoints17[:1], 400, axis=0), keypoints17])
    motion = np.concatenate([motion, np.repeat(motion[-1:], max(0, frames - len(motion)), axis=0)])[:frames]
    pose = h36m_pose_mm(motion)
    for row in load_split("val"):
        folder = root / row["subject"] / "MyPoseFeatures" / "D3_Positions"
        folder.mkdir(parents=True, exist_ok=True)
        write_h36m_cdf(folder / f"{row['sequence']}.cdf", pose)


def test_split_sequences_find_the_files_of_a_dataset_tree(tmp_path):
    h36m_tree(tmp_path, read_npz(WALK).resampled(50.0).keypoints)
    val = split_sequences("h36m", tmp_path, "val")
    assert len(val) == 20 and (val[0].name, val[0].first, val[0].last, val[0].camera) == ("S11/Phoning", 400, 599, "55011271")
    with pytest.raises(FileNotFoundError, match="Human3.6M action S9/Directions not found"):
        split_sequences("h36m", tmp_path, "physcap")
    for row in load_split("physcap"):  # two takes of every action
        folder = tmp_path / row["subject"] / "MyPoseFeatures" / "D3_Positions"
        for name in (row["action"], f"{row['action']} 1"):
            (folder / f"{name}.cdf").touch()
    physcap = split_sequences("h36m", tmp_path, "physcap")
    assert len(physcap) == 2 * len(load_split("physcap")) and physcap[0].camera == "60457274"
    assert {"S9/Walking", "S9/Walking 1", "S11/WalkDog 1"} <= {s.name for s in physcap}
    assert not any(s.name.startswith("S9/WalkDog") and "Walking" in s.name for s in physcap)
    with pytest.raises(ValueError, match="split 'aist15' is not a h36m split"):
        split_sequences("h36m", tmp_path, "aist15")
    with pytest.raises(FileNotFoundError, match="AIST\\+\\+ sequence gBR_sBM_cAll_d06_mBR4_ch06 not found"):
        split_sequences("aist", tmp_path, "aist15")


def test_recon_mocap_runs_on_the_bundled_sample_and_report_reads_the_result(tmp_path):
    out, metrics = tmp_path / "walk.h5", tmp_path / "walk.json"
    result = runner.invoke(app, ["mocap", str(WALK), "--frames", "16", "--max-evals", "10", "--optimizer", "bfgs",
                                 "--out", str(out), "--json", str(metrics)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "MPJPE-G" in result.output and "wrote" in result.output
    assert "mocap mocap_walk: 2/2 windows" in result.output  # not a terminal: progress comes as lines
    scores = json.loads(metrics.read_text())
    assert scores["evals_per_window"] <= 10 and 0 < scores["mpjpe_g"] < 100  # measured: 72 mm (BFGS, 10 evaluations)
    # the body fit itself, IK then FK against the input (measured: 8.9 mm mean, 17.4 mm worst joint)
    assert scores["kinematic_fit_mm"] < 10.0 and scores["kinematic_fit_max_mm"] < 20.0
    saved = read_result(out)
    assert saved.simulated.shape == saved.observed3d.shape == (16, 17, 3)
    assert saved.controls.shape == (16, 13, 4) and saved.windows["losses"].shape[0] == 2
    assert np.all(np.nanmin(saved.windows["losses"], axis=1) <= saved.windows["losses"][:, 0])
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert "2 windows" in report.output and "MPJPE-G" in report.output and "body fit mm" in report.output
    assert saved.provenance["hardware"]["cpus"] >= 1 and f"commit {saved.provenance['commit']}" in report.output


def test_recon_eval_h36m_runs_on_a_fixture_tree(tmp_path):
    h36m_tree(tmp_path / "h36m", read_npz(WALK).resampled(50.0).keypoints)
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", "h36m", "--root", str(tmp_path / "h36m"), "--limit", "1",
                                 "--max-evals", "2", "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "h36m val" in result.output and "MPJPE-G" in result.output
    assert "eval h36m val: 1/1 sequences done" in result.output
    report = json.loads(out.read_text())
    row = report["sequences"]["S11/Phoning"]
    assert report["mean"] == row and row["evals_per_window"] <= 2
    assert np.isfinite([row["mpjpe_g"], row["mpjpe_pa"], row["mpjpe_2d"], row["tv"], row["foot_skate"]]).all()


def test_bad_input_gives_one_line_and_keeps_existing_outputs(tmp_path):
    out = tmp_path / "keep.h5"
    out.write_text("old")
    nan = tmp_path / "nan.npz"
    keypoints = read_npz(WALK).keypoints.copy()
    keypoints[3] = np.nan
    np.savez(nan, keypoints=keypoints, fps=25.0)
    short = tmp_path / "short.npz"
    np.savez(short, keypoints=keypoints[5:9], fps=25.0)
    noise = tmp_path / "noise.npz"
    np.savez(noise, keypoints=np.random.default_rng(0).uniform(0.0, 10.0, (40, 17, 3)), fps=25.0)
    for args, text in [
        (["mocap", str(tmp_path / "none.npz")], "none.npz: no such file"),
        (["mocap", str(nan)], "nan.npz: some frames have no keypoints"),
        (["mocap", str(short)], "shorter than one window"),
        (["mocap", str(noise)], "are the units metres and the joints in the h36m17 layout?"),
        (["mocap", str(WALK), "--optimizer", "newton"], "unknown optimizer 'newton'"),
        (["mocap", str(WALK), "--engine", "bullet"], "unknown engine 'bullet'"),
        (["mocap", str(WALK), "--parallel", "-1"], "parallel rounds must be 0"),
        (["eval", "h36m", "--root", str(tmp_path / "nowhere")], "does not exist"),
        (["eval", "h36m", "--root", str(tmp_path), "--split", "aist15"], "not a h36m split"),
        (["eval", "h36m", "--root", str(tmp_path), "--resume"], "--resume reads the result files of an earlier run"),
        (["report", str(out)], "keep.h5: not an HDF5 file"),
    ]:
        result = runner.invoke(app, [*args, "--out", str(out)] if args[0] == "mocap" else args)
        assert result.exit_code == 2, (args, result.output)
        assert text in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert out.read_text() == "old"


def test_recon_mocap_basin_hopping_hops_within_the_window_budget(tmp_path):
    """--basin-hopping: Adam restarts from the perturbed best controls every 25 iterations; each
    window spends exactly its budget (the hops count). Until the hop the run is the plain one."""
    losses = {}
    for hops in (True, False):
        out = tmp_path / f"hops_{hops}.h5"
        result = runner.invoke(app, ["mocap", str(WALK), "--frames", "11", "--max-evals", "30", "--out", str(out)]
                               + (["--basin-hopping"] if hops else []))  # fmt: skip
        assert result.exit_code == 0, result.output
        saved = read_result(out)
        assert saved.optimization["basin_hopping"] == int(hops)
        assert ("BasinHopping" in saved.optimization["settings"]) == hops
        assert list(saved.windows["nfev"]) == [30] and np.isfinite(saved.simulated).all()
        losses[hops] = saved.windows["losses"][0]
        assert np.isfinite(losses[hops]).sum() == 30  # one loss per evaluation, the hop's start included
    # 26 losses of the first segment (25 steps) as without hops (its last one from the loss-only
    # program, not the value-and-gradient one: equal up to float32 rounding), then the hop's start
    np.testing.assert_array_equal(losses[True][:25], losses[False][:25])
    np.testing.assert_allclose(losses[True][25], losses[False][25], rtol=1e-4)
    assert np.all(losses[True][26:] != losses[False][26:])


def test_a_forward_only_engine_plays_the_optimized_controls(tmp_path):
    """--engine tds: MJX gives the gradients, pytinydiffsim simulates the result."""
    out = tmp_path / "tds.h5"
    result = runner.invoke(app, ["mocap", str(WALK), "--frames", "11", "--max-evals", "2", "--engine", "tds", "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = read_result(out)
    assert saved.engine == "tds" and np.isfinite(saved.simulated).all() and saved.metrics["mpjpe_g"] < 200


def test_an_interrupted_eval_resumes_where_it_stopped_and_gives_the_uninterrupted_table(tmp_path, monkeypatch):
    """``recon eval --resume``: a run stopped after its first sequence (Ctrl-C in the progress
    callback) is resumed; only the second sequence is reconstructed again, and every metric
    equals an uninterrupted run's (wall time aside). Another setting (seed) reuses no file."""
    import pipelines.evaluate as flow
    from pipelines.configs import MocapConfig

    h36m_tree(tmp_path / "h36m", read_npz(WALK).resampled(50.0).keypoints, frames=430)  # 30 frames each
    root, config = tmp_path / "h36m", MocapConfig(max_evals=1)
    ran, reconstruct_item = [], flow.reconstruct_item
    monkeypatch.setattr(flow, "reconstruct_item", lambda d, item, *rest: ran.append(item.name) or reconstruct_item(d, item, *rest))
    monkeypatch.setattr(flow, "code_commit", lambda: "0" * 40)  # others may commit to this checkout meanwhile

    def stop_after_first(name, done, total):
        if done == 1:
            raise KeyboardInterrupt

    full = flow.evaluate("h36m", root, "val", config, out_dir=tmp_path / "full", limit=2)
    with pytest.raises(KeyboardInterrupt):
        flow.evaluate("h36m", root, "val", config, out_dir=tmp_path / "run", limit=2, progress=stop_after_first)
    first, second = full.rows
    assert [p.name for p in (tmp_path / "run").iterdir()] == [flow.result_path("", first).name]
    ran.clear()
    json_path = tmp_path / "resumed.json"
    result = runner.invoke(app, ["eval", "h36m", "--root", str(root), "--limit", "2", "--max-evals", "1",
                                 "--out", str(tmp_path / "run"), "--resume", "--json", str(json_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ran == [second] and "resumed 1 of 2 sequences" in result.output
    resumed = json.loads(json_path.read_text())["sequences"]
    assert list(resumed) == [first, second]
    for name, row in full.rows.items():
        assert {k: v for k, v in resumed[name].items() if k != "wall_s"} == {k: v for k, v in row.items() if k != "wall_s"}
    ran.clear()
    changed = flow.evaluate("h36m", root, "val", MocapConfig(max_evals=1, seed=1), out_dir=tmp_path / "run", limit=1, resume=True)
    assert ran == [first] and changed.resumed == []
    assert read_result(flow.result_path(tmp_path / "run", first)).provenance["seed"] == 1


def test_recon_eval_aist_runs_on_a_fixture_tree(tmp_path):
    """AIST++ keypoints3d pickles (COCO-17, y up, centimetres, 60 fps) for the aist15 split."""
    walk = read_npz(WALK).resampled(60.0).keypoints
    coco = np.zeros((len(walk), len(skeleton.COCO17), 3))
    for k, name in enumerate(skeleton.COCO17):
        if name in skeleton.INDEX:
            coco[:, k] = walk[:, skeleton.INDEX[name]]
    head, neck = walk[:, skeleton.INDEX["head"]], walk[:, skeleton.INDEX["neck"]]
    for k, name in enumerate(skeleton.COCO17[:5]):  # nose, eyes and ears around the head
        side = 0.07 * (("left" in name) - ("right" in name))
        coco[:, k] = (neck if name == "nose" else head) + np.array([0.0, side, 0.0])
    coco = np.concatenate([coco, np.repeat(coco[-1:], 130 - len(coco), axis=0)])  # frames 1-120 exist
    folder = tmp_path / "aist" / "keypoints3d"
    folder.mkdir(parents=True)
    for row in load_split("aist15"):
        name = "_".join("cAll" if p.startswith("c") and p[1:].isdigit() else p for p in row["sequence"].split("_"))
        with open(folder / f"{name}.pkl", "wb") as f:
            pickle.dump({"keypoints3d_optim": 100.0 * coco @ Y_UP_TO_Z_UP}, f)  # z up m -> y up cm
    out = tmp_path / "aist.json"
    result = runner.invoke(app, ["eval", "aist", "--root", str(tmp_path / "aist"), "--limit", "1",
                                 "--max-evals", "1", "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["split"] == "aist15" and list(report["sequences"]) == ["gBR_sBM_c06_d06_mBR4_ch06"]
    assert 0 < report["mean"]["mpjpe_g"] < 1000 and report["mean"]["evals_per_window"] == 1.0


def test_a_learned_optimizer_without_a_diffphy_checkpoint_warns_of_the_fallback(capsys):
    from pipelines.mocap import diffphy_optimizer

    assert diffphy_optimizer("optimus").source == str(data_dir() / "checkpoints" / "optimus-diffphy")
    assert capsys.readouterr().err == ""
    fallback = diffphy_optimizer("adafactor-mlp")  # no adafactor-mlp-diffphy is shipped
    assert fallback.source == str(data_dir() / "checkpoints" / "adafactor-mlp-functions")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: no DiffPhy checkpoint") and "adafactor-mlp-diffphy" in err
